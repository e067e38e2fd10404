"""template.yaml: lint-clean, and every resource carries the settings the architecture promises.

Checked on the SAM source (what a reviewer reads) and, where SAM expands things, on the offline translation.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_all

from claimbridge.local.stack import translate_template
from claimbridge.pipeline.retry import RetrySettings
from claimbridge.state.models import DEFAULT_MAX_SEND_ATTEMPTS
from tests.support.sam import load_template, sam_resource

pytestmark = pytest.mark.contract

FUNCTIONS = {
    "IngestFhirFunction": "functions/ingest_fhir/",
    "IngestChunkFunction": "functions/ingest_chunk/",
    "SubmitClaimsFunction": "functions/submit_claims/",
    "ProcessResponsesFunction": "functions/process_responses/",
    "PollClearinghouseFunction": "functions/poll_clearinghouse/",
    "AcceptSubmissionFunction": "functions/accept_submission/",
    "WriteBackFunction": "functions/write_back/",
    "ReportsFunction": "functions/reports/",  # issue 9 reports
    "TenantApiFunction": "functions/tenant_api/",
}
QUEUES = {
    "IngestQueue": "IngestDLQ",
    "IngestChunksQueue": "IngestChunksDLQ",
    "SubmitQueue": "SubmitDLQ",
    "ResponsesQueue": "ResponsesDLQ",
    "SubmittedEventsQueue": "SubmittedEventsDLQ",
    "WriteBackQueue": "WriteBackDLQ",
}
BUCKETS = ("InboundBucket", "ArchiveBucket")
GLOBAL_ENV = {
    "CLAIMS_TABLE": {"Ref": "ClaimsTable"},
    "ARCHIVE_BUCKET": {"Ref": "ArchiveBucket"},
    "INBOUND_BUCKET": {"Ref": "InboundBucket"},
    "EVENT_BUS_NAME": {"Ref": "ClaimBus"},
    "POWERTOOLS_METRICS_NAMESPACE": "Claimbridge",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
    "CLAIMBRIDGE_SANDBOX_URL": {"Ref": "ClearinghouseSandboxUrl"},
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    return translate_template(template)


def _resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document's statements, both branches of a conditional (``Fn::If``) statement included."""
    statements: list[dict[str, Any]] = []
    for statement in document["Statement"]:
        if set(statement) == {"Fn::If"}:
            _, when_true, when_false = statement["Fn::If"]
            statements.extend(branch for branch in (when_true, when_false) if branch != {"Ref": "AWS::NoValue"})
        else:
            statements.append(statement)
    return statements


def _role_statements(translated: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in translated["Resources"][f"{function}Role"]["Properties"]["Policies"]
        for statement in _statements(policy["PolicyDocument"])
    ]


def _function_setting(template: dict[str, Any], logical_id: str, name: str) -> Any:
    """A function property as SAM applies it: the function's own value, else the Globals one."""
    properties = template["Resources"][logical_id]["Properties"]
    return properties.get(name, template["Globals"]["Function"].get(name))


def test_template_cfn_lint_reports_nothing(repo_root: Path) -> None:
    # Given the template as committed
    text = (repo_root / "template.yaml").read_text(encoding="utf-8")

    # When cfn-lint checks it (what `make validate` runs: errors and warnings)
    matches = [match for match in lint_all(text) if match.rule.id[0] in {"E", "W"}]

    # Then it has nothing to say
    assert [f"{match.rule.id} {match.message} (line {match.linenumber})" for match in matches] == []


