"""What an adjudicated claim means for the practice: outcome, money split, a denial's category and next action.

The CARC/RARC -> category -> action mapping is data (``remit/data/carc_categories.json``, domain reference section
7.2); this module holds only the precedence rules:

1. CLP02 22 is a reversal: outcome REVERSED, never a denial (the corrected claim, if any, is classified on its own).
2. Normal adjudication is not a denial: CO-45, PR 1/2/3 (deductible, coinsurance, copay), OA-23 (prior payer's
   impact) and the other ``normal`` rows. Zero-amount adjustments are ignored.
3. Every other adjustment is a denial adjustment, looked up by group + CARC (a group-specific row before an any-group
   row). Among several, the one whose row comes first in the table governs (rows are in precedence order:
   eligibility and who-pays first, coverage last); a known row always outranks an unknown CARC.
4. A RARC refines CARC 16 and 96: the remarks of the line (and the claim's) are looked up in the ``rarc`` rows, in
   table order; the first row with a category sets the category, the first with an action sets the action (so
   MA130 turns any fix into a new claim).
5. An unknown CARC (no row) -> WORK_QUEUE, no category: a person looks at it.

Outcome: REVERSED (rule 1); DENIED when CLP02 is 4, or nothing was paid and there is a denial adjustment;
PARTIALLY_PAID when something was paid and there is a denial adjustment (claim or line); else PAID, whose category
is "patient_responsibility" with BILL_PATIENT when the patient owes something, and none otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claimbridge.remit.parser import DENIED_STATUS, Adjustment, ClaimPayment, ServicePayment

DATA_PACKAGE = "claimbridge.remit.data"
TABLE_NAME = "carc_categories"

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
_ZERO = Decimal(0)


class Category(StrEnum):
    """Denial categories of the domain reference (section 7.2); values are the machine names used in output."""

    ELIGIBILITY = "eligibility"
    AUTHORIZATION = "authorization"
    CODING = "coding"
    DOCUMENTATION = "documentation"  # documentation / medical necessity
    CREDENTIALING = "credentialing"
    TIMELY_FILING = "timely_filing"
    DUPLICATE = "duplicate"
    COB = "cob"
    COVERAGE = "coverage"
    PATIENT_RESPONSIBILITY = "patient_responsibility"


class Action(StrEnum):
    """Next actions (section 7.2): corrected = frequency 7 + REF*F8, new = frequency 1."""

    RESUBMIT_CORRECTED = "RESUBMIT_CORRECTED"
    RESUBMIT_NEW = "RESUBMIT_NEW"
    APPEAL = "APPEAL"
    BILL_PATIENT = "BILL_PATIENT"
    BILL_OTHER_PAYER = "BILL_OTHER_PAYER"
    WRITE_OFF = "WRITE_OFF"
    WORK_QUEUE = "WORK_QUEUE"


class ClaimOutcome(StrEnum):
    PAID = "PAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    DENIED = "DENIED"
    REVERSED = "REVERSED"


# --------------------------------------------------------------------------------------------------------- the table


class StatusRow(BaseModel):
    model_config = _FROZEN
    code: str
    meaning: str


class NormalRow(BaseModel):
    """A group + CARC that is ordinary adjudication, not a denial."""

    model_config = _FROZEN
    groups: Annotated[tuple[str, ...], Field(min_length=1)]
    codes: Annotated[tuple[str, ...], Field(min_length=1)]
    meaning: str
    source: str


class CarcRow(BaseModel):
    """A denial CARC (``groups`` empty: any group) with its category, default action and the alternatives."""

    model_config = _FROZEN
    groups: tuple[str, ...]
    codes: Annotated[tuple[str, ...], Field(min_length=1)]
    meaning: str
    category: Category
    action: Action
    alternatives: tuple[Action, ...] = ()
    note: str
    source: str


class RarcRow(BaseModel):
    """A RARC that refines the CARCs in ``refines``; ``None`` keeps what the CARC (or an earlier RARC) said."""

    model_config = _FROZEN
    codes: Annotated[tuple[str, ...], Field(min_length=1)]
    refines: Annotated[tuple[str, ...], Field(min_length=1)]
    meaning: str
    category: Category | None
    action: Action | None
    alternatives: tuple[Action, ...] = ()
    note: str
    source: str


class DenialTable(BaseModel):
    """One edition of the mapping, rows in precedence order."""

    model_config = _FROZEN
    effective_from: date
    effective_to: date | None = None
    note: str = ""
    claim_status: tuple[StatusRow, ...]
    normal: tuple[NormalRow, ...]
    carc: tuple[CarcRow, ...]
    rarc: tuple[RarcRow, ...]

    def is_normal(self, adjustment: Adjustment) -> bool:
        return any(adjustment.group in row.groups and adjustment.reason in row.codes for row in self.normal)

    def carc_row(self, adjustment: Adjustment) -> tuple[int, CarcRow] | None:
        """The row (and its precedence index) for a denial adjustment: group-specific rows first, then any-group."""
        for specific in (True, False):
            for index, row in enumerate(self.carc):
                if adjustment.reason not in row.codes:
                    continue
                if (specific and adjustment.group in row.groups) or (not specific and not row.groups):
                    return index, row
        return None

    def rarc_rows(self, carc: str, remarks: Iterable[str]) -> list[RarcRow]:
        """The RARC rows that apply to ``carc`` given these remarks, in table (precedence) order."""
        present = set(remarks)
        return [row for row in self.rarc if carc in row.refines and present.intersection(row.codes)]

    def status_meaning(self, code: str) -> str | None:
        return next((row.meaning for row in self.claim_status if row.code == code), None)


class DenialTableFile(BaseModel):
    model_config = _FROZEN
    table: str
    title: str
    source: Annotated[tuple[str, ...], Field(min_length=1)]
    categories: dict[Category, str]
    versions: Annotated[tuple[DenialTable, ...], Field(min_length=1)]

    def on(self, day: date | None) -> DenialTable:
        """The edition in effect on ``day`` (default: the newest); a day before every edition reads with the first."""
        ordered = sorted(self.versions, key=lambda version: version.effective_from)
        if day is None:
            return ordered[-1]
        current = ordered[0]
        for version in ordered:
            if version.effective_from <= day:
                current = version
        return current


class DenialTableError(ValueError):
    """The packaged table is malformed (a build error, never a data error of a remittance)."""


@cache
def load_denial_tables() -> DenialTableFile:
    """``remit/data/carc_categories.json``, validated once per process."""
    text = resources.files(DATA_PACKAGE).joinpath(f"{TABLE_NAME}.json").read_text(encoding="utf-8")
    try:
        document = DenialTableFile.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise DenialTableError(f"{TABLE_NAME}.json is malformed ({type(exc).__name__})") from None
    if document.table != TABLE_NAME or set(document.categories) != set(Category):
        raise DenialTableError(f"{TABLE_NAME}.json names another table or does not label every category")
    return document


def denial_table(on: date | None = None) -> DenialTable:
    """The packaged edition in effect on ``on`` (default: the newest)."""
    return load_denial_tables().on(on)


# ---------------------------------------------------------------------------------------------------------- outcome


class DenialReason(BaseModel):
    """One denial adjustment with how the table reads it; ``line`` is the 1-based service line, ``None`` = claim."""

    model_config = _FROZEN
    group: str
    reason: str
    amount: Decimal
    line: Annotated[int | None, Field(ge=1)] = None
    category: Category | None = None
    action: Action
    alternatives: tuple[Action, ...] = ()
    rarcs: tuple[str, ...] = ()
    known: bool
    precedence: int

    @property
    def carc(self) -> str:
        return f"{self.group}-{self.reason}"


class PatientResponsibility(BaseModel):
    """The PR adjustments of a claim (claim level and lines), split as a statement needs them."""

    model_config = _FROZEN
    deductible: Decimal = _ZERO
    coinsurance: Decimal = _ZERO
    copay: Decimal = _ZERO
    other: Decimal = _ZERO

    @property
    def total(self) -> Decimal:
        return self.deductible + self.coinsurance + self.copay + self.other


class Outcome(BaseModel):
    """What one 2100 claim means: outcome, money, and the governing category/action with the codes that decided it."""

    model_config = _FROZEN
    patient_control_number: str
    status_code: str
    status_meaning: str | None = None
    outcome: ClaimOutcome
    charge: Decimal
    paid: Decimal
    allowed: Decimal | None = None
    patient_responsibility: PatientResponsibility
    stated_patient_responsibility: Decimal | None = None
    adjustments_by_group: dict[str, Decimal]
    category: Category | None = None
    action: Action | None = None
    alternatives: tuple[Action, ...] = ()
    carc: str | None = None
    rarcs: tuple[str, ...] = ()
    denials: tuple[DenialReason, ...] = ()

    @property
    def owed_by_patient(self) -> Decimal:
        """CLP05 when the payer stated it, else the sum of the PR adjustments."""
        if self.stated_patient_responsibility is not None:
            return self.stated_patient_responsibility
        return self.patient_responsibility.total


def _patient_split(adjustments: Iterable[Adjustment]) -> PatientResponsibility:
    split = {"1": _ZERO, "2": _ZERO, "3": _ZERO, "other": _ZERO}
    for adjustment in adjustments:
        if adjustment.group == "PR":
            key = adjustment.reason if adjustment.reason in ("1", "2", "3") else "other"
            split[key] += adjustment.amount
    return PatientResponsibility(deductible=split["1"], coinsurance=split["2"], copay=split["3"], other=split["other"])


def _denial(
    table: DenialTable, adjustment: Adjustment, line: int | None, remarks: Sequence[str], unknown_rank: int
) -> DenialReason:
    found = table.carc_row(adjustment)
    if found is None:
        return DenialReason(
            group=adjustment.group,
            reason=adjustment.reason,
            amount=adjustment.amount,
            line=line,
            action=Action.WORK_QUEUE,
            known=False,
            precedence=unknown_rank,
        )
    index, row = found
    category, action, alternatives = row.category, row.action, row.alternatives
    refining = table.rarc_rows(adjustment.reason, remarks)
    with_category = next((r for r in refining if r.category is not None), None)
    with_action = next((r for r in refining if r.action is not None), None)
    if with_category is not None and with_category.category is not None:
        category = with_category.category
    if with_action is not None and with_action.action is not None:
        action, alternatives = with_action.action, with_action.alternatives
    present = set(remarks)
    rarcs = tuple(dict.fromkeys(code for r in refining for code in r.codes if code in present))
    return DenialReason(
        group=adjustment.group,
        reason=adjustment.reason,
        amount=adjustment.amount,
        line=line,
        category=category,
        action=action,
        alternatives=alternatives,
        rarcs=rarcs,
        known=True,
        precedence=index,
    )


def _line_remarks(claim: ClaimPayment, line: ServicePayment | None) -> tuple[str, ...]:
    """A line adjustment reads its own LQ*HE then the claim's MOA/MIA; a claim adjustment reads them all."""
    if line is None:
        return claim.all_remarks
    return tuple(dict.fromkeys((*line.remarks, *claim.remarks)))


