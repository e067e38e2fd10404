"""What the state store keeps: claim lifecycle, stored claims, history, submissions, source index.

The lifecycle is architecture section 3. It is data (``ALLOWED_TRANSITIONS``) so the repository can refuse a move
that is not in it, whoever asks for it. ``FAILED_TO_SEND`` (issue 6) is a READY claim whose interchange could not be
delivered within the retry bound: it keeps its interchange (``pending_submission_id``) and goes back to READY to be
resent with the same file and idempotency key, or is CLOSED. A timeout or a dropped connection can hide that the
clearinghouse took the interchange after all; its 999/277CA then moves the claim to ACCEPTED/REJECTED directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding
from claimbridge.remit import Action, Category, ClaimOutcome, ClaimPayment
from claimbridge.tenants import TenantConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class ClaimState(StrEnum):
    """Where a claim is in its life (architecture section 3)."""

    RECEIVED = "RECEIVED"
    HELD = "HELD"
    READY = "READY"
    FAILED_TO_SEND = "FAILED_TO_SEND"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    PAID = "PAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    DENIED = "DENIED"
    CORRECTED = "CORRECTED"
    VOIDED = "VOIDED"
    CLOSED = "CLOSED"


_S = ClaimState

ALLOWED_TRANSITIONS: Mapping[ClaimState, frozenset[ClaimState]] = {
    # A new source version (or an admin re-scrub) sends HELD/READY back through RECEIVED, so every version is audited.
    _S.RECEIVED: frozenset({_S.HELD, _S.READY}),
    _S.HELD: frozenset({_S.RECEIVED, _S.CLOSED}),
    _S.READY: frozenset({_S.SUBMITTED, _S.RECEIVED, _S.CLOSED, _S.FAILED_TO_SEND}),
    # Retries exhausted (or the account refused): resend the same interchange (-> READY), or give up (-> CLOSED).
    # An answer lost on the way back can hide that the clearinghouse took it: its 999/277CA then moves the claim on.
    _S.FAILED_TO_SEND: frozenset(
        {_S.READY, _S.CLOSED, _S.ACCEPTED, _S.REJECTED, _S.PAID, _S.PARTIALLY_PAID, _S.DENIED, _S.VOIDED}
    ),
    # An 835 can come before (or instead of) the 277CA that accepted the claim: adjudicated implies accepted.
    # A void (frequency 8) the 277CA accepts is VOIDED: the payer took the cancellation.
    _S.SUBMITTED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.PAID, _S.PARTIALLY_PAID, _S.DENIED, _S.VOIDED}),
    # A clearinghouse acceptance (277CA A1) can still be followed by the payer's own rejection (A3/A7).
    _S.ACCEPTED: frozenset({_S.REJECTED, _S.PAID, _S.PARTIALLY_PAID, _S.DENIED, _S.VOIDED}),
    # A claim rejected before adjudication (999/277CA) never reached the payer's books: the biller fixes it and it is
    # scrubbed and sent again as it was billed (RECEIVED -> READY | HELD, same CLM01), not as a replacement.
    _S.REJECTED: frozenset({_S.RECEIVED, _S.CORRECTED, _S.CLOSED}),
    # An 835 reversal (CLP02 22) undoes a posting: back to ACCEPTED, where the payer's corrected claim posts again.
    # A void is a claim of its own (frequency 8, via CORRECTED): the claim is VOIDED only when the payer accepts it.
    _S.PAID: frozenset({_S.CORRECTED, _S.CLOSED, _S.ACCEPTED}),
    _S.PARTIALLY_PAID: frozenset({_S.PAID, _S.CORRECTED, _S.CLOSED, _S.ACCEPTED}),
    _S.DENIED: frozenset({_S.CORRECTED, _S.CLOSED, _S.ACCEPTED}),
    # CORRECTED: a replacement (7) or void (8) built by a biller, waiting for the submit flow like a READY claim: sent,
    # not delivered within the retry bound (then resent from READY), or refused by the clearinghouse or the writer.
    _S.CORRECTED: frozenset({_S.SUBMITTED, _S.FAILED_TO_SEND, _S.HELD}),
    # VOIDED: the payer accepted the void; a payer's own later rejection (277CA A3/A7 after A1) reopens it.
    _S.VOIDED: frozenset({_S.CLOSED, _S.REJECTED}),
    _S.CLOSED: frozenset(),
}

REPLACEABLE_STATES: frozenset[ClaimState] = frozenset({_S.RECEIVED, _S.HELD, _S.READY})
"""States in which a new source version replaces the stored claim (contract section 8)."""

SENDABLE_STATES: frozenset[ClaimState] = frozenset({_S.READY, _S.CORRECTED})
"""States the submit flow sends: a scrubbed original (READY) or a biller's replacement / void (CORRECTED)."""


ADJUDICATED_STATES: frozenset[ClaimState] = frozenset({_S.PAID, _S.PARTIALLY_PAID, _S.DENIED})
"""States an 835 posting puts a claim in (a reversal takes it back to ACCEPTED)."""


def transition_allowed(current: ClaimState, target: ClaimState) -> bool:
    """Whether the lifecycle has an edge ``current -> target``."""
    return target in ALLOWED_TRANSITIONS[current]


class TenantRecord(BaseModel):
    """A tenant document as stored, with the version number claims record they were scrubbed with."""

    model_config = _FROZEN
    config: Annotated[TenantConfig, Field(repr=False)]
    config_version: int
    sha256: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


class TenantVersion(BaseModel):
    """One immutable version of a tenant document (its audit entry: digest, author, time)."""

    model_config = _FROZEN
    tenant_id: str
    config_version: int
    sha256: str
    stored_at: datetime
    stored_by: str
    enabled: bool


