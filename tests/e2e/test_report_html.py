"""The HTML report in headless Chromium (Debian's ``chromium``, started here): the inline script draws every chart.

The page is opened from a ``file://`` URL with networking features off; ``--dump-dom`` prints the DOM after the
script ran, so a broken script (or data it cannot read) leaves the SVGs empty and the counts below fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from claimbridge.reports.html import render_html
from claimbridge.reports.kpis import Period, ReportRequest, compute_report
from claimbridge.reports.models import AGING_BUCKETS, KpiReport
from claimbridge.state.models import ClaimState
from tests.support.kpi_facts import at, claim, remit

pytestmark = pytest.mark.e2e

S = ClaimState
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--dump-dom",
    "--virtual-time-budget=5000",
)
HOSTILE_CATEGORY = '</script><img src="https://example.invalid/x.png">'  # must stay data, never markup


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium not found on PATH (Debian: apt-get install -y chromium, or `make install-browser`)")


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM Chromium rendered after running the page's scripts."""
    completed = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


class _Svg(HTMLParser):
    """Per chart SVG id: the classes of the elements drawn inside it (and their ``data-*`` attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.drawn: dict[str, list[dict[str, str]]] = {}
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "body":
            self.body = values
        if tag == "svg" and values.get("id", "").startswith("chart-"):
            self.current = values["id"]
            self.drawn[self.current] = []
        elif self.current is not None and "class" in values:
            self.drawn[self.current].append({"tag": tag, **values})

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.current = None


def drawn(dom: str) -> _Svg:
    parser = _Svg()
    parser.feed(dom)
    return parser


def count(parser: _Svg, chart: str, css: str) -> int:
    return sum(item["class"] == css for item in parser.drawn[chart])


def march_report() -> KpiReport:
    """A month with held, submitted, rejected, paid, partly paid and denied claims across two payers."""
    claims = [
        claim("a", (at(3, 1), S.READY), (at(3, 2), S.SUBMITTED), (at(3, 3), S.ACCEPTED)),
        claim("b", (at(3, 2), S.HELD)),
        claim("c", (at(3, 3), S.READY), (at(3, 4), S.SUBMITTED), (at(3, 5), S.REJECTED), payer="COMM-A"),
        claim(
            "d",
            (at(3, 4), S.READY),
            (at(3, 5), S.SUBMITTED),
            (at(3, 20), S.PAID),
            remittance=remit("100", "80", contractual="10", patient="10"),
        ),
        claim(
            "e",
            (at(3, 6), S.READY),
            (at(3, 7), S.SUBMITTED),
            (at(3, 21), S.DENIED),
            payer="COMM-A",
            remittance=remit("100", "0", category="credentialing"),
        ),
        claim(
            "f",
            (at(3, 6), S.READY),
            (at(3, 7), S.SUBMITTED),
            (at(3, 22), S.PARTIALLY_PAID),
            remittance=remit("100", "60", category=HOSTILE_CATEGORY),
        ),
        claim("g", (at(1, 5), S.READY), (at(1, 6), S.SUBMITTED), payer="MCD-TX", charge="250"),  # 85 days open
    ]
    request = ReportRequest(
        tenant_id="demo-practice", period=Period.month(2026, 3), now=datetime(2026, 4, 2, tzinfo=UTC)
    )
    return compute_report(claims, request)


def test_report_html_is_self_contained() -> None:
    # Given the page of a month with a category that looks like markup
    page = render_html([march_report()])

    # Then nothing is fetched when it is viewed: no src/href to another origin, no stylesheet or script file
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.IGNORECASE) == []
    assert "<link" not in page
    assert "@import" not in page
    assert re.findall(r"<script[^>]*\bsrc=", page) == []
    # and the hostile category is JSON data inside the data element, not markup
    assert HOSTILE_CATEGORY not in page


def test_report_html_charts_render_in_headless_chromium(tmp_path: Path) -> None:
    # Given the page on disk
    report = march_report()
    page = tmp_path / "report.html"
    page.write_text(render_html([report]), encoding="utf-8")

    # When Chromium opens it and runs its script
    parser = drawn(dump_dom(page, tmp_path / "profile"))

    # Then the script finished, and every chart has one mark per datum
    assert parser.body.get("data-charts") == "drawn"
    states = {state for point in report.claims_by_state for state in point.counts}
    assert len(report.claims_by_state) == 31
    assert count(parser, "chart-states-0", "line") == len(states) == 8  # RECEIVED never ends a day
    assert count(parser, "chart-states-0", "point") == 31 * len(states)
    denial = report.remittance_denial_rate
    assert len(denial.by_category) == 2
    assert count(parser, "chart-categories-0", "bar") == 2 * len(denial.by_category)
    assert len(denial.by_payer) == 2
    assert count(parser, "chart-payers-0", "bar") == 2 * len(denial.by_payer)
    assert [row.payer for row in report.ar_aging.by_payer] == ["COMM-A", "MCD-TX", "MCR"]
    assert count(parser, "chart-aging-0", "bar") == len(AGING_BUCKETS) * 3

    # Then the bars carry the data's values: the aging segments sum to each payer's open A/R
    aging = [item for item in parser.drawn["chart-aging-0"] if item["class"] == "bar"]
    for row in report.ar_aging.by_payer:
        total = sum(float(item["data-value"]) for item in aging if item["data-group"] == row.payer)
        assert total == pytest.approx(float(row.amount))
    # and the markup-looking category arrived as a label, not as an element
    groups = {item["data-group"] for item in parser.drawn["chart-categories-0"] if item["class"] == "bar"}
    assert groups == {"credentialing", HOSTILE_CATEGORY}


def test_report_html_with_an_empty_period_draws_placeholders(tmp_path: Path) -> None:
    # Given a tenant with no claims
    empty = compute_report(
        [], ReportRequest(tenant_id="t-empty", period=Period.month(2026, 3), now=datetime(2026, 4, 2, tzinfo=UTC))
    )
    page = tmp_path / "report.html"
    page.write_text(render_html([empty]), encoding="utf-8")

    # When Chromium renders it
    parser = drawn(dump_dom(page, tmp_path / "profile"))

    # Then each chart says it has no data instead of failing
    assert parser.body.get("data-charts") == "drawn"
    for chart in ("states", "categories", "payers", "aging"):
        assert [item["class"] for item in parser.drawn[f"chart-{chart}-0"]] == ["empty"], chart