def test_template_translates_offline_to_plain_cloudformation(template: dict[str, Any], socket_disabled: None) -> None:
    # Given no network at all, and a managed policy named the way templates usually do
    sam_template = json.loads(json.dumps(template))
    sam_template["Resources"]["IngestFhirFunction"]["Properties"]["Policies"].append("AWSLambdaVPCAccessExecutionRole")

    # When the SAM template is translated
    translated = translate_template(sam_template)

    # Then no serverless type is left, every function has its role, and the policy name became its ARN
    types = {resource["Type"] for resource in translated["Resources"].values()}
    assert not any(resource_type.startswith("AWS::Serverless::") for resource_type in types)
    for logical_id in FUNCTIONS:
        assert translated["Resources"][logical_id]["Type"] == "AWS::Lambda::Function"
        assert translated["Resources"][f"{logical_id}Role"]["Type"] == "AWS::IAM::Role"
    managed = translated["Resources"]["IngestFhirFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole" in managed


@pytest.mark.parametrize(("logical_id", "code_uri"), FUNCTIONS.items())
def test_template_function_runs_traced_arm64_python312_with_the_layer(
    template: dict[str, Any], logical_id: str, code_uri: str
) -> None:
    # Given one function of the template
    properties = sam_resource(logical_id)["Properties"]

    # Then it runs the handler file from its own folder on the Lambda runtime the project targets
    assert properties["CodeUri"] == code_uri
    assert _function_setting(template, logical_id, "Handler") == "app.lambda_handler"
    assert _function_setting(template, logical_id, "Runtime") == "python3.12"
    assert _function_setting(template, logical_id, "Architectures") == ["arm64"]
    assert _function_setting(template, logical_id, "Tracing") == "Active"
    assert _function_setting(template, logical_id, "Layers") == [{"Ref": "ClaimbridgeLayer"}]
    assert (properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]) == code_uri.split("/")[1]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_template_function_logs_to_its_own_group_with_retention_and_kms(
    template: dict[str, Any], logical_id: str
) -> None:
    # Given the function's logging configuration
    log_group_ref = sam_resource(logical_id)["Properties"]["LoggingConfig"]["LogGroup"]
    log_group = sam_resource(log_group_ref["Ref"])

    # Then its log group is the template's, with retention and the data key
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] > 0
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}


def test_template_globals_give_every_function_the_shared_environment(template: dict[str, Any]) -> None:
    # Given the Globals section
    variables = template["Globals"]["Function"]["Environment"]["Variables"]

    # Then the names helper code reads are all there, PHI-safe tracer settings included
    assert variables == GLOBAL_ENV
    assert template["Parameters"]["ClearinghouseSandboxUrl"]["Default"] == ""


def test_template_policies_are_scoped_to_the_stacks_resources(translated: dict[str, Any]) -> None:
    # Given every statement of every function role (SAM's policy templates expanded)
    roles = _resources_of_type(translated, "AWS::IAM::Role")

    # Then no inline statement grants a wildcard resource, and the only managed policies are logs + X-Ray
    for logical_id, role in roles.items():
        managed = {arn.rsplit("/", 1)[-1] for arn in role["Properties"].get("ManagedPolicyArns", [])}
        assert managed <= {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}, logical_id
        for policy in role["Properties"].get("Policies", []):
            for statement in _statements(policy["PolicyDocument"]):
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert "*" not in resources, (logical_id, statement["Action"])


@pytest.mark.parametrize(
    ("function", "queue"),
    [
        ("IngestFhirFunction", "IngestQueue"),
        ("IngestChunkFunction", "IngestChunksQueue"),
        ("SubmitClaimsFunction", "SubmitQueue"),
        ("ProcessResponsesFunction", "ResponsesQueue"),
        ("AcceptSubmissionFunction", "SubmittedEventsQueue"),
    ],
)
def test_template_consumer_may_only_poll_its_own_queue(translated: dict[str, Any], function: str, queue: str) -> None:
    # Given the consumer's role
    statements = _role_statements(translated, function)

    # When the SQS statements that receive messages are collected
    sqs_resources = [statement["Resource"] for statement in statements if "sqs:ReceiveMessage" in statement["Action"]]

    # Then there is exactly one, naming its own queue
    assert len(sqs_resources) == 1
    assert queue in repr(sqs_resources[0])
    assert not any(other in repr(sqs_resources[0]) for other in QUEUES if other != queue)


