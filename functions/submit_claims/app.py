"""SubmitQueue -> submit_claims: ``Claim Ready`` events, sent as one interchange per tenant per batch.

Records are grouped by tenant first (an 837P batch is per tenant x clearinghouse), so Powertools' per-record
``BatchProcessor`` does not fit; the partial batch response is built the same way: a tenant whose submission fails
fails exactly its own records, an unreadable record fails alone.

A clearinghouse that cannot take an interchange now does not fail the invocation: ``submit_ready`` names the claims
to retry and when (exponential backoff with full jitter, never before ``Retry-After``); their records are reported as
failures and hidden for that long (SQS ``ChangeMessageVisibility``), so SQS brings them back when the retry is due.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from claimbridge.events import ClaimReadyRecord
from claimbridge.observability import build_logger, build_metrics, build_tracer, failure_fields, log_context
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.retry import DelayedMessage, RetryPolicy, RetrySettings, build_retry_scheduler
from claimbridge.pipeline.submit import SubmitOutcome, submit_ready
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()


@lru_cache(maxsize=1)
def get_deps() -> PipelineDeps:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_deps(get_settings(), metrics=metrics)


@lru_cache(maxsize=1)
def get_retry_policy() -> RetryPolicy:
    """Attempts and backoff from the function's environment, parsed once."""
    return RetrySettings().policy()


@tracer.capture_method(capture_response=False)
def submit_tenant(tenant_id: str, claim_ids: list[str]) -> SubmitOutcome:
    """One tenant's READY claims of this batch (every log line of it carries ``tenant_id``)."""
    with log_context(tenant_id=tenant_id):
        return submit_ready(tenant_id, claim_ids, get_deps(), policy=get_retry_policy())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point: parse every record, group by tenant, submit per tenant, delay the retries."""
    failed: list[str] = []
    delayed: list[DelayedMessage] = []
    by_tenant: dict[str, list[ClaimReadyRecord]] = defaultdict(list)
    for raw in event.get("Records", []):
        try:
            record = ClaimReadyRecord.model_validate(raw)
        except ValidationError as exc:
            message_id = str(raw.get("messageId", ""))
            logger.error(
                "unreadable Claim Ready record",
                extra={"message_id": message_id, "errors": exc.errors(include_input=False, include_url=False)},
            )
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)
            failed.append(message_id)
            continue
        by_tenant[record.body.detail.tenant_id].append(record)

    for tenant_id, records in by_tenant.items():
        message_ids = [record.messageId for record in records]
        try:
            outcome = submit_tenant(tenant_id, [record.body.detail.claim_id for record in records])
        except Exception as exc:
            logger.error(
                "tenant submission failed",
                extra={"tenant_id": tenant_id, "records": len(records), **failure_fields(exc)},
            )
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=len(message_ids))
            failed.extend(message_ids)
            continue
        for record in records:
            seconds = outcome.retry_in(record.body.detail.claim_id)
            if seconds is not None:
                failed.append(record.messageId)
                delayed.append(DelayedMessage(record.eventSourceARN, record.receiptHandle, seconds))
        logger.info(
            "tenant submission done",
            extra={
                **outcome.model_dump(exclude={"deferred"}),
                "deferred": [item.model_dump(exclude={"claim_ids"}) for item in outcome.deferred],
            },
        )
    if delayed:
        not_delayed = build_retry_scheduler().delay(delayed)
        metrics.add_metric(name="RetriesDelayed", unit=MetricUnit.Count, value=len(delayed) - not_delayed)
        if not_delayed:
            metrics.add_metric(name="RetriesNotDelayed", unit=MetricUnit.Count, value=not_delayed)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
