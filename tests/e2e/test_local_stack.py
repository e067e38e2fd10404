"""The local stack: template.yaml in a moto server, with what moto's CloudFormation drops applied afterwards.

Also pins down which hops moto delivers by itself (S3 -> EventBridge -> SQS, PutEvents -> rule -> SQS), so the
router only has to emulate Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from claimbridge.local.stack import LocalStack
from tests.support.sam import sam_resource

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(parameters={"ClearinghouseSandboxUrl": "http://127.0.0.1:9"}) as local:
        yield local


def _receive_all(stack: LocalStack, queue_logical_id: str) -> list[dict[str, Any]]:
    sqs = stack.sqs()
    url = stack.resources[queue_logical_id]
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


@pytest.mark.parametrize("bucket", ["InboundBucket", "ArchiveBucket"])
def test_local_stack_bucket_has_the_templates_settings(stack: LocalStack, bucket: str) -> None:
    # Given the bucket moto created from the template
    s3 = stack.s3()
    name = stack.resources[bucket]

    # When its settings are read back
    encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    public_access = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]

    # Then they are the template's (moto's CloudFormation alone keeps only the encryption)
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert encryption["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].endswith(stack.resources["DataKey"])
    assert encryption["BucketKeyEnabled"] is True
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert all(public_access.values()) and len(public_access) == 4
    ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    template_rules = sam_resource(bucket)["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [rule["ID"] for rule in lifecycle] == [rule["Id"] for rule in template_rules]


def test_local_stack_claims_table_is_encrypted_recoverable_and_indexed(stack: LocalStack) -> None:
    # Given the claims table
    dynamodb = stack.dynamodb()
    table = dynamodb.describe_table(TableName=stack.claims_table)["Table"]
    template = sam_resource("ClaimsTable")["Properties"]

    # Then keys, index, KMS encryption, PITR and TTL are the template's
    assert table["KeySchema"] == template["KeySchema"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["SSEDescription"]["SSEType"] == "KMS"
    backups = dynamodb.describe_continuous_backups(TableName=stack.claims_table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName=stack.claims_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


@pytest.mark.parametrize(
    ("queue", "dlq", "visibility"),
    [
        ("IngestQueue", "IngestDLQ", "1800"),
        ("SubmitQueue", "SubmitDLQ", "360"),
        ("ResponsesQueue", "ResponsesDLQ", "360"),
        ("SubmittedEventsQueue", "SubmittedEventsDLQ", "360"),
    ],
)
def test_local_stack_queue_redrives_to_its_dlq_and_admits_its_rule(
    stack: LocalStack, queue: str, dlq: str, visibility: str
) -> None:
    # Given a work queue
    attributes = stack.sqs().get_queue_attributes(QueueUrl=stack.resources[queue], AttributeNames=["All"])["Attributes"]

    # Then it redrives after five receives, hides messages for 6 x the function timeout, and lets EventBridge send
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"].rsplit(":", 1)[-1] == stack.resources[dlq].rsplit("/", 1)[-1]
    assert attributes["VisibilityTimeout"] == visibility
    assert attributes["SqsManagedSseEnabled"] == "true"
    (statement,) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"


def test_local_stack_log_groups_alarms_and_dashboard_exist_as_templated(stack: LocalStack) -> None:
    # Given the log groups, alarms and dashboard (moto's CloudFormation drops or half-applies the first two)
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=f"/claimbridge/{stack.stack_name}/")
    alarms = stack.client("cloudwatch").describe_alarms()["MetricAlarms"]

    # Then each function's group has retention and the data key; every alarm is there; the dashboard names the stack's
    assert len(groups["logGroups"]) == 9
    assert all(group["retentionInDays"] == 90 and "kmsKeyId" in group for group in groups["logGroups"])
    dashboard = stack.client("cloudwatch").get_dashboard(DashboardName=stack.resources["Dashboard"])
    assert stack.resources["IngestQueue"].rsplit("/", 1)[-1] in dashboard["DashboardBody"]
    assert f"{stack.stack_name}-PollClearinghouseFunction" in dashboard["DashboardBody"]
    assert sorted(alarm["AlarmName"] for alarm in alarms) == sorted(
        f"{stack.stack_name}-{name}"
        for name in (
            "IngestDLQAlarm",
            "IngestChunksDLQAlarm",
            "SubmitDLQAlarm",
            "ResponsesDLQAlarm",
            "SubmittedEventsDLQAlarm",
            "WriteBackDLQAlarm",
            "EventDeliveryDLQAlarm",
            "PollClearinghouseErrorsAlarm",
            "SubmissionsFailedToSendAlarm",
            # issue 9: error rates, clearinghouse streaks, unmatched responses, stuck claims
            *(
                f"{function}ErrorRateAlarm"
                for function in (
                    "IngestFhir",
                    "IngestChunk",
                    "AcceptSubmission",
                    "SubmitClaims",
                    "PollClearinghouse",
                    "ProcessResponses",
                    "WriteBack",
                    "Reports",
                    "TenantApi",
                )
            ),
            "ClearinghouseFailureStreakAlarm",
            "ClearinghousePollFailureStreakAlarm",
            "ResponsesUnmatchedAlarm",
            "ClaimsStuckInSubmittedAlarm",
        )
    )


def test_local_stack_env_is_the_templates_globals_pointed_at_moto(stack: LocalStack) -> None:
    # Given / When the handler environment
    env = stack.env("SubmitClaimsFunction")

    # Then names are the stack's physical ids and boto3 is pointed at the moto server
    assert env["CLAIMS_TABLE"] == stack.claims_table
    assert env["ARCHIVE_BUCKET"] == stack.archive_bucket
    assert env["INBOUND_BUCKET"] == stack.inbound_bucket
    assert env["EVENT_BUS_NAME"] == stack.event_bus_name == f"claimbridge-{stack.stack_name}"
    assert env["CLAIMBRIDGE_SANDBOX_URL"] == "http://127.0.0.1:9"
    assert env["POWERTOOLS_SERVICE_NAME"] == "submit_claims"
    assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    assert env["AWS_ENDPOINT_URL"] == stack.endpoint_url
    assert "POWERTOOLS_SERVICE_NAME" not in stack.env()


def test_local_stack_wiring_follows_the_template(stack: LocalStack) -> None:
    # Given / When the wiring read from the translated template
    subscriptions = {item.queue_logical_id: item for item in stack.subscriptions}

    # Then every consumer, batch size and the poller's schedule are there
    assert {queue: item.function_logical_id for queue, item in subscriptions.items()} == {
        "IngestQueue": "IngestFhirFunction",
        "IngestChunksQueue": "IngestChunkFunction",
        "SubmitQueue": "SubmitClaimsFunction",
        "ResponsesQueue": "ProcessResponsesFunction",
        "SubmittedEventsQueue": "AcceptSubmissionFunction",
        "WriteBackQueue": "WriteBackFunction",
    }
    assert subscriptions["SubmitQueue"].batch_size == 100
    assert all(item.report_batch_item_failures for item in stack.subscriptions)
    assert [(item.function_logical_id, item.expression) for item in stack.schedules] == [
        ("PollClearinghouseFunction", "rate(1 minute)"),
        ("ReportsFunction", "rate(1 day)"),  # issue 9 reports
    ]
    assert stack.functions["IngestFhirFunction"].handler_file == stack.repo_root / "functions/ingest_fhir/app.py"


@pytest.mark.parametrize(
    ("bucket", "key", "expected_queue"),
    [
        ("InboundBucket", "demo-practice/bundle.json", "IngestQueue"),
        ("ArchiveBucket", "responses/demo-practice/999/r1.x12", "ResponsesQueue"),
        ("ArchiveBucket", "x12/837p/demo-practice/000000001.x12", None),
        ("ArchiveBucket", "quarantine/demo-practice/bad.json", None),
    ],
)
def test_moto_delivers_s3_object_created_through_eventbridge_rules(
    stack: LocalStack, bucket: str, key: str, expected_queue: str | None
) -> None:
    # Given empty queues
    for queue in ("IngestQueue", "ResponsesQueue", "SubmitQueue"):
        _receive_all(stack, queue)

    # When an object is written
    stack.s3().put_object(Bucket=stack.resources[bucket], Key=key, Body=b"{}")

    # Then exactly the queue whose rule matches holds the EventBridge event (the whole event, as a target gets it)
    delivered = {queue: _receive_all(stack, queue) for queue in ("IngestQueue", "ResponsesQueue", "SubmitQueue")}
    for queue, bodies in delivered.items():
        if queue != expected_queue:
            assert bodies == [], queue
    if expected_queue is not None:
        (event,) = delivered[expected_queue]
        assert event["source"] == "aws.s3"
        assert event["detail-type"] == "Object Created"
        assert event["detail"]["bucket"]["name"] == stack.resources[bucket]
        assert event["detail"]["object"]["key"] == key


@pytest.mark.parametrize(("detail_type", "delivered"), [("Claim Ready", True), ("Claim Held", False)])
def test_moto_delivers_claim_bus_events_to_submit_queue_by_rule(
    stack: LocalStack, detail_type: str, delivered: bool
) -> None:
    # Given an empty submit queue
    _receive_all(stack, "SubmitQueue")

    # When an event is put on the claim bus
    stack.events().put_events(
        Entries=[
            {
                "Source": "claimbridge",
                "DetailType": detail_type,
                "Detail": json.dumps({"tenant_id": "t1", "claim_id": "c1"}),
                "EventBusName": stack.event_bus_name,
            }
        ]
    )

    # Then only "Claim Ready" reaches the submit queue, as the full event
    bodies = _receive_all(stack, "SubmitQueue")
    assert [(body["detail-type"], body["detail"]) for body in bodies] == (
        [(detail_type, {"tenant_id": "t1", "claim_id": "c1"})] if delivered else []
    )
