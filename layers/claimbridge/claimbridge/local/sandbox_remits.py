"""The sandbox's 835s: remittance advice for the claims its 277CA accepted, balanced the way the TR3 requires.

Outcome per claim (``RemitOutcome``, set through the sandbox's control endpoint):

``paid``
    every line paid in full (SVC03 = SVC02, no adjustment).
``partial``
    each line reduced by a contractual adjustment ``CO-45`` (``contractual_percent`` of the charge) and a patient
    share of the allowed amount: ``PR-1`` deductible, ``PR-2`` coinsurance or ``PR-3`` copay (``patient_percent``).
``denied``
    CLP02 ``4``; every line adjusted in full by one CARC (default ``CO-197``, e.g. ``CO-50``) and, when given, a
    RARC (2110 ``LQ*HE``).
``denied_lines``
    with ``paid`` or ``partial``: these lines denied as above, the others paid (a claim paid in part).

Balancing (005010X221A1 section 1.10.2): per line SVC02 - sum(CAS) = SVC03; per claim CLP03 - sum(CAS of the claim
and its lines) = CLP04 and CLP05 = the PR adjustments; per transaction BPR02 = sum(CLP04) - sum(PLB) (this sandbox
writes no PLB). CLP01 echoes the 837's CLM01, CLP07 is the payer claim control number its 277CA gave (REF*1K), every
SVC carries the 837's REF*6R line control number. One 835 interchange per submission, one transaction set per
(payer, payee); the payer comes from the 837's 2010BB, the payee is the 2010AA billing provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.local.sandbox_claims import SubmittedClaim, SubmittedLine
from claimbridge.x12.acks import AckEnvelope, Party, envelope_text
from claimbridge.x12.reader import iter_segments

REMIT_835_VERSION: Final = "005010X221A1"
CARC_PATTERN: Final = r"^(CO|OA|PI|PR)-[0-9A-Z]{1,5}$"
RARC_PATTERN: Final = r"^[A-Z]{1,2}[0-9]{1,4}$"
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
# 837 SBR09 -> 835 CLP06: the 835 list has no CI/BL/FI/11, so those take the nearest 835 code.
_FILING_INDICATORS: Final = {"CI": "15", "BL": "12", "FI": "OF", "11": "ZZ"}
_CLP06_CODES: Final = frozenset(
    {"12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ"}
)
_ELEMENT, _COMPONENT, _REPETITION, _TERMINATOR = "*", ":", "^", "~"
_RESERVED = str.maketrans(dict.fromkeys(_ELEMENT + _COMPONENT + _REPETITION + _TERMINATOR + "\r\n", " "))
_PERCENT = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class RemitOutcome(BaseModel):
    """How the sandbox's payer adjudicates one claim."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    outcome: Literal["paid", "partial", "denied"] = "paid"
    contractual_percent: _PERCENT = Decimal(20)
    patient_responsibility: Literal["PR-1", "PR-2", "PR-3"] = "PR-2"
    patient_percent: _PERCENT = Decimal(20)
    carc: Annotated[str, Field(pattern=CARC_PATTERN)] = "CO-197"
    rarc: Annotated[str | None, Field(pattern=RARC_PATTERN)] = None
    denied_lines: Annotated[tuple[Annotated[int, Field(ge=1)], ...], Field(max_length=50)] = ()
    """Service lines (1-based, in 837 order) denied with ``carc``/``rarc`` while the others are ``paid``/``partial``:
    a claim the payer paid in part."""


@dataclass(frozen=True)
class Payer:
    """2010BB of the 837 (who pays) and the subscriber's SBR09."""

    name: str
    id: str
    filing_indicator: str


UNKNOWN_PAYER = Payer(name="SANDBOX PAYER", id="SBXPAYER", filing_indicator="ZZ")


@dataclass(frozen=True)
class RemitClaim:
    """One accepted claim to remit, with the payer claim control number its 277CA gave."""

    claim: SubmittedClaim
    payer_claim_control_number: str
    payer: Payer
    outcome: RemitOutcome


@dataclass(frozen=True)
class Adjustment:
    """One CAS adjustment: group (CO/PR/...), reason (CARC) and amount."""

    group: str
    reason: str
    amount: Decimal


@dataclass(frozen=True)
class LineRemit:
    """The adjudication of one service line."""

    line: SubmittedLine
    paid: Decimal
    adjustments: tuple[Adjustment, ...]
    allowed: Decimal | None
    remark: str | None


@dataclass(frozen=True)
class ClaimRemit:
    """The adjudication of one claim (CLP) and its lines (SVC)."""

    remit: RemitClaim
    status: Literal["1", "4"]
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    claim_adjustments: tuple[Adjustment, ...]
    lines: tuple[LineRemit, ...]


