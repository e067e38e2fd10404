"""Powertools logger, metrics and tracer, built the same way for every function.

PHI stays out: no event logging, tracer responses and errors are not captured (template Globals set
``POWERTOOLS_TRACER_CAPTURE_*=false`` as well), and the metrics recorder only takes names, counts and tenant ids.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Claimbridge"


def build_logger(service: str | None = None) -> Logger:
    """A JSON logger; ``service`` defaults to ``POWERTOOLS_SERVICE_NAME``."""
    return Logger(service=service, log_uncaught_exceptions=False)


def build_metrics(service: str | None = None) -> Metrics:
    """EMF metrics in the ``Claimbridge`` namespace unless ``POWERTOOLS_METRICS_NAMESPACE`` says otherwise."""
    return Metrics(service=service)


def build_tracer(service: str | None = None) -> Tracer:
    """X-Ray tracer (disabled under tests by ``POWERTOOLS_TRACE_DISABLED``)."""
    return Tracer(service=service)


class PowertoolsMetricsRecorder:
    """``MetricsPort`` over Powertools: every count goes to the function's metrics and, per tenant, to a single metric.

    The function-level metric (dimension ``service``) feeds the dashboard totals; the per-tenant one (dimension
    ``tenant``) lets on-call see which practice a spike belongs to. Powertools flushes one dimension set per blob,
    which is why the per-tenant copy is a ``single_metric``.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def count(self, name: str, value: int = 1, *, tenant_id: str | None = None) -> None:
        """Add ``value`` to the counter ``name``."""
        if value <= 0:
            return
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if tenant_id:
            with single_metric(
                name=name,
                unit=MetricUnit.Count,
                value=value,
                namespace=self._metrics.namespace,
                default_dimensions={"tenant": tenant_id},
            ):
                pass


def failure_fields(exc: BaseException) -> dict[str, object]:
    """Log fields for a failed record: a domain error's code and message (PHI-free by design), else only the type.

    Messages of other exceptions (``KeyError``, ``ValidationError``, botocore errors) can carry input values.
    """
    from claimbridge.errors import ClaimsError  # noqa: PLC0415 - keeps this module importable on its own

    if isinstance(exc, ClaimsError):
        return {"error_type": type(exc).__name__, "error_code": exc.code, "retryable": exc.retryable, "error": str(exc)}
    return {"error_type": type(exc).__name__}
