"""The local router against the real moto server, with recording handlers standing in for the four functions.

The stack is the real template.yaml (copied next to the stand-in ``functions/<name>/app.py`` files), so the router
is tested on the template's own wiring: queues, batch sizes, ReportBatchItemFailures, redrive, the schedule.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claimbridge.local.router import LocalRouter
from claimbridge.local.stack import LocalStack

pytestmark = pytest.mark.e2e

# A stand-in handler: records (event, context facts, the env it ran under) and follows instructions in the event.
RECORDING_HANDLER = """
import json
import os

import boto3

CALLS = []
RAISED = set()
ENV_NAMES = ("CLAIMS_TABLE", "AWS_ENDPOINT_URL", "POWERTOOLS_SERVICE_NAME")


def _instructions(record):
    body = json.loads(record["body"]) if "body" in record else record
    detail = body.get("detail", {})
    key = detail.get("object", {}).get("key", "")
    return detail, key


def lambda_handler(event, context):
    CALLS.append(
        {
            "event": event,
            "function_name": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
            "env": {name: os.environ.get(name) for name in ENV_NAMES},
        }
    )
    if event.get("detail-type") == "Scheduled Event":
        if len(CALLS) == 1:  # the first poll finds one response file
            boto3.client("s3").put_object(
                Bucket=os.environ["ARCHIVE_BUCKET"], Key="responses/t1/999/r1.x12", Body=b"ISA"
            )
        return {"responses": 1 if len(CALLS) == 1 else 0}
    failures = []
    for record in event["Records"]:
        detail, key = _instructions(record)
        if "raise-once" in key and key not in RAISED:
            RAISED.add(key)
            raise RuntimeError("transient")
        if detail.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""


@pytest.fixture(scope="module")
def stack(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root = tmp_path_factory.mktemp("router-repo")
    shutil.copy(repo_root / "template.yaml", root / "template.yaml")
    for name in (
        "ingest_fhir",
        "submit_claims",
        "process_responses",
        "poll_clearinghouse",
        "accept_submission",
        "write_back",
    ):
        (root / "functions" / name).mkdir(parents=True)
        (root / "functions" / name / "app.py").write_text(RECORDING_HANDLER, encoding="utf-8")
    with LocalStack(repo_root=root) as local:
        yield local


@pytest.fixture
def router(stack: LocalStack) -> LocalRouter:
    sqs = stack.sqs()
    for url in stack.queue_urls().values():  # PurgeQueue is limited to once a minute; receive + delete is not
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return LocalRouter(stack)


def _calls(function_logical_id: str) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = sys.modules[f"claimbridge_local_functions.{function_logical_id}"].CALLS
    return calls


def _put_claim_event(stack: LocalStack, detail: dict[str, Any]) -> None:
    stack.events().put_events(
        Entries=[
            {
                "Source": "claimbridge",
                "DetailType": "Claim Ready",
                "Detail": json.dumps(detail),
                "EventBusName": stack.event_bus_name,
            }
        ]
    )


def test_router_hands_an_s3_upload_to_ingest_as_a_lambda_sqs_event(stack: LocalStack, router: LocalRouter) -> None:
    # Given a file dropped in the inbound bucket
    stack.s3().put_object(Bucket=stack.inbound_bucket, Key="t1/bundle.json", Body=b"{}")

    # When the router drains without polling
    report = router.drain(poll=False)

    # Then ingest got one Lambda-shaped SQS event carrying the whole EventBridge event, under its own environment
    (call,) = _calls("IngestFhirFunction")
    (record,) = call["event"]["Records"]
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(stack.resources["IngestQueue"].rsplit("/", 1)[-1])
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    body = json.loads(record["body"])
    assert body["detail-type"] == "Object Created"
    assert body["detail"]["object"]["key"] == "t1/bundle.json"
    assert body["account"] == "123456789012"
    assert body["id"] != "17793124-05d4-b198-2fde-7ededc63b103"  # moto's constant id is replaced per message
    assert call["function_name"] == f"{stack.stack_name}-IngestFhirFunction"
    assert 0 < call["remaining_ms"] <= 300_000  # IngestFhirFunction Timeout
    assert call["env"] == {
        "CLAIMS_TABLE": stack.claims_table,
        "AWS_ENDPOINT_URL": stack.endpoint_url,
        "POWERTOOLS_SERVICE_NAME": "ingest_fhir",
    }
    # and the message is gone, the drain settled
    assert report.settled
    assert (report.messages, report.failures) == (1, 0)
    assert router.dead_letters()["IngestDLQ"] == 0


def test_router_retries_a_reported_failure_until_moto_moves_it_to_the_dlq(
    stack: LocalStack, router: LocalRouter
) -> None:
    # Given two claim events on the bus, one the handler reports as failed every time
    _put_claim_event(stack, {"claim_id": "ok"})
    _put_claim_event(stack, {"claim_id": "bad", "fail": True})

    # When the router drains
    report = router.drain(poll=False)

    # Then the good one was delivered once and deleted; the bad one was retried maxReceiveCount times, then redriven
    deliveries = [
        json.loads(r["body"])["detail"]["claim_id"]
        for c in _calls("SubmitClaimsFunction")
        for r in c["event"]["Records"]
    ]
    assert deliveries.count("ok") == 1
    assert deliveries.count("bad") == 5
    assert router.dead_letters() == {
        "IngestDLQ": 0,
        "IngestChunksDLQ": 0,
        "SubmitDLQ": 1,
        "ResponsesDLQ": 0,
        "SubmittedEventsDLQ": 0,
        "WriteBackDLQ": 1,  # Claim Ready also reaches WriteBackQueue, whose recording handler fails it alike
        "EventDeliveryDLQ": 0,
    }
    assert report.settled


def test_router_retries_the_whole_batch_when_the_handler_raises(stack: LocalStack, router: LocalRouter) -> None:
    # Given a response file whose first delivery makes the handler raise
    stack.s3().put_object(Bucket=stack.archive_bucket, Key="responses/t1/277CA/raise-once.x12", Body=b"ISA")

    # When the router drains
    report = router.drain(poll=False)

    # Then the failed batch came back and succeeded the second time; nothing reached the DLQ
    keys = [
        json.loads(record["body"])["detail"]["object"]["key"]
        for call in _calls("ProcessResponsesFunction")
        for record in call["event"]["Records"]
    ]
    assert keys == ["responses/t1/277CA/raise-once.x12"] * 2
    assert [(d.failed, d.error) for d in report.deliveries] == [(1, "RuntimeError"), (0, None)]
    assert router.dead_letters()["ResponsesDLQ"] == 0


def test_router_polls_on_schedule_and_follows_what_the_poll_wrote(stack: LocalStack, router: LocalRouter) -> None:
    # Given empty queues and a poller that finds one response file the first time

    # When the router drains with polling
    report = router.drain(poll=True)

    # Then the scheduled event came from the template's rule, and the file it archived reached process_responses
    polls = _calls("PollClearinghouseFunction")
    assert polls[0]["event"]["detail-type"] == "Scheduled Event"
    assert polls[0]["event"]["source"] == "aws.events"
    assert polls[0]["event"]["resources"] == [stack.schedules[0].rule_arn]
    processed = [
        json.loads(record["body"])["detail"]["object"]["key"]
        for call in _calls("ProcessResponsesFunction")
        for record in call["event"]["Records"]
    ]
    assert processed == ["responses/t1/999/r1.x12"]
    assert report.polls == 2  # the second poll found nothing new, so the drain ended
    assert report.settled
