"""The reports function over moto: claims ingested and submitted by the real handlers, then the daily schedule."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.wiring import build_deps
from claimbridge.reports.models import KpiReport
from claimbridge.reports.service import ReportsIncomplete
from claimbridge.settings import get_settings
from claimbridge.state import ClaimState, DynamoClaimStore, StoreUnavailable
from claimbridge.state.models import HistoryEntry
from claimbridge.tenants import TenantConfig
from functions.ingest_fhir import app as ingest_app
from functions.reports import app as reports_app
from functions.submit_claims import app as submit_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sample, sqs_event_from_bus_events
from tests.support.emf import emf_values
from tests.support.sam import load_template

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
CLM_2 = claim_id_for(TENANT, "Claim/clm-2")
CLM_3 = claim_id_for(TENANT, "Claim/clm-3")
PATIENT_NAMES = ("SAMPLEPATIENT", "KIDTEST")  # family names in the two bundles: never in a report


def ingest_and_submit(infra: Infra) -> None:
    """clm-2 and clm-3 through ingest_fhir and submit_claims (the sandbox takes the interchange)."""
    s3 = boto3.client("s3")
    for name in ("intake-90791.json", "em-99214-90833.json"):
        s3.put_object(Bucket=infra.inbound_bucket, Key=f"{TENANT}/{name}", Body=(BUNDLES / name).read_bytes())
    event = ingest_event(
        [(infra.inbound_bucket, f"{TENANT}/{n}") for n in ("intake-90791.json", "em-99214-90833.json")]
    )
    assert ingest_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    bodies = drain(infra.queue_urls["SubmitQueue"])
    for body in bodies:
        body.setdefault("account", "123456789012")
    event = sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json")
    assert submit_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}


def run_reports_at(
    monkeypatch: pytest.MonkeyPatch, now: datetime, wrap: Callable[[PipelineDeps], PipelineDeps] | None = None
) -> dict[str, Any]:
    """The handler with its deps' clock set to ``now`` (and optionally another store)."""
    deps = dataclasses.replace(build_deps(get_settings(), metrics=reports_app.metrics), clock=lambda: now)
    deps = wrap(deps) if wrap else deps
    monkeypatch.setattr(reports_app, "get_deps", lambda: deps)
    result: dict[str, Any] = reports_app.lambda_handler(sample("reports_scheduled.json"), FakeLambdaContext())
    return result


def report_at(infra: Infra, day: datetime) -> KpiReport:
    return KpiReport.model_validate_json(infra.archive_text(f"reports/{TENANT}/{day.date().isoformat()}.json"))


