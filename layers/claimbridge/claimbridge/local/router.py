"""The local event router: runs the template's handlers in-process, wired exactly as template.yaml wires them.

What it reads from the (translated) template, via :class:`claimbridge.local.stack.LocalStack`
    * every ``AWS::Lambda::EventSourceMapping``: queue -> function, ``BatchSize``, ``ReportBatchItemFailures``;
    * every schedule rule targeting a function (SAM ``Events: Type: Schedule``);
    * each function's ``CodeUri`` + ``Handler`` (``functions/<name>/app.py`` -> ``lambda_handler``) and its
      resolved ``Environment``.

What it does per delivery (what the Lambda SQS poller does)
    receive up to ``BatchSize`` messages -> build the Lambda SQS event (``Records`` with ``messageId``,
    ``receiptHandle``, ``body``, ``attributes``, ``messageAttributes``, ``md5OfBody``, ``eventSource: aws:sqs``,
    ``eventSourceARN``, ``awsRegion``) -> call ``lambda_handler(event, context)`` under the function's environment ->
    delete every message not named in ``batchItemFailures`` (a raised exception or an unknown identifier fails the
    whole batch, as in Lambda). Failed messages are made visible again at once instead of after the queue's
    visibility timeout, so retries and moto's redrive to the DLQ (``maxReceiveCount``) happen within one drain.

Which hops are moto's and which are the router's
    S3 -> EventBridge (default bus) -> SQS and ``PutEvents`` on the claim bus -> rule -> SQS are delivered by moto
    itself (tests/e2e/test_local_stack.py proves each). Only the Lambda hop (SQS -> function, schedule -> function)
    is emulated here, because moto has no Lambda runtime without Docker. Moto gaps in the events it delivers are
    patched as the message is handed to the function, and nowhere else:

    * S3 events all carry the same ``id`` (moto copies one constant) -> each gets a stable id derived from its SQS
      message id, so idempotency keyed on the event id does not merge distinct uploads;
    * events from ``PutEvents`` reach SQS without ``account`` -> moto's account id is filled in.

Not emulated: one process holds every function (each router imports the handler modules afresh and clears the
package's ``lru_cache`` factories, like a cold start, but functions share ``sys.modules``); a function's folder is
not put on ``sys.path``, so ``app.py`` imports only the layer (``claimbridge``) and installed packages; timeouts are
reported by ``get_remaining_time_in_millis`` but not enforced; invocations run one at a time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import IO, Any

from claimbridge.local.stack import (
    ACCOUNT_ID,
    LocalFunction,
    LocalStack,
    QueueSubscription,
    ScheduledInvocation,
    apply_env,
    restore_env,
)

_MAX_SQS_RECEIVE = 10  # SQS hands out at most 10 messages per ReceiveMessage
QUIET_SCHEDULES = frozenset({"ReportsFunction"})
"""Scheduled functions that never put work on a queue (the daily KPI report): ``drain`` does not fire them on every
round; run them with ``run_schedule("ReportsFunction")``."""
_MOTO_CONSTANT_EVENT_ID = "17793124-05d4-b198-2fde-7ededc63b103"
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c3b0e-3c55-4f0a-9a51-6d1f3c1c2b77")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalLambdaContext:
    """The parts of ``awslambdaric``'s LambdaContext that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_seconds: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Delivery:
    """One handler invocation for one batch of one queue."""

    function_logical_id: str
    queue_logical_id: str
    received: int
    failed: int
    error: str | None = None  # exception type when the handler raised (the whole batch is retried)


@dataclass
class DrainReport:
    """What a :meth:`LocalRouter.drain` did; ``settled`` is False when it stopped at the round limit."""

    deliveries: list[Delivery] = field(default_factory=list)
    polls: int = 0
    rounds: int = 0
    settled: bool = False

    @property
    def messages(self) -> int:
        return sum(delivery.received for delivery in self.deliveries)

    @property
    def failures(self) -> int:
        return sum(delivery.failed for delivery in self.deliveries)


