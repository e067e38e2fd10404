"""write_back: every state change of a claim becomes a valid R4 ClaimResponse under outbound/<tenant>/ClaimResponse/,
announced with ids only; redeliveries write nothing twice; a rejection carries the 277CA status codes."""

from __future__ import annotations

import json
from typing import Any

import boto3
import httpx
import pytest
from fhir.resources.R4B.claimresponse import ClaimResponse

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.ingest_fhir import app as ingest_app
from functions.write_back import app as write_back_app
from tests.integration.conftest import Infra
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sqs_event_from_bus_events
from tests.integration.test_responses_handlers import poll, process, submit_one_claim
from tests.unit.fhir_builders import PHI_VALUES, example, item

pytestmark = pytest.mark.integration

TENANT = "demo-practice"
CHANGE_EVENTS = ("Claim Ready", "Claim Held", "Claim Submitted", "Claim Accepted", "Claim Rejected")


def write_back(infra: Infra) -> dict[str, Any]:
    """Deliver every claim state-change event captured on the bus to write_back, as WriteBackQueue would."""
    bodies = [event for event in infra.bus_events() if event["detail-type"] in CHANGE_EVENTS]
    for body in bodies:
        body.setdefault("account", "123456789012")
    event = sqs_event_from_bus_events(bodies, "write_back_claim_held.json")
    return dict(write_back_app.lambda_handler(event, FakeLambdaContext()))


def settle(infra: Infra) -> str:
    """clm-2 ingested, submitted, and its 999/277CA polled and processed; returns its claim id."""
    submit_one_claim(infra)
    poll()
    assert process(infra, infra.archive_keys("responses/")) == {"batchItemFailures": []}
    return claim_id_for(TENANT, "Claim/clm-2")


def responses_of(infra: Infra, claim_id: str) -> list[dict[str, Any]]:
    keys = infra.archive_keys(f"outbound/{TENANT}/ClaimResponse/{claim_id}/")
    return [json.loads(infra.archive_text(key)) for key in sorted(keys, key=lambda k: int(k.rsplit("/", 1)[1][:-5]))]


def test_write_back_follows_a_claim_from_ready_to_accepted(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim ingested, submitted and accepted (999 A, 277CA A1/A2)
    claim_id = settle(infra)
    stored = infra.store.get_claim(TENANT, claim_id)
    assert stored is not None and stored.state == ClaimState.ACCEPTED

    # When the state-change events reach write_back, twice (at-least-once delivery)
    assert write_back(infra) == {"batchItemFailures": []}
    first = responses_of(infra, claim_id)
    assert write_back(infra) == {"batchItemFailures": []}

    # Then one valid R4 ClaimResponse per applied change, versions in order, queued all the way, nothing written twice
    history = [h for h in infra.store.history(TENANT, claim_id) if not h.refused]
    written = responses_of(infra, claim_id)
    assert written == first
    assert [int(doc["meta"]["versionId"]) for doc in written] == [h.revision for h in history]
    assert [doc["disposition"].split(":")[0] for doc in written] == [h.to_state.value for h in history]
    assert {doc["outcome"] for doc in written} == {"queued"}
    for document in written:
        ClaimResponse.model_validate(document)
        assert document["id"] == claim_id
        assert document["identifier"][0] == {"system": "urn:claimbridge:claim-id", "value": claim_id}
        assert document["request"] == {"reference": "Claim/clm-2"}
        assert document["patient"]["reference"].startswith("Patient/")
        assert document["item"][0]["adjudication"][0]["category"]["coding"][0]["code"] == "submitted"
    # and each is announced once, with ids only
    announced = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Response Written"]
    assert sorted(d["version"] for d in announced) == [h.revision for h in history]
    for detail in announced:
        assert set(detail) == {"tenant_id", "claim_id", "version", "state", "outcome", "key"}
        for value in PHI_VALUES:
            assert value not in json.dumps(detail)


def test_write_back_of_a_rejected_claim_carries_the_277ca_codes(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim the clearinghouse rejects with A7:562:85
    claim_id = claim_id_for(TENANT, "Claim/clm-2")
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"reject_claims": [claim_id]}).raise_for_status()
    assert settle(infra) == claim_id

    # When write_back runs
    assert write_back(infra) == {"batchItemFailures": []}

    # Then the last ClaimResponse is an error naming the status code, with the rejection as a process note
    last = responses_of(infra, claim_id)[-1]
    assert last["outcome"] == "error" and last["disposition"].startswith("REJECTED")
    assert last["error"] == [
        {
            "code": {
                "coding": [{"system": "https://codesystem.x12.org/external/508", "code": "562"}],
                "text": "A7:562:85",
            }
        }
    ]
    assert any(note["text"].startswith("ACK-277CA") for note in last["processNote"])


def test_write_back_of_a_held_claim_lists_its_findings_and_links_line_notes(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a claim held by the scrubber: 90837 with 52 documented minutes (BH-TIME-01 on line 1)
    bundle = example()
    period = item(bundle)["servicedPeriod"]
    period["end"] = period["start"].replace("15:00:00", "15:52:00")
    boto3.client("s3").put_object(Bucket=infra.inbound_bucket, Key=f"{TENANT}/held.json", Body=json.dumps(bundle))
    ingest_app.lambda_handler(ingest_event([(infra.inbound_bucket, f"{TENANT}/held.json")]), FakeLambdaContext())

    # When write_back runs
    assert write_back(infra) == {"batchItemFailures": []}

    # Then the HELD ClaimResponse is an error with the finding as a note that line 1 points at
    claim_id = claim_id_for(TENANT, "Claim/clm-1")
    held = responses_of(infra, claim_id)[-1]
    assert held["outcome"] == "error"
    notes = {note["number"]: note["text"] for note in held["processNote"]}
    time_notes = [number for number, text in notes.items() if text.startswith("BH-TIME-01 2400 LX*1")]
    assert time_notes and set(time_notes) <= set(held["item"][0]["noteNumber"])
    assert "90834" in notes[time_notes[0]]
