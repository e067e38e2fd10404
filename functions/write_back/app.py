"""WriteBackQueue -> write_back: each record is a claim state-change event; the claim's missing ClaimResponses are
written to the EHR's outbound prefix (contract §11).

Wiring only: parse the record (Powertools parser model), call ``write_back_claim``, report partial batch failures.
Retryable failures (S3, DynamoDB, EventBridge) fail only their own record; a redelivery writes only what is missing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.events import ClaimChangedRecord
from claimbridge.observability import build_logger, build_metrics, build_tracer, failure_fields, log_context
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.wiring import build_deps
from claimbridge.pipeline.writeback import write_back_claim
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()
processor = BatchProcessor(event_type=EventType.SQS, model=ClaimChangedRecord, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def get_deps() -> PipelineDeps:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_deps(get_settings(), metrics=metrics)


@tracer.capture_method(capture_response=False)
def record_handler(record: ClaimChangedRecord) -> None:
    """One claim event: write what the claim's history has and the outbound prefix lacks."""
    detail = record.body.detail
    with log_context(message_id=record.messageId, tenant_id=detail.tenant_id, claim_id=detail.claim_id):
        try:
            outcome = write_back_claim(detail.tenant_id, detail.claim_id, get_deps())
        except Exception as exc:
            logger.error("write-back failed", extra=failure_fields(exc))
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)
            raise
        logger.info(
            "claim written back",
            extra={
                "written": len(outcome.written),
                "already_written": outcome.already_written,
                "skipped": outcome.skipped,
            },
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