class LocalRouter:
    """Delivers the local stack's queues and schedules to the handler functions, in this process.

    ``log_stream``: where the handlers' stdout and stderr go (Powertools logs, EMF metrics, warnings, the traceback
    of a failed invocation), like a function's log group; default: this process's own streams.
    """

    def __init__(self, stack: LocalStack, *, log_stream: IO[str] | None = None) -> None:
        self.stack = stack
        self.log_stream = log_stream
        self._handlers: dict[str, Handler] = {}
        _cold_start()

    # -- handlers

    def handler(self, function_logical_id: str) -> Handler:
        """Import ``functions/<name>/app.py`` once, under a module name unique to the function."""
        if function_logical_id in self._handlers:
            return self._handlers[function_logical_id]
        function = self.stack.functions[function_logical_id]
        module_name = f"claimbridge_local_functions.{function_logical_id}"
        spec = importlib.util.spec_from_file_location(module_name, function.handler_file)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"{function_logical_id}: no handler module at {function.handler_file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        with self._function_env(function):
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(module_name, None)
                raise
        handler = _handler_of(module, function)
        self._handlers[function_logical_id] = handler
        return handler

    def invoke(self, function_logical_id: str, event: dict[str, Any]) -> Any:
        """Call the function's handler with ``event`` and a fresh context, under the function's environment."""
        function = self.stack.functions[function_logical_id]
        handler = self.handler(function_logical_id)
        context = LocalLambdaContext(
            function_name=f"{self.stack.stack_name}-{function_logical_id}",
            memory_limit_in_mb=function.memory_mb,
            invoked_function_arn=(
                f"arn:aws:lambda:{self.stack.region}:{ACCOUNT_ID}:function:{self.stack.stack_name}-{function_logical_id}"
            ),
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=function.timeout_seconds,
        )
        with self._function_env(function):
            return handler(event, context)

    @contextlib.contextmanager
    def _function_env(self, function: LocalFunction) -> Iterator[None]:
        previous = apply_env(self.stack.env(function.logical_id))
        try:
            if self.log_stream is None:
                yield
            else:
                with contextlib.redirect_stdout(self.log_stream), contextlib.redirect_stderr(self.log_stream):
                    yield
        finally:
            restore_env(previous)

    # -- SQS event sources

    def deliver(self, subscription: QueueSubscription) -> Delivery | None:
        """One poll of one queue: receive a batch, invoke, delete the successes. None when the queue was empty."""
        sqs = self.stack.sqs()
        messages: list[dict[str, Any]] = []
        while len(messages) < subscription.batch_size:
            want = min(_MAX_SQS_RECEIVE, subscription.batch_size - len(messages))
            received = sqs.receive_message(
                QueueUrl=subscription.queue_url,
                MaxNumberOfMessages=want,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            messages.extend(dict(message) for message in received)
            if len(received) < want:
                break
        if not messages:
            return None
        event = {"Records": [self._sqs_record(subscription, message) for message in messages]}
        failed_ids: set[str]
        error: str | None = None
        try:
            response = self.invoke(subscription.function_logical_id, event)
        except Exception as exc:  # Lambda turns any raise into "retry the whole batch" and logs the traceback
            failed_ids = {message["MessageId"] for message in messages}
            error = type(exc).__name__
            (self.log_stream or sys.stderr).write("".join(traceback.format_exception(exc)))
        else:
            failed_ids = _failed_message_ids(response, messages, subscription.report_batch_item_failures)
        for message in messages:
            if message["MessageId"] in failed_ids:
                sqs.change_message_visibility(
                    QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=subscription.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return Delivery(
            function_logical_id=subscription.function_logical_id,
            queue_logical_id=subscription.queue_logical_id,
            received=len(messages),
            failed=len(failed_ids),
            error=error,
        )

    def _sqs_record(self, subscription: QueueSubscription, message: Mapping[str, Any]) -> dict[str, Any]:
        attributes = dict(message.get("Attributes", {}))
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": _patched_body(message["Body"], message["MessageId"]),
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attributes.get("SenderId", ACCOUNT_ID),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": subscription.queue_arn,
            "awsRegion": self.stack.region,
        }

    # -- schedules

    def run_schedule(self, function_logical_id: str | None = None, *, skip: Collection[str] = ()) -> list[Any]:
        """Fire every schedule rule (or those of one function) once, with EventBridge's scheduled-event payload;
        schedules of the functions in ``skip`` are left out."""
        results = []
        for schedule in self.stack.schedules:
            if schedule.function_logical_id in skip:
                continue
            if function_logical_id is None or schedule.function_logical_id == function_logical_id:
                results.append(self.invoke(schedule.function_logical_id, scheduled_event(schedule, self.stack.region)))
        return results

    # -- until quiet

    def pump(self) -> list[Delivery]:
        """One pass over every event source mapping, each queue until it is empty."""
        deliveries = []
        for subscription in self.stack.subscriptions:
            while (delivery := self.deliver(subscription)) is not None:
                deliveries.append(delivery)
                if delivery.failed == delivery.received:
                    break  # nothing got through: let the other queues run before retrying
        return deliveries

    def drain(self, *, poll: bool = True, max_rounds: int = 30) -> DrainReport:
        """Deliver until every queue is empty and (with ``poll``) a schedule run produced no new message.

        Bounded: stops after ``max_rounds`` rounds with ``settled=False`` (e.g. a message failing for ever ends in
        its DLQ after ``maxReceiveCount`` rounds, so the bound is only reached by a loop that keeps producing work).
        """
        report = DrainReport()
        for _ in range(max_rounds):
            report.rounds += 1
            deliveries = self.pump()
            report.deliveries.extend(deliveries)
            if deliveries:
                continue
            if not poll or not self.stack.schedules:
                report.settled = True
                break
            self.run_schedule(skip=QUIET_SCHEDULES)
            report.polls += 1
            if self._queues_empty():
                report.settled = True
                break
        return report

    def _queues_empty(self) -> bool:
        sqs = self.stack.sqs()
        for subscription in self.stack.subscriptions:
            attributes = sqs.get_queue_attributes(
                QueueUrl=subscription.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return False
        return True

    def dead_letters(self) -> dict[str, int]:
        """Messages waiting in each dead-letter queue (logical id -> count); what the DLQ alarms watch.

        A queue of the stack that no function consumes is a dead-letter queue: the work queues' redrive targets
        and the queue that rule targets park undeliverable events in.
        """
        sqs = self.stack.sqs()
        consumed = {subscription.queue_logical_id for subscription in self.stack.subscriptions}
        counts: dict[str, int] = {}
        for logical_id, url in self.stack.queue_urls().items():
            if logical_id in consumed:
                continue
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            counts[logical_id] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        return counts


def _cold_start() -> None:
    """Forget what an earlier stack left in this process, as a new Lambda container would not have it.

    Handler modules are imported afresh by each router; the package's own ``lru_cache`` factories (settings read
    from the environment, clients) are shared by the process, so they are cleared here. Otherwise a second local
    stack in the same process (tests, repeated demos) would be served the first one's table and bucket names.
    """
    for name, module in list(sys.modules.items()):
        if name != "claimbridge" and not name.startswith("claimbridge."):
            continue
        for value in list(vars(module).values()):
            cache_clear = getattr(value, "cache_clear", None)
            if callable(cache_clear) and hasattr(value, "cache_info"):
                cache_clear()


def scheduled_event(schedule: ScheduledInvocation, region: str) -> dict[str, Any]:
    """The event EventBridge Scheduler/rules deliver to a Lambda target for ``rate(...)``/``cron(...)``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [schedule.rule_arn],
        "detail": {},
    }


def _handler_of(module: ModuleType, function: LocalFunction) -> Handler:
    handler = getattr(module, function.handler_function, None)
    if not callable(handler):
        raise AttributeError(f"{function.logical_id}: {function.handler_file} has no {function.handler_function}()")
    typed: Handler = handler
    return typed


def _failed_message_ids(response: Any, messages: list[dict[str, Any]], report_failures: bool) -> set[str]:
    """Lambda's reading of a partial-batch response: unknown or empty identifiers fail the whole batch."""
    all_ids = {message["MessageId"] for message in messages}
    if not report_failures or not isinstance(response, Mapping):
        return set()
    failures = response.get("batchItemFailures") or []
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in all_ids:
            return all_ids
        failed.add(identifier)
    return failed


def _patched_body(body: str, message_id: str) -> str:
    """Fill the gaps moto leaves in EventBridge events (see the module docstring); other bodies pass unchanged."""
    try:
        event = json.loads(body)
    except ValueError:
        return body
    if not isinstance(event, dict) or "detail-type" not in event or "source" not in event:
        return body
    changed = False
    if event.get("id") == _MOTO_CONSTANT_EVENT_ID:
        event["id"] = str(uuid.uuid5(_EVENT_ID_NAMESPACE, message_id))
        changed = True
    if not event.get("account"):
        event["account"] = ACCOUNT_ID
        changed = True
    return json.dumps(event) if changed else body
