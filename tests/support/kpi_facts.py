"""Claim facts for KPI and report tests: timelines written as (time, state) steps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from claimbridge.reports.facts import ClaimFacts, RemittanceFacts, StateChange
from claimbridge.state.models import ClaimState

S = ClaimState


def at(month: int, day: int, year: int = 2026, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


Step = tuple[datetime, ClaimState] | tuple[datetime, ClaimState, bool]


def claim(
    claim_id: str,
    *steps: Step,
    payer: str | None = "MCR",
    charge: str = "100.00",
    remittance: RemittanceFacts | None = None,
) -> ClaimFacts:
    """A claim created in RECEIVED at its first step's time, then moved through ``steps`` (``True``: by a person)."""
    changes = [StateChange(at=steps[0][0], from_state=None, to_state=S.RECEIVED)]
    for step in steps:
        manual = len(step) == 3 and bool(step[2])
        changes.append(StateChange(at=step[0], from_state=changes[-1].to_state, to_state=step[1], manual=manual))
    return ClaimFacts(
        claim_id=claim_id, payer_key=payer, charge=Decimal(charge), changes=tuple(changes), remittance=remittance
    )


def remit(
    charge: str, paid: str, contractual: str = "0", patient: str = "0", category: str | None = None
) -> RemittanceFacts:
    return RemittanceFacts(
        charge=Decimal(charge),
        paid=Decimal(paid),
        contractual=Decimal(contractual),
        patient_responsibility=Decimal(patient),
        category=category,
    )
