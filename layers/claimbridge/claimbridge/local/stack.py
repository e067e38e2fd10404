"""The local stack: ``template.yaml`` provisioned into a moto server on 127.0.0.1, as close to the deployed stack as
moto allows, so ``make run`` and the e2e tests exercise the same buckets, queues, rules and table the template defines.

How it starts
    1. ``ThreadedMotoServer`` on a free port of 127.0.0.1 (moto's state is reset on start and stop).
    2. The SAM template is translated offline with aws-sam-translator (local ``CodeUri``/``ContentUri`` become
       ``s3://`` URIs first, as ``sam package`` would do; the translator gets an explicit region and a managed-policy
       loader that returns an empty map, so it never calls IAM and resolves policy names from the map it bundles).
    3. The translated template is created as a CloudFormation stack in moto.
    4. Settings moto's CloudFormation drops are applied with boto3 (table below).

Moto gaps (moto 5.2.5) and how this module bridges them
    ============================================  ==============================================================
    template                                      moto CloudFormation -> bridge
    ============================================  ==============================================================
    AWS::ApiGateway::Deployment / Stage           moto does not import a RestApi's OpenAPI ``Body``, so deploying
                                                  it fails: removed like the Lambda resources (the RestApi itself
                                                  stays); the tenant API's handler is called in-process.
    AWS::Lambda::Function / LayerVersion /        no Lambda runtime (moto would run code in Docker): removed from
    EventSourceMapping / Permission               the stack; references to them become their would-be names/ARNs.
                                                  ``claimbridge.local.router`` runs the handlers in-process and
                                                  follows the same event source mappings and schedules.
                                                  ``${Function}`` in ``Fn::Sub`` strings (the dashboard) too.
    Ref to AWS::Events::EventBus                  resolves to a Python object, not the name -> rewritten to
                                                  ``Fn::GetAtt [Bus, Name]`` (the same value in CloudFormation),
                                                  in ``Fn::Sub`` strings as ``${Bus.Name}``.
    S3 Bucket: versioning, public access block,   dropped -> put_bucket_versioning / put_public_access_block /
    ownership controls, lifecycle, EventBridge    put_bucket_ownership_controls / put_bucket_lifecycle_configuration /
    notifications, BucketKeyEnabled               put_bucket_notification_configuration / put_bucket_encryption
    AWS::S3::BucketPolicy, AWS::SQS::QueuePolicy  unsupported -> put_bucket_policy / set_queue_attributes(Policy),
                                                  minus the ``aws:SecureTransport`` deny: the local endpoint is
                                                  plain HTTP, and moto treats any statement whose condition it
                                                  cannot evaluate as an explicit deny
    DynamoDB SSESpecification, PITR, TTL          dropped; moto's UpdateTable ignores SSE -> the (empty) table is
                                                  recreated with the template's SSESpecification, then
                                                  update_continuous_backups / update_time_to_live
    AWS::Logs::LogGroup KmsKeyId                  dropped (no associate_kms_key in moto) -> group recreated with it
    AWS::CloudWatch::Alarm                        unsupported -> put_metric_alarm
    ============================================  ==============================================================

Intrinsic functions in the bridged properties (``!Ref``, ``!GetAtt``, ``!Sub`` ...) and in the functions' environment
are resolved by moto's own CloudFormation engine: each one is added to the stack as a hidden output and read back.
Moto itself delivers S3 -> EventBridge (default bus) -> SQS and custom-bus ``PutEvents`` -> rule -> SQS (verified in
tests/e2e/test_local_stack.py); only the Lambda hop is emulated, by the router.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
import httpx

from claimbridge.local.template import TEMPLATE_NAME, find_repo_root, load_template

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

LOGGER = logging.getLogger(__name__)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_STACK_NAME = "claimbridge-local"
LOCAL_ARTIFACT_BUCKET = "claimbridge-local-artifacts"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

_NO_RUNTIME_TYPES = frozenset(
    {
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Permission",
        # The tenant API's deployment and stage: moto's CloudFormation does not import the RestApi's OpenAPI body,
        # so a deployment of it fails ("no methods"). Tests and the CLI call the handler in-process instead.
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
    }
)
_RESOLVE_PREFIX = "LocalResolve"
_DEV_TOOLS_MISSING = "the local stack needs moto[server] and aws-sam-translator: pip install -e . --group dev"
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+(?:\.[A-Za-z0-9.]+)?)\}")


def _hide_known_cfn_gaps(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("No Moto CloudFormation support for ")


class LocalStackError(RuntimeError):
    """The local stack could not be provisioned (translation failed, moto refused the stack, a bridge failed)."""


# ----------------------------------------------------------------------------------------------- translation


def _code_uri_to_s3(template: dict[str, Any]) -> dict[str, str]:
    """Point local ``CodeUri``/``ContentUri`` at a placeholder bucket (what ``sam package`` does); return the paths."""
    local_paths: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            uri = properties.get(key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                local_paths[logical_id] = uri
                properties[key] = f"s3://{LOCAL_ARTIFACT_BUCKET}/{uri.strip('/')}"
    return local_paths


def translate_template(template: dict[str, Any], *, region: str = REGION) -> dict[str, Any]:
    """SAM -> plain CloudFormation, offline.

    No AWS call: the region is given, and the managed-policy loader returns an empty map instead of calling
    ``iam:ListPolicies``; aws-sam-translator resolves managed policy names (``AWSLambdaBasicExecutionRole`` ...) from
    the map it bundles before it would consult the loader.
    """
    try:  # dev-only dependencies (pyproject [dependency-groups] dev): the Lambda layer does not ship them
        from samtranslator.parser.parser import Parser  # noqa: PLC0415
        from samtranslator.translator.translator import Translator  # noqa: PLC0415
    except ImportError as exc:
        raise LocalStackError(_DEV_TOOLS_MISSING) from exc
    sam_template = json.loads(json.dumps(template))
    _code_uri_to_s3(sam_template)
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=boto3.Session(region_name=region))
    try:
        translated: dict[str, Any] = translator.translate(
            sam_template, parameter_values={}, get_managed_policy_map=dict
        )
    except Exception as exc:  # samtranslator raises InvalidDocumentException with .causes
        causes = getattr(exc, "causes", None) or [exc]
        raise LocalStackError("SAM translation failed: " + "; ".join(str(cause) for cause in causes)) from exc
    return translated


# ----------------------------------------------------------------------------------------------- wiring


@dataclass(frozen=True)
class LocalFunction:
    """A function of the template as the router runs it (handler file + resolved environment)."""

    logical_id: str
    code_dir: Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, str]

    @property
    def handler_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / f"{module.replace('.', '/')}.py"

    @property
    def handler_function(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class QueueSubscription:
    """An SQS event source mapping: which function consumes which queue, and how."""

    logical_id: str
    queue_logical_id: str
    function_logical_id: str
    batch_size: int
    report_batch_item_failures: bool
    queue_url: str
    queue_arn: str


@dataclass(frozen=True)
class ScheduledInvocation:
    """A schedule rule that invokes a function (``Events: Type: Schedule`` in SAM)."""

    rule_logical_id: str
    function_logical_id: str
    expression: str
    rule_arn: str


def _ref_target(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        attribute = value["Fn::GetAtt"]
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            return attribute[0]
    return None


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::If"}
    )


def _collect_intrinsics(value: Any, found: list[Any]) -> None:
    if _is_intrinsic(value):
        if value not in found:
            found.append(value)
        return
    if isinstance(value, dict):
        for item in value.values():
            _collect_intrinsics(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_intrinsics(item, found)


def _substitute(value: Any, resolved: list[tuple[Any, str]]) -> Any:
    if _is_intrinsic(value):
        for expression, result in resolved:
            if expression == value:
                return result
        raise LocalStackError(f"unresolved intrinsic {json.dumps(value)}")
    if isinstance(value, dict):
        return {key: _substitute(item, resolved) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, resolved) for item in value]
    return value


class _MotoRewriter:
    """Rewrites references moto cannot resolve (see the module docstring) in any fragment of the template."""

    def __init__(self, translated: dict[str, Any], *, stack_name: str, region: str) -> None:
        resources: dict[str, Any] = translated["Resources"]
        self.removed = {key for key, resource in resources.items() if resource["Type"] in _NO_RUNTIME_TYPES}
        self.buses = {key for key, resource in resources.items() if resource["Type"] == "AWS::Events::EventBus"}
        self.stack_name = stack_name
        self.region = region

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            target = _ref_target(value)
            if target in self.removed and "Ref" in value:
                return f"{self.stack_name}-{target}"
            if target in self.removed:
                return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.stack_name}-{target}"
            if target in self.buses and "Ref" in value:
                return {"Fn::GetAtt": [target, "Name"]}
            if set(value) == {"Fn::Sub"}:
                return {"Fn::Sub": self._sub(value["Fn::Sub"])}
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        return value

    def _sub(self, template: Any) -> Any:
        """The same rewrites inside ``Fn::Sub`` strings (``${Function}``, ``${Function.Arn}``, ``${Bus}``)."""
        if isinstance(template, list):
            return [self._sub(template[0]), *(self(item) for item in template[1:])]
        if not isinstance(template, str):
            return self(template)

        def replace(match: re.Match[str]) -> str:
            target, _, attribute = match.group(1).partition(".")
            if target in self.removed:
                return self({"Fn::GetAtt": [target, attribute]} if attribute else {"Ref": target})  # type: ignore[no-any-return]
            if target in self.buses and not attribute:
                return f"${{{target}.Name}}"
            return match.group(0)

        return _SUB_VARIABLE.sub(replace, template)

    def stack_document(self, translated: dict[str, Any]) -> dict[str, Any]:
        """The template moto can create: no Lambda-runtime resources, references rewritten."""
        kept = {key: resource for key, resource in translated["Resources"].items() if key not in self.removed}
        document: dict[str, Any] = self({**translated, "Resources": kept})
        return document


# ----------------------------------------------------------------------------------------------- the stack


@dataclass
class LocalStack:
    """template.yaml running in a moto server on 127.0.0.1; use as a context manager (stops the server on exit).

    ``resources`` maps logical ids to physical ids (bucket and table names, queue URLs, the bus name, key id);
    ``env()`` is the handler environment the template gives the functions, pointed at the moto server.
    """

    repo_root: Path = field(default_factory=find_repo_root)
    stack_name: str = DEFAULT_STACK_NAME
    parameters: Mapping[str, str] = field(default_factory=dict)
    region: str = REGION

    endpoint_url: str = field(init=False, default="")
    resources: dict[str, str] = field(init=False, default_factory=dict)
    resource_types: dict[str, str] = field(init=False, default_factory=dict)
    outputs: dict[str, str] = field(init=False, default_factory=dict)
    functions: dict[str, LocalFunction] = field(init=False, default_factory=dict)
    subscriptions: tuple[QueueSubscription, ...] = field(init=False, default=())
    schedules: tuple[ScheduledInvocation, ...] = field(init=False, default=())
    translated: dict[str, Any] = field(init=False, default_factory=dict)
    _server: Any = field(init=False, default=None, repr=False)
    _clients: dict[str, Any] = field(init=False, default_factory=dict, repr=False)

    # -- lifecycle

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start moto, create the stack from template.yaml, bridge what moto dropped."""
        try:
            from moto.server import ThreadedMotoServer  # noqa: PLC0415 - dev-only dependency, imported on use
        except ImportError as exc:
            raise LocalStackError(_DEV_TOOLS_MISSING) from exc

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        # "No Moto CloudFormation support for <type>": known, and bridged after the stack is created.
        logging.getLogger("moto").addFilter(_hide_known_cfn_gaps)
        warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        try:
            self._reset_moto()
            self._provision()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Reset moto's in-process state and stop the server (idempotent)."""
        if self._server is None:
            return
        try:
            self._reset_moto()
        finally:
            self._server.stop()
            self._server = None
            self._clients.clear()

    def _reset_moto(self) -> None:
        httpx.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()

    # -- clients and environment

    def client(self, service: str) -> Any:
        """A boto3 client for any service of the local stack (untyped; the typed ones are below), made once."""
        if service not in self._clients:
            self._clients[service] = boto3.session.Session(
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
                region_name=self.region,
            ).client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
        return self._clients[service]

    def s3(self) -> S3Client:
        client: S3Client = self.client("s3")
        return client

    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self.client("events")
        return client

    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    def cloudformation(self) -> CloudFormationClient:
        client: CloudFormationClient = self.client("cloudformation")
        return client

    def base_env(self) -> dict[str, str]:
        """What every process talking to the local stack needs: endpoint, dummy credentials, region."""
        return {
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon on a developer machine
        }

    def env(self, function_logical_id: str | None = None) -> dict[str, str]:
        """The handler environment: the template's ``Environment.Variables`` (resolved) + endpoint and credentials.

        Without a function id: the variables every function shares (the template's ``Globals``).
        """
        if function_logical_id is not None:
            return {**self.functions[function_logical_id].environment, **self.base_env()}
        shared: dict[str, str] | None = None
        for function in self.functions.values():
            variables = dict(function.environment)
            shared = variables if shared is None else {k: v for k, v in shared.items() if variables.get(k) == v}
        return {**(shared or {}), **self.base_env()}

    @property
    def inbound_bucket(self) -> str:
        return self.resources["InboundBucket"]

    @property
    def archive_bucket(self) -> str:
        return self.resources["ArchiveBucket"]

    @property
    def claims_table(self) -> str:
        return self.resources["ClaimsTable"]

    @property
    def event_bus_name(self) -> str:
        return self.resources["ClaimBus"]

    def queue_urls(self) -> dict[str, str]:
        """Every queue of the stack (logical id -> URL), DLQs included."""
        return {
            logical_id: physical
            for logical_id, physical in self.resources.items()
            if self.resource_types.get(logical_id) == "AWS::SQS::Queue"
        }

    # -- provisioning

    def _provision(self) -> None:
        template = load_template(self.repo_root / TEMPLATE_NAME)
        code_paths = _code_uri_to_s3(json.loads(json.dumps(template)))
        self.translated = translate_template(template, region=self.region)
        rewrite = _MotoRewriter(self.translated, stack_name=self.stack_name, region=self.region)
        document = rewrite.stack_document(self.translated)
        original_resources: dict[str, Any] = self.translated["Resources"]

        # Everything we must resolve ourselves goes into hidden outputs, so moto's engine resolves it.
        bridged = {
            logical_id: resource
            for logical_id, resource in document["Resources"].items()
            if resource["Type"] in _BRIDGES and "Condition" not in resource
        }
        functions = {
            logical_id: rewrite(resource)
            for logical_id, resource in original_resources.items()
            if resource["Type"] == "AWS::Lambda::Function"
        }
        subscriptions = {
            logical_id: rewrite(resource)
            for logical_id, resource in original_resources.items()
            if resource["Type"] == "AWS::Lambda::EventSourceMapping"
        }
        expressions: list[Any] = []
        for resource in (*bridged.values(), *functions.values(), *subscriptions.values()):
            _collect_intrinsics(resource.get("Properties", {}), expressions)
        required = len(expressions)
        for logical_id in document["Resources"]:  # fallbacks for physical ids moto does not report
            _collect_intrinsics(rewrite({"Ref": logical_id}), expressions)
        document.setdefault("Outputs", {})
        for index, expression in enumerate(expressions):
            document["Outputs"][f"{_RESOLVE_PREFIX}{index}"] = {"Value": expression}

        outputs = self._create_stack(document)
        missing = [
            expr for index, expr in enumerate(expressions[:required]) if f"{_RESOLVE_PREFIX}{index}" not in outputs
        ]
        if missing:
            raise LocalStackError(f"moto could not resolve {json.dumps(missing)}")
        resolved = [
            (expression, outputs[f"{_RESOLVE_PREFIX}{index}"])
            for index, expression in enumerate(expressions)
            if f"{_RESOLVE_PREFIX}{index}" in outputs
        ]
        self.outputs = {key: value for key, value in outputs.items() if not key.startswith(_RESOLVE_PREFIX)}
        self._read_physical_ids(document, resolved, rewrite)

        for logical_id, resource in bridged.items():
            _BRIDGES[resource["Type"]](self, logical_id, _substitute(resource.get("Properties", {}), resolved))

        self.functions = {
            logical_id: self._local_function(logical_id, _substitute(resource["Properties"], resolved), code_paths)
            for logical_id, resource in functions.items()
        }
        self.subscriptions = tuple(
            self._subscription(logical_id, _substitute(resource["Properties"], resolved), original_resources)
            for logical_id, resource in subscriptions.items()
        )
        self.schedules = tuple(self._schedules(document))

    def _create_stack(self, document: dict[str, Any]) -> dict[str, str]:
        cloudformation = self.cloudformation()
        parameters = [{"ParameterKey": key, "ParameterValue": value} for key, value in self.parameters.items()]
        cloudformation.create_stack(
            StackName=self.stack_name,
            TemplateBody=json.dumps(document),
            Parameters=parameters,  # type: ignore[arg-type]
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = cloudformation.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise LocalStackError(
                f"moto did not create the stack: {stack['StackStatus']} {stack.get('StackStatusReason')}"
            )
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    def _read_physical_ids(
        self, document: dict[str, Any], resolved: list[tuple[Any, str]], rewrite: _MotoRewriter
    ) -> None:
        described = self.cloudformation().describe_stack_resources(StackName=self.stack_name)["StackResources"]
        physical = {
            item["LogicalResourceId"]: item.get("PhysicalResourceId")
            for item in described
            if item.get("LogicalResourceId")
        }
        for logical_id, resource in document["Resources"].items():
            fallback = [result for expression, result in resolved if expression == rewrite({"Ref": logical_id})]
            value = physical.get(logical_id) or (fallback[0] if fallback else "")
            self.resources[logical_id] = str(value)
            self.resource_types[logical_id] = resource["Type"]
        sqs = self.sqs()
        for logical_id, resource_type in self.resource_types.items():
            if resource_type == "AWS::SQS::Queue":  # moto reports AWS-style URLs; ask for the local one
                queue_name = self.resources[logical_id].rsplit("/", 1)[-1]
                self.resources[logical_id] = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]

    def _local_function(
        self, logical_id: str, properties: dict[str, Any], code_paths: Mapping[str, str]
    ) -> LocalFunction:
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        return LocalFunction(
            logical_id=logical_id,
            code_dir=self.repo_root / code_paths[logical_id],
            handler=str(properties["Handler"]),
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            environment={key: str(value) for key, value in variables.items()},
        )

    def _subscription(
        self, logical_id: str, properties: dict[str, Any], original_resources: Mapping[str, Any]
    ) -> QueueSubscription:
        original = original_resources[logical_id]["Properties"]
        queue_logical_id = _ref_target(original["EventSourceArn"])
        function_logical_id = _ref_target(original["FunctionName"])
        if queue_logical_id is None or function_logical_id is None:
            raise LocalStackError(f"{logical_id}: EventSourceArn/FunctionName must reference template resources")
        return QueueSubscription(
            logical_id=logical_id,
            queue_logical_id=queue_logical_id,
            function_logical_id=function_logical_id,
            batch_size=int(properties.get("BatchSize", 10)),
            report_batch_item_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
            queue_url=self.resources[queue_logical_id],
            queue_arn=str(properties["EventSourceArn"]),
        )

    def _schedules(self, document: dict[str, Any]) -> Iterator[ScheduledInvocation]:
        functions = self.translated["Resources"]
        for logical_id, resource in self.translated["Resources"].items():
            properties = resource.get("Properties") or {}
            if resource["Type"] != "AWS::Events::Rule" or "ScheduleExpression" not in properties:
                continue
            for target in properties.get("Targets", []):
                function_logical_id = _ref_target(target.get("Arn"))
                if function_logical_id and functions[function_logical_id]["Type"] == "AWS::Lambda::Function":
                    rule_arn = self.events().describe_rule(Name=self.resources[logical_id])["Arn"]
                    yield ScheduledInvocation(
                        logical_id, function_logical_id, properties["ScheduleExpression"], rule_arn
                    )


