"""Lambda events for handler tests, derived from the committed samples in ``events/*.json``.

Tests change only what the scenario needs (bucket, key, message id, detail), so the shapes stay the samples' shapes,
which the contract test parses with the handlers' own Powertools models.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def sample(name: str) -> dict[str, Any]:
    """A sample event by file name."""
    document: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return document


def _record_template(name: str) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(sample(name)["Records"][0])
    return record


def object_created_records(sample_name: str, objects: list[tuple[str, str]]) -> dict[str, Any]:
    """An SQS event with one EventBridge ``Object Created`` body per (bucket, key)."""
    records = []
    for bucket, key in objects:
        record = _record_template(sample_name)
        body = json.loads(record["body"])
        body["id"] = str(uuid.uuid4())
        body["detail"]["bucket"]["name"] = bucket
        body["detail"]["object"]["key"] = key
        body["resources"] = [f"arn:aws:s3:::{bucket}"]
        record["body"] = json.dumps(body)
        record["messageId"] = str(uuid.uuid4())
        records.append(record)
    return {"Records": records}


def ingest_event(objects: list[tuple[str, str]]) -> dict[str, Any]:
    """IngestQueue batch."""
    return object_created_records("ingest_fhir_object_created.json", objects)


def responses_event(objects: list[tuple[str, str]]) -> dict[str, Any]:
    """ResponsesQueue batch."""
    return object_created_records("process_responses_object_created.json", objects)


def submitted_events(details: list[dict[str, Any]], *, account: str, source: str) -> dict[str, Any]:
    """A SubmittedEventsQueue batch: one ``FHIR Bundle Submitted`` event per detail, from (account, source)."""
    records = []
    for detail in details:
        record = _record_template("accept_submission_fhir_bundle_submitted.json")
        body = json.loads(record["body"])
        body.update(id=str(uuid.uuid4()), account=account, source=source, detail=detail)
        record["body"] = json.dumps(body)
        record["messageId"] = str(uuid.uuid4())
        records.append(record)
    return {"Records": records}


def sqs_event_from_bus_events(bus_events: list[dict[str, Any]], sample_name: str) -> dict[str, Any]:
    """An SQS batch whose bodies are bus events as EventBridge delivered them to a queue."""
    records = []
    for bus_event in bus_events:
        record = _record_template(sample_name)
        record["body"] = json.dumps(bus_event)
        record["messageId"] = str(uuid.uuid4())
        records.append(record)
    return {"Records": records}


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "claimbridge-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:claimbridge-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/claimbridge/test"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000
