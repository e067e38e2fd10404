"""Powertools logger, metrics and tracer, built the same way for every function.

PHI stays out: no event logging, tracer responses and errors are not captured (template Globals set
``POWERTOOLS_TRACER_CAPTURE_*=false`` as well), and the metrics recorder only takes names, counts and tenant ids.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from claimbridge.pipeline.ports import check_breakdown

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
    """``MetricsPort`` over Powertools: totals go to the function's metrics, per-tenant shares and breakdowns to
    single metrics.

    The function-level metric (dimension ``service``) feeds the dashboard totals; the per-tenant one (``service``,
    ``tenant``) lets on-call see which practice a spike belongs to; a breakdown (``service`` + its dimensions, e.g.
    ``rule``) shows why. EMF allows one dimension set per blob, which is why each copy is a ``single_metric``.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def count(
        self, name: str, value: int = 1, *, tenant_id: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> None:
        """Add ``value`` to the counter ``name`` (see ``MetricsPort`` for totals and breakdowns)."""
        check_breakdown(tenant_id, dimensions)
        if value <= 0:
            return
        if dimensions is not None:
            self._single(name, MetricUnit.Count, value, dimensions)
            return
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if tenant_id:
            self._single(name, MetricUnit.Count, value, {"tenant": tenant_id})

    def timing(self, name: str, milliseconds: float, *, dimensions: Mapping[str, str] | None = None) -> None:
        """Record a duration; with ``dimensions`` as a breakdown only (each duration is one data point)."""
        check_breakdown(None, dimensions)
        value = max(0.0, milliseconds)
        if dimensions is None:
            self._metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)
        else:
            self._single(name, MetricUnit.Milliseconds, value, dimensions)

    def _single(self, name: str, unit: MetricUnit, value: float, dimensions: Mapping[str, str]) -> None:
        with single_metric(
            name=name,
            unit=unit,
            value=value,
            namespace=self._metrics.namespace,
            default_dimensions=dict(dimensions),
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
