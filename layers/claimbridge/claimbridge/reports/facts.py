"""What the KPIs read about one claim: its applied state changes, its charge, payer key and latest remittance.

Facts carry ids, states, times and amounts only (no patient data, no dates of service), so every KPI computed from
them is PHI-free by construction. The timeline questions the KPI definitions ask (``docs/kpis.md``) are answered
here once: when was the claim first scrubbed, first submitted, what was its state at a moment, which posting counts.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from claimbridge.state.models import ClaimState

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
_S = ClaimState

SCRUBBED_STATES = frozenset({_S.READY, _S.HELD})
"""A change into one of these is a scrub result."""
ANSWER_STATES = frozenset({_S.ACCEPTED, _S.REJECTED, _S.PAID, _S.PARTIALLY_PAID, _S.DENIED})
"""States only a clearinghouse or payer answer leads to."""
ADJUDICATED_STATES = frozenset({_S.PAID, _S.PARTIALLY_PAID, _S.DENIED})
"""States an 835 posting leads to."""


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("state change times must be timezone-aware")
    return moment


class StateChange(BaseModel):
    """One applied lifecycle move (refused attempts are not facts). ``manual``: made by a person, not the pipeline."""

    model_config = _FROZEN
    at: Annotated[datetime, AfterValidator(_aware)]
    from_state: ClaimState | None
    to_state: ClaimState
    manual: bool = False


class RemittanceFacts(BaseModel):
    """The money of the claim's latest 835 posting; ``contractual`` is the CO adjustments of normal adjudication."""

    model_config = _FROZEN
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal = Decimal(0)
    contractual: Decimal = Decimal(0)
    category: str | None = None
    """The governing denial category (DENIED / PARTIALLY_PAID), ``None`` when the payer's codes named none."""

    @property
    def expected(self) -> Decimal:
        """What the payer should have paid: charge less contractual adjustments and the patient's share."""
        return self.charge - self.contractual - self.patient_responsibility

    @property
    def unpaid(self) -> Decimal:
        """The part still owed by the payer after this posting (the denied part), never below zero."""
        return max(self.expected - self.paid, Decimal(0))


class ClaimFacts(BaseModel):
    """One claim's timeline and money; ``changes`` oldest first."""

    model_config = _FROZEN
    claim_id: str
    payer_key: str | None = None
    charge: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    changes: tuple[StateChange, ...] = ()
    remittance: RemittanceFacts | None = None

    def state_at(self, moment: datetime) -> ClaimState | None:
        """The state the claim was in just before ``moment`` (``None``: it did not exist yet)."""
        state: ClaimState | None = None
        for change in self.changes:
            if change.at >= moment:
                break
            state = change.to_state
        return state

    def entered_current_state(self, moment: datetime) -> datetime | None:
        """When the claim entered the state it was in just before ``moment``."""
        entered: datetime | None = None
        for change in self.changes:
            if change.at >= moment:
                break
            entered = change.at
        return entered

    @property
    def first_scrub(self) -> StateChange | None:
        """The first scrub result (the first change into READY or HELD)."""
        return next((c for c in self.changes if c.to_state in SCRUBBED_STATES), None)

    @property
    def first_submission(self) -> datetime | None:
        """When the claim was first sent: its first change into SUBMITTED, or an answer to an interchange whose send
        looked failed (FAILED_TO_SEND -> an answer state proves it was taken)."""
        for change in self.changes:
            if change.to_state == _S.SUBMITTED or (
                change.from_state == _S.FAILED_TO_SEND and change.to_state in ANSWER_STATES
            ):
                return change.at
        return None

    @property
    def clean(self) -> bool:
        """Passed the scrubber without manual change: the first scrub said READY, and until the first submission
        (or until now, if never sent) the claim never went back to RECEIVED (a re-scrub, an override, a new source
        version) and no person changed it."""
        first = self.first_scrub
        if first is None or first.to_state != _S.READY:
            return False
        submitted = self.first_submission
        for change in self.changes[self.changes.index(first) + 1 :]:
            if submitted is not None and change.at >= submitted:
                break
            if change.to_state == _S.RECEIVED or change.manual:
                return False
        return True

    @property
    def first_answers(self) -> tuple[StateChange, ...]:
        """Answers after the first submission up to and including the first adjudication."""
        submitted = self.first_submission
        if submitted is None:
            return ()
        answers: list[StateChange] = []
        for change in self.changes:
            if change.at < submitted or change.to_state not in ANSWER_STATES:
                continue
            answers.append(change)
            if change.to_state in ADJUDICATED_STATES:
                break
        return tuple(answers)

    @property
    def posting(self) -> StateChange | None:
        """The change that posted the claim's current 835 outcome: the last change into PAID, PARTIALLY_PAID or
        DENIED, unless a reversal (back to ACCEPTED) came after it."""
        last: StateChange | None = None
        for change in self.changes:
            if change.to_state in ADJUDICATED_STATES:
                last = change
            elif change.to_state == _S.ACCEPTED and last is not None:
                last = None  # CLP02 22 undid the posting
        return last
