"""events/*.json: every sample parses with the Powertools model its handler uses and matches the template's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from pydantic import BaseModel

from claimbridge.events import (
    DETAIL_TYPES,
    WRITE_BACK_DETAIL_TYPES,
    ClaimChangedRecord,
    ClaimReady,
    ClaimReadyRecord,
    FhirBundleSubmitted,
    InboundObjectRecord,
    ResponseObjectRecord,
    ScheduledEvent,
    SubmittedEventRecord,
)
from claimbridge.pipeline.ingest import IngestChunkRecord
from tests.support.sam import sam_resource

pytestmark = pytest.mark.contract

EVENTS = Path(__file__).resolve().parents[2] / "events"

SQS_SAMPLES: list[tuple[str, type[BaseModel], str]] = [
    ("ingest_fhir_object_created.json", InboundObjectRecord, "InboundObjectCreatedRule"),
    ("submit_claims_claim_ready.json", ClaimReadyRecord, "ClaimReadyRule"),
    ("process_responses_object_created.json", ResponseObjectRecord, "ResponseObjectCreatedRule"),
    ("accept_submission_fhir_bundle_submitted.json", SubmittedEventRecord, "FhirBundleSubmittedRule"),
    ("write_back_claim_held.json", ClaimChangedRecord, "WriteBackRule"),
]


API_SAMPLES = ("tenant_api_put_config.json", "tenant_api_get_worklist.json", "tenant_api_resubmit_claim.json")
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def _matches(value: str, allowed: list[Any]) -> bool:
    """EventBridge matching of one string field, for the pattern forms the template uses."""
    return any(
        value == rule if isinstance(rule, str) else value != rule["anything-but"] and set(rule) == {"anything-but"}
        for rule in allowed
    )


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return document


def test_events_every_sample_is_covered_by_a_contract() -> None:
    # Given the sample files (bundles are FHIR inputs, not Lambda events)
    names = sorted(path.name for path in EVENTS.glob("*.json"))

    # Then each one is checked below
    assert names == sorted(
        [name for name, _, _ in SQS_SAMPLES]
        + ["poll_clearinghouse_scheduled.json", "ingest_chunk_fan_out.json", "reports_scheduled.json", *API_SAMPLES]
    )


def test_events_ingest_chunk_sample_parses_with_the_chunk_handler_model() -> None:
    # Given the fan-out sample (sent by ingest_fhir itself, no rule routes it)
    (record,) = load("ingest_chunk_fan_out.json")["Records"]
    # When it is parsed with the ingest_chunk handler's model
    parsed = IngestChunkRecord.model_validate(record)
    # Then it names a tenant, the uploaded index and rows only (no PHI can travel in a chunk)
    assert parsed.body.tenant_id == "demo-practice"
    assert parsed.body.index_key.startswith("work/demo-practice/")
    assert set(json.loads(record["body"])) == {
        "tenant_id", "submission_id", "index_key", "file_name", "chunk", "chunks", "rows",
    }  # fmt: skip


@pytest.mark.parametrize(("name", "model", "rule"), SQS_SAMPLES)
def test_events_sqs_sample_parses_with_handler_model_and_matches_template_rule(
    name: str, model: type[BaseModel], rule: str
) -> None:
    # Given a sample SQS event and the rule that routes such events to the queue
    records = load(name)["Records"]
    pattern = sam_resource(rule)["Properties"]["EventPattern"]

    for record in records:
        # When the record is parsed with the handler's model
        parsed = model.model_validate(record)

        # Then the body is the EventBridge event the rule would have matched
        body = json.loads(record["body"])
        assert _matches(body["source"], pattern["source"])
        assert _matches(body["detail-type"], pattern["detail-type"])
        assert getattr(parsed, "messageId", None) == record["messageId"]
        key_rule = pattern.get("detail", {}).get("object", {}).get("key")
        if key_rule:
            assert body["detail"]["object"]["key"].startswith(key_rule[0]["prefix"])


def test_events_claim_ready_sample_detail_is_the_bus_model() -> None:
    # Given the SubmitQueue sample
    record = ClaimReadyRecord.model_validate(load("submit_claims_claim_ready.json")["Records"][0])

    # Then its detail is a ClaimReady without extra keys, and the detail-type maps back to it
    assert isinstance(record.body.detail, ClaimReady)
    assert DETAIL_TYPES[record.body.detail_type] is ClaimReady


def test_events_write_back_rule_routes_exactly_the_state_change_events_the_model_reads() -> None:
    # Given the template's WriteBackRule and the write-back's envelope model
    pattern = sam_resource("WriteBackRule")["Properties"]["EventPattern"]

    # Then the rule sends every claim state-change event the model accepts, and nothing the model would refuse
    assert sorted(pattern["detail-type"]) == sorted(WRITE_BACK_DETAIL_TYPES)
    assert "Claim Closed" in WRITE_BACK_DETAIL_TYPES and "Claim Response Written" not in WRITE_BACK_DETAIL_TYPES


def test_events_inbound_sample_key_starts_with_a_tenant_segment() -> None:
    # Given the IngestQueue sample
    record = InboundObjectRecord.model_validate(load("ingest_fhir_object_created.json")["Records"][0])

    # Then the tenant is the first key segment (contract section 1)
    assert record.body.detail.object.key.split("/")[0] == "demo-practice"


@pytest.mark.parametrize("name", ["poll_clearinghouse_scheduled.json", "reports_scheduled.json"])
def test_events_scheduled_sample_parses_with_poll_model(name: str) -> None:
    # Given the schedule sample (the poller's, and the daily report's: issue 9)
    event = ScheduledEvent.model_validate(load(name))

    # Then it is an EventBridge Scheduled Event
    assert (event.source, event.detail_type) == ("aws.events", "Scheduled Event")


def test_events_bad_body_is_refused_by_the_model() -> None:
    # Given a Claim Ready record whose detail lacks the claim id
    record = load("submit_claims_claim_ready.json")["Records"][0]
    body = json.loads(record["body"])
    del body["detail"]["claim_id"]
    record["body"] = json.dumps(body)

    # When / Then parsing fails (the handler reports such a record as a batch item failure)
    with pytest.raises(ValueError, match="claim_id"):
        ClaimReadyRecord.model_validate(record)


def test_events_submitted_samples_carry_a_valid_detail_inline_and_by_pointer() -> None:
    # Given the SubmittedEventsQueue sample: one event pointing at an object, one with the Bundle inline
    records = [
        SubmittedEventRecord.model_validate(record)
        for record in load("accept_submission_fhir_bundle_submitted.json")["Records"]
    ]

    # When each detail is read with the domain's detail model
    details = [FhirBundleSubmitted.model_validate(record.body.detail) for record in records]

    # Then both are valid, from the sender the demo tenant registers, one of each shape
    assert [(d.s3 is not None, d.bundle is not None) for d in details] == [(True, False), (False, True)]
    assert {(r.body.account, r.body.source) for r in records} == {("111122223333", "com.example-ehr.demo-practice")}
    assert details[1].bundle is not None
    assert details[1].bundle["resourceType"] == "Bundle"


def test_events_submitted_record_never_shows_its_body_in_errors_or_repr() -> None:
    # Given a submitted-event record whose envelope is broken (no account) and that carries a Bundle inline
    record = load("accept_submission_fhir_bundle_submitted.json")["Records"][1]
    body = json.loads(record["body"])
    del body["account"]
    record["body"] = json.dumps(body)

    # When it is parsed
    with pytest.raises(ValueError, match="account") as raised:
        SubmittedEventRecord.model_validate(record)

    # Then the error names the field but shows no input; nor does the repr of a good record show the patient
    assert "input_value" not in str(raised.value)
    good = SubmittedEventRecord.model_validate(load("accept_submission_fhir_bundle_submitted.json")["Records"][1])
    assert "TESTPATIENT" in good.body.detail["bundle"]["entry"][0]["resource"]["name"][0]["family"]
    assert "TESTPATIENT" not in repr(good)


def _operation(method: str, path: str) -> dict[str, Any] | None:
    """The docs/openapi.json operation whose path template matches ``path`` (static segments first)."""
    paths: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]
    candidates = sorted(paths, key=lambda template: template.count("{"))
    for template in candidates:
        pattern = "^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in paths[template]:
            operation: dict[str, Any] = paths[template][method.lower()]
            return operation
    return None


@pytest.mark.parametrize("name", API_SAMPLES)
def test_events_api_sample_is_an_iam_signed_proxy_event_for_a_documented_operation(name: str) -> None:
    # Given an API Gateway sample (REST proxy integration, AWS_IAM authorizer)
    event = load(name)

    # When it is parsed with Powertools' API Gateway proxy model
    parsed = APIGatewayProxyEventModel.model_validate(event)

    # Then it is the template's proxy route, carries an IAM identity, and names an operation of docs/openapi.json
    resources = {
        event["Properties"]["Path"] for event in sam_resource("TenantApiFunction")["Properties"]["Events"].values()
    }
    assert parsed.resource in resources
    assert parsed.requestContext.identity.userArn is not None
    assert parsed.requestContext.identity.userArn.startswith("arn:aws:sts::")
    operation = _operation(parsed.httpMethod, parsed.path)
    assert operation is not None, (parsed.httpMethod, parsed.path)
    if parsed.body is not None:
        assert "requestBody" in operation