def test_template_only_ingest_may_send_chunks_and_only_to_its_chunk_queue(translated: dict[str, Any]) -> None:
    # Given every function role
    senders: dict[str, list[Any]] = {}
    for logical_id in FUNCTIONS:
        # When the statements allowing sqs:SendMessage are collected
        senders[logical_id] = [
            statement["Resource"]
            for statement in _role_statements(translated, logical_id)
            if any(str(action).startswith("sqs:SendMessage") for action in statement["Action"])
        ]
    # Then only the ingest function sends, and only to the chunk queue (the fan-out)
    assert {name for name, resources in senders.items() if resources} == {"IngestFhirFunction"}
    assert senders["IngestFhirFunction"] == [{"Fn::GetAtt": ["IngestChunksQueue", "Arn"]}]


@pytest.mark.parametrize(("queue", "dlq"), QUEUES.items())
def test_template_queue_has_dlq_encryption_and_a_visibility_of_six_function_timeouts(
    template: dict[str, Any], queue: str, dlq: str
) -> None:
    # Given a work queue and the function consuming it
    properties = sam_resource(queue)["Properties"]
    mapping = next(
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
        and resource["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    )
    function_id = mapping["FunctionName"]["Ref"]
    timeout = _function_setting(template, function_id, "Timeout")

    # Then failures go to its DLQ after five receives, both queues are encrypted, and retries wait out a slow run
    assert properties["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5}
    assert properties["SqsManagedSseEnabled"] is True
    assert sam_resource(dlq)["Properties"]["SqsManagedSseEnabled"] is True
    assert sam_resource(dlq)["Properties"]["MessageRetentionPeriod"] == 1_209_600
    assert properties["VisibilityTimeout"] >= 6 * timeout
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("dlq", [*QUEUES.values(), "EventDeliveryDLQ"])
def test_template_dlq_has_an_alarm(template: dict[str, Any], dlq: str) -> None:
    # Given the alarms of the template
    alarms = _resources_of_type(template, "AWS::CloudWatch::Alarm").values()

    # Then one fires on any visible message in the DLQ and notifies the alarm topic
    watching = [
        alarm["Properties"]
        for alarm in alarms
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}
        in alarm["Properties"].get("Dimensions", [])
    ]
    assert len(watching) == 1
    assert watching[0]["Threshold"] == 0
    assert watching[0]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("bucket", BUCKETS)
def test_template_bucket_is_private_versioned_kms_encrypted_and_tls_only(bucket: str) -> None:
    # Given a bucket and its policy
    properties = sam_resource(bucket)["Properties"]
    policy = next(
        resource["Properties"]["PolicyDocument"]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy" and resource["Properties"]["Bucket"] == {"Ref": bucket}
    )

    # Then public access is blocked, objects are versioned and encrypted with the data key, EventBridge sees them
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    default = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]}}
    assert properties["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    # and every request without TLS is denied
    tls_denials = [
        statement
        for statement in policy["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and statement["Action"] == "s3:*"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(tls_denials) == 1
    assert {"Fn::Sub": f"${{{bucket}.Arn}}/*"} in tls_denials[0]["Resource"]


def test_template_claims_table_matches_the_state_store_contract() -> None:
    # Given the claims table
    properties = sam_resource("ClaimsTable")["Properties"]

    # Then its keys are pk/sk + gsi1, on demand, KMS-encrypted with the data key, with point-in-time recovery
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "gsi1pk", "AttributeType": "S"} in properties["AttributeDefinitions"]
    assert properties["GlobalSecondaryIndexes"][0]["IndexName"] == "gsi1"
    assert properties["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Ref": "DataKey"},
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_template_data_key_rotates() -> None:
    # Given / When / Then the customer-managed key rotates and is kept when the stack goes
    key = sam_resource("DataKey")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize(
    ("rule", "bus", "pattern", "queue"),
    [
        (
            "InboundObjectCreatedRule",
            "default",
            {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [{"Ref": "InboundBucket"}]}},
            },
            "IngestQueue",
        ),
        (
            "ResponseObjectCreatedRule",
            "default",
            {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [{"Ref": "ArchiveBucket"}]},
                    "object": {"key": [{"prefix": "responses/"}]},
                },
            },
            "ResponsesQueue",
        ),
        (
            "ClaimReadyRule",
            {"Ref": "ClaimBus"},
            {"source": ["claimbridge"], "detail-type": ["Claim Ready", "Claim Corrected"]},
            "SubmitQueue",
        ),
        (
            "FhirBundleSubmittedRule",
            {"Ref": "ClaimBus"},
            {"source": [{"anything-but": "claimbridge"}], "detail-type": ["FHIR Bundle Submitted"]},
            "SubmittedEventsQueue",
        ),
    ],
)
def test_template_rule_routes_to_its_queue_which_lets_only_that_rule_send(
    rule: str, bus: Any, pattern: dict[str, Any], queue: str
) -> None:
    # Given a routing rule and the queue policies
    properties = sam_resource(rule)["Properties"]
    policies = [
        resource["Properties"]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::SQS::QueuePolicy" and resource["Properties"]["Queues"] == [{"Ref": queue}]
    ]

    # Then the rule listens on the right bus for the right events and targets the queue
    assert properties["EventBusName"] == bus
    assert properties["EventPattern"] == pattern
    assert properties["Targets"] == [
        {
            "Id": queue,
            "Arn": {"Fn::GetAtt": [queue, "Arn"]},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["EventDeliveryDLQ", "Arn"]}},
        }
    ]
    # and the queue accepts messages from EventBridge only for that rule
    (policy,) = policies
    allows = [statement for statement in policy["PolicyDocument"]["Statement"] if statement["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": allows[0]["Sid"],
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": [queue, "Arn"]},
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}},
        }
    ]


