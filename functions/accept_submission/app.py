"""SubmittedEventsQueue -> accept_submission: each record is a ``FHIR Bundle Submitted`` event an EHR put on the bus.

Wiring only: parse the record (Powertools parser model), call ``accept_submitted_event``, report partial batch
failures. Unregistered senders, foreign buckets and malformed details are quarantined by the domain and count as
processed; retryable failures (S3, DynamoDB, EventBridge) fail only their own record. The event is never logged: it
may carry a whole Bundle.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.events import SubmittedEventRecord
from claimbridge.observability import build_logger, build_metrics, build_tracer, failure_fields, log_context
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.submitted import accept_submitted_event
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()
processor = BatchProcessor(event_type=EventType.SQS, model=SubmittedEventRecord, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def get_deps() -> PipelineDeps:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_deps(get_settings(), metrics=metrics)


def get_inbound_bucket() -> str:
    """Where accepted submissions are copied; the template sets ``INBOUND_BUCKET`` for every function."""
    bucket = get_settings().inbound_bucket
    if not bucket:
        raise RuntimeError("INBOUND_BUCKET is not set")
    return bucket


@tracer.capture_method(capture_response=False)
def record_handler(record: SubmittedEventRecord) -> None:
    """One submitted event."""
    event = record.body
    with log_context(message_id=record.messageId, event_id=event.id):
        try:
            outcome = accept_submitted_event(event, get_deps(), inbound_bucket=get_inbound_bucket())
        except Exception as exc:
            logger.error("submitted event failed", extra=failure_fields(exc))
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)
            raise
        logger.info("submitted event handled", extra=outcome.model_dump())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
