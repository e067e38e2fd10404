"""ResponsesQueue -> process_responses: each record is an ``Object Created`` event for a clearinghouse response.

Wiring only: parse the record, call ``process_response_object``, report partial batch failures.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.events import ResponseObjectRecord
from claimbridge.observability import build_logger, build_metrics, build_tracer, failure_fields, log_context
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.responses import process_response_object
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()
# A batch where every record failed is reported like any other (all ids listed) instead of raising: the same retry
# for SQS, and the log keeps only our PHI-free failure lines.
processor = BatchProcessor(event_type=EventType.SQS, model=ResponseObjectRecord, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def get_deps() -> PipelineDeps:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_deps(get_settings(), metrics=metrics)


@tracer.capture_method(capture_response=False)
def record_handler(record: ResponseObjectRecord) -> None:
    """One response file."""
    detail = record.body.detail
    # Response keys are built by Claimbridge from ids (responses/<tenant>/<kind>/<id>.x12): safe to log as they are.
    with log_context(message_id=record.messageId, s3_key=detail.object.key):
        try:
            outcome = process_response_object(detail.bucket.name, detail.object.key, get_deps())
        except Exception as exc:
            logger.error("response file failed", extra=failure_fields(exc))
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)
            raise
        logger.info("response file processed", extra=outcome.model_dump(exclude={"response_key"}))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
