"""Ports the pipeline services use besides the state store: objects, bus events, metrics, clearinghouses."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from claimbridge.clearinghouse.port import ClearinghousePort
from claimbridge.errors import ClaimsError
from claimbridge.events import BusEventDetail
from claimbridge.state.ports import ClaimStorePort
from claimbridge.tenants import TenantConfig


class ObjectMissing(ClaimsError):
    """The object an event announced is gone (deleted or never written): nothing to retry."""

    code = "CB-OBJECT-MISSING"


class ObjectForbidden(ClaimsError):
    """A bucket refused the read (S3 ``AccessDenied``): not owned by the expected account, or not shared with us.

    Raised only for reads that name an expected owner (objects an EHR points at); nothing to retry.
    """

    code = "CB-OBJECT-FORBIDDEN"


class StorageUnavailable(ClaimsError):
    """S3 or EventBridge failed or throttled: retry the message."""

    retryable = True
    code = "CB-STORAGE-UNAVAILABLE"


class ObjectStorePort(Protocol):
    """The few S3 operations the pipeline needs."""

    def get(self, bucket: str, key: str, *, expected_owner: str | None = None) -> bytes:
        """The object's bytes; ``ObjectMissing`` if it does not exist.

        With ``expected_owner`` (an account id) the read is refused with ``ObjectForbidden`` unless that account owns
        the bucket (S3 ``ExpectedBucketOwner``); a missing bucket is then ``ObjectMissing`` too.
        """
        ...

    def put(
        self, bucket: str, key: str, body: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Write an object (server-side encryption is the bucket's default), with optional user metadata."""
        ...

    def copy(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        expected_source_owner: str | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Server-side copy; ``ObjectMissing`` if the source does not exist.

        Without ``content_type``/``metadata`` the object is copied as is. With either, the copy gets exactly those
        (and no tags of the source). ``expected_source_owner`` works as ``expected_owner`` of :meth:`get`.
        """
        ...

    def metadata(self, bucket: str, key: str) -> dict[str, str]:
        """The object's user metadata (``x-amz-meta-*``, lower-case keys); ``ObjectMissing`` if it does not exist."""
        ...

    def open(self, bucket: str, key: str) -> Any:
        """The object as a stream with ``read(n)`` (never loaded whole); ``ObjectMissing`` if it does not exist."""
        ...

    def upload_file(self, path: Path, bucket: str, key: str) -> None:
        """Write a local file as an object (multipart when large)."""
        ...

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key under ``prefix``, in key order."""
        ...

    def download_file(self, bucket: str, key: str, path: Path) -> None:
        """Read an object into a local file; ``ObjectMissing`` if it does not exist."""
        ...


class ChunkQueuePort(Protocol):
    """Where a large submission's anchors go, in chunks, for other invocations to map and store."""

    def send(self, bodies: Sequence[str]) -> None:
        """Enqueue every body (JSON text); raise ``StorageUnavailable`` if any was not accepted."""
        ...


class EventPublisherPort(Protocol):
    """Puts ``claimbridge`` events on the bus."""

    def publish(self, details: Sequence[BusEventDetail]) -> None:
        """Publish every detail; raise ``StorageUnavailable`` if any entry failed."""
        ...


class MetricsPort(Protocol):
    """Counters and durations (CloudWatch EMF in Lambda), in the ``Claimbridge`` namespace.

    A call without ``dimensions`` records the total (and, with ``tenant_id``, the tenant's share). A call with
    ``dimensions`` records a breakdown of the same metric (e.g. ``ClaimsHeld`` by ``rule``) and nothing else: the
    caller records the total separately, because a breakdown need not add up to it (a claim held by two rules counts
    under both). Breakdowns are never per tenant: tenants x rule ids would multiply the custom metrics CloudWatch
    bills for; per-tenant detail is in the state store. Names are string literals (tests/contract/test_metrics.py).
    """

    def count(
        self, name: str, value: int = 1, *, tenant_id: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> None:
        """Add ``value`` to counter ``name`` (optionally per tenant, or as a breakdown by ``dimensions``)."""
        ...

    def timing(self, name: str, milliseconds: float, *, dimensions: Mapping[str, str] | None = None) -> None:
        """Record one measured duration of ``name`` in milliseconds (optionally by ``dimensions``)."""
        ...


class BreakdownPerTenantError(ValueError):
    """A breakdown (``dimensions``) was asked per tenant: refused, see ``MetricsPort``."""


def check_breakdown(tenant_id: str | None, dimensions: Mapping[str, str] | None) -> None:
    """Refuse a per-tenant breakdown and empty dimension names or values (the same rule for every recorder)."""
    if dimensions is None:
        return
    if tenant_id:
        raise BreakdownPerTenantError("a metric breakdown is recorded for all tenants, never per tenant")
    if not dimensions or not all(dimensions.keys()) or not all(dimensions.values()):
        raise ValueError("a metric breakdown needs at least one dimension, each with a name and a value")


Dimensions = tuple[tuple[str, str], ...]


@dataclass
class CountingMetrics:
    """``MetricsPort`` that keeps counts in memory: for the offline CLI and for asserting on counts.

    ``totals`` holds the totals (per tenant calls included), ``breakdowns`` the breakdowns by their sorted dimensions,
    ``timings`` every recorded duration.
    """

    totals: Counter[str] = field(default_factory=Counter)
    breakdowns: Counter[tuple[str, Dimensions]] = field(default_factory=Counter)
    timings: list[tuple[str, float, Dimensions]] = field(default_factory=list)

    def count(
        self, name: str, value: int = 1, *, tenant_id: str | None = None, dimensions: Mapping[str, str] | None = None
    ) -> None:
        """Add ``value`` to ``name`` (or to its breakdown)."""
        check_breakdown(tenant_id, dimensions)
        if dimensions is None:
            self.totals[name] += value
        else:
            self.breakdowns[(name, tuple(sorted(dimensions.items())))] += value

    def timing(self, name: str, milliseconds: float, *, dimensions: Mapping[str, str] | None = None) -> None:
        """Keep the duration."""
        check_breakdown(None, dimensions)
        self.timings.append((name, milliseconds, tuple(sorted((dimensions or {}).items()))))

    def breakdown(self, name: str, dimension: str) -> dict[str, int]:
        """``name``'s breakdown by one dimension: value -> count (for tests and the CLI)."""
        return {
            dict(dims)[dimension]: count
            for (metric, dims), count in self.breakdowns.items()
            if metric == name and dimension in dict(dims)
        }


def archived(deps: PipelineDeps, key: str) -> bool:
    """Whether ``key`` is already in the archive bucket (write-once outputs: a redelivery leaves them alone)."""
    try:
        deps.objects.metadata(deps.archive_bucket, key)
    except ObjectMissing:
        return False
    return True


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


ClearinghouseFactory = Callable[[TenantConfig], ClearinghousePort]


@dataclass(frozen=True, kw_only=True)
class PipelineDeps:
    """Everything a pipeline service needs, built once per Lambda container by the handler's ``get_deps()``."""

    store: ClaimStorePort
    objects: ObjectStorePort
    events: EventPublisherPort
    metrics: MetricsPort
    clearinghouse_for: ClearinghouseFactory
    archive_bucket: str
    inbound_bucket: str | None = None  # where EHR drops land: a replayed quarantined event is accepted into it
    chunks: ChunkQueuePort | None = None
    clock: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.perf_counter  # seconds, for measured durations (tests pin it)
    scrub_as_of: date | None = None  # the scrubber's "today" when pinned (settings); else clock()'s date
    actor: str = "claimbridge"
