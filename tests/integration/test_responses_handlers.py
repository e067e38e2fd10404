"""poll_clearinghouse + process_responses under moto with the real sandbox: 999/277CA move claims on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.ingest_fhir import app as ingest_app
from functions.poll_clearinghouse import app as poll_app
from functions.process_responses import app as responses_app
from functions.submit_claims import app as submit_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import (
    FakeLambdaContext,
    ingest_event,
    responses_event,
    sample,
    sqs_event_from_bus_events,
)

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
CLAIM_ID = claim_id_for(TENANT, "Claim/clm-2")


def submit_one_claim(infra: Infra) -> None:
    """clm-2 ingested and submitted through the handlers, as the template wires them."""
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=infra.inbound_bucket, Key=f"{TENANT}/b.json", Body=(BUNDLES / "intake-90791.json").read_bytes()
    )
    assert ingest_app.lambda_handler(
        ingest_event([(infra.inbound_bucket, f"{TENANT}/b.json")]), FakeLambdaContext()
    ) == {"batchItemFailures": []}
    bodies = drain(infra.queue_urls["SubmitQueue"])
    for body in bodies:
        body.setdefault("account", "123456789012")
    event = sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json")
    assert submit_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}


def poll() -> dict[str, Any]:
    result: dict[str, Any] = poll_app.lambda_handler(sample("poll_clearinghouse_scheduled.json"), FakeLambdaContext())
    return result


def process(infra: Infra, keys: list[str]) -> dict[str, Any]:
    event = responses_event([(infra.archive_bucket, key) for key in keys])
    response: dict[str, Any] = dict(responses_app.lambda_handler(event, FakeLambdaContext()))
    return response


def state_of(infra: Infra, claim_id: str = CLAIM_ID) -> ClaimState:
    stored = infra.store.get_claim(TENANT, claim_id)
    assert stored is not None
    return stored.state


def set_faults(sandbox: SandboxClearinghouse, faults: dict[str, Any]) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/faults", json=faults).raise_for_status()


def test_poll_then_process_responses_accepts_the_submitted_claim(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a submitted claim the sandbox acknowledged (999 A) and accepted (277CA A1/A2)
    submit_one_claim(infra)

    # When the schedule polls and the ResponsesQueue delivers the archived files
    summary = poll()
    keys = infra.archive_keys("responses/")
    response = process(infra, keys)

    # Then both files are archived under responses/<tenant>/<kind>/, and the claim is ACCEPTED with an event
    assert summary == {"tenants": 1, "responses": 2, "failed": []}
    assert [key.split("/")[:3] for key in keys] == [
        ["responses", TENANT, "277CA"],
        ["responses", TENANT, "999"],
    ]
    assert response == {"batchItemFailures": []}
    assert state_of(infra) == ClaimState.ACCEPTED
    accepted = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Accepted"]
    assert [(d["claim_id"], d["response_kind"]) for d in accepted] == [(CLAIM_ID, "277CA")]
    assert infra.store.get_cursor(TENANT).cursor is not None
    # and the payer's claim number (277CA REF*1K) is recorded for a later REF*F8
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None and stored.payer_claim_control_number


def test_poll_clearinghouse_does_not_fetch_the_same_responses_twice(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a poll that fetched the responses of one submission
    submit_one_claim(infra)
    poll()
    first = infra.archive_keys("responses/")

    # When the tenant is polled again from its stored cursor (directly: the schedule waits poll_minutes)
    from claimbridge.pipeline.poll import poll_tenant

    outcome = poll_tenant(TENANT, poll_app.get_deps())

    # Then nothing new is fetched, and the schedule skips a tenant polled less than poll_minutes ago
    assert outcome.responses == 0
    assert infra.archive_keys("responses/") == first
    assert poll() == {"tenants": 0, "responses": 0, "failed": []}


def test_process_responses_277ca_rejection_moves_claim_to_rejected_with_status_codes(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given the payer side rejects the claim (277CA A7:562:85)
    set_faults(sandbox, {"reject_claims": [CLAIM_ID], "reject_status": "A7:562:85"})
    submit_one_claim(infra)
    poll()

    # When the responses are processed
    response = process(infra, infra.archive_keys("responses/"))

    # Then the claim is REJECTED; the status code is in its history, its findings and the event
    assert response == {"batchItemFailures": []}
    assert state_of(infra) == ClaimState.REJECTED
    last = infra.store.history(TENANT, CLAIM_ID)[-1]
    assert (last.from_state, last.to_state) == (ClaimState.SUBMITTED, ClaimState.REJECTED)
    assert "A7:562:85" in last.reason
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None
    assert "ACK-277CA" in stored.error_rule_ids
    rejected = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Rejected"]
    assert [(d["claim_id"], d["response_kind"], d["status_codes"]) for d in rejected] == [
        (CLAIM_ID, "277CA", ["A7:562:85"])
    ]


def test_process_responses_999_rejection_rejects_every_claim_of_the_transaction(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given the clearinghouse rejects the whole interchange (999 IK5 R / AK9 R)
    set_faults(sandbox, {"reject_interchanges": 1})
    submit_one_claim(infra)
    poll()

    # When the 999 is processed
    keys = infra.archive_keys("responses/")
    assert [key.split("/")[2] for key in keys] == ["999"]
    response = process(infra, keys)

    # Then the claim is REJECTED by the 999
    assert response == {"batchItemFailures": []}
    assert state_of(infra) == ClaimState.REJECTED
    rejected = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Rejected"]
    assert [(d["claim_id"], d["response_kind"]) for d in rejected] == [(CLAIM_ID, "999")]
    assert rejected[0]["status_codes"][0] in {"IK5:R", "AK9:R"}


def test_process_responses_same_file_twice_changes_nothing(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given the responses were processed once
    submit_one_claim(infra)
    poll()
    keys = infra.archive_keys("responses/")
    process(infra, keys)
    history = infra.store.history(TENANT, CLAIM_ID)
    events = len(infra.bus_events())

    # When the same files are delivered again
    response = process(infra, keys)

    # Then nothing changes
    assert response == {"batchItemFailures": []}
    assert infra.store.history(TENANT, CLAIM_ID) == history
    assert len(infra.bus_events()) == events


def test_process_responses_unmatched_response_is_recorded_not_dropped(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given responses that name claims and groups another tenant never sent
    submit_one_claim(infra)
    poll()
    s3 = boto3.client("s3")
    foreign = []
    for key in infra.archive_keys("responses/"):
        kind = key.split("/")[2]
        target = f"responses/other-practice/{kind}/copy.x12"
        s3.put_object(Bucket=infra.archive_bucket, Key=target, Body=infra.archive_text(key).encode())
        foreign.append(target)

    # When they are processed
    response = process(infra, foreign)

    # Then the handler succeeds, every unmatched part is kept for follow-up, and the metric is emitted
    assert response == {"batchItemFailures": []}
    unmatched = infra.store.list_unmatched("other-practice")
    assert {(u.kind, u.reference.split(" ")[0]) for u in unmatched} == {("277CA", "CLM01"), ("999", "GS06")}
    assert all(u.response_key in foreign for u in unmatched)
    assert '"ResponsesUnmatched"' in capsys.readouterr().out
    assert state_of(infra) == ClaimState.SUBMITTED


def test_process_responses_disallowed_transition_is_refused_and_recorded(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a submitted claim that was meanwhile rejected, and a 277CA that accepts it
    submit_one_claim(infra)
    poll()
    submitted = infra.store.get_claim(TENANT, CLAIM_ID)
    assert submitted is not None
    infra.store.transition(submitted, ClaimState.REJECTED, reason="test: rejected earlier", actor="test")
    acks_277 = [key for key in infra.archive_keys("responses/") if "/277CA/" in key]

    # When the 277CA is processed
    response = process(infra, acks_277)

    # Then REJECTED -> ACCEPTED is refused (not in the lifecycle): the state stays, the attempt is in the history
    assert response == {"batchItemFailures": []}
    assert state_of(infra) == ClaimState.REJECTED
    last = infra.store.history(TENANT, CLAIM_ID)[-1]
    assert last.refused
    assert (last.from_state, last.to_state) == (ClaimState.REJECTED, ClaimState.ACCEPTED)
    assert not [e for e in infra.bus_events() if e["detail-type"] == "Claim Accepted"]


def test_poll_clearinghouse_unreachable_tenant_does_not_stop_the_others(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a second tenant whose clearinghouse refuses connections, and a submitted claim of the demo tenant
    other_block = demo_tenant.clearinghouse.model_copy(update={"endpoint": "http://127.0.0.1:9"})
    infra.store.put_tenant_config(
        demo_tenant.model_copy(update={"tenant_id": "other-practice", "clearinghouse": other_block})
    )
    submit_one_claim(infra)

    # When the schedule fires
    summary = poll()

    # Then the demo tenant's responses are fetched and the other tenant is reported as failed, cursor untouched
    assert summary == {"tenants": 2, "responses": 2, "failed": ["other-practice"]}
    assert infra.store.get_cursor("other-practice").cursor is None