@pytest.mark.parametrize(
    ("mapping", "batch_size", "window"),
    [
        ("IngestFhirEventSource", 10, None),
        ("IngestChunkEventSource", 1, None),
        ("SubmitClaimsEventSource", 100, 5),
        ("ProcessResponsesEventSource", 10, None),
        ("AcceptSubmissionEventSource", 10, None),
    ],
)
def test_template_event_source_batches_as_designed(mapping: str, batch_size: int, window: int | None) -> None:
    # Given / When / Then
    properties = sam_resource(mapping)["Properties"]
    assert properties["BatchSize"] == batch_size
    assert properties.get("MaximumBatchingWindowInSeconds") == window
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_template_poller_runs_every_minute_one_at_a_time() -> None:
    # Given the poller
    properties = sam_resource("PollClearinghouseFunction")["Properties"]

    # Then a schedule fires it every minute and only one instance runs at a time
    (event,) = properties["Events"].values()
    assert event == {
        "Type": "Schedule",
        "Properties": {
            "Schedule": "rate(1 minute)",
            "Description": event["Properties"]["Description"],
            "Enabled": True,
        },
    }
    assert properties["ReservedConcurrentExecutions"] == 1


def test_template_layer_ships_exactly_the_pinned_runtime_dependencies(repo_root: Path) -> None:
    # Given the layer and the project's runtime dependencies
    layer = sam_resource("ClaimbridgeLayer")
    project = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [
        line.strip()
        for line in (repo_root / "layers/claimbridge/requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    # Then SAM builds it for python3.12 on arm64 from layers/claimbridge with the same exact pins
    assert layer["Properties"]["ContentUri"] == "layers/claimbridge/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert sorted(requirements) == sorted(project["dependencies"])
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[0-9][0-9A-Za-z.]*", requirement) for requirement in requirements)


def test_template_outputs_name_every_bucket_queue_table_bus_and_function(template: dict[str, Any]) -> None:
    # Given the outputs
    referenced = repr(template["Outputs"])

    # Then each stateful resource and function can be found from the stack
    for logical_id in (*BUCKETS, *QUEUES, *QUEUES.values(), "ClaimsTable", "ClaimBus", "DataKey", *FUNCTIONS):
        assert f"'{logical_id}'" in referenced, logical_id


def test_template_dashboard_shows_metrics_the_code_emits_and_resources_the_stack_has(
    template: dict[str, Any], repo_root: Path
) -> None:
    # Given the dashboard body (a Fn::Sub string) and the package source
    body_template = sam_resource("Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    variables = set(re.findall(r"\$\{([^}]+)\}", body_template))
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", body_template))
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("layers/claimbridge", "functions")
        for path in (repo_root / folder).rglob("*.py")
    )

    # When the custom metrics it searches for are collected
    searched = {
        name
        for widget in body["widgets"]
        for row in widget.get("properties", {}).get("metrics", [])
        for item in row
        if isinstance(item, dict) and "expression" in item
        for name in re.findall(r'MetricName=\\?"(\w+)', item["expression"])
    }

    # Then the body is valid JSON, each metric is one the code counts, and each ${...} names a resource or pseudo param
    assert searched
    assert sorted(name for name in searched if f'"{name}"' not in source) == []
    assert {variable.split(".")[0] for variable in variables} <= {
        *template["Resources"],
        "AWS::Region",
        "AWS::StackName",
    }


def test_template_partner_accounts_may_only_submit_fhir_bundles_on_the_bus(template: dict[str, Any]) -> None:
    # Given the bus policy for EHR vendors' accounts
    resource = sam_resource("ClaimBusPartnerPolicy")
    statement = resource["Properties"]["Statement"]

    # Then it exists only when partner accounts are given, and lets them put nothing but FHIR Bundle Submitted events
    assert template["Parameters"]["PartnerAccountIds"] == {
        "Type": "CommaDelimitedList",
        "Default": "",
        "Description": template["Parameters"]["PartnerAccountIds"]["Description"],
    }
    assert resource["Condition"] == "HasPartnerAccounts"
    assert resource["Properties"]["EventBusName"] == {"Ref": "ClaimBus"}
    assert statement["Principal"] == {"AWS": {"Ref": "PartnerAccountIds"}}
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {"events:detail-type": "FHIR Bundle Submitted"},
        "StringNotEquals": {"events:source": "claimbridge"},
    }


