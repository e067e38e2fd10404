"""Metrics: the code's emissions (read with ``ast``), docs/metrics.md and the dashboard say the same thing."""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support.metric_scan import Emission, scan, scan_source
from tests.support.sam import sam_resource

pytestmark = pytest.mark.contract

PACKAGE_PREFIX = "layers/claimbridge/claimbridge/"
NAMESPACE = "Claimbridge"
_SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s*([^']*)'")
_NAME = re.compile(r'MetricName=\\?"(\w+)\\?"')


@pytest.fixture(scope="module")
def emissions(repo_root: Path) -> list[Emission]:
    result = scan(repo_root)
    assert result.problems == []
    return result.emissions


def _dashboard_body() -> dict[str, Any]:
    body_template: str = sam_resource("Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    body: dict[str, Any] = json.loads(re.sub(r"\$\{[^}]+\}", "x", body_template))
    return body


def _dashboard_series() -> set[tuple[str, frozenset[str] | None]]:
    """(metric name, dimension names) of every Claimbridge series a widget shows; ``None``: any dimensions."""
    series: set[tuple[str, frozenset[str] | None]] = set()
    for widget in _dashboard_body()["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            for item in row:
                if isinstance(item, dict) and "expression" in item:
                    expression = item["expression"]
                    for schema, terms in _SEARCH.findall(expression):
                        namespace, *dimensions = [part.strip() for part in schema.split(",")]
                        if namespace == NAMESPACE:
                            series.update((name, frozenset(dimensions)) for name in _NAME.findall(terms))
                    if f'Namespace=\\"{NAMESPACE}\\"' in expression or f'Namespace="{NAMESPACE}"' in expression:
                        series.update((name, None) for name in _NAME.findall(expression))
            if row and row[0] == NAMESPACE and len(row) >= 2 and isinstance(row[1], str):
                dimensions = [value for value in row[2:-1:2] if isinstance(value, str)]
                series.add((row[1], frozenset(dimensions)))
    return series


def _docs_rows(repo_root: Path) -> dict[str, dict[str, str]]:
    text = (repo_root / "docs" / "metrics.md").read_text(encoding="utf-8")
    rows: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"`[A-Z]\w+`", cells[0]):
            name = cells[0].strip("`")
            assert name not in rows, f"{name} is listed twice"
            rows[name] = {"unit": cells[1], "dimensions": cells[2], "emitted_by": cells[3], "meaning": cells[4]}
    return rows


def _by_name(emissions: list[Emission]) -> dict[str, list[Emission]]:
    grouped: dict[str, list[Emission]] = defaultdict(list)
    for emission in emissions:
        grouped[emission.name].append(emission)
    return grouped


def test_metrics_scan_finds_the_pipelines_metrics(emissions: list[Emission]) -> None:
    # Given / When the scan of the package and the handlers
    names = {emission.name for emission in emissions}

    # Then it sees the metrics the issue asks for, wherever they are written (package modules and handlers)
    assert {
        "ClaimsReceived",
        "ClaimsHeld",
        "ClaimsReady",
        "ClaimsSubmitted",
        "ClaimsAccepted",
        "ClaimsRejected",
        "ClaimsPaid",
        "ClaimsDenied",
        "InputQuarantined",
        "RecordsFailed",
        "SubmissionLatency",
        "SubmissionsFailed",
        "ResponsesUnmatched",
    } <= names
    breakdowns = {(e.name, dims) for e in emissions for dims in e.dimension_sets}
    assert ("ClaimsHeld", frozenset({"service", "rule"})) in breakdowns
    assert ("ClaimsDenied", frozenset({"service", "category"})) in breakdowns
    assert ("SubmissionsFailed", frozenset({"service", "clearinghouse"})) in breakdowns
    assert ("SubmissionLatency", frozenset({"service", "clearinghouse"})) in breakdowns


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('deps.metrics.count(f"Claims{state}", 1)', "not a string literal"),
        ("self.deps.metrics.count(NAME, tenant_id=t)", "not a string literal"),
        ("metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)", "not a string literal"),
        ("single_metric(name=kpi, unit=MetricUnit.Count, value=1)", "not a string literal"),
        ('deps.metrics.count("ClaimsHeld", 1, dimensions=by_rule)', "not a dict literal"),
        ('metrics.add_metric(name="X", unit=unit, value=1)', "not a MetricUnit member"),
        ("counter = deps.metrics\ncounter.count(name)", "not ending in 'metrics'"),
        ("emit = deps.metrics.count\nemit('ClaimsHeld')", "taken without a call"),
        ('deps.metrics.gauge("OldestClaimAgeDays", 3)', "not a MetricUnit member"),
        ('deps.metrics.count("ClaimsVoided" if void else name)', "not a string literal"),
    ],
)
def test_metrics_scan_refuses_what_would_hide_a_metric(source: str, problem: str) -> None:
    # Given code that names a metric the scan could not read
    # When it is scanned
    result = scan_source(source, "example.py")

    # Then the scan reports it instead of passing silently
    assert any(problem in found for found in result.problems), result.problems


