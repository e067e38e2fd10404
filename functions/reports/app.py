"""Schedule -> reports: every enabled tenant's KPIs for the trailing 30 days, as metrics and as JSON in S3.

Wiring only: parse the scheduled event, call ``run_reports``, log the outcomes (ids and counts), then fail the
invocation if a tenant's report could not be written (the others are written first).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.events import ScheduledEvent
from claimbridge.observability import build_logger, build_metrics, build_tracer
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.wiring import build_deps
from claimbridge.reports.service import raise_if_incomplete, run_reports
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()


@lru_cache(maxsize=1)
def get_deps() -> PipelineDeps:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_deps(get_settings(), metrics=metrics)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_parser(model=ScheduledEvent)
def lambda_handler(event: ScheduledEvent, context: LambdaContext) -> dict[str, Any]:
    """Report every enabled tenant; the summary holds ids, keys and counts only."""
    outcomes = run_reports(get_deps(), namespace=get_settings().metrics_namespace)
    for outcome in outcomes:
        logger.info("tenant reported", extra=outcome.model_dump())
    raise_if_incomplete(outcomes)
    return {"tenants": len(outcomes), "keys": [outcome.key for outcome in outcomes]}
