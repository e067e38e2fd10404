"""accept_submission under moto: EHR events on the claim bus become inbound objects that ingest turns into claims."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import boto3
import pytest

from claimbridge.mapping import claim_id_for
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.accept_submission import app as accept_app
from functions.ingest_fhir import app as ingest_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import (
    FakeLambdaContext,
    ingest_event,
    sqs_event_from_bus_events,
    submitted_events,
)

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
SENDER = "111122223333"  # the demo tenant's registered EHR account (inbound.event_sources)
SOURCE = "com.example-ehr.demo-practice"
OUTBOX = "example-ehr-outbox"
SAMPLE = "accept_submission_fhir_bundle_submitted.json"


def bundle(name: str = "telehealth-90837-home.json") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((BUNDLES / name).read_text(encoding="utf-8"))
    return document


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = dict(accept_app.lambda_handler(event, FakeLambdaContext()))
    return response


def inbound_keys(infra: Infra) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=infra.inbound_bucket).get("Contents", [])
    return sorted(item["Key"] for item in listing)


def ingest_everything_inbound(infra: Infra) -> dict[str, Any]:
    """What the InboundObjectCreatedRule would deliver: every inbound object to ingest_fhir."""
    event = ingest_event([(infra.inbound_bucket, key) for key in inbound_keys(infra)])
    response: dict[str, Any] = dict(ingest_app.lambda_handler(event, FakeLambdaContext()))
    return response


def events_of(infra: Infra, detail_type: str) -> list[dict[str, Any]]:
    return [event for event in infra.bus_events() if event["detail-type"] == detail_type]


def test_accept_submission_event_put_on_the_bus_reaches_its_queue_and_becomes_a_ready_claim(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given an EHR putting a Bundle inline on the claim bus (and a claimbridge-sourced look-alike the rule must skip)
    detail = json.dumps({"submission_id": "sub-20260302-0002", "bundle": bundle()})
    boto3.client("events").put_events(
        Entries=[
            {"Source": source, "DetailType": "FHIR Bundle Submitted", "Detail": detail, "EventBusName": infra.bus_name}
            for source in (SOURCE, "claimbridge")
        ]
    )

    # When the template's rule routes it to SubmittedEventsQueue and the handler gets the message
    bodies = drain(infra.queue_urls["SubmittedEventsQueue"])
    assert [body["source"] for body in bodies] == [SOURCE]
    for body in bodies:
        body["account"] = SENDER  # EventBridge stamps the sender's account; moto leaves it out
    response = invoke(sqs_event_from_bus_events(bodies, SAMPLE))

    # Then the Bundle waits in the tenant's events/ prefix, and ingest makes the claim READY from there
    assert response == {"batchItemFailures": []}
    assert inbound_keys(infra) == [f"{TENANT}/events/{bodies[0]['id']}/bundle.json"]
    assert ingest_everything_inbound(infra) == {"batchItemFailures": []}
    stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-1"))
    assert stored is not None
    assert stored.state == ClaimState.READY
    assert [event["detail"]["claim_id"] for event in events_of(infra, "Claim Ready")] == [stored.claim_id]


def test_accept_submission_s3_pointer_copies_the_senders_object_with_our_metadata(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a Bundle in the EHR's own bucket, tagged and with its own metadata
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=OUTBOX)
    raw = (BUNDLES / "intake-90791.json").read_bytes()
    s3.put_object(Bucket=OUTBOX, Key="2026/03/02/b1.json", Body=raw, Metadata={"ehr-batch": "77"}, Tagging="team=ehr")

    # When an event points at it
    event = submitted_events(
        [{"submission_id": "sub-1", "s3": {"bucket": OUTBOX, "key": "2026/03/02/b1.json"}}],
        account=SENDER,
        source=SOURCE,
    )
    response = invoke(event)

    # Then the same bytes are in the inbound bucket under the event's id, with Claimbridge's metadata only
    event_id = json.loads(event["Records"][0]["body"])["id"]
    key = f"{TENANT}/events/{event_id}/b1.json"
    assert response == {"batchItemFailures": []}
    copied = s3.get_object(Bucket=infra.inbound_bucket, Key=key)
    assert copied["Body"].read() == raw
    assert copied["ContentType"] == "application/fhir+json"
    assert copied["Metadata"] == {"claimbridge-submission-id": "sub-1", "claimbridge-event-id": event_id}
    assert s3.get_object_tagging(Bucket=infra.inbound_bucket, Key=key)["TagSet"] == []
    # ... and ingest takes it from there
    ingest_everything_inbound(infra)
    stored = infra.store.get_claim(TENANT, claim_id_for(TENANT, "Claim/clm-2"))
    assert stored is not None
    assert stored.state == ClaimState.READY


def test_accept_submission_unregistered_sender_is_quarantined_and_told_while_the_batch_goes_on(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a batch with an event from an account no tenant registered, and a good one
    stranger = submitted_events([{"submission_id": "sub-x", "bundle": bundle()}], account="999988887777", source=SOURCE)
    good = submitted_events([{"bundle": bundle()}], account=SENDER, source=SOURCE)
    batch = {"Records": stranger["Records"] + good["Records"]}

    # When the batch is handled
    response = invoke(batch)

    # Then nothing fails: the stranger's event is quarantined without a tenant, the EHR is told, the good one is copied
    assert response == {"batchItemFailures": []}
    stranger_id = json.loads(stranger["Records"][0]["body"])["id"]
    kept = f"quarantine/_no-tenant/events/{stranger_id}/event.json"
    assert infra.archive_keys("quarantine/") == [kept, f"{kept}.error.json"]
    assert infra.archive_keys("outbound/") == ["outbound/_no-tenant/OperationOutcome/sub-x.json"]
    (rejected,) = events_of(infra, "FHIR Submission Rejected")
    assert rejected["detail"]["event_id"] == stranger_id
    assert rejected["detail"]["error_codes"] == ["IN-TENANT"]
    assert "source_bucket" not in rejected["detail"]
    good_id = json.loads(good["Records"][0]["body"])["id"]
    assert inbound_keys(infra) == [f"{TENANT}/events/{good_id}/bundle.json"]


def test_accept_submission_redelivered_event_is_ingested_once(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given one event delivered twice (SQS at-least-once), each copy announced to ingest
    event = submitted_events([{"bundle": bundle()}], account=SENDER, source=SOURCE)
    invoke(event)
    ingest_everything_inbound(infra)
    claim_id = claim_id_for(TENANT, "Claim/clm-1")
    history = infra.store.history(TENANT, claim_id)

    # When the same event arrives again and its (identical) copy is ingested again
    assert invoke(event) == {"batchItemFailures": []}
    ingest_everything_inbound(infra)

    # Then there is still one object and one claim with the same history, announced once
    assert len(inbound_keys(infra)) == 1
    assert infra.store.history(TENANT, claim_id) == history
    assert len(events_of(infra, "Claim Ready")) == 1


def test_accept_submission_unparseable_record_fails_alone_and_logs_no_content(
    infra: Infra, demo_tenant: TenantConfig, captured_logs: StringIO
) -> None:
    # Given a batch where one envelope lacks its account (EventBridge always sets it: not a sender's mistake)
    event = submitted_events([{"bundle": bundle()}, {"bundle": bundle()}], account=SENDER, source=SOURCE)
    broken = json.loads(event["Records"][0]["body"])
    del broken["account"]
    event["Records"][0]["body"] = json.dumps(broken)

    # When the batch is handled
    response = invoke(event)

    # Then only that record is retried; the other is copied; the logs carry ids and counts, never the Bundle
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert len(inbound_keys(infra)) == 1
    logs = captured_logs.getvalue()
    assert "submitted event handled" in logs
    assert "TESTPATIENT" not in logs
    assert "TESTPATIENT" in json.dumps(bundle())