def test_reports_handler_writes_the_json_report_and_kpi_metrics(
    infra: Infra,
    demo_tenant: TenantConfig,
    sandbox: SandboxClearinghouse,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given two claims scrubbed clean and submitted; the 277CA accepted clm-3, clm-2 waits in SUBMITTED
    ingest_and_submit(infra)
    clm_3 = infra.store.get_claim(TENANT, CLM_3)
    assert clm_3 is not None and clm_3.state == ClaimState.SUBMITTED
    infra.store.transition(clm_3, ClaimState.ACCEPTED, reason="277CA A1:20", actor="clearinghouse-277CA")
    charges = [
        c.claim.total_charge for c in (infra.store.get_claim(TENANT, i) for i in (CLM_2, CLM_3)) if c and c.claim
    ]
    assert len(charges) == 2
    capsys.readouterr()

    # When the daily schedule runs a minute later
    now = datetime.now(UTC) + timedelta(minutes=1)
    result = run_reports_at(monkeypatch, now)

    # Then the tenant's report is in the archive bucket, validated by the report model
    assert result == {"tenants": 1, "keys": [f"reports/{TENANT}/{now.date().isoformat()}.json"]}
    report = report_at(infra, now)
    assert (report.tenant_id, report.claims, report.period.days, report.truncated) == (TENANT, 2, 30, False)
    # both scrubbed clean; both submitted, one answered (accepted): 1/1, one awaiting; no 835 yet
    assert (report.clean_claim_rate.value, report.clean_claim_rate.denominator) == (100.0, 2)
    assert (report.first_pass_acceptance_rate.value, report.first_pass_acceptance_rate.awaiting_answer) == (100.0, 1)
    assert (report.remittance_denial_rate.value, report.net_collection_rate.value) == (None, None)
    # both open and both billed in the period: balance / (billed / 30 days) = 30 days
    total = sum(charges, Decimal(0))
    assert (report.days_in_ar.value, Decimal(report.days_in_ar.balance), Decimal(report.days_in_ar.billed)) == (
        30.0,
        total,
        total,
    )
    assert [(b.bucket, b.claims) for b in report.ar_aging.total.buckets if b.claims] == [("0-30", 2)]
    oldest = {item.state: item for item in report.oldest}
    assert (oldest[ClaimState.SUBMITTED].claim_id, oldest[ClaimState.ACCEPTED].claim_id) == (CLM_2, CLM_3)
    text = infra.archive_text(f"reports/{TENANT}/{now.date().isoformat()}.json")
    assert not [name for name in PATIENT_NAMES if name in text]

    # Then the KPIs went out as EMF gauges per tenant (null ones left out) and the oldest ages per state
    metrics = emf_values(capsys.readouterr().out)
    tenant = {"tenant": TENANT, "service": "claimbridge-tests"}
    assert sorted((name, value) for name, value, dims in metrics if dims == tenant) == [
        ("AgedAROver90Rate", 0.0),
        ("CleanClaimRate", 100.0),
        ("DaysInAR", 30.0),
        ("FirstPassAcceptanceRate", 100.0),
    ]
    fleet = {
        dims["state"]: value for name, value, dims in metrics if name == "OldestClaimAgeDays" and "tenant" not in dims
    }
    assert set(fleet) == {"SUBMITTED", "ACCEPTED"}
    assert all(0 <= value < 1 for value in fleet.values())


def test_reports_handler_ages_a_claim_stuck_in_submitted_past_the_alarm_threshold(
    infra: Infra,
    demo_tenant: TenantConfig,
    sandbox: SandboxClearinghouse,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given two claims submitted and never answered
    ingest_and_submit(infra)
    capsys.readouterr()

    # When the report runs 45 days later
    later = datetime.now(UTC) + timedelta(days=45)
    run_reports_at(monkeypatch, later)

    # Then nothing happened in the trailing 30 days (null rates, no billing) but the A/R aged into 31-60 days
    report = report_at(infra, later)
    assert (report.clean_claim_rate.value, report.first_pass_acceptance_rate.value, report.days_in_ar.value) == (
        None,
        None,
        None,
    )
    assert report.days_in_ar.reason == "no charges were billed in the period"
    assert [(b.bucket, b.claims) for b in report.ar_aging.total.buckets if b.claims] == [("31-60", 2)]

    # Then OldestClaimAgeDays(state=SUBMITTED, service=reports in Lambda) is above the alarm's default threshold
    alarm = load_template()["Resources"]["ClaimsStuckInSubmittedAlarm"]["Properties"]
    threshold = load_template()["Parameters"]["StuckSubmittedDays"]["Default"]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"state": "SUBMITTED", "service": "reports"}
    metrics = emf_values(capsys.readouterr().out)
    (age,) = [
        v
        for n, v, d in metrics
        if n == alarm["MetricName"] and d == {"state": "SUBMITTED", "service": "claimbridge-tests"}
    ]
    assert age == pytest.approx(45.0, abs=0.01)
    assert age > threshold


class _FailingHistoryStore(DynamoClaimStore):
    """The real store, except one tenant's history reads fail as a throttled table would."""

    failing_tenant = "other-practice"

    def history(self, tenant_id: str, claim_id: str) -> list[HistoryEntry]:
        if tenant_id == self.failing_tenant:
            raise StoreUnavailable("query failed: ProvisionedThroughputExceededException")
        return super().history(tenant_id, claim_id)


def test_reports_handler_writes_the_other_tenants_then_fails_for_the_one_that_could_not_be_read(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a second tenant with a claim whose history cannot be read
    ingest_and_submit(infra)
    other = demo_tenant.model_copy(update={"tenant_id": "other-practice"})
    infra.store.put_tenant_config(other)
    boto3.client("s3").put_object(
        Bucket=infra.inbound_bucket, Key="other-practice/b.json", Body=(BUNDLES / "intake-90791.json").read_bytes()
    )
    event = ingest_event([(infra.inbound_bucket, "other-practice/b.json")])
    assert ingest_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    now = datetime.now(UTC) + timedelta(minutes=1)
    failing = _FailingHistoryStore(boto3.client("dynamodb"), infra.table)

    # When the schedule runs
    with pytest.raises(ReportsIncomplete, match="other-practice"):
        run_reports_at(monkeypatch, now, wrap=lambda deps: dataclasses.replace(deps, store=failing))

    # Then the demo tenant's report was written all the same, and none for the other
    assert infra.archive_keys("reports/") == [f"reports/{TENANT}/{now.date().isoformat()}.json"]
