"""Biller actions on one claim: resubmit a fixed claim, correct (7) or void (8) an answered one, write off, close,
resend; and replay a tenant's quarantined inputs once it is enabled again.

Every action is a conditional transition (``ClaimStorePort.transition``) with an audit history entry naming the
action, the actor and the biller's reason. A refused action (the claim's state does not allow it, no payer claim
number, a claim already acted on) raises ``ActionRefused`` after recording the refusal in the claim's history, and
changes nothing else. The reason is free text typed by staff: it lands in the history only, never in logs,
events, metrics or error messages.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from claimbridge.errors import ClaimsError
from claimbridge.findings import Finding
from claimbridge.overrides import ClaimOverrides, LineOverride
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.state.models import ClaimState

__all__ = [
    "ActionRefused",
    "ActionResult",
    "ClaimNotFound",
    "ClaimOverrides",
    "LineOverride",
    "ReplayResult",
    "close_claim",
    "correct_claim",
    "replay_quarantined",
    "resend_claim",
    "resubmit_claim",
    "write_off_claim",
]

Action = Literal["resubmit", "correct", "void", "write_off", "close", "resend"]


class ClaimNotFound(ClaimsError):
    """No claim with this id for the tenant (the API answers 404)."""

    code: ClassVar[str] = "CB-CLAIM-NOT-FOUND"


class ActionRefused(ClaimsError):
    """The claim's state (or its data) does not allow the action; nothing changed (the API answers 409).

    ``findings`` are what would hold the claim when the refusal comes from the scrubber (ids and locations only).
    """

    code: ClassVar[str] = "CB-ACTION-REFUSED"

    def __init__(self, message: str, *, findings: tuple[Finding, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings


class ActionResult(BaseModel):
    """What an action did to the claim (ids, states and findings: safe to return and log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    claim_id: str
    action: Action
    from_state: ClaimState
    state: ClaimState
    revision: int
    findings: tuple[Finding, ...] = ()
    related_claim_id: str | None = None


class ReplayResult(BaseModel):
    """What a replay of a tenant's quarantined inputs did: the input keys sent back through ingest, and counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    replayed: tuple[str, ...] = ()
    skipped: int = 0
    already_replayed: int = 0
    missing: int = 0


def resubmit_claim(
    tenant_id: str,
    claim_id: str,
    *,
    reason: str,
    actor: str,
    deps: PipelineDeps,
    overrides: ClaimOverrides | None = None,
) -> ActionResult:
    """A HELD (or REJECTED) claim, fixed by ``overrides``, scrubbed again: READY (Claim Ready) or HELD (Claim Held)."""
    raise NotImplementedError


def correct_claim(
    tenant_id: str,
    claim_id: str,
    *,
    frequency: Literal["7", "8"],
    reason: str,
    actor: str,
    deps: PipelineDeps,
    overrides: ClaimOverrides | None = None,
) -> ActionResult:
    """A replacement (7) or void (8) of a claim the payer answered, with REF*F8, queued for the submit flow."""
    raise NotImplementedError


def write_off_claim(tenant_id: str, claim_id: str, *, reason: str, actor: str, deps: PipelineDeps) -> ActionResult:
    """An adjudicated balance the practice will not pursue: CLOSED, the written-off amount recorded."""
    raise NotImplementedError


def close_claim(tenant_id: str, claim_id: str, *, reason: str, actor: str, deps: PipelineDeps) -> ActionResult:
    """Stop working a claim: CLOSED with the reason."""
    raise NotImplementedError


def resend_claim(tenant_id: str, claim_id: str, *, reason: str, actor: str, deps: PipelineDeps) -> ActionResult:
    """A FAILED_TO_SEND claim's interchange sent again (same file, same idempotency key): READY."""
    raise NotImplementedError


def replay_quarantined(tenant_id: str, *, actor: str, deps: PipelineDeps) -> ReplayResult:
    """Send every input quarantined for the tenant as ``IN-TENANT`` back through ingest, each once."""
    raise NotImplementedError
