"""API Gateway (REST, AWS_IAM) -> tenant_api: tenant enablement, configuration, claims, worklists and actions.

Routing, validation, identity scoping and problem documents live in ``claimbridge.api``; this handler builds the
services once per container and hands each request to the resolver. Request bodies are never logged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge.api.app import build_resolver
from claimbridge.api.services import Services, build_services
from claimbridge.observability import build_logger, build_metrics, build_tracer
from claimbridge.settings import get_settings

logger = build_logger()
metrics = build_metrics()
tracer = build_tracer()


@lru_cache(maxsize=1)
def get_deps() -> Services:
    """Clients and settings, built on first use (after the environment is in place)."""
    return build_services(get_settings(), metrics=metrics)


app = build_resolver(get_deps, logger=logger)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """REST proxy entry point."""
    response: dict[str, Any] = app.resolve(event, context)
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="ApiServerErrors", unit=MetricUnit.Count, value=1)
    elif status >= 400:
        metrics.add_metric(name="ApiClientErrors", unit=MetricUnit.Count, value=1)
    logger.info(
        "request done",
        extra={
            "route": app.current_event.resource,
            "method": app.current_event.http_method,
            "status": response.get("statusCode"),
        },
    )
    return response
