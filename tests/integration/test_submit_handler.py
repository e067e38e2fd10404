"""submit_claims under moto with the real sandbox clearinghouse: READY claims -> archived 837P -> SUBMITTED."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline.submit import DEFAULT_RETRY_POLICY
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.ingest_fhir import app as ingest_app
from functions.submit_claims import app as submit_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sqs_event_from_bus_events

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"


def ingest(infra: Infra, tenant_id: str, names: list[str]) -> list[str]:
    """Ingest bundles for a tenant; return the claim ids of the Claim Ready events SubmitQueue received."""
    s3 = boto3.client("s3")
    locations = []
    for name in names:
        key = f"{tenant_id}/{Path(name).name}"
        s3.put_object(Bucket=infra.inbound_bucket, Key=key, Body=(BUNDLES / name).read_bytes())
        locations.append((infra.inbound_bucket, key))
    response = ingest_app.lambda_handler(ingest_event(locations), FakeLambdaContext())
    assert response == {"batchItemFailures": []}
    return [event["detail"]["claim_id"] for event in infra.bus_events() if event["detail-type"] == "Claim Ready"]


def submit_queue_event(infra: Infra) -> dict[str, Any]:
    """The SubmitQueue batch exactly as the template's ClaimReadyRule delivered it (moto omits ``account``)."""
    bodies = drain(infra.queue_urls["SubmitQueue"])
    for body in bodies:
        body.setdefault("account", "123456789012")
    return sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json")


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = dict(submit_app.lambda_handler(event, FakeLambdaContext()))
    return response


