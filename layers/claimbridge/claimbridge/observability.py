"""Powertools logger, metrics and tracer, built the same way for every function, and log correlation keys.

PHI stays out: no event logging, tracer responses and errors are not captured (template Globals set
``POWERTOOLS_TRACER_CAPTURE_*=false`` as well), the metrics recorder only takes names, counts and ids, and the
correlation keys are ids (tenant, claim, interchange control number, submission, Claimbridge-built S3 keys). An
inbound key is chosen by the EHR and could name a patient, so it is logged only as ``inbound_key_ref``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import IO, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from claimbridge.pipeline.ports import check_breakdown

NAMESPACE = "Claimbridge"
PACKAGE_LOGGER = "claimbridge"

LogValue = str | int
_NO_KEYS: Mapping[str, LogValue] = MappingProxyType({})
_CORRELATION: ContextVar[Mapping[str, LogValue]] = ContextVar("claimbridge_log_correlation", default=_NO_KEYS)


@contextmanager
def log_context(**keys: LogValue | None) -> Iterator[None]:
    """Correlation keys for every log line written inside the block, by the handler's logger and the package's.

    Nested blocks add to the outer keys and restore them on exit; ``None`` values are left out. Values must be ids
    (see the module docstring), never data.
    """
    added = {key: value for key, value in keys.items() if value is not None}
    token = _CORRELATION.set(MappingProxyType({**_CORRELATION.get(), **added}))
    try:
        yield
    finally:
        _CORRELATION.reset(token)


def correlation_keys() -> dict[str, LogValue]:
    """The keys ``log_context`` holds right now (for tests and for code that must pass them on)."""
    return dict(_CORRELATION.get())


class CorrelationFilter(logging.Filter):
    """Adds the current ``log_context`` keys to each record (the Powertools formatter prints record extras)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CORRELATION.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class CurrentStdout(io.TextIOBase):
    """A stream that writes to whatever ``sys.stdout`` is when a line is logged, not when the logger was built.

    In Lambda that is the same stream; the local router redirects each invocation's output to the function's log
    stream, and a logger configured once per process must follow it.
    """

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def inbound_key_ref(key: str) -> str:
    """How logs name an inbound S3 key: its tenant segment and a hash (the rest is the EHR's file name)."""
    tenant = key.split("/", 1)[0] if "/" in key else ""
    return f"{tenant}/sha256:{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def build_logger(service: str | None = None) -> Logger:
    """A JSON logger; ``service`` defaults to ``POWERTOOLS_SERVICE_NAME``.

    The package's own loggers (``claimbridge.*``) are routed through the same handler, so their lines are JSON with
    the same correlation keys (Powertools ``copy_config_to_registered_loggers``; they stop propagating to the root
    logger, whose Lambda handler would print them a second time).
    """
    stream = cast(IO[str], CurrentStdout())  # a text stream in all but its static type
    logger = Logger(service=service, log_uncaught_exceptions=False, stream=stream)
    handler = logger.registered_handler
    if not any(isinstance(existing, CorrelationFilter) for existing in handler.filters):
        handler.addFilter(CorrelationFilter())
    logging.getLogger(PACKAGE_LOGGER)  # registered, so the copy below finds it even before any module logged
    copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE_LOGGER})
    return logger


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
