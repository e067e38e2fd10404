"""KPI reports as metrics: null KPIs stay out, empty states read 0, the fleet gauge is the maximum over tenants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from claimbridge.reports.emit import emit_fleet_oldest, emit_report
from claimbridge.reports.facts import ClaimFacts
from claimbridge.reports.kpis import Period, ReportRequest, compute_report
from claimbridge.reports.models import KpiReport
from claimbridge.state.models import ClaimState
from tests.support.emf import emf_values
from tests.support.kpi_facts import at, claim

S = ClaimState
NOW = datetime(2026, 3, 31, 9, tzinfo=UTC)
SERVICE = {"service": "claimbridge-tests"}  # POWERTOOLS_SERVICE_NAME of the test session


def report(tenant_id: str, *claims: ClaimFacts) -> KpiReport:
    return compute_report(list(claims), ReportRequest(tenant_id=tenant_id, period=Period.month(2026, 3), now=NOW))


def test_emit_report_leaves_null_kpis_out_and_reads_an_empty_state_as_zero(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tenant with one claim submitted on 1 March (30 days in SUBMITTED at NOW), never answered
    single = report("t-one", claim("a", (at(3, 1), S.READY), (at(3, 1), S.SUBMITTED)))

    # When it is emitted
    emitted = emit_report(single)

    # Then: clean claim rate 100, nothing over 90 days, days in A/R = 100 open / (100 / 31 days) = 31; no answer and
    # no 835: first-pass, denial and net collection rates are not emitted; oldest SUBMITTED 30 days, ACCEPTED 0
    tenant = {"tenant": "t-one", **SERVICE}
    assert emf_values(capsys.readouterr().out) == [
        ("CleanClaimRate", 100.0, tenant),
        ("AgedAROver90Rate", 0.0, tenant),
        ("DaysInAR", 31.0, tenant),
        ("OldestClaimAgeDays", 30.0, {"tenant": "t-one", "state": "SUBMITTED", **SERVICE}),
        ("OldestClaimAgeDays", 0.0, {"tenant": "t-one", "state": "ACCEPTED", **SERVICE}),
    ]
    assert emitted == 5


def test_emit_fleet_oldest_is_the_maximum_over_tenants_per_state(capsys: pytest.CaptureFixture[str]) -> None:
    reports = [
        report("t-one", claim("a", (at(3, 1), S.READY), (at(3, 1), S.SUBMITTED))),  # SUBMITTED 30 days
        report("t-two", claim("b", (at(3, 21), S.READY), (at(3, 21), S.SUBMITTED), (at(3, 26), S.ACCEPTED))),
    ]
    assert emit_fleet_oldest(reports) == {S.SUBMITTED: 30.0, S.ACCEPTED: 5.0}
    assert emf_values(capsys.readouterr().out) == [
        ("OldestClaimAgeDays", 30.0, {"state": "SUBMITTED", **SERVICE}),
        ("OldestClaimAgeDays", 5.0, {"state": "ACCEPTED", **SERVICE}),
    ]
