"""What a biller sees of claims: summaries, one claim in detail, worklist items. Ids, codes and counts only.

These are the tenant API's response bodies and what ``claimbridge claims`` prints as JSON. Nothing here carries
patient data: no names, member ids, birth or service dates, addresses; the claim content stays in the store and the
archived files (listed by key).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from claimbridge.findings import Finding
from claimbridge.state.models import ClaimState

_OUT = ConfigDict(frozen=True, extra="forbid")

FileKindName = Literal["837P", "999", "277CA", "835", "ClaimResponse", "ExplanationOfBenefit"]


class WorklistName(StrEnum):
    """The biller's worklists (issue 8): what holds a claim, what came back, what could not be sent."""

    HELD = "held"
    REJECTED = "rejected"
    DENIED = "denied"
    FAILED_TO_SEND = "failed-to-send"


WORKLIST_STATES: dict[WorklistName, ClaimState] = {
    WorklistName.HELD: ClaimState.HELD,
    WorklistName.REJECTED: ClaimState.REJECTED,
    WorklistName.DENIED: ClaimState.DENIED,
    WorklistName.FAILED_TO_SEND: ClaimState.FAILED_TO_SEND,
}


class ClaimSummary(BaseModel):
    """A claim in a list: where it is and what holds it."""

    model_config = _OUT
    claim_id: str
    state: ClaimState
    revision: int
    source_key: str
    source_version: str
    payer_key: str | None = None
    config_version: int | None = None
    related_claim_id: str | None = None
    error_rule_ids: list[str]
    updated_at: datetime


class ClaimPage(BaseModel):
    """One page of a state list; ``next`` is the opaque token of the following page (absent: the last one)."""

    model_config = _OUT
    state: ClaimState
    items: list[ClaimSummary]
    next: str | None = None


class HistoryItem(BaseModel):
    """One audit entry of a claim (applied or refused)."""

    model_config = _OUT
    at: datetime
    from_state: ClaimState | None
    to_state: ClaimState
    reason: str
    actor: str
    refused: bool
    revision: int


class FileRef(BaseModel):
    """An archive object of the claim, by key (837P, responses, FHIR write-back)."""

    model_config = _OUT
    kind: FileKindName
    key: str


class ClaimDetail(BaseModel):
    """One claim: its state, findings, history and files."""

    model_config = _OUT
    claim_id: str
    state: ClaimState
    revision: int
    source_key: str
    source_version: str
    payer_key: str | None = None
    config_version: int | None = None
    frequency: Literal["1", "7", "8"] | None = None
    total_charge: Decimal | None = None
    line_count: int | None = None
    submission_id: str | None = None
    pending_submission_id: str | None = None
    related_claim_id: str | None = None
    payer_claim_control_number: str | None = None
    created_at: datetime
    updated_at: datetime
    findings: list[Finding]
    history: list[HistoryItem]
    files: list[FileRef]


class Denial(BaseModel):
    """What the payer's 835 said about a denied claim, and what to do next (``claimbridge.remit``)."""

    model_config = _OUT
    outcome: str
    status_code: str
    category: str
    reason_codes: list[str]
    action: str | None = None
    next_action: str | None = None


class SendFailure(BaseModel):
    """Why a claim could not be delivered to the clearinghouse."""

    model_config = _OUT
    submission_id: str
    attempts: int
    max_attempts: int
    last_error: str | None = None


class WorklistItem(BaseModel):
    """A claim on a worklist with what the biller needs to act on it."""

    model_config = _OUT
    claim: ClaimSummary
    findings: list[Finding]
    denial: Denial | None = None
    send_failure: SendFailure | None = None


class Worklist(BaseModel):
    """One page of a worklist."""

    model_config = _OUT
    name: WorklistName
    state: ClaimState
    items: list[WorklistItem]
    next: str | None = None


class UnmatchedItem(BaseModel):
    """A response part that matched no claim or submission of the tenant."""

    model_config = _OUT
    response_key: str
    kind: str
    reference: str
    reason: str
    recorded_at: datetime


class UnmatchedList(BaseModel):
    """One page of the unmatched-responses worklist."""

    model_config = _OUT
    items: list[UnmatchedItem]
    next: str | None = None
