"""FHIR Bundle Submitted on the local stack: an EHR's event on the claim bus ends as a READY claim.

The whole path runs as template.yaml wires it: PutEvents on the claim bus -> FhirBundleSubmittedRule ->
SubmittedEventsQueue -> accept_submission (copy into the inbound bucket) -> S3 Object Created -> IngestQueue ->
ingest_fhir -> READY, with its Claim Ready waiting in SubmitQueue. Only those two consumers are run, so the claim
stops at READY (the full pipeline on to the clearinghouse is tests/e2e/test_local_pipeline.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claimbridge.local.demo import store_tenant
from claimbridge.local.redate import redate_bundle
from claimbridge.local.router import Delivery, LocalRouter
from claimbridge.local.stack import ACCOUNT_ID, LocalStack
from claimbridge.mapping import claim_id_for
from claimbridge.state import ClaimState, DynamoClaimStore
from claimbridge.tenants import DEMO_TENANT_FILE, load_tenant_config
from claimbridge.tenants.models import EventSource, Inbound

pytestmark = pytest.mark.e2e

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
SOURCE = "com.example-ehr.local"
OUTBOX = "example-ehr-outbox"
INTAKE = ("SubmittedEventsQueue", "IngestQueue")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as local:
        # The demo tenant, registering an EHR that sends from moto's account (the account every local event carries)
        tenant = load_tenant_config(DEMO_TENANT_FILE)
        senders = [*tenant.inbound.event_sources, EventSource(account=ACCOUNT_ID, source=SOURCE)]
        store_tenant(local, tenant.model_copy(update={"inbound": Inbound(event_sources=senders)}))
        yield local


@pytest.fixture
def router(stack: LocalStack) -> LocalRouter:
    return LocalRouter(stack)


def submit(stack: LocalStack, detail: dict[str, Any]) -> None:
    """What the EHR does: one PutEvents on the claim bus."""
    response = stack.events().put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": "FHIR Bundle Submitted",
                "Detail": json.dumps(detail),
                "EventBusName": stack.event_bus_name,
            }
        ]
    )
    assert response["FailedEntryCount"] == 0


def run_intake(stack: LocalStack, router: LocalRouter) -> list[Delivery]:
    """Deliver SubmittedEventsQueue and IngestQueue until both stay empty (not SubmitQueue: the claim stays READY)."""
    intake = [subscription for subscription in stack.subscriptions if subscription.queue_logical_id in INTAKE]
    deliveries: list[Delivery] = []
    for _ in range(10):
        delivered = []
        for subscription in intake:
            while (delivery := router.deliver(subscription)) is not None:
                delivered.append(delivery)
        if not delivered:
            return deliveries
        deliveries.extend(delivered)
    raise AssertionError("the intake queues did not settle")


def claim_state(stack: LocalStack, source_key: str) -> ClaimState | None:
    claim = DynamoClaimStore(stack.dynamodb(), stack.claims_table).get_claim(TENANT, claim_id_for(TENANT, source_key))
    return claim.state if claim else None


def waiting(stack: LocalStack, queue: str) -> int:
    attributes = stack.sqs().get_queue_attributes(
        QueueUrl=stack.resources[queue], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def event_copies(stack: LocalStack) -> list[str]:
    listing = stack.s3().list_objects_v2(Bucket=stack.inbound_bucket, Prefix=f"{TENANT}/events/")
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_local_submitted_inline_bundle_on_the_claim_bus_ends_as_a_ready_claim(
    stack: LocalStack, router: LocalRouter
) -> None:
    # Given the §12 telehealth Bundle (re-dated to this week, as an EHR would send it now), sent inline
    document = json.loads(redate_bundle((BUNDLES / "telehealth-90837-home.json").read_bytes()))
    ready_before = waiting(stack, "SubmitQueue")

    # When the EHR puts the event on the claim bus and the intake functions run
    submit(stack, {"submission_id": "sub-local-0001", "bundle": document})
    deliveries = run_intake(stack, router)

    # Then accept_submission copied it into the tenant's events/ prefix, ingest made the claim READY, and its
    # Claim Ready waits for submission; nothing failed on the way
    assert {d.function_logical_id for d in deliveries} == {"AcceptSubmissionFunction", "IngestFhirFunction"}
    assert all(d.failed == 0 for d in deliveries)
    (copy,) = [key for key in event_copies(stack) if key.endswith("/bundle.json")]
    assert re.fullmatch(rf"{TENANT}/events/[0-9a-f-]{{36}}/bundle\.json", copy)
    assert claim_state(stack, "Claim/clm-1") == ClaimState.READY
    assert waiting(stack, "SubmitQueue") == ready_before + 1
    assert router.dead_letters()["SubmittedEventsDLQ"] == 0
    assert router.dead_letters()["EventDeliveryDLQ"] == 0


def test_local_submitted_s3_pointer_to_the_senders_bucket_ends_as_a_ready_claim(
    stack: LocalStack, router: LocalRouter
) -> None:
    # Given a Bundle in a bucket of the sending account (moto's own account)
    s3 = stack.s3()
    s3.create_bucket(Bucket=OUTBOX)
    s3.put_object(Bucket=OUTBOX, Key="2026/03/02/b1.json", Body=(BUNDLES / "intake-90791.json").read_bytes())

    # When the EHR points at it in an event and the intake functions run
    submit(stack, {"submission_id": "sub-local-0002", "s3": {"bucket": OUTBOX, "key": "2026/03/02/b1.json"}})
    deliveries = run_intake(stack, router)

    # Then the object was copied under the event's folder and ingested into a READY claim
    assert all(d.failed == 0 for d in deliveries)
    (copy,) = [key for key in event_copies(stack) if key.endswith("/b1.json")]
    assert re.fullmatch(rf"{TENANT}/events/[0-9a-f-]{{36}}/b1\.json", copy)
    assert claim_state(stack, "Claim/clm-2") == ClaimState.READY
    assert router.dead_letters()["SubmittedEventsDLQ"] == 0
