"""Schedule -> poll_clearinghouse: fetch every enabled tenant's new responses into the archive bucket.

Wiring only: parse the scheduled event, call ``poll_due_tenants``. One tenant's unreachable clearinghouse is
counted and logged; the others are still polled (template: reserved concurrency 1 keeps cursors linear).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.events import ScheduledEvent
from claimbridge.observability import build_logger, build_metrics, build_tracer
from claimbridge.pipeline.poll import poll_due_tenants
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.wiring import build_deps
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
    """Poll every due tenant; the summary holds ids and counts only."""
    outcomes = poll_due_tenants(get_deps())
    for outcome in outcomes:
        logger.info("tenant polled", extra=outcome.model_dump(exclude={"keys"}))
    return {
        "tenants": len(outcomes),
        "responses": sum(outcome.responses for outcome in outcomes),
        "failed": [outcome.tenant_id for outcome in outcomes if outcome.failed],
    }
