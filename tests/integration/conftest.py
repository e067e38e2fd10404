"""moto fixtures for handler tests: table, buckets, bus, queues and rules built from template.yaml's own properties.

Clients are created after ``mock_aws`` starts (moto's "pesky imports"), settings and ``get_deps`` caches are
cleared so every test builds its clients against its own mock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import boto3
import pytest
from moto import mock_aws

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.settings import get_settings
from claimbridge.state import DynamoClaimStore
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, load_tenant_config
from functions.accept_submission import app as accept_app
from functions.ingest_chunk import app as chunk_app
from functions.ingest_fhir import app as ingest_app
from functions.poll_clearinghouse import app as poll_app
from functions.process_responses import app as responses_app
from functions.reports import app as reports_app
from functions.submit_claims import app as submit_app
from functions.tenant_api import app as tenant_api_app
from functions.write_back import app as write_back_app
from tests.support.sam import sam_resource, table_create_kwargs

APPS = (
    ingest_app,
    chunk_app,
    submit_app,
    responses_app,
    poll_app,
    accept_app,
    write_back_app,
    reports_app,
    tenant_api_app,
)
SCRUB_AS_OF = "2026-03-10"
TABLE = "claims-test"
INBOUND = "inbound-test"
ARCHIVE = "archive-test"
BUS = "claimbridge-test"
QUEUES = (
    "IngestDLQ",
    "IngestQueue",
    "IngestChunksDLQ",
    "IngestChunksQueue",
    "SubmitDLQ",
    "SubmitQueue",
    "ResponsesDLQ",
    "ResponsesQueue",
    "SubmittedEventsDLQ",
    "SubmittedEventsQueue",
    "WriteBackDLQ",
    "WriteBackQueue",
)


@dataclass
class Infra:
    """Names and clients of the mocked resources."""

    table: str
    inbound_bucket: str
    archive_bucket: str
    bus_name: str
    queue_urls: dict[str, str]
    capture_queue_url: str
    store: DynamoClaimStore
    captured: list[dict[str, Any]] = field(default_factory=list)

    def bus_events(self) -> list[dict[str, Any]]:
        """Every ``claimbridge`` event put on the bus so far (drained from the capture queue, kept across calls)."""
        self.captured.extend(drain(self.capture_queue_url))
        return self.captured

    def archive_keys(self, prefix: str = "") -> list[str]:
        """Keys in the archive bucket under ``prefix``."""
        response = boto3.client("s3").list_objects_v2(Bucket=self.archive_bucket, Prefix=prefix)
        return sorted(item["Key"] for item in response.get("Contents", []))

    def archive_text(self, key: str) -> str:
        """An archive object as text."""
        body: bytes = boto3.client("s3").get_object(Bucket=self.archive_bucket, Key=key)["Body"].read()
        return body.decode("utf-8")


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Receive and delete every message of a queue; returns the JSON bodies."""
    sqs = boto3.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _resolve(value: Any, arns: dict[str, str]) -> Any:
    """Resolve the ``Fn::GetAtt <Queue>.Arn`` intrinsics a queue's RedrivePolicy uses."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            resource, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn"
            return arns[resource]
        return {key: _resolve(item, arns) for key, item in value.items()}
    return value


def _create_queues(sqs: Any) -> tuple[dict[str, str], dict[str, str]]:
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for logical_id in QUEUES:  # DLQs first: the main queues' RedrivePolicy points at them
        properties = sam_resource(logical_id)["Properties"]
        attributes = {
            name: json.dumps(_resolve(properties[name], arns)) if name == "RedrivePolicy" else str(properties[name])
            for name in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")
            if name in properties
        }
        url = sqs.create_queue(QueueName=f"{logical_id}-test", Attributes=attributes)["QueueUrl"]
        urls[logical_id] = url
        arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return urls, arns


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def infra(aws: None, monkeypatch: pytest.MonkeyPatch) -> Infra:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(TableName=TABLE, **table_create_kwargs(sam_resource("ClaimsTable")["Properties"]))
    s3 = boto3.client("s3")
    for bucket in (INBOUND, ARCHIVE):
        s3.create_bucket(Bucket=bucket)
    events = boto3.client("events")
    events.create_event_bus(Name=BUS)
    sqs = boto3.client("sqs")
    urls, arns = _create_queues(sqs)

    # The template's own claim-bus rules: Claim Ready -> SubmitQueue, FHIR Bundle Submitted -> SubmittedEventsQueue.
    rules = (
        ("ClaimReadyRule", "SubmitQueue"),
        ("FhirBundleSubmittedRule", "SubmittedEventsQueue"),
        ("WriteBackRule", "WriteBackQueue"),
    )
    for rule_id, queue in rules:
        rule = sam_resource(rule_id)["Properties"]
        events.put_rule(Name=rule_id, EventBusName=BUS, EventPattern=json.dumps(rule["EventPattern"]))
        events.put_targets(Rule=rule_id, EventBusName=BUS, Targets=[{"Id": "q", "Arn": arns[queue]}])
    # A test-only rule that keeps a copy of every claimbridge event for assertions.
    capture_url = sqs.create_queue(QueueName="bus-capture-test")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="capture-all", EventBusName=BUS, EventPattern=json.dumps({"source": ["claimbridge"]}))
    events.put_targets(Rule="capture-all", EventBusName=BUS, Targets=[{"Id": "capture", "Arn": capture_arn}])

    for name, value in {
        "CLAIMS_TABLE": TABLE,
        "ARCHIVE_BUCKET": ARCHIVE,
        "INBOUND_BUCKET": INBOUND,
        "EVENT_BUS_NAME": BUS,
        "INGEST_CHUNKS_QUEUE_URL": urls["IngestChunksQueue"],
        # The example inputs carry March 2026 dates: scrub them as of then (timely filing), not as of today.
        "CLAIMBRIDGE_SCRUB_AS_OF": SCRUB_AS_OF,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLAIMBRIDGE_SANDBOX_URL", raising=False)
    get_settings.cache_clear()
    for app in APPS:
        app.get_deps.cache_clear()
    return Infra(
        table=TABLE,
        inbound_bucket=INBOUND,
        archive_bucket=ARCHIVE,
        bus_name=BUS,
        queue_urls=urls,
        capture_queue_url=capture_url,
        store=DynamoClaimStore(dynamodb, TABLE),
    )


@pytest.fixture
def demo_tenant(infra: Infra) -> TenantConfig:
    """The demo practice, stored as version 1."""
    config = load_tenant_config(DEMO_TENANT_FILE)
    infra.store.put_tenant_config(config)
    return config


@pytest.fixture
def sandbox(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxClearinghouse]:
    """The real sandbox clearinghouse HTTP server on 127.0.0.1, wired through ``CLAIMBRIDGE_SANDBOX_URL``."""
    server = SandboxClearinghouse()
    monkeypatch.setenv("CLAIMBRIDGE_SANDBOX_URL", server.start())
    get_settings.cache_clear()
    for app in APPS:
        app.get_deps.cache_clear()
    yield server
    server.stop()


class _LogCapture(logging.Filter):
    """Keeps each record as the handler's Powertools formatter renders it (JSON with every extra key)."""

    def __init__(self, formatter: logging.Formatter, buffer: StringIO) -> None:
        super().__init__()
        self.formatter = formatter
        self.buffer = buffer

    def filter(self, record: logging.LogRecord) -> bool:
        self.buffer.write(self.formatter.format(record) + "\n")
        return True


@pytest.fixture
def captured_logs() -> Iterator[StringIO]:
    """Every log line the handlers write, formatted by their own Powertools formatter."""
    buffer = StringIO()
    filters = []
    for app in APPS:
        capture = _LogCapture(app.logger.registered_formatter, buffer)
        app.logger.addFilter(capture)
        filters.append((app.logger, capture))
    yield buffer
    for logger, capture in filters:
        logger.removeFilter(capture)
