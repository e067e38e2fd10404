"""IngestChunksQueue -> ingest_chunk: each record is one fan-out chunk of a large submission's claim anchors.

Wiring only: parse the record (Powertools parser model), call ``ingest_chunk``, report partial batch failures.
A failure (S3, DynamoDB, EventBridge, or a tenant disabled meanwhile) fails only its own record: SQS retries it and
finally keeps it in the DLQ, so no claim of the submission is lost.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.observability import build_logger, build_metrics, build_tracer, failure_fields, log_context
from claimbridge.pipeline.ingest import IngestChunkRecord, ingest_chunk
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()
processor = BatchProcessor(event_type=EventType.SQS, model=IngestChunkRecord, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def get_deps() -> PipelineDeps:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_deps(get_settings(), metrics=metrics)


@tracer.capture_method(capture_response=False)
def record_handler(record: IngestChunkRecord) -> None:
    """One chunk of anchors."""
    chunk = record.body
    with log_context(
        message_id=record.messageId,
        tenant_id=chunk.tenant_id,
        submission_id=chunk.submission_id,
        s3_key=chunk.index_key,
        chunk=chunk.chunk,
        chunks=chunk.chunks,
    ):
        try:
            outcome = ingest_chunk(chunk, get_deps())
        except Exception as exc:
            logger.error("ingest chunk failed", extra=failure_fields(exc))
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)
            raise
        logger.info("ingest chunk stored", extra=outcome.model_dump())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