def test_template_accept_submission_reads_only_partner_buckets_and_writes_only_event_copies_and_rejections(
    translated: dict[str, Any],
) -> None:
    # Given the S3 statements of the submission function's role
    statements = _role_statements(translated, "AcceptSubmissionFunction")
    s3 = [statement for statement in statements if str(statement["Action"]).startswith("s3:")]

    # Then it reads objects only in partner accounts (the code adds ExpectedBucketOwner), only when there are any ...
    (read,) = [statement for statement in s3 if statement["Action"] == "s3:GetObject"]
    assert read["Condition"] == {"StringEquals": {"s3:ResourceAccount": {"Ref": "PartnerAccountIds"}}}
    policy = translated["Resources"]["AcceptSubmissionFunctionRole"]["Properties"]["Policies"]
    conditional = [
        statement["Fn::If"][0]
        for item in policy
        for statement in item["PolicyDocument"]["Statement"]
        if "Fn::If" in statement
    ]
    assert conditional == ["HasPartnerAccounts", "HasPartnerAccounts"]
    # ... and writes only the tenants' events/ prefixes of the inbound bucket and the archive's rejections
    writes = [statement["Resource"] for statement in s3 if statement["Action"] == "s3:PutObject"]
    assert writes == [
        {"Fn::Sub": "${InboundBucket.Arn}/*/events/*"},
        [{"Fn::Sub": "${ArchiveBucket.Arn}/quarantine/*"}, {"Fn::Sub": "${ArchiveBucket.Arn}/outbound/*"}],
    ]
    assert {statement["Action"] for statement in s3} == {"s3:GetObject", "s3:PutObject"}


def test_template_archive_expires_fan_out_indexes_within_a_week() -> None:
    # Given the archive bucket's lifecycle (fan-out indexes under work/ hold whole FHIR resources)
    rules = sam_resource("ArchiveBucket")["Properties"]["LifecycleConfiguration"]["Rules"]
    # Then objects under work/ expire after at most 7 days, their old versions after a day
    (rule,) = [r for r in rules if r.get("Prefix") == "work/"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] <= 7
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 1