def payers_by_claim(x12: str) -> dict[str, Payer]:
    """CLM01 -> the payer of its subscriber loop (2000B SBR09, 2010BB NM1*PR), read from the submitted 837."""
    payers: dict[str, Payer] = {}
    level = ""
    in_claim = False
    filing = ""
    payer: Payer | None = None
    for segment in iter_segments(x12):
        tag = segment.tag
        if tag in ("HL", "ST"):
            level, in_claim = (segment.element(3) if tag == "HL" else ""), False
            if level == "22" or tag == "ST":
                filing, payer = "", None
        elif tag == "SBR" and level == "22" and not in_claim:
            filing = segment.element(9)
        elif tag == "NM1" and segment.element(1) == "PR" and level == "22" and not in_claim:
            payer = Payer(name=segment.element(3) or UNKNOWN_PAYER.name, id=segment.element(9), filing_indicator="")
        elif tag == "CLM":
            in_claim = True
            found = payer or UNKNOWN_PAYER
            payers[segment.element(1)] = Payer(found.name, found.id or UNKNOWN_PAYER.id, filing or "ZZ")
    return payers


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _share(amount: Decimal, percent: Decimal) -> Decimal:
    return _cents(amount * percent / _HUNDRED)


def adjudicate(remit: RemitClaim) -> ClaimRemit:
    """The payer's decision on one claim, balanced line by line and for the claim."""
    outcome = remit.outcome
    lines: list[LineRemit] = []
    for number, line in enumerate(remit.claim.lines, start=1):
        charge = _cents(line.charge)
        if outcome.outcome == "denied" or number in outcome.denied_lines:
            group, reason = outcome.carc.split("-", 1)
            lines.append(LineRemit(line, Decimal(0), (Adjustment(group, reason, charge),), None, outcome.rarc))
        elif outcome.outcome == "paid":
            lines.append(LineRemit(line, charge, (), None, None))
        elif outcome.outcome == "partial":
            contractual = _share(charge, outcome.contractual_percent)
            allowed = charge - contractual
            patient = _share(allowed, outcome.patient_percent)
            adjustments = tuple(
                adjustment
                for adjustment in (
                    Adjustment("CO", "45", contractual),
                    Adjustment("PR", outcome.patient_responsibility.removeprefix("PR-"), patient),
                )
                if adjustment.amount
            )
            lines.append(LineRemit(line, allowed - patient, adjustments, allowed, None))
    charge = _cents(remit.claim.total_charge)
    difference = charge - sum((_cents(line.line.charge) for line in lines), Decimal(0))
    claim_adjustments: tuple[Adjustment, ...] = ()
    if difference:
        # A CLM02 that is not the sum of its lines still balances: the difference is adjusted at claim level.
        group, reason = outcome.carc.split("-", 1) if outcome.outcome == "denied" else ("CO", "45")
        claim_adjustments = (Adjustment(group, reason, difference),)
    paid = sum((line.paid for line in lines), Decimal(0))
    patient = sum(
        (adjustment.amount for line in lines for adjustment in line.adjustments if adjustment.group == "PR"),
        Decimal(0),
    )
    return ClaimRemit(
        remit=remit,
        status="4" if outcome.outcome == "denied" or (lines and not paid) else "1",
        charge=charge,
        paid=paid,
        patient_responsibility=patient,
        claim_adjustments=claim_adjustments,
        lines=tuple(lines),
    )


def _clean(value: str) -> str:
    return value.translate(_RESERVED).strip()


def _amount(value: Decimal) -> str:
    """X12 R: no exponent, no trailing zeros."""
    text = f"{_cents(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _segment(tag: str, *elements: str) -> str:
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return _ELEMENT.join((tag, *values))


def _filing_indicator(sbr09: str) -> str:
    code = _FILING_INDICATORS.get(sbr09, sbr09)
    return code if code in _CLP06_CODES else "ZZ"


def _transaction(
    control_number: str,
    payer: Payer,
    payee: Party,
    claims: Sequence[ClaimRemit],
    *,
    trace_number: str,
    paid_on: date,
) -> list[str]:
    total = sum((claim.paid for claim in claims), Decimal(0))
    day = paid_on.strftime("%Y%m%d")
    segments = [_segment("ST", "835", control_number)]  # ST03 is "not used" in X221A1
    if total > 0:
        segments.append(_segment("BPR", "I", _amount(total), "C", "CHK", *([""] * 11), day))
    else:
        segments.append(_segment("BPR", "H", "0", "C", "NON", *([""] * 11), day))
    segments += [
        _segment("TRN", "1", _clean(trace_number), "1999999999"),
        _segment("DTM", "405", day),
        _segment("N1", "PR", _clean(payer.name)[:60] or UNKNOWN_PAYER.name),
        _segment("N3", "PO BOX 1000"),
        _segment("N4", "KANSAS CITY", "MO", "641081000"),
        _segment("REF", "2U", _clean(payer.id)[:50] or UNKNOWN_PAYER.id),
        _segment("PER", "BL", "SANDBOX EDI SUPPORT", "TE", "8005550100"),
        _segment("N1", "PE", _clean(payee.name)[:60], "XX" if payee.id_qualifier == "XX" else "FI", _clean(payee.id)),
        _segment("LX", "1"),
    ]
    for claim in claims:
        segments += _claim_segments(claim)
    segments.append(_segment("SE", str(len(segments) + 1), control_number))
    return segments


