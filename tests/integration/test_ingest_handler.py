"""ingest_fhir under moto: good bundles become READY claims, bad files are quarantined, duplicates change nothing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from claimbridge.mapping import claim_id_for
from claimbridge.settings import get_settings
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.ingest_fhir import app as ingest_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"


def put_inbound(infra: Infra, key: str, body: bytes) -> tuple[str, str]:
    boto3.client("s3").put_object(Bucket=infra.inbound_bucket, Key=key, Body=body)
    return infra.inbound_bucket, key


def bundle(name: str) -> bytes:
    return (BUNDLES / name).read_bytes()


def with_claim_version(raw: bytes, version: str) -> bytes:
    document: dict[str, Any] = json.loads(raw)
    for entry in document["entry"]:
        if entry["resource"]["resourceType"] == "Claim":
            entry["resource"].setdefault("meta", {})["versionId"] = version
    return json.dumps(document).encode()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = dict(ingest_app.lambda_handler(event, FakeLambdaContext()))
    return response


def events_of(infra: Infra, detail_type: str) -> list[dict[str, Any]]:
    return [event for event in infra.bus_events() if event["detail-type"] == detail_type]


def test_ingest_fhir_good_bundle_stores_ready_claim_with_history_and_event(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a valid bundle in the tenant's inbound prefix
    location = put_inbound(infra, f"{TENANT}/2026/03/02/intake-90791.json", bundle("intake-90791.json"))
    claim_id = claim_id_for(TENANT, "Claim/clm-2")

    # When the IngestQueue delivers its Object Created event
    response = invoke(ingest_event([location]))

    # Then the claim is READY, its history shows RECEIVED -> READY, and Claim Ready went out (and reached SubmitQueue)
    assert response == {"batchItemFailures": []}
    stored = infra.store.get_claim(TENANT, claim_id)
    assert stored is not None
    assert stored.state == ClaimState.READY
    assert stored.source_key == "Claim/clm-2"
    assert stored.config_version == 1
    assert stored.claim is not None
    assert stored.claim.claim_id == claim_id
    history = infra.store.history(TENANT, claim_id)
    assert [(h.from_state, h.to_state) for h in history] == [
        (None, ClaimState.RECEIVED),
        (ClaimState.RECEIVED, ClaimState.READY),
    ]
    ready = events_of(infra, "Claim Ready")
    assert [event["detail"]["claim_id"] for event in ready] == [claim_id]
    assert ready[0]["detail"]["tenant_id"] == TENANT
    routed = drain(infra.queue_urls["SubmitQueue"])
    assert [body["detail"]["claim_id"] for body in routed] == [claim_id]
    assert [c.claim_id for c in infra.store.claims_in_state(TENANT, ClaimState.READY)] == [claim_id]


@pytest.mark.parametrize(
    ("bad_name", "code"),
    [("bad/not-json.json", "IN-FORMAT"), ("bad/not-a-bundle.json", "IN-FORMAT")],
)
def test_ingest_fhir_bad_file_is_quarantined_while_rest_of_batch_is_processed(
    infra: Infra, demo_tenant: TenantConfig, bad_name: str, code: str
) -> None:
    # Given a batch with an unreadable file and a good bundle
    bad_key = f"{TENANT}/2026/03/02/{Path(bad_name).name}"
    bad = put_inbound(infra, bad_key, bundle(bad_name))
    good = put_inbound(infra, f"{TENANT}/2026/03/02/telehealth.json", bundle("telehealth-90837-home.json"))

    # When the batch is handled
    response = invoke(ingest_event([bad, good]))

    # Then nothing fails: the bad file is kept in quarantine with an error report and an OperationOutcome
    assert response == {"batchItemFailures": []}
    quarantine_key = f"quarantine/{TENANT}/{bad_key}"
    assert infra.archive_text(quarantine_key).encode() == bundle(bad_name)
    report = json.loads(infra.archive_text(f"{quarantine_key}.error.json"))
    issue = report["operation_outcome"]["issue"][0]
    assert issue["details"]["coding"][0]["code"] == code
    assert issue["severity"] == "error"
    assert report["source"] == {"bucket": infra.inbound_bucket, "key": bad_key}
    outcome_key = report["operation_outcome_key"]
    assert outcome_key.startswith(f"outbound/{TENANT}/OperationOutcome/")
    assert json.loads(infra.archive_text(outcome_key))["resourceType"] == "OperationOutcome"
    rejected = events_of(infra, "FHIR Submission Rejected")
    assert len(rejected) == 1
    assert rejected[0]["detail"]["quarantine_key"] == quarantine_key
    assert rejected[0]["detail"]["error_codes"] == [code]
    # ... and the good bundle in the same batch still became a READY claim
    good_claim = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-1"))
    assert good_claim is not None
    assert good_claim.state == ClaimState.READY


def test_ingest_fhir_unknown_or_disabled_tenant_is_quarantined_with_in_tenant(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a bundle under a tenant that is not configured, and one under a disabled tenant
    disabled = demo_tenant.model_copy(update={"tenant_id": "closed-practice", "enabled": False})
    infra.store.put_tenant_config(disabled)
    unknown = put_inbound(infra, "nobody-here/b.json", bundle("intake-90791.json"))
    closed = put_inbound(infra, "closed-practice/b.json", bundle("intake-90791.json"))

    # When both are delivered
    response = invoke(ingest_event([unknown, closed]))

    # Then both are quarantined as IN-TENANT and no claim exists
    assert response == {"batchItemFailures": []}
    assert infra.archive_keys("quarantine/") == [
        "quarantine/closed-practice/closed-practice/b.json",
        "quarantine/closed-practice/closed-practice/b.json.error.json",
        "quarantine/nobody-here/nobody-here/b.json",
        "quarantine/nobody-here/nobody-here/b.json.error.json",
    ]
    assert [e["detail"]["error_codes"] for e in events_of(infra, "FHIR Submission Rejected")] == [
        ["IN-TENANT"],
        ["IN-TENANT"],
    ]
    assert infra.store.lookup_source("closed-practice", "Claim/clm-2") is None


def test_ingest_fhir_storage_failure_fails_only_its_own_record(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given a batch where one event names a bucket that does not exist (S3 error: retryable) and one is good
    good = put_inbound(infra, f"{TENANT}/ok.json", bundle("intake-90791.json"))
    event = ingest_event([("no-such-bucket-test", f"{TENANT}/gone.json"), good])

    # When the batch is handled
    response = invoke(event)

    # Then only the failing record is reported for retry; the good one was processed
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    assert stored is not None
    assert stored.state == ClaimState.READY


def test_ingest_fhir_duplicate_delivery_changes_nothing(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given a bundle that was ingested once
    location = put_inbound(infra, f"{TENANT}/b.json", bundle("intake-90791.json"))
    invoke(ingest_event([location]))
    claim_id = claim_id_for(TENANT, "Claim/clm-2")
    before = infra.store.get_claim(TENANT, claim_id)
    history_before = infra.store.history(TENANT, claim_id)
    events_before = len(infra.bus_events())

    # When the same object is delivered again (SQS at-least-once), and again under another key
    again = put_inbound(infra, f"{TENANT}/copy-of-b.json", bundle("intake-90791.json"))
    response = invoke(ingest_event([location, again]))

    # Then the claim, its history and the bus are unchanged
    assert response == {"batchItemFailures": []}
    assert infra.store.get_claim(TENANT, claim_id) == before
    assert infra.store.history(TENANT, claim_id) == history_before
    assert len(infra.bus_events()) == events_before


def test_ingest_fhir_new_version_replaces_a_claim_not_yet_submitted(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given claim clm-2 version 1 is READY
    invoke(ingest_event([put_inbound(infra, f"{TENANT}/v1.json", bundle("intake-90791.json"))]))
    claim_id = claim_id_for(TENANT, "Claim/clm-2")

    # When version 2 of the same Claim arrives
    v2 = with_claim_version(bundle("intake-90791.json"), "2")
    invoke(ingest_event([put_inbound(infra, f"{TENANT}/v2.json", v2)]))

    # Then the same claim id carries version 2, re-received and READY again, every step audited
    stored = infra.store.get_claim(TENANT, claim_id)
    assert stored is not None
    assert (stored.state, stored.source_version) == (ClaimState.READY, "2")
    assert [(h.from_state, h.to_state) for h in infra.store.history(TENANT, claim_id)] == [
        (None, ClaimState.RECEIVED),
        (ClaimState.RECEIVED, ClaimState.READY),
        (ClaimState.READY, ClaimState.RECEIVED),
        (ClaimState.RECEIVED, ClaimState.READY),
    ]


def test_ingest_fhir_new_version_after_submission_is_held_with_in_version(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given claim clm-2 version 1 was submitted
    invoke(ingest_event([put_inbound(infra, f"{TENANT}/v1.json", bundle("intake-90791.json"))]))
    original_id = claim_id_for(TENANT, "Claim/clm-2")
    ready = infra.store.get_claim(TENANT, original_id)
    assert ready is not None
    infra.store.transition(ready, ClaimState.SUBMITTED, reason="test: sent", actor="test")

    # When version 2 arrives without a prior-claim link
    v2 = with_claim_version(bundle("intake-90791.json"), "2")
    invoke(ingest_event([put_inbound(infra, f"{TENANT}/v2.json", v2)]))

    # Then the original stays SUBMITTED and version 2 is a new claim, linked to it, HELD with IN-VERSION
    original = infra.store.get_claim(TENANT, original_id)
    assert original is not None
    assert original.state == ClaimState.SUBMITTED
    source = infra.store.lookup_source(TENANT, "Claim/clm-2")
    assert source is not None
    assert source.version == "2"
    assert source.claim_id != original_id
    held = infra.store.get_claim(TENANT, source.claim_id)
    assert held is not None
    assert held.state == ClaimState.HELD
    assert held.related_claim_id == original_id
    assert "IN-VERSION" in held.error_rule_ids
    assert [e["detail"]["rule_ids"] for e in events_of(infra, "Claim Held")] == [["IN-VERSION"]]


def test_ingest_fhir_rejected_source_is_held_with_its_finding(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given a Claim whose coverage reference cannot be resolved
    invoke(ingest_event([put_inbound(infra, f"{TENANT}/nocov.json", bundle("bad/claim-without-coverage.json"))]))

    # Then the source is kept as a HELD claim (no ProfessionalClaim) with its IN-REF finding, and Claim Held went out
    claim_id = claim_id_for(TENANT, "Claim/clm-nocov")
    held = infra.store.get_claim(TENANT, claim_id)
    assert held is not None
    assert held.state == ClaimState.HELD
    assert held.claim is None
    assert held.error_rule_ids == ("IN-REF",)
    assert all(f.fhir_path for f in held.findings)
    assert [e["detail"]["claim_id"] for e in events_of(infra, "Claim Held")] == [claim_id]


def test_ingest_fhir_lost_event_is_announced_on_redelivery(
    infra: Infra, demo_tenant: TenantConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the bus refuses events during the first delivery (the claim is stored, its Claim Ready is not sent)
    location = put_inbound(infra, f"{TENANT}/b.json", bundle("intake-90791.json"))
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    get_settings.cache_clear()
    ingest_app.get_deps.cache_clear()
    first_event = ingest_event([location])
    first = invoke(first_event)
    claim_id = claim_id_for(TENANT, "Claim/clm-2")
    stored = infra.store.get_claim(TENANT, claim_id)
    assert first == {"batchItemFailures": [{"itemIdentifier": first_event["Records"][0]["messageId"]}]}
    assert stored is not None
    assert (stored.state, stored.announced) == (ClaimState.READY, False)

    # When SQS redelivers the message and the bus works again
    monkeypatch.setenv("EVENT_BUS_NAME", infra.bus_name)
    get_settings.cache_clear()
    ingest_app.get_deps.cache_clear()
    second = invoke(ingest_event([location]))

    # Then the claim is unchanged but its Claim Ready goes out once, and it is marked announced
    assert second == {"batchItemFailures": []}
    assert [e["detail"]["claim_id"] for e in events_of(infra, "Claim Ready")] == [claim_id]
    again = infra.store.get_claim(TENANT, claim_id)
    assert again is not None
    assert (again.state, again.revision, again.announced) == (ClaimState.READY, stored.revision, True)
    assert len(infra.store.history(TENANT, claim_id)) == 2

    # And a third delivery announces nothing more
    invoke(ingest_event([location]))
    assert len(events_of(infra, "Claim Ready")) == 1


def test_ingest_fhir_url_encoded_key_in_the_event_is_read(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given an object whose key has a space, announced with the key URL-encoded as S3 notifications do
    put_inbound(infra, f"{TENANT}/march visit.json", bundle("intake-90791.json"))

    # When the event is handled
    response = invoke(ingest_event([(infra.inbound_bucket, f"{TENANT}/march+visit.json")]))

    # Then the object is found under its real key and the claim is stored
    assert response == {"batchItemFailures": []}
    stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    assert stored is not None
    assert stored.state == ClaimState.READY


def test_ingest_fhir_gzip_bundle_is_ingested(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given a gzip-compressed bundle (contract section 1: .json.gz)
    location = put_inbound(infra, f"{TENANT}/b.json.gz", gzip.compress(bundle("intake-90791.json")))

    # When it is delivered
    response = invoke(ingest_event([location]))

    # Then its claim is READY like the plain one
    assert response == {"batchItemFailures": []}
    stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    assert stored is not None
    assert stored.state == ClaimState.READY
