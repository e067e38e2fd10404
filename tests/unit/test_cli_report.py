"""``claimbridge report``: arguments, periods, and the page written from report documents."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from claimbridge.cli import main
from claimbridge.reports.command import period_of
from claimbridge.reports.kpis import Period, ReportRequest, compute_report
from claimbridge.state.models import ClaimState
from tests.support.kpi_facts import at, claim

S = ClaimState


def _document(tmp_path: Path, tenant_id: str) -> Path:
    claims = [claim("a", (at(3, 1), S.READY), (at(3, 2), S.SUBMITTED), (at(3, 3), S.ACCEPTED))]
    request = ReportRequest(tenant_id=tenant_id, period=Period.month(2026, 3), now=datetime(2026, 4, 1, tzinfo=UTC))
    path = tmp_path / f"{tenant_id}.json"
    path.write_text(compute_report(claims, request).model_dump_json(), encoding="utf-8")
    return path


def test_cli_report_renders_report_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given two tenants' documents
    files = [_document(tmp_path, "practice-a"), _document(tmp_path, "practice-b")]

    # When only one tenant is asked for
    status = main(["report", "--json", *map(str, files), "--tenant", "practice-b", "--out", str(tmp_path / "out")])

    # Then one page with that tenant's section
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert status == 0
    assert 'data-tenant="practice-b"' in page
    assert 'data-tenant="practice-a"' not in page
    assert capsys.readouterr().out == f"wrote {tmp_path / 'out' / 'report.html'} (1 tenant(s))\n"


def test_cli_report_refuses_a_document_that_is_not_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"tenant_id": "SAMPLEPATIENT"}', encoding="utf-8")
    assert main(["report", "--json", str(bad), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("claimbridge report: ")
    assert "SAMPLEPATIENT" not in error  # validation errors never echo input values
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.parametrize(
    ("month", "start", "end", "expected"),
    [
        (Period.month(2026, 2), None, None, Period(start=date(2026, 2, 1), end=date(2026, 2, 28))),
        (None, date(2026, 3, 5), date(2026, 3, 9), Period(start=date(2026, 3, 5), end=date(2026, 3, 9))),
        (None, None, None, Period(start=date(2026, 3, 11), end=date(2026, 4, 9))),  # 30 days ending today
        (None, None, date(2026, 3, 31), Period(start=date(2026, 3, 2), end=date(2026, 3, 31))),
    ],
)
def test_cli_report_period(month: Period | None, start: date | None, end: date | None, expected: Period) -> None:
    args = argparse.Namespace(month=month, start=start, end=end)
    assert period_of(args, date(2026, 4, 9)) == expected


@pytest.mark.parametrize(
    ("month", "start", "end", "message"),
    [
        (Period.month(2026, 2), date(2026, 2, 3), None, "--month cannot be combined with --from/--to"),
        (None, date(2026, 3, 9), date(2026, 3, 5), "ends before it starts"),
    ],
)
def test_cli_report_refuses_a_contradictory_period(
    month: Period | None, start: date | None, end: date | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        period_of(argparse.Namespace(month=month, start=start, end=end), date(2026, 4, 9))


def test_cli_report_month_argument_must_be_a_month(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--month", "2026-13"])
    assert "expected YYYY-MM" in capsys.readouterr().err
