"""Write-back: every state change of a claim becomes a ClaimResponse in ``outbound/<tenant>/ClaimResponse/`` (§11).

Driven by the claim events on the bus (Claim Ready/Held/Submitted/Accepted/Rejected ...): for the claim an event
names, every applied transition of its audit history that has no ClaimResponse yet is written, oldest first, and
announced as ``Claim Response Written``. Catching up from the history, rather than writing "the current state",
means a change whose event arrived late or twice is neither skipped nor written twice (an existing object is left
alone), and the order of events does not matter.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from claimbridge.errors import TenantError
from claimbridge.events import ClaimResponseWritten
from claimbridge.pipeline.ports import PipelineDeps, archived
from claimbridge.writeback import OUTCOME_BY_STATE, build_claim_response, claim_response_key


class WriteBackOutcome(BaseModel):
    """What one write-back did (ids and counts only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    claim_id: str
    written: tuple[str, ...] = ()
    already_written: int = 0
    skipped: str | None = None


def write_back_claim(tenant_id: str, claim_id: str, deps: PipelineDeps) -> WriteBackOutcome:
    """Write the missing ClaimResponses of one claim and announce them."""
    try:
        # Disabled tenants still get their results: responses to claims already sent are processed (tenant-config §1).
        tenant = deps.store.get_tenant(tenant_id, include_disabled=True).config
    except TenantError:
        deps.metrics.count("WriteBacksSkipped", tenant_id=tenant_id)
        return WriteBackOutcome(tenant_id=tenant_id, claim_id=claim_id, skipped="tenant not configured")
    stored = deps.store.get_claim(tenant_id, claim_id)
    if stored is None:
        deps.metrics.count("WriteBacksSkipped", tenant_id=tenant_id)
        return WriteBackOutcome(tenant_id=tenant_id, claim_id=claim_id, skipped="no such claim")
    written: list[str] = []
    existing = 0
    events: list[ClaimResponseWritten] = []
    for entry in deps.store.history(tenant_id, claim_id):
        if entry.refused:
            continue
        key = claim_response_key(tenant_id, claim_id, entry.revision)
        if archived(deps, key):
            existing += 1
            continue
        document = build_claim_response(
            stored, state=entry.to_state, version=entry.revision, changed_at=entry.at, tenant=tenant
        )
        deps.objects.put(
            deps.archive_bucket, key, json.dumps(document).encode("utf-8"), content_type="application/fhir+json"
        )
        written.append(key)
        events.append(
            ClaimResponseWritten(
                tenant_id=tenant_id,
                claim_id=claim_id,
                version=entry.revision,
                state=entry.to_state.value,
                outcome=OUTCOME_BY_STATE.get(entry.to_state, "queued"),
                key=key,
            )
        )
    if events:
        deps.events.publish(events)
    deps.metrics.count("ClaimResponsesWritten", len(written), tenant_id=tenant_id)
    return WriteBackOutcome(tenant_id=tenant_id, claim_id=claim_id, written=tuple(written), already_written=existing)
