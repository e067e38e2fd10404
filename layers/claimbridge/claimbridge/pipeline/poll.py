"""Poll: fetch each tenant's new clearinghouse responses into ``responses/<tenant>/<kind>/<id>.x12``.

Writing to the archive (instead of processing here) lets S3 -> EventBridge -> ResponsesQueue carry each file to
``process_responses`` with retries and a DLQ, exactly like a clearinghouse that pushes files.
Order per page: archive every file, store the cursor, then acknowledge the files to the clearinghouse (an SFTP
mailbox moves them aside). A crash before the cursor is stored re-fetches the page (the archive keys are the same,
so nothing doubles); nothing is acknowledged that is not stored, so nothing is ever skipped.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from claimbridge.clearinghouse.port import ClearinghousePort
from claimbridge.errors import ClearinghouseError, TenantError
from claimbridge.observability import log_context
from claimbridge.pipeline.announce import announce_stale
from claimbridge.pipeline.ports import PipelineDeps, StorageUnavailable
from claimbridge.state.models import ClaimState

logger = logging.getLogger(__name__)

MAX_PAGES_PER_POLL = 20
"""Bounded work per invocation; the cursor makes the next poll continue where this one stopped."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class PollOutcome(BaseModel):
    """One tenant's poll (ids and counts only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    responses: int = 0
    keys: tuple[str, ...] = ()
    failed: str | None = None


def response_key(tenant_id: str, kind: str, response_id: str) -> str:
    """The archive key of a response file; the id is reduced to characters safe in a key (a file name keeps its
    ``.x12``, others get one)."""
    name = _UNSAFE.sub("_", response_id)
    return f"responses/{tenant_id}/{kind}/{name if name.endswith('.x12') else f'{name}.x12'}"


def poll_tenant(tenant_id: str, deps: PipelineDeps) -> PollOutcome:
    """Fetch every response published since the stored cursor, archive each, advance the cursor, acknowledge.

    A failed acknowledgement is counted (``ResponsesAcknowledgeFailed``) and logged by error type; the poll goes on:
    the files are archived and the cursor is past them, so nothing is lost (the clearinghouse just keeps them).

    Raises
    ------
    ClearinghouseUnavailable
        The clearinghouse could not be reached; the cursor keeps its old value.
    """
    tenant = deps.store.get_tenant(tenant_id, include_disabled=True).config
    adapter = deps.clearinghouse_for(tenant)
    cursor = deps.store.get_cursor(tenant_id).cursor
    keys: list[str] = []
    for _ in range(MAX_PAGES_PER_POLL):
        page = adapter.fetch_responses(cursor)
        for response in page.responses:
            key = response_key(tenant_id, response.kind, response.response_id)
            deps.objects.put(
                deps.archive_bucket, key, response.content.encode("utf-8"), content_type="application/edi-x12"
            )
            keys.append(key)
        # Advance after every page: a failure on the next page must not re-fetch (and re-archive) this one.
        if page.next_cursor is not None and page.next_cursor != cursor:
            cursor = page.next_cursor
            deps.store.put_cursor(tenant_id, cursor)
        if page.responses and page.next_cursor is not None:  # stored and behind the stored cursor: safe to let go
            _acknowledge(adapter, tuple(response.response_id for response in page.responses), tenant_id, deps)
        if not page.responses or page.next_cursor is None:
            break
    deps.store.put_cursor(tenant_id, cursor)  # also records when this tenant was last polled
    deps.metrics.count("ResponsesFetched", len(keys), tenant_id=tenant_id)
    return PollOutcome(tenant_id=tenant_id, responses=len(keys), keys=tuple(keys))


def _acknowledge(adapter: ClearinghousePort, response_ids: tuple[str, ...], tenant_id: str, deps: PipelineDeps) -> None:
    """Only after the page is archived and the cursor stored; a failure here loses nothing, so it never stops a poll."""
    try:
        adapter.acknowledge(response_ids)
    except ClearinghouseError as exc:
        logger.warning(
            "clearinghouse acknowledge failed",
            extra={"tenant_id": tenant_id, "responses": len(response_ids), "error_type": type(exc).__name__},
        )
        deps.metrics.count("ResponsesAcknowledgeFailed", tenant_id=tenant_id)
        return
    deps.metrics.count("ResponsesAcknowledged", len(response_ids), tenant_id=tenant_id)


def _sweep(tenant_id: str, deps: PipelineDeps) -> None:
    """Announce claims stuck without their event; a bus still failing is left to the next run (nothing is lost)."""
    try:
        announce_stale(tenant_id, deps)
    except StorageUnavailable as exc:
        logger.warning("announce sweep failed", extra={"tenant_id": tenant_id, "error_type": type(exc).__name__})


def _claims_out(tenant_id: str, deps: PipelineDeps) -> bool:
    return any(
        deps.store.claims_in_state(tenant_id, state, limit=1) for state in (ClaimState.SUBMITTED, ClaimState.ACCEPTED)
    )


def poll_due_tenants(deps: PipelineDeps) -> list[PollOutcome]:
    """Poll every tenant whose ``poll_minutes`` have passed; one tenant's failure does not stop the others.

    A disabled tenant is polled while it still has claims out (SUBMITTED or ACCEPTED): its new inputs are refused, but
    the answers to what it already sent are processed (tenant-config section 1). Every run also announces an enabled
    tenant's claims whose event was lost after a move (``claimbridge.pipeline.announce``).
    """
    now = deps.clock()
    deps.metrics.count("PollRuns")  # a flat line on the dashboard means the schedule stopped
    outcomes: list[PollOutcome] = []
    for tenant in deps.store.list_tenants():
        if tenant.enabled:
            _sweep(tenant.tenant_id, deps)
        elif not _claims_out(tenant.tenant_id, deps):
            continue
        polled_at = deps.store.get_cursor(tenant.tenant_id).polled_at
        # A little slack so a 1-minute schedule is not skipped by jitter for a 1-minute tenant.
        if polled_at is not None and now - polled_at < timedelta(minutes=tenant.clearinghouse.poll_minutes, seconds=-5):
            continue
        with log_context(tenant_id=tenant.tenant_id):
            try:
                outcomes.append(poll_tenant(tenant.tenant_id, deps))
            except (ClearinghouseError, TenantError) as exc:
                deps.metrics.count("PollsFailed", tenant_id=tenant.tenant_id)
                logger.warning("clearinghouse poll failed", extra={"error_type": type(exc).__name__})
                outcomes.append(PollOutcome(tenant_id=tenant.tenant_id, failed=type(exc).__name__))
    return outcomes