def denial_reasons(claim: ClaimPayment, table: DenialTable) -> list[DenialReason]:
    """Every non-zero adjustment of the claim that is not normal adjudication, classified, in file order."""
    unknown_rank = len(table.carc)
    located: list[tuple[Adjustment, int | None, ServicePayment | None]] = [(a, None, None) for a in claim.adjustments]
    for number, line in enumerate(claim.lines, start=1):
        located.extend((adjustment, number, line) for adjustment in line.adjustments)
    return [
        _denial(table, adjustment, number, _line_remarks(claim, line), unknown_rank)
        for adjustment, number, line in located
        if adjustment.amount != 0 and not table.is_normal(adjustment)
    ]


def classify(claim: ClaimPayment, *, table: DenialTable | None = None) -> Outcome:
    """The outcome of one claim payment under the precedence rules of this module's docstring."""
    table = table or denial_table()
    adjustments = claim.all_adjustments
    by_group: dict[str, Decimal] = {}
    for adjustment in adjustments:
        by_group[adjustment.group] = by_group.get(adjustment.group, _ZERO) + adjustment.amount
    allowed_lines = [line.allowed for line in claim.lines if line.allowed is not None]
    patient = _patient_split(adjustments)
    base = {
        "patient_control_number": claim.patient_control_number,
        "status_code": claim.status_code,
        "status_meaning": table.status_meaning(claim.status_code),
        "charge": claim.charge,
        "paid": claim.paid,
        "allowed": sum(allowed_lines, _ZERO) if allowed_lines else None,
        "patient_responsibility": patient,
        "stated_patient_responsibility": claim.patient_responsibility,
        "adjustments_by_group": by_group,
    }
    if claim.is_reversal:
        return Outcome.model_validate({**base, "outcome": ClaimOutcome.REVERSED})
    denials = denial_reasons(claim, table)
    if denials:
        governing = min(denials, key=lambda denial: denial.precedence)  # min keeps the first of equal rank
        decided = {
            "category": governing.category,
            "action": governing.action,
            "alternatives": governing.alternatives,
            "carc": governing.carc,
            "rarcs": governing.rarcs,
            "denials": tuple(denials),
        }
        denied = claim.status_code == DENIED_STATUS or claim.paid == 0
        outcome = ClaimOutcome.DENIED if denied else ClaimOutcome.PARTIALLY_PAID
        return Outcome.model_validate({**base, "outcome": outcome, **decided})
    if claim.status_code == DENIED_STATUS:
        return Outcome.model_validate({**base, "outcome": ClaimOutcome.DENIED, "action": Action.WORK_QUEUE})
    first_pr = next((a for a in adjustments if a.group == "PR" and a.amount != 0), None)
    if first_pr is not None and patient.total > 0:
        return Outcome.model_validate(
            {
                **base,
                "outcome": ClaimOutcome.PAID,
                "category": Category.PATIENT_RESPONSIBILITY,
                "action": Action.BILL_PATIENT,
                "carc": first_pr.key,
            }
        )
    return Outcome.model_validate({**base, "outcome": ClaimOutcome.PAID})
