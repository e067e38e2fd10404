"""The bus event that announces a claim's state, and a sweep for claims whose event never went out.

A move and its event are two writes: the store's conditional transition, then ``PutEvents``. Ingest retries a failed
publish by redelivery (the claim stays ``announced=False`` and is announced again), but a biller's action through
the tenant API has no redelivery: if the bus failed after the move, the API call fails and the claim waits, moved
and unannounced, in READY or CORRECTED, where nothing would send it. The poll schedule therefore sweeps each enabled
tenant for such claims older than a few minutes and announces them (a resend's claims too: they go back to READY
carrying their interchange). A duplicate event is harmless: the submit flow takes only a claim still READY/CORRECTED,
and sends a claim that carries an interchange with that same file and idempotency key.
"""

from __future__ import annotations

from datetime import timedelta

from claimbridge.events import ClaimCorrected, ClaimHeld, ClaimReady
from claimbridge.findings import Severity
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.state.models import ClaimState, StoredClaim

STALE_AFTER = timedelta(minutes=5)
"""How long a moved claim may wait for its event before the sweep announces it (longer than any handler runs)."""
SWEEP_LIMIT = 200
"""Claims per tenant and state the sweep looks at per run (oldest change first); the next run takes the rest."""

StateEvent = ClaimReady | ClaimHeld | ClaimCorrected


def state_event(claim: StoredClaim) -> StateEvent | None:
    """``Claim Ready`` / ``Claim Held`` / ``Claim Corrected`` for a claim in that state (ids and counts only)."""
    if claim.state == ClaimState.READY:
        return ClaimReady(
            tenant_id=claim.tenant_id,
            claim_id=claim.claim_id,
            source_key=claim.source_key,
            source_version=claim.source_version,
            payer_key=claim.payer_key,
            config_version=claim.config_version,
            warning_count=len(claim.findings),
        )
    if claim.state == ClaimState.HELD:
        errors = [f for f in claim.findings if f.severity == Severity.ERROR]
        return ClaimHeld(
            tenant_id=claim.tenant_id,
            claim_id=claim.claim_id,
            source_key=claim.source_key,
            source_version=claim.source_version,
            rule_ids=tuple(dict.fromkeys(f.rule_id for f in errors)),
            error_count=len(errors),
        )
    if claim.state == ClaimState.CORRECTED and claim.claim is not None and claim.claim.frequency.value in ("7", "8"):
        return ClaimCorrected(
            tenant_id=claim.tenant_id,
            claim_id=claim.claim_id,
            frequency="7" if claim.claim.frequency.value == "7" else "8",
            payer_key=claim.payer_key,
            config_version=claim.config_version,
        )
    return None


def announce_stale(tenant_id: str, deps: PipelineDeps, *, older_than: timedelta = STALE_AFTER) -> int:
    """Announce the tenant's READY and CORRECTED claims whose event never went out; the number announced."""
    cutoff = deps.clock() - older_than
    announced = 0
    for state in (ClaimState.READY, ClaimState.CORRECTED):
        for claim in deps.store.claims_in_state(tenant_id, state, limit=SWEEP_LIMIT):
            if claim.announced or claim.updated_at > cutoff:
                continue
            event = state_event(claim)
            if event is None:
                continue
            deps.events.publish([event])
            deps.store.mark_announced(claim)
            announced += 1
    deps.metrics.count("ClaimsReannounced", announced, tenant_id=tenant_id)
    return announced