def test_submit_claims_ready_claims_are_archived_and_submitted(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given two READY claims announced on SubmitQueue
    ingest(infra, TENANT, ["intake-90791.json", "telehealth-90837-home.json"])
    event = submit_queue_event(infra)
    assert len(event["Records"]) == 2

    # When submit_claims handles the batch
    response = invoke(event)

    # Then one interchange holding both claims is archived, recorded and sent, and both claims are SUBMITTED
    assert response == {"batchItemFailures": []}
    assert infra.archive_keys("x12/837p/") == [f"x12/837p/{TENANT}/000000001.x12"]
    x12 = infra.archive_text(f"x12/837p/{TENANT}/000000001.x12")
    claim_ids = sorted([claim_id_for(TENANT, "Claim/clm-1"), claim_id_for(TENANT, "Claim/clm-2")])
    for claim_id in claim_ids:
        assert f"CLM*{claim_id}*" in x12
        stored = infra.store.get_claim(TENANT, claim_id)
        assert stored is not None
        assert stored.state == ClaimState.SUBMITTED
        assert stored.submission_id == "CBSANDBOX-000000001"
        assert stored.pending_submission_id is None
    record = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert record is not None
    assert (record.outcome, record.attempts, record.idempotency_key) == ("submitted", 1, f"{TENANT}-000000001")
    assert sorted(record.claim_ids) == claim_ids
    assert record.clearinghouse_reference
    submitted = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Submitted"]
    assert sorted(d["claim_id"] for d in submitted) == claim_ids
    assert {d["interchange_control_number"] for d in submitted} == {"000000001"}
    # The sandbox validated it with pyx12 and published its acknowledgements
    listing = httpx.get(f"{sandbox.url}/reports", headers={"Authorization": "Key test"}).json()
    assert {item["kind"] for item in listing["items"]} >= {"999"}


def test_submit_claims_redelivered_event_submits_nothing_twice(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a batch that was submitted
    ingest(infra, TENANT, ["intake-90791.json"])
    event = submit_queue_event(infra)
    invoke(event)

    # When SQS delivers the same batch again
    response = invoke(event)

    # Then no second interchange is written and the claim was submitted once
    assert response == {"batchItemFailures": []}
    assert infra.archive_keys("x12/837p/") == [f"x12/837p/{TENANT}/000000001.x12"]
    history = infra.store.history(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    assert [h.to_state for h in history].count(ClaimState.SUBMITTED) == 1


def test_submit_claims_unavailable_clearinghouse_retries_same_interchange(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a READY claim, a clearinghouse that answers the next submission with 503, and a clock the test moves
    ingest(infra, TENANT, ["intake-90791.json"])
    event = submit_queue_event(infra)
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"fail_next": {"count": 1, "status": 503}}).raise_for_status()
    claim_id = claim_id_for(TENANT, "Claim/clm-2")
    now = [datetime.now(UTC)]
    deps = replace(submit_app.get_deps(), clock=lambda: now[0])
    monkeypatch.setattr(submit_app, "get_deps", lambda: deps)

    # When the batch is handled
    first = invoke(event)

    # Then every record is reported for retry, the claim stays READY and the attempt is recorded with its due time
    assert first == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
    waiting = infra.store.get_claim(TENANT, claim_id)
    assert waiting is not None
    assert (waiting.state, waiting.pending_submission_id) == (ClaimState.READY, "CBSANDBOX-000000001")
    pending = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert pending is not None
    assert (pending.outcome, pending.attempts, pending.last_error) == ("pending", 1, "CH-UNAVAILABLE:http-503")
    assert pending.next_attempt_at is not None
    assert now[0] < pending.next_attempt_at <= now[0] + timedelta(seconds=DEFAULT_RETRY_POLICY.base_delay_seconds + 1)

    # When SQS redelivers the batch once the retry is due and the clearinghouse is back
    now[0] = pending.next_attempt_at
    second = invoke(event)

    # Then the same interchange (same ISA13, same idempotency key) goes out and the claim is SUBMITTED
    assert second == {"batchItemFailures": []}
    assert infra.archive_keys("x12/837p/") == [f"x12/837p/{TENANT}/000000001.x12"]
    sent = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert sent is not None
    assert (sent.outcome, sent.attempts, sent.next_attempt_at) == ("submitted", 2, None)
    done = infra.store.get_claim(TENANT, claim_id)
    assert done is not None
    assert done.state == ClaimState.SUBMITTED


@pytest.mark.parametrize(
    "case",
    [
        (400, ClaimState.HELD, "refused", "CH-REJECTED"),
        (422, ClaimState.HELD, "refused", "CH-REJECTED"),
        (401, ClaimState.FAILED_TO_SEND, "failed", None),
        (403, ClaimState.FAILED_TO_SEND, "failed", None),
    ],
    ids=["400", "422", "401", "403"],
)
def test_submit_claims_permanent_refusal_is_not_retried(
    infra: Infra,
    demo_tenant: TenantConfig,
    sandbox: SandboxClearinghouse,
    case: tuple[int, ClaimState, str, str | None],
) -> None:
    status, state, outcome, finding = case
    # Given a clearinghouse that refuses the next submission with a 4xx
    ingest(infra, TENANT, ["intake-90791.json"])
    event = submit_queue_event(infra)
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"fail_next": {"status": status}}).raise_for_status()
    claim_id = claim_id_for(TENANT, "Claim/clm-2")

    # When the batch is handled
    response = invoke(event)

    # Then nothing is retried: a refused interchange holds its claims with the clearinghouse's error (code and
    # location), a refused account sends them to FAILED_TO_SEND at once; the interchange record says which
    assert response == {"batchItemFailures": []}
    stored = infra.store.get_claim(TENANT, claim_id)
    assert stored is not None
    assert stored.state == state
    record = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert record is not None
    assert (record.outcome, record.attempts, record.last_error) == (
        outcome,
        1,
        f"CH-{'AUTH' if status in (401, 403) else 'REJECTED'}:http-{status}",
    )
    if finding:
        (error,) = [f for f in stored.findings if f.rule_id == finding]
        assert (error.x12_location, "INJECTED_REJECTION" in error.message) == ("x12", True)
        assert stored.pending_submission_id is None
        held = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Held"]
        assert [(d["claim_id"], d["rule_ids"]) for d in held] == [(claim_id, ["CH-REJECTED"])]
    else:
        assert stored.pending_submission_id == "CBSANDBOX-000000001"
        failed = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Failed To Send"]
        assert [(d["claim_id"], d["attempts"], d["error_code"]) for d in failed] == [
            (claim_id, 1, f"CH-AUTH:http-{status}")
        ]
    # and a redelivery of the same batch changes nothing
    assert invoke(event) == {"batchItemFailures": []}
    again = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert again is not None
    assert again.attempts == 1