def test_template_submit_is_rate_limited_and_its_retry_bound_ends_before_the_dlq(template: dict[str, Any]) -> None:
    # Given the submit function, its event source and its queue
    mapping = sam_resource("SubmitClaimsEventSource")["Properties"]
    variables = sam_resource("SubmitClaimsFunction")["Properties"]["Environment"]["Variables"]
    redrive = sam_resource("SubmitQueue")["Properties"]["RedrivePolicy"]
    settings = RetrySettings.model_validate(variables)

    # Then at most a few senders run at once (SQS maximum concurrency: 2 is the floor Lambda allows) ...
    assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= 5
    # ... the retry bound is the one stored records default to, and below maxReceiveCount: an outage ends in
    # FAILED_TO_SEND (alarmed, resendable), the DLQ only catches what never reached the clearinghouse
    assert settings.max_attempts == DEFAULT_MAX_SEND_ATTEMPTS < redrive["maxReceiveCount"]
    # ... and the longest wait between attempts fits well inside the queue's retention
    assert (
        settings.policy().max_delay_seconds * settings.max_attempts
        < sam_resource("SubmitQueue")["Properties"]["MessageRetentionPeriod"]
    )


def test_template_alarms_on_submissions_failed_to_send(template: dict[str, Any], repo_root: Path) -> None:
    # Given the alarm and the function that counts the metric
    alarm = sam_resource("SubmissionsFailedToSendAlarm")["Properties"]
    service = sam_resource("SubmitClaimsFunction")["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    source = (repo_root / "layers/claimbridge/claimbridge/pipeline/submit.py").read_text(encoding="utf-8")

    # Then it fires on the first failed interchange the submit function reports, and notifies the alarm topic
    assert '"SubmissionsFailedToSend"' in source
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"],
        "SubmissionsFailedToSend",
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": service}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == ("Sum", 0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # and the dashboard shows which tenant it is
    body = sam_resource("Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    assert "SEARCH('{Claimbridge,service,tenant} MetricName=\\\"ClaimsFailedToSend\\\"'" in body


# ---------------------------------------------------------------- issue 9: reports


def test_template_reports_function_reads_the_table_and_writes_only_under_reports(translated: dict[str, Any]) -> None:
    # Given the reports function's role, SAM's policy templates expanded
    statements = _role_statements(translated, "ReportsFunction")
    actions = {action for statement in statements for action in _listed(statement["Action"])}

    # Then DynamoDB access is read-only, S3 access is PutObject under reports/ only, and nothing else is granted
    assert {action for action in actions if action.startswith("dynamodb:")} <= {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PartiQLSelect",
    }
    s3 = [statement for statement in statements if any(a.startswith("s3:") for a in _listed(statement["Action"]))]
    assert [(_listed(s["Action"]), s["Resource"]) for s in s3] == [
        (["s3:PutObject"], {"Fn::Sub": "${ArchiveBucket.Arn}/reports/*"})
    ]
    assert {action.split(":")[0] for action in actions} == {"dynamodb", "s3", "kms"}


def test_template_alarms_on_claims_stuck_in_submitted_from_the_reports_metric(
    template: dict[str, Any], repo_root: Path
) -> None:
    # Given the alarm, its threshold parameter and the metric the reports code emits
    alarm = template["Resources"]["ClaimsStuckInSubmittedAlarm"]["Properties"]
    parameter = template["Parameters"]["StuckSubmittedDays"]
    emit = (repo_root / "layers/claimbridge/claimbridge/reports/emit.py").read_text(encoding="utf-8")

    # Then it watches OldestClaimAgeDays(state=SUBMITTED) of the reports function against the parameter (30 days)
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Claimbridge", "OldestClaimAgeDays")
    assert f'"{alarm["MetricName"]}"' in emit
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"state": "SUBMITTED", "service": "reports"}
    reports_env = template["Resources"]["ReportsFunction"]["Properties"]["Environment"]["Variables"]
    assert reports_env["POWERTOOLS_SERVICE_NAME"] == "reports"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == ({"Ref": "StuckSubmittedDays"}, "GreaterThanThreshold")
    assert (parameter["Type"], parameter["Default"]) == ("Number", 30)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # and the function that writes it runs daily
    (event,) = template["Resources"]["ReportsFunction"]["Properties"]["Events"].values()
    assert (event["Type"], event["Properties"]["Schedule"]) == ("Schedule", "rate(1 day)")


def _listed(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- tenant API and least privilege (issue 8)
DATA_SERVICES = ("s3", "dynamodb", "sqs", "events", "secretsmanager", "sns", "logs", "kms")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_documents(translated: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every policy document of the translated template: role inline policies, IAM policies, resource policies."""
    documents: list[tuple[str, dict[str, Any]]] = []
    for logical_id, resource in translated["Resources"].items():
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::IAM::Role":
            documents.extend((logical_id, policy["PolicyDocument"]) for policy in properties.get("Policies", []))
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((logical_id, properties["PolicyDocument"]))
        elif resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            documents.append((logical_id, properties["PolicyDocument"]))
        elif resource["Type"] == "AWS::KMS::Key":
            documents.append((logical_id, properties["KeyPolicy"]))
        elif resource["Type"] == "AWS::Events::EventBusPolicy" and "Statement" in properties:
            documents.append((logical_id, {"Statement": [properties["Statement"]]}))
    return documents


def _is_key_administration(logical_id: str, statement: dict[str, Any]) -> bool:
    """The key policy statement that keeps the data key administrable through IAM (the account root, kms:*)."""
    principal = statement.get("Principal", {})
    return (
        logical_id == "DataKey"
        and statement.get("Action") == "kms:*"
        and isinstance(principal, dict)
        and "root" in json.dumps(principal.get("AWS", ""))
    )


def test_template_no_policy_allows_a_wildcard_action_on_data(translated: dict[str, Any]) -> None:
    # Given every Allow statement of every policy in the stack (SAM policy templates expanded)
    offending = []
    for logical_id, document in _policy_documents(translated):
        for statement in _statements(document):
            if statement.get("Effect") != "Allow" or _is_key_administration(logical_id, statement):
                continue
            # When its actions are checked
            for action in _as_list(statement.get("Action", [])):
                service, _, name = str(action).partition(":")
                # Then none is "*" or "<data service>:*"
                if action == "*" or (service in DATA_SERVICES and name == "*"):
                    offending.append((logical_id, statement.get("Sid"), action))
    assert offending == []


def test_template_no_policy_allows_a_wildcard_action_even_when_a_role_tries(translated: dict[str, Any]) -> None:
    # Given a copy of the template whose tenant API role grants dynamodb:* (what the previous test must catch)
    broken = json.loads(json.dumps(translated))
    policies = broken["Resources"]["TenantApiFunctionRole"]["Properties"]["Policies"]
    policies.append({"PolicyName": "Broad", "PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["ClaimsTable", "Arn"]}}
    ]}})  # fmt: skip

    # When / Then the check reports it
    with pytest.raises(AssertionError):
        test_template_no_policy_allows_a_wildcard_action_on_data(broken)


def test_template_tenant_api_is_iam_authorised_and_least_privileged(translated: dict[str, Any]) -> None:
    # Given the tenant API and its function's role
    api = sam_resource("TenantApi")["Properties"]
    statements = _role_statements(translated, "TenantApiFunction")
    actions = {str(action) for statement in statements for action in _as_list(statement["Action"])}

    # Then every route needs SigV4 (AWS_IAM) and API Gateway invokes the function itself, not with the caller's rights
    assert api["Auth"] == {"DefaultAuthorizer": "AWS_IAM", "InvokeRole": "NONE"}
    events = sam_resource("TenantApiFunction")["Properties"]["Events"]
    assert {event["Properties"]["RestApiId"]["Ref"] for event in events.values()} == {"TenantApi"}
    # and it may describe (never read) secrets, only under claimbridge/
    (describe,) = [s for s in statements if "secretsmanager:DescribeSecret" in _as_list(s["Action"])]
    assert describe["Resource"]["Fn::Sub"].endswith(":secret:claimbridge/*")
    assert not any(
        action.startswith("secretsmanager:") and action != "secretsmanager:DescribeSecret" for action in actions
    )
    # and it neither consumes queues nor deletes objects
    assert not any(action.startswith("sqs:") for action in actions)
    assert "s3:DeleteObject" not in actions
