"""ingest_fhir + ingest_chunk under moto: NDJSON files, bulk sets with a manifest, fan-out of large submissions and
versions delivered out of order."""

from __future__ import annotations

import copy
import gzip
import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from claimbridge.mapping import claim_id_for
from claimbridge.pipeline import ingest
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.ingest_chunk import app as chunk_app
from functions.ingest_fhir import app as ingest_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sample
from tests.support.ndjson import bulk_files, bundle_resources, manifest, ndjson
from tests.unit.fhir_builders import PHI_VALUES, example

pytestmark = pytest.mark.integration

TENANT = "demo-practice"


def put_inbound(infra: Infra, key: str, body: bytes) -> tuple[str, str]:
    boto3.client("s3").put_object(Bucket=infra.inbound_bucket, Key=key, Body=body)
    return infra.inbound_bucket, key


def invoke_ingest(*locations: tuple[str, str]) -> dict[str, Any]:
    return dict(ingest_app.lambda_handler(ingest_event(list(locations)), FakeLambdaContext()))


def invoke_chunks(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """ingest_chunk with one SQS record per chunk body, shaped like events/ingest_chunk_fan_out.json."""
    (template,) = sample("ingest_chunk_fan_out.json")["Records"]
    records = [
        {**template, "messageId": f"chunk-{number}", "body": json.dumps(body)} for number, body in enumerate(bodies)
    ]
    return dict(chunk_app.lambda_handler({"Records": records}, FakeLambdaContext()))


def claims_bundle(count: int) -> dict[str, Any]:
    """The example bundle with ``count`` Claims (clm-1 ... clm-N) of the same patient, one week apart (the same
    90837 twice on one day would be a duplicate the scrubber holds, BH-PTP-04)."""
    bundle = example()
    claim_entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    bundle["entry"].remove(claim_entry)
    for number in range(1, count + 1):
        entry = copy.deepcopy(claim_entry)
        entry["fullUrl"] = f"urn:uuid:0b6b1c1e-0000-4000-8000-1000000000{number:02d}"
        entry["resource"]["id"] = f"clm-{number}"
        period = entry["resource"]["item"][0]["servicedPeriod"]
        for bound in ("start", "end"):
            moment = datetime.fromisoformat(period[bound]) - timedelta(weeks=number - 1)
            period[bound] = moment.isoformat()
        bundle["entry"].append(entry)
    return bundle


def test_ingest_ndjson_file_stores_claims_and_reports_bad_lines_by_file_and_line(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given an NDJSON export of the example (references as Type/id), gzip-compressed, with a broken line 3
    lines = ndjson(bundle_resources(example())).decode().splitlines()
    lines.insert(2, '{"not": "a resource"}')
    body = gzip.compress(("\n".join(lines) + "\n").encode())
    location = put_inbound(infra, f"{TENANT}/exports/visit.ndjson.gz", body)

    # When it is ingested
    response = invoke_ingest(location)

    # Then the claim is READY and the bad line is reported as IN-FORMAT naming file:line, without its content
    assert response == {"batchItemFailures": []}
    stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-1"))
    assert stored is not None
    assert stored.state == ClaimState.READY
    (outcome_key,) = infra.archive_keys(f"outbound/{TENANT}/OperationOutcome/")
    outcome = json.loads(infra.archive_text(outcome_key))
    (issue,) = outcome["issue"]
    assert issue["expression"] == ["visit.ndjson.gz:3"]
    assert issue["details"]["text"] == "IN-FORMAT visit.ndjson.gz:3: line is not a FHIR resource"


def test_ingest_bulk_set_waits_for_its_manifest_then_resolves_across_files(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given the example exported as one NDJSON file per resource type under bulk/<submission>/
    files = bulk_files(bundle_resources(example()))
    folder = f"{TENANT}/bulk/sub-20260302-0001"
    locations = [put_inbound(infra, f"{folder}/{name}", body) for name, body in files.items()]
    claim_id = claim_id_for(TENANT, "Claim/clm-1")

    # When the files arrive (each announced on its own) before the manifest
    assert invoke_ingest(*locations) == {"batchItemFailures": []}

    # Then nothing is mapped yet
    assert infra.store.get_claim(TENANT, claim_id) is None

    # When the manifest arrives
    assert invoke_ingest(put_inbound(infra, f"{folder}/manifest.json", manifest(files))) == {"batchItemFailures": []}

    # Then the Claim in Claim.000.ndjson resolved its Patient, Coverage, ... in the other files and is READY
    stored = infra.store.get_claim(TENANT, claim_id)
    assert stored is not None
    assert stored.state == ClaimState.READY
    assert stored.claim is not None
    assert stored.claim.source.fhir_path.startswith("Claim.000.ndjson:1(Claim/clm-1)")


def test_ingest_bulk_manifest_listing_a_missing_file_quarantines_the_set(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a manifest whose Patient file was never uploaded
    files = bulk_files(bundle_resources(example()))
    folder = f"{TENANT}/bulk/sub-incomplete"
    for name, body in files.items():
        if not name.startswith("Patient"):
            put_inbound(infra, f"{folder}/{name}", body)

    # When the manifest arrives
    response = invoke_ingest(put_inbound(infra, f"{folder}/manifest.json", manifest(files)))

    # Then the set is quarantined with IN-FORMAT naming the manifest entry, and no claim exists
    assert response == {"batchItemFailures": []}
    reports = [key for key in infra.archive_keys(f"quarantine/{TENANT}/") if key.endswith(".error.json")]
    assert len(reports) == 1
    report = infra.archive_text(reports[0])
    assert "IN-FORMAT" in report
    assert "manifest.json:output[" in report
    assert infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-1")) is None


def test_ingest_large_submission_fans_out_chunks_that_ingest_chunk_stores_once(
    infra: Infra, demo_tenant: TenantConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a submission with more anchors than one invocation maps (chunk size lowered to 2 for the test)
    monkeypatch.setattr(ingest, "CHUNK_ANCHORS", 2)
    location = put_inbound(infra, f"{TENANT}/big.json", json.dumps(claims_bundle(5)).encode())

    # When ingest_fhir takes the object
    assert invoke_ingest(location) == {"batchItemFailures": []}

    # Then no claim is stored yet, the index is in the archive bucket, and three chunks (2+2+1 anchors) are queued
    assert infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-1")) is None
    (index_key,) = infra.archive_keys(f"work/{TENANT}/")
    assert index_key.endswith("/index.sqlite")
    chunks = drain(infra.queue_urls["IngestChunksQueue"])
    assert sorted(len(chunk["rows"]) for chunk in chunks) == [1, 2, 2]
    assert {chunk["chunks"] for chunk in chunks} == {3}
    for value in PHI_VALUES:
        assert value not in json.dumps(chunks)

    # When ingest_chunk processes every chunk, and one chunk is delivered again
    assert invoke_chunks([*chunks, chunks[0]]) == {"batchItemFailures": []}

    # Then all five claims are READY once, each announced once
    for number in range(1, 6):
        stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, f"Claim/clm-{number}"))
        assert stored is not None
        assert stored.state == ClaimState.READY
    ready = [event for event in infra.bus_events() if event["detail-type"] == "Claim Ready"]
    assert len(ready) == 5


def _with_claim_meta(version: str, last_updated: str) -> bytes:
    bundle = example()
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["meta"] = {"versionId": version, "lastUpdated": last_updated}
    if version == "2":
        claim["item"][0]["net"]["value"] = 190.00
    return json.dumps(bundle).encode()


def test_ingest_older_version_delivered_after_a_newer_one_changes_nothing(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given version 2 of a claim was ingested first
    newer = put_inbound(infra, f"{TENANT}/v2.json", _with_claim_meta("2", "2026-03-03T10:00:00Z"))
    older = put_inbound(infra, f"{TENANT}/v1.json", _with_claim_meta("1", "2026-03-02T10:00:00-05:00"))
    assert invoke_ingest(newer) == {"batchItemFailures": []}
    claim_id = claim_id_for(TENANT, "Claim/clm-1")
    before = infra.store.get_claim(TENANT, claim_id)
    assert before is not None

    # When version 1 (last updated earlier) arrives late
    assert invoke_ingest(older) == {"batchItemFailures": []}

    # Then the claim still carries version 2 and its history did not change
    after = infra.store.get_claim(TENANT, claim_id)
    assert after is not None
    assert after.source_version == "2"
    assert after.revision == before.revision
    assert after.claim is not None
    assert str(after.claim.total_charge) == "190.00"


def _withdrawn(status: str) -> bytes:
    bundle = example()
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["status"] = status
    claim["meta"] = {"versionId": "2"}
    return json.dumps(bundle).encode()


def test_ingest_entered_in_error_before_submission_closes_the_claim_once(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a READY claim
    assert invoke_ingest(put_inbound(infra, f"{TENANT}/v1.json", json.dumps(example()).encode())) == {
        "batchItemFailures": []
    }
    claim_id = claim_id_for(TENANT, "Claim/clm-1")

    # When the EHR sends the same Claim as entered-in-error, twice
    withdrawal = put_inbound(infra, f"{TENANT}/v2.json", _withdrawn("entered-in-error"))
    assert invoke_ingest(withdrawal, withdrawal) == {"batchItemFailures": []}

    # Then the claim is CLOSED, once, with the reason in its history (it will never be submitted)
    stored = infra.store.get_claim(TENANT, claim_id)
    assert stored is not None
    assert stored.state == ClaimState.CLOSED
    history = infra.store.history(TENANT, claim_id)
    closing = [h for h in history if h.to_state == ClaimState.CLOSED]
    assert len(closing) == 1
    assert "entered-in-error" in closing[0].reason


def test_ingest_cancelled_after_submission_is_held_in_version_asking_for_a_void(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a claim that was already submitted
    assert invoke_ingest(put_inbound(infra, f"{TENANT}/v1.json", json.dumps(example()).encode())) == {
        "batchItemFailures": []
    }
    claim_id = claim_id_for(TENANT, "Claim/clm-1")
    ready = infra.store.get_claim(TENANT, claim_id)
    assert ready is not None
    infra.store.transition(ready, ClaimState.SUBMITTED, reason="test: sent", actor="test")

    # When the EHR cancels it without naming a prior claim (no void)
    assert invoke_ingest(put_inbound(infra, f"{TENANT}/v2.json", _withdrawn("cancelled"))) == {"batchItemFailures": []}

    # Then the original stays SUBMITTED and a HELD record linked to it says IN-VERSION: send a void
    original = infra.store.get_claim(TENANT, claim_id)
    assert original is not None
    assert original.state == ClaimState.SUBMITTED
    source = infra.store.lookup_source(TENANT, "Claim/clm-1")
    assert source is not None
    assert source.claim_id != claim_id
    held = infra.store.get_claim(TENANT, source.claim_id)
    assert held is not None
    assert held.state == ClaimState.HELD
    assert held.related_claim_id == claim_id
    (finding,) = held.findings
    assert finding.rule_id == "IN-VERSION"
    assert finding.fhir_path.endswith("(Claim/clm-1).status")
    assert "void" in finding.fix


def test_ingest_event_copy_echoes_the_ehrs_submission_id_in_its_operation_outcome(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given an NDJSON copy that accept_submission wrote for an event with submission_id sub-20260302-0001
    lines = ndjson(bundle_resources(example())).decode() + "not json\n"
    key = f"{TENANT}/events/ev-1/visit.ndjson"
    boto3.client("s3").put_object(
        Bucket=infra.inbound_bucket,
        Key=key,
        Body=lines.encode(),
        Metadata={"claimbridge-submission-id": "sub-20260302-0001", "claimbridge-event-id": "ev-1"},
    )

    # When it is ingested
    assert invoke_ingest((infra.inbound_bucket, key)) == {"batchItemFailures": []}

    # Then the bad line is reported under the EHR's own submission id
    assert infra.archive_keys(f"outbound/{TENANT}/OperationOutcome/") == [
        f"outbound/{TENANT}/OperationOutcome/sub-20260302-0001.json"
    ]


def test_ingest_claim_withdrawn_before_submission_and_sent_again_is_billed_as_a_new_claim(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a claim withdrawn (entered-in-error) before it was ever submitted
    assert invoke_ingest(put_inbound(infra, f"{TENANT}/v1.json", json.dumps(example()).encode())) == {
        "batchItemFailures": []
    }
    assert invoke_ingest(put_inbound(infra, f"{TENANT}/v2.json", _withdrawn("entered-in-error"))) == {
        "batchItemFailures": []
    }
    original = claim_id_for(TENANT, "Claim/clm-1")

    # When the EHR sends the Claim again as active (version 3)
    again = example()
    next(e["resource"] for e in again["entry"] if e["resource"]["resourceType"] == "Claim")["meta"] = {"versionId": "3"}
    assert invoke_ingest(put_inbound(infra, f"{TENANT}/v3.json", json.dumps(again).encode())) == {
        "batchItemFailures": []
    }

    # Then a new claim linked to the closed one is READY (nothing was ever sent, so no IN-VERSION)
    source = infra.store.lookup_source(TENANT, "Claim/clm-1")
    assert source is not None
    assert source.claim_id != original
    fresh = infra.store.get_claim(TENANT, source.claim_id)
    assert fresh is not None
    assert fresh.state == ClaimState.READY
    assert fresh.related_claim_id == original