def test_submit_claims_groups_by_tenant_and_fails_only_the_unreachable_tenant(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given READY claims of two tenants; the second tenant's clearinghouse endpoint refuses connections
    other_block = demo_tenant.clearinghouse.model_copy(update={"endpoint": "http://127.0.0.1:9"})
    other = demo_tenant.model_copy(update={"tenant_id": "other-practice", "clearinghouse": other_block})
    infra.store.put_tenant_config(other)
    ingest(infra, TENANT, ["intake-90791.json"])
    ingest(infra, "other-practice", ["telehealth-90837-home.json"])
    event = submit_queue_event(infra)
    other_ids = [r["messageId"] for r in event["Records"] if '"other-practice"' in r["body"]]
    assert len(other_ids) == 1

    # When one batch carries both tenants' Claim Ready events
    response = invoke(event)

    # Then only the unreachable tenant's record is failed; the demo tenant's claim went out in its own interchange
    assert response == {"batchItemFailures": [{"itemIdentifier": other_ids[0]}]}
    assert infra.archive_keys("x12/837p/") == [
        f"x12/837p/{TENANT}/000000001.x12",
        "x12/837p/other-practice/000000001.x12",
    ]
    mine = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    theirs = infra.store.get_claim("other-practice", claim_id_for("other-practice", "Claim/clm-1"))
    assert mine is not None
    assert theirs is not None
    assert (mine.state, theirs.state) == (ClaimState.SUBMITTED, ClaimState.READY)


def test_submit_claims_unreadable_record_fails_alone(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a batch with one good Claim Ready and one body that is not a Claim Ready event
    ingest(infra, TENANT, ["intake-90791.json"])
    event = submit_queue_event(infra)
    poison = dict(event["Records"][0], messageId="poison-1", body='{"detail-type": "Something Else"}')
    event["Records"].append(poison)

    # When the batch is handled
    response = invoke(event)

    # Then only the poison record fails
    assert response == {"batchItemFailures": [{"itemIdentifier": "poison-1"}]}
    stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    assert stored is not None
    assert stored.state == ClaimState.SUBMITTED


def test_submit_claims_a_claim_the_writer_refuses_is_held_and_the_others_are_sent(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse, tmp_path: Path
) -> None:
    # Given two READY claims, one for a patient (the subscriber) sent without an address: it maps, but no valid
    # 837P can carry a subscriber-patient without 2010BA N3, so the writer refuses it
    bundle = json.loads((BUNDLES / "telehealth-90837-home.json").read_text(encoding="utf-8"))
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    del patient["address"]
    boto3.client("s3").put_object(
        Bucket=infra.inbound_bucket, Key=f"{TENANT}/corrected.json", Body=json.dumps(bundle).encode()
    )
    ingest_app.lambda_handler(ingest_event([(infra.inbound_bucket, f"{TENANT}/corrected.json")]), FakeLambdaContext())
    ingest(infra, TENANT, ["intake-90791.json"])
    corrected_id = claim_id_for(TENANT, "Claim/clm-1")
    corrected = infra.store.get_claim(TENANT, corrected_id)
    assert corrected is not None
    assert corrected.state == ClaimState.READY

    # When submit_claims handles the batch
    response = invoke(submit_queue_event(infra))

    # Then the batch succeeds: the refused claim is HELD with X12-WRITE naming 2010BA N3, the other claim is SUBMITTED
    assert response == {"batchItemFailures": []}
    held = infra.store.get_claim(TENANT, corrected_id)
    assert held is not None
    assert held.state == ClaimState.HELD
    assert held.pending_submission_id is None
    assert any(f.rule_id == "X12-WRITE" and f.x12_location == "2010BA N3" for f in held.findings)
    sent = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    assert sent is not None
    assert sent.state == ClaimState.SUBMITTED
    assert corrected_id not in infra.archive_text(f"x12/837p/{TENANT}/000000001.x12")


def test_submit_claims_one_interchange_per_payer_when_the_clearinghouse_wants_it(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a clearinghouse that routes whole files (split_by_payer) and READY claims for MCR and COMM-A
    split = demo_tenant.clearinghouse.model_copy(update={"split_by_payer": True})
    infra.store.put_tenant_config(demo_tenant.model_copy(update={"clearinghouse": split}))
    ingest(infra, TENANT, ["intake-90791.json", "telehealth-90837-home.json"])

    # When submit_claims handles the batch
    assert invoke(submit_queue_event(infra)) == {"batchItemFailures": []}

    # Then each payer's claim went in its own interchange with its own control number
    keys = infra.archive_keys("x12/837p/")
    assert keys == [f"x12/837p/{TENANT}/000000001.x12", f"x12/837p/{TENANT}/000000002.x12"]
    payers = [infra.archive_text(key).count("NM1*PR*") for key in keys]
    assert payers == [1, 1]
    texts = [infra.archive_text(key) for key in keys]
    assert {"COMMERCIAL PLAN A" in text for text in texts} == {True, False}