def _cas(adjustments: Iterable[Adjustment]) -> list[str]:
    """One CAS per group code, up to six reason/amount pairs each (CAS02/03, CAS05/06, ...)."""
    by_group: dict[str, list[Adjustment]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group, []).append(adjustment)
    segments = []
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            elements: list[str] = []
            for item in items[start : start + 6]:
                elements += [item.reason, _amount(item.amount), ""]
            segments.append(_segment("CAS", group, *elements))
    return segments


def _claim_segments(claim: ClaimRemit) -> list[str]:
    remit = claim.remit
    patient = remit.claim.patient
    segments = [
        _segment(
            "CLP",
            _clean(remit.claim.patient_control_number),
            claim.status,
            _amount(claim.charge),
            _amount(claim.paid),
            _amount(claim.patient_responsibility) if claim.patient_responsibility else "",
            _filing_indicator(remit.payer.filing_indicator),
            _clean(remit.payer_claim_control_number),
        ),
        *_cas(claim.claim_adjustments),
    ]
    if patient is not None:
        identifier = ("MI", _clean(patient.id)) if patient.id and patient.id != "0" else ("", "")
        name = (_clean(patient.name), _clean(patient.first))
        segments.append(_segment("NM1", "QC", "1", *name, "", "", "", *identifier))
    else:
        segments.append(_segment("NM1", "QC", "1", "UNKNOWN"))
    for line in claim.lines:
        procedure = _COMPONENT.join(_clean(part) for part in line.line.procedure[:6])
        units = _amount(line.line.units) if line.line.units is not None else ""
        segments.append(_segment("SVC", procedure, _amount(line.line.charge), _amount(line.paid), "", units))
        start, end = line.line.service_from, line.line.service_to or line.line.service_from
        if start is not None and end is not None and start != end:
            segments += [_segment("DTM", "150", f"{start:%Y%m%d}"), _segment("DTM", "151", f"{end:%Y%m%d}")]
        elif start is not None:
            segments.append(_segment("DTM", "472", f"{start:%Y%m%d}"))
        segments += _cas(line.adjustments)
        if line.line.line_item_control_number:
            segments.append(_segment("REF", "6R", _clean(line.line.line_item_control_number)))
        if line.allowed is not None:
            segments.append(_segment("AMT", "B6", _amount(line.allowed)))
        if line.remark:
            segments.append(_segment("LQ", "HE", line.remark))
    return segments


def build_835(
    claims: Sequence[RemitClaim],
    *,
    envelope: AckEnvelope,
    trace_number: str,
    paid_on: date,
) -> str:
    """One 835 interchange remitting ``claims``: a transaction set per (payer, payee), each balanced.

    Parameters
    ----------
    claims
        Accepted claims with their payer claim control numbers and outcomes.
    envelope
        ISA/GS ids and control numbers (the response goes back the way the 837 came).
    trace_number
        TRN02, the check / EFT trace number (one per transaction set: ``-<n>`` is appended after the first).
    paid_on
        BPR16, the check issue or EFT effective date.
    """
    groups: dict[tuple[str, str], list[ClaimRemit]] = {}
    parties: dict[tuple[str, str], tuple[Payer, Party]] = {}
    for remit in claims:
        payee = remit.claim.billing_provider or Party(name="SANDBOX PAYEE", id_qualifier="XX", id="0")
        key = (remit.payer.id, payee.id)
        parties.setdefault(key, (remit.payer, payee))
        groups.setdefault(key, []).append(adjudicate(remit))
    transactions = []
    for offset, (key, adjudicated) in enumerate(groups.items()):
        payer, payee = parties[key]
        trace = trace_number if offset == 0 else f"{trace_number}-{offset + 1}"
        control = f"{envelope.transaction_number + offset:04d}"
        transactions.append(_transaction(control, payer, payee, adjudicated, trace_number=trace, paid_on=paid_on))
    return envelope_text(envelope, "HP", REMIT_835_VERSION, transactions)