# ----------------------------------------------------------------------------------------------- bridges


def _bridge_bucket(stack: LocalStack, logical_id: str, properties: dict[str, Any]) -> None:
    s3: Any = stack.client("s3")  # template-shaped dicts go straight in
    bucket = stack.resources[logical_id]
    encryption = properties.get("BucketEncryption")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
            }
            for rule in encryption["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": versioning["Status"]})
    public_access = properties.get("PublicAccessBlockConfiguration")
    if public_access:
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={key: bool(value) for key, value in public_access.items()},
        )
    ownership = properties.get("OwnershipControls")
    if ownership:
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=ownership)
    lifecycle = properties.get("LifecycleConfiguration")
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(rule) for rule in lifecycle["Rules"]]},
        )
    notifications = properties.get("NotificationConfiguration") or {}
    unsupported = set(notifications) - {"EventBridgeConfiguration"}
    if unsupported:
        raise LocalStackError(
            f"{logical_id}: the local stack bridges only EventBridge notifications, not {unsupported}"
        )
    if (notifications.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    for key, value in rule.items():
        if key in {"Id", "Status", "Prefix"}:
            continue
        if key == "NoncurrentVersionExpiration":
            converted[key] = {"NoncurrentDays": int(value["NoncurrentDays"])}
        elif key == "AbortIncompleteMultipartUpload":
            converted[key] = {"DaysAfterInitiation": int(value["DaysAfterInitiation"])}
        elif key == "ExpirationInDays":
            converted["Expiration"] = {"Days": int(value)}
        else:
            raise LocalStackError(f"lifecycle rule {rule['Id']}: {key} is not bridged to moto yet")
    return converted


def _without_tls_conditions(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The policy minus statements conditioned on ``aws:SecureTransport``.

    The local endpoint is plain HTTP on 127.0.0.1, so the TLS-only deny would (rightly) refuse every request; and
    moto treats any statement whose condition it cannot evaluate as an explicit deny. The statement stays in the
    template and its tests; only the local copy leaves it out.
    """
    statements = policy.get("Statement", [])
    kept = [
        statement
        for statement in (statements if isinstance(statements, list) else [statements])
        if "aws:SecureTransport" not in json.dumps(statement.get("Condition", {}))
    ]
    return {**policy, "Statement": kept}


def _bridge_bucket_policy(stack: LocalStack, logical_id: str, properties: dict[str, Any]) -> None:
    policy = _without_tls_conditions(properties["PolicyDocument"])
    if policy["Statement"]:
        stack.s3().put_bucket_policy(Bucket=str(properties["Bucket"]), Policy=json.dumps(policy))


def _bridge_queue_policy(stack: LocalStack, logical_id: str, properties: dict[str, Any]) -> None:
    sqs = stack.sqs()
    for queue_url in properties["Queues"]:
        local_url = sqs.get_queue_url(QueueName=str(queue_url).rsplit("/", 1)[-1])["QueueUrl"]
        policy = _without_tls_conditions(properties["PolicyDocument"])
        sqs.set_queue_attributes(QueueUrl=local_url, Attributes={"Policy": json.dumps(policy)})


def _bridge_table(stack: LocalStack, logical_id: str, properties: dict[str, Any]) -> None:
    dynamodb = stack.dynamodb()
    table = stack.resources[logical_id]
    sse = properties.get("SSESpecification")
    if sse and sse.get("SSEEnabled"):
        # moto's CloudFormation drops SSESpecification and UpdateTable ignores it: recreate the still-empty table.
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
        dynamodb.delete_table(TableName=table)
        create: dict[str, Any] = {
            "TableName": table,
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "SSESpecification": {
                "Enabled": True,
                "SSEType": sse.get("SSEType", "KMS"),
                **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if sse.get("KMSMasterKeyId") else {}),
            },
            "DeletionProtectionEnabled": bool(properties.get("DeletionProtectionEnabled", False)),
        }
        if properties.get("GlobalSecondaryIndexes"):
            create["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        if properties.get("ProvisionedThroughput"):
            create["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
        dynamodb.create_table(**create)
    pitr = (properties.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )


def _bridge_log_group(stack: LocalStack, logical_id: str, properties: dict[str, Any]) -> None:
    logs: Any = stack.client("logs")
    name = stack.resources[logical_id]
    if properties.get("KmsKeyId"):
        logs.delete_log_group(logGroupName=name)
        logs.create_log_group(logGroupName=name, kmsKeyId=str(properties["KmsKeyId"]))
    if properties.get("RetentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(properties["RetentionInDays"]))


def _bridge_alarm(stack: LocalStack, logical_id: str, properties: dict[str, Any]) -> None:
    cloudwatch: Any = stack.client("cloudwatch")
    alarm: dict[str, Any] = {"AlarmName": properties.get("AlarmName") or f"{stack.stack_name}-{logical_id}"}
    for key, value in properties.items():
        if key in {"Period", "EvaluationPeriods", "DatapointsToAlarm"}:
            alarm[key] = int(value)
        elif key == "Threshold":
            alarm[key] = float(value)
        elif key != "AlarmName":
            alarm[key] = value
    cloudwatch.put_metric_alarm(**alarm)
    stack.resources[logical_id] = alarm["AlarmName"]


_BRIDGES: dict[str, Any] = {
    "AWS::S3::Bucket": _bridge_bucket,
    "AWS::S3::BucketPolicy": _bridge_bucket_policy,
    "AWS::SQS::QueuePolicy": _bridge_queue_policy,
    "AWS::DynamoDB::Table": _bridge_table,
    "AWS::Logs::LogGroup": _bridge_log_group,
    "AWS::CloudWatch::Alarm": _bridge_alarm,
}


def start_local_stack(
    *, sandbox_url: str = "", stack_name: str = DEFAULT_STACK_NAME, repo_root: Path | None = None
) -> LocalStack:
    """Start the local stack with the sandbox clearinghouse URL as the template's ``ClearinghouseSandboxUrl``."""
    parameters = {"ClearinghouseSandboxUrl": sandbox_url} if sandbox_url else {}
    stack = LocalStack(repo_root=repo_root or find_repo_root(), stack_name=stack_name, parameters=parameters)
    return stack.start()


def apply_env(variables: Mapping[str, str]) -> dict[str, str | None]:
    """Set environment variables; return the previous values so :func:`restore_env` can undo it."""
    previous = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    return previous


def restore_env(previous: Mapping[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
