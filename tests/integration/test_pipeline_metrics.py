"""The pipeline's business metrics under moto: held by rule, submission latency and failures per clearinghouse,
paid / denied by category, quarantines by code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from claimbridge.clearinghouse import ClearinghousePort
from claimbridge.clearinghouse.errors import ClearinghouseRetryLater
from claimbridge.clearinghouse.port import ResponsePage, SubmissionReceipt
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline.ingest import ingest_object
from claimbridge.pipeline.ports import CountingMetrics, PipelineDeps
from claimbridge.pipeline.responses import process_response_object
from claimbridge.pipeline.submit import submit_ready
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import get_settings
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from tests.integration.conftest import Infra
from tests.unit import remit_builders as b

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
CLAIM_ID = claim_id_for(TENANT, "Claim/clm-2")  # intake-90791.json: 90791 at $200, MCR


@dataclass
class Stopwatch:
    """``PipelineDeps.monotonic``: time moves only when the fake clearinghouse says a call took that long."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class TimedClearinghouse:
    """A clearinghouse whose calls take ``seconds`` each and fail with ``errors`` first, in order."""

    stopwatch: Stopwatch
    seconds: float
    errors: list[Exception] = field(default_factory=list)

    def submit(self, x12: str, *, idempotency_key: str) -> SubmissionReceipt:
        self.stopwatch.now += self.seconds
        if self.errors:
            raise self.errors.pop(0)
        return SubmissionReceipt(submission_id=f"ch-{idempotency_key}", idempotency_key=idempotency_key)

    def fetch_responses(self, cursor: str | None) -> ResponsePage:
        return ResponsePage(responses=(), next_cursor=cursor)

    def acknowledge(self, response_ids: Sequence[str]) -> None:
        return None


def _deps(metrics: CountingMetrics, clearinghouse: ClearinghousePort | None = None, **changes: object) -> PipelineDeps:
    get_settings.cache_clear()
    deps = build_deps(get_settings(), metrics=metrics)
    if clearinghouse is not None:
        deps = replace(deps, clearinghouse_for=lambda _tenant: clearinghouse)
    return replace(deps, **changes)  # type: ignore[arg-type]


def _upload(infra: Infra, name: str, key: str | None = None) -> str:
    key = key or f"{TENANT}/{Path(name).name}"
    boto3.client("s3").put_object(Bucket=infra.inbound_bucket, Key=key, Body=(BUNDLES / name).read_bytes())
    return key


def test_ingest_counts_held_claims_by_the_rule_that_holds_them(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given a billable bundle and one whose Claim names no resolvable Coverage
    metrics = CountingMetrics()
    deps = _deps(metrics)
    keys = [_upload(infra, "intake-90791.json"), _upload(infra, "bad/claim-without-coverage.json")]

    # When both are ingested
    for key in keys:
        ingest_object(infra.inbound_bucket, key, deps)

    # Then the total counts each claim once, and the breakdown names the intake rule (not per tenant)
    assert (metrics.totals["ClaimsReceived"], metrics.totals["ClaimsReady"], metrics.totals["ClaimsHeld"]) == (2, 1, 1)
    assert metrics.breakdown("ClaimsHeld", "rule") == {"IN-REF": 1}


def test_ingest_counts_quarantined_inputs_by_error_code(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given a file that is not JSON and a file for a tenant nobody registered
    metrics = CountingMetrics()
    deps = _deps(metrics)
    keys = [_upload(infra, "bad/not-json.json"), _upload(infra, "intake-90791.json", key="nobody/b.json")]

    # When they are ingested
    for key in keys:
        ingest_object(infra.inbound_bucket, key, deps)

    # Then both are quarantined, and the breakdown says why
    assert metrics.totals["InputQuarantined"] == 2
    assert metrics.breakdown("InputQuarantined", "code") == {"IN-FORMAT": 1, "IN-TENANT": 1}


def test_submit_measures_every_clearinghouse_call_and_counts_failures_per_clearinghouse(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a READY claim and a clearinghouse that answers 503 after 1.5 s, then takes the file after 0.25 s
    ingest_object(infra.inbound_bucket, _upload(infra, "intake-90791.json"), _deps(CountingMetrics()))
    stopwatch = Stopwatch()
    clearinghouse = TimedClearinghouse(stopwatch, 1.5, errors=[ClearinghouseRetryLater("http", status_code=503)])
    metrics = CountingMetrics()
    deps = _deps(metrics, clearinghouse, monotonic=stopwatch)

    # When submit runs, and again once the retry is due
    first = submit_ready(TENANT, [CLAIM_ID], deps)
    clearinghouse.seconds = 0.25
    due = replace(deps, clock=lambda: deps.clock() + timedelta(seconds=2 * first.deferred[0].retry_in_seconds))
    second = submit_ready(TENANT, [CLAIM_ID], due)

    # Then each call's duration was measured by clearinghouse (the failed one too), and the failure was counted
    assert (len(first.deferred), second.submitted) == (1, 1)
    assert metrics.timings == [
        ("SubmissionLatency", 1500.0, (("clearinghouse", "CBSANDBOX"),)),
        ("SubmissionLatency", 250.0, (("clearinghouse", "CBSANDBOX"),)),
    ]
    assert metrics.totals["SubmissionsFailed"] == 1
    assert metrics.breakdown("SubmissionsFailed", "clearinghouse") == {"CBSANDBOX": 1}
    assert metrics.totals["InterchangesSubmitted"] == 1


def test_835_counts_paid_and_denied_claims_and_denials_by_category(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given a submitted claim
    ingest_object(infra.inbound_bucket, _upload(infra, "intake-90791.json"), _deps(CountingMetrics()))
    stopwatch = Stopwatch()
    submit_ready(TENANT, [CLAIM_ID], _deps(CountingMetrics(), TimedClearinghouse(stopwatch, 0.1), monotonic=stopwatch))
    metrics = CountingMetrics()
    deps = _deps(metrics)

    # When an 835 denies it for a missing authorization (CO-197)
    denial = b.claim(CLAIM_ID, "4", "200", "0", "", payer_claim="ICN222", adjustments=[b.cas("CO", ("197", "200"))])
    text = b.interchange([[*b.header("0"), *denial]])
    key = f"responses/{TENANT}/835/denied.x12"
    boto3.client("s3").put_object(Bucket=infra.archive_bucket, Key=key, Body=text.encode())
    process_response_object(infra.archive_bucket, key, deps)

    # Then the claim is DENIED and counted as such, by its category, and nothing counts as paid
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None and stored.state == ClaimState.DENIED
    assert (metrics.totals["ClaimsDenied"], metrics.totals["ClaimsPaid"], metrics.totals["ClaimsAdjudicated"]) == (
        1,
        0,
        1,
    )
    assert metrics.breakdown("ClaimsDenied", "category") == {"authorization": 1}