def test_metrics_scan_lets_a_recorder_forward_the_name_it_was_given() -> None:
    # Given a MetricsPort implementation passing its ``name`` on to Powertools
    source = (
        "class Recorder:\n"
        "    def count(self, name, value=1):\n"
        "        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)\n"
        "    def _single(self, name, unit, value):\n"
        "        with single_metric(name=name, unit=unit, value=value):\n"
        "            pass\n"
    )

    # When / Then it is neither an emission nor a problem (the callers' literals are what the scan checks)
    result = scan_source(source, "recorder.py")
    assert (result.emissions, result.problems) == ([], [])


def test_metrics_every_metric_the_code_emits_is_on_the_dashboard(emissions: list[Emission]) -> None:
    # Given every (metric, dimension set) the code writes and every series the dashboard shows
    shown = _dashboard_series()
    names_shown = {name for name, _ in shown}

    # Then each metric is on the dashboard, and each breakdown (a dimension set beyond service/tenant) is shown by
    # exactly those dimensions, so a new rule, category or clearinghouse appears without a template change
    assert sorted({e.name for e in emissions} - names_shown) == []
    missing = sorted(
        (e.name, sorted(dims))
        for e in emissions
        for dims in e.dimension_sets
        if dims - {"service", "tenant"} and (e.name, dims) not in shown and (e.name, None) not in shown
    )
    assert missing == []


def test_metrics_docs_table_lists_exactly_what_the_code_emits(repo_root: Path, emissions: list[Emission]) -> None:
    # Given the table in docs/metrics.md and the scan
    rows = _docs_rows(repo_root)
    grouped = _by_name(emissions)

    # Then the same metrics are in both
    assert sorted(rows) == sorted(grouped)
    for name, found in grouped.items():
        row = rows[name]
        # ... each with its unit,
        assert row["unit"] == " / ".join(sorted({e.unit for e in found})), name
        # ... its dimension sets (`a, b` · `a`),
        documented = {
            frozenset(part.strip() for part in group.split(","))
            for group in re.findall(r"`([^`]+)`", row["dimensions"])
        }
        assert documented == {dims for e in found for dims in e.dimension_sets}, name
        # ... the modules that write it,
        patterns = re.findall(r"`([^`]+)`", row["emitted_by"])
        for emission in found:
            path = emission.path.removeprefix(PACKAGE_PREFIX)
            assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), (name, path)
        for pattern in patterns:
            assert any(fnmatch.fnmatch(e.path.removeprefix(PACKAGE_PREFIX), pattern) for e in found), (name, pattern)
        # ... and a meaning
        assert len(row["meaning"]) > 10, name


def test_metrics_scan_reads_a_choice_between_literal_names() -> None:
    # Given a call whose name is one of two literals
    result = scan_source('deps.metrics.count("ClaimsCorrected" if correct else "ClaimsVoided", tenant_id=t)', "a.py")

    # When / Then both names are emissions, each with the total and the tenant's share
    assert result.problems == []
    assert sorted(e.name for e in result.emissions) == ["ClaimsCorrected", "ClaimsVoided"]
    assert {dims for e in result.emissions for dims in e.dimension_sets} == {
        frozenset({"service"}),
        frozenset({"service", "tenant"}),
    }