class ClaimPageKey(BaseModel):
    """Where the next page of a state worklist starts: the last item's index sort key and claim id."""

    model_config = _FROZEN
    sort_key: str
    claim_id: str


FileKind = Literal["837P", "999", "277CA", "835"]


class ClaimFile(BaseModel):
    """An archive object that carries or answers a claim (an 837P interchange, a 999, a 277CA or an 835)."""

    model_config = _FROZEN
    kind: FileKind
    key: str
    recorded_at: datetime


class SourceIndex(BaseModel):
    """Which claim a FHIR source (``Claim/<id>``) currently maps to, and at which version."""

    model_config = _FROZEN
    tenant_id: str
    source_key: str
    claim_id: str
    version: str
    stamp: str | None = None  # the source's own ordering (meta.lastUpdated), to refuse an older version arriving late


class RemittancePosting(BaseModel):
    """The 835 claim payment (2100 loop) that gave the claim its adjudicated state, kept on the claim.

    Write-back reads it for ``ClaimResponse.item.adjudication`` and ``payment`` (contract section 11), the worklists for
    the denial category and next action, the KPIs for paid amounts and patient responsibility. It is the latest
    posting: a reversal (CLP02 22) clears it, the payer's corrected claim posts a new one. ``revision`` is the claim
    revision the posting produced (set by the store), so a late write-back of an older change never borrows it.
    """

    model_config = _FROZEN
    response_key: str
    payment: ClaimPayment
    outcome: ClaimOutcome
    category: Category | None = None
    action: Action | None = None
    patient_responsibility: Decimal
    payer_id: str | None = None
    payment_date: date | None = None
    trace_number: str | None = None
    revision: int | None = None


class StoredClaim(BaseModel):
    """The STATE item of one claim."""

    model_config = _FROZEN
    tenant_id: str
    claim_id: str
    state: ClaimState
    revision: int
    source_key: str
    source_version: str
    payer_key: str | None = None
    config_version: int | None = None
    claim: Annotated[ProfessionalClaim | None, Field(repr=False)] = None
    findings: tuple[Finding, ...] = ()
    submission_id: str | None = None
    pending_submission_id: str | None = None
    related_claim_id: str | None = None
    payer_claim_control_number: str | None = None
    """The payer's number for the claim (277CA REF*1K, later 835 CLP07): REF*F8 of a corrected or void claim."""
    written_off: Annotated[Decimal | None, Field(ge=0, max_digits=12, decimal_places=2)] = None
    """The balance a biller wrote off when closing an adjudicated claim (charge - paid - patient share of the latest
    posted 835), for the net collection rate; ``None`` unless written off."""
    remittance: Annotated[RemittancePosting | None, Field(repr=False)] = None
    announced: bool = False
    """Whether the event for the current state went out; a redelivery re-announces a claim whose event was lost."""
    created_at: datetime
    updated_at: datetime

    @property
    def error_rule_ids(self) -> tuple[str, ...]:
        """Rule ids of the error findings (what holds the claim)."""
        return tuple(f.rule_id for f in self.findings if f.severity == "error")


class HistoryEntry(BaseModel):
    """One audit item of a claim: an applied transition, or a refused attempt (``refused=True``)."""

    model_config = _FROZEN
    at: datetime
    from_state: ClaimState | None
    to_state: ClaimState
    reason: str
    actor: str
    refused: bool = False
    revision: int


DEFAULT_MAX_SEND_ATTEMPTS = 4
"""Clearinghouse calls per interchange before its claims go FAILED_TO_SEND; below SubmitQueue's maxReceiveCount (5),
so the bound, not the DLQ, ends an outage (template contract test)."""

SubmissionOutcome = Literal["pending", "submitted", "refused", "failed"]
"""``pending``: not taken yet (never tried, or a retryable failure); ``submitted``: the clearinghouse took it;
``refused``: a permanent 4xx, its claims are HELD; ``failed``: retries exhausted or the account refused, its claims
are FAILED_TO_SEND until resent."""


class SubmissionRecord(BaseModel):
    """One 837P interchange sent (or being sent) to a clearinghouse, kept so 999/277CA can be matched.

    ``attempts`` counts calls to the clearinghouse; ``max_attempts`` is the bound this interchange runs under (set when
    it is created, raised by a resend); ``next_attempt_at`` is when a retry is due after a retryable failure.
    """

    model_config = _FROZEN
    tenant_id: str
    submission_id: str
    receiver_id: str
    interchange_control_number: int
    group_control_number: int
    transaction_claims: Mapping[str, tuple[str, ...]]
    """ST02 -> CLM01s of that transaction set."""
    archive_key: str
    idempotency_key: str
    attempts: int = 0
    max_attempts: Annotated[int, Field(ge=1)] = DEFAULT_MAX_SEND_ATTEMPTS
    outcome: SubmissionOutcome = "pending"
    clearinghouse_reference: str | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def claim_ids(self) -> tuple[str, ...]:
        """Every CLM01 of the interchange, in transaction order."""
        return tuple(claim_id for st02 in sorted(self.transaction_claims) for claim_id in self.transaction_claims[st02])


class ResponseCursor(BaseModel):
    """Where polling a tenant's clearinghouse stopped."""

    model_config = _FROZEN
    tenant_id: str
    cursor: str | None
    polled_at: datetime | None


class UnmatchedResponse(BaseModel):
    """A part of a response (an ST of a 999, a claim status of a 277CA) that matched nothing we sent."""

    model_config = _FROZEN
    tenant_id: str
    response_key: str
    kind: str
    reference: str
    reason: str
    recorded_at: datetime
