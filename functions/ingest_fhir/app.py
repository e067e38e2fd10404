"""IngestQueue -> ingest_fhir: each record is an S3 ``Object Created`` event of the inbound bucket.

Wiring only: parse the record (Powertools parser model), call ``ingest_object``, report partial batch failures.
Unreadable files and unknown tenants are quarantined by the domain and count as processed; retryable failures
(S3, DynamoDB, EventBridge) fail only their own record.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.events import InboundObjectRecord
from claimbridge.observability import (
    build_logger,
    build_metrics,
    build_tracer,
    failure_fields,
    inbound_key_ref,
    log_context,
)
from claimbridge.pipeline.ingest import ingest_object
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()
# A batch where every record failed is reported like any other (all ids listed) instead of raising: the same retry
# for SQS, and the log keeps only our PHI-free failure lines.
processor = BatchProcessor(event_type=EventType.SQS, model=InboundObjectRecord, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def get_deps() -> PipelineDeps:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_deps(get_settings(), metrics=metrics)


@tracer.capture_method(capture_response=False)
def record_handler(record: InboundObjectRecord) -> None:
    """One inbound object."""
    detail = record.body.detail
    key = detail.object.key
    with log_context(message_id=record.messageId, inbound_key_ref=inbound_key_ref(key)):
        try:
            outcome = ingest_object(detail.bucket.name, key, get_deps())
        except Exception as exc:
            logger.error("inbound object failed", extra=failure_fields(exc))
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)
            raise
        logger.info("inbound object ingested", extra=outcome.model_dump())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
