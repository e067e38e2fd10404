"""835 (005010X221A1) health care claim payment/advice: a reader for real-world remittances and its balancing checks.

``parse_835`` turns every 835 transaction set of a file into a ``Remittance``: the payment (BPR/TRN), who paid whom
(1000A/1000B), each claim (2100 CLP) with its adjustments, remarks and service lines (2110 SVC), and the provider-level
adjustments (PLB). It reads what payers actually send: delimiters from each ISA, several ISA/GS/ST per file, 4010-era
codes, indentation, reversals (CLP02 = 22) next to their corrected claims, a transaction set cut short. Segments it
does not use are skipped; a value it cannot read becomes a ``problems`` entry naming the X12 location, never a crash.

Patient and insured names and member ids (2100 NM1*QC/IL/74) are PHI and never enter the models: matching uses CLP01
(our own claim id) and REF*6R. ``problems`` and ``balance_problems`` name loops, elements and segment positions, and
at most a difference of amounts, never a value read from the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.x12.reader import Segment, iter_segments

IMPLEMENTATION_835 = "005010X221A1"
REVERSAL_STATUS = "22"
"""CLP02 22: reversal of a previous payment (the corrected claim, when there is one, follows as its own CLP)."""
DENIED_STATUS = "4"

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
_ZERO = Decimal(0)
_CAS_TRIPLETS = 6
_PLB_PAIRS = 6
_X12_DECIMAL = re.compile(r"-?(?=\.?[0-9])[0-9]{0,18}(?:\.[0-9]{0,18})?")
"""X12 R (decimal) values: optional minus, digits and one decimal point, no exponent (which could overflow sums)."""
_MOA_REMARKS = (3, 4, 5, 6, 7)
_MIA_REMARKS = (5, 20, 21, 22, 23)


class ProcedureCode(BaseModel):
    """An SVC01/SVC06 composite: qualifier (HC, AD, NU, ...), code, up to four modifiers, optional description."""

    model_config = _FROZEN
    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()
    description: str | None = None


class Adjustment(BaseModel):
    """One CAS reason triplet: group (CO, OA, PI, PR; CR in 4010 files), CARC, amount and optional quantity."""

    model_config = _FROZEN
    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def key(self) -> str:
        """``CO-45`` style."""
        return f"{self.group}-{self.reason}"


class ServicePayment(BaseModel):
    """2110: how one service line was adjudicated; ``position`` is the SVC segment's position in the file."""

    model_config = _FROZEN
    procedure: ProcedureCode
    charge: Decimal
    paid: Decimal
    revenue_code: str | None = None
    units: Decimal | None = None
    original_procedure: ProcedureCode | None = None
    original_units: Decimal | None = None
    service_date: date | None = None
    service_from: date | None = None
    service_to: date | None = None
    line_control_number: str | None = None
    adjustments: tuple[Adjustment, ...] = ()
    allowed: Decimal | None = None
    remarks: tuple[str, ...] = ()
    position: Annotated[int, Field(ge=1)]


class ClaimPayment(BaseModel):
    """2100: one claim as the payer adjudicated it, keyed by ``patient_control_number`` (CLP01 = our CLM01)."""

    model_config = _FROZEN
    patient_control_number: str
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None = None
    filing_indicator: str | None = None
    payer_claim_control_number: str | None = None
    facility_type: str | None = None
    frequency: str | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()
    statement_from: date | None = None
    statement_to: date | None = None
    received: date | None = None
    rendering_provider_id: str | None = None
    lines: tuple[ServicePayment, ...] = ()
    position: Annotated[int, Field(ge=1)]

    @property
    def is_reversal(self) -> bool:
        return self.status_code == REVERSAL_STATUS

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        """Claim-level adjustments, then every line's, in file order."""
        return (*self.adjustments, *(adjustment for line in self.lines for adjustment in line.adjustments))

    @property
    def all_remarks(self) -> tuple[str, ...]:
        """Every RARC of the claim (MOA/MIA, then each line's LQ*HE), each once, in file order."""
        return tuple(dict.fromkeys((*self.remarks, *(code for line in self.lines for code in line.remarks))))


class ProviderAdjustment(BaseModel):
    """One PLB reason/amount pair (PLB03..PLB14): positive amounts reduce the payment, negative ones add to it."""

    model_config = _FROZEN
    provider_id: str
    fiscal_period_end: date | None = None
    reason: str
    reference: str | None = None
    amount: Decimal
    position: Annotated[int, Field(ge=1)]


class Remittance(BaseModel):
    """One 835 transaction set (ST..SE) with its envelope's control numbers.

    ``problems`` lists what the reader had to assume (a missing or unreadable amount read as 0, a repeated payer loop,
    a missing SE), each naming its X12 location.
    """

    model_config = _FROZEN
    interchange_control_number: str | None = None
    group_control_number: str | None = None
    transaction_control_number: str
    implementation: str | None = None
    payer_name: str | None = None
    payer_id: str | None = None
    payee_name: str | None = None
    payee_id_qualifier: str | None = None
    payee_id: str | None = None
    payee_tin: str | None = None
    transaction_handling: str | None = None
    total_paid: Decimal
    credit_debit: str | None = None
    payment_method: str | None = None
    payment_date: date | None = None
    trace_number: str | None = None
    trace_originator: str | None = None
    production_date: date | None = None
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    problems: tuple[str, ...] = ()
    position: Annotated[int, Field(ge=1)]

    @property
    def service_line_count(self) -> int:
        return sum(len(claim.lines) for claim in self.claims)


# ------------------------------------------------------------------------------------------------------------ reading


def _where(loop: str, segment: Segment, element: int | None = None) -> str:
    """An X12 location such as ``2100 CLP03 (segment 17)``."""
    name = f"{segment.tag}{element:02d}" if element is not None else segment.tag
    return f"{loop} {name} (segment {segment.position})"


def _text(value: str) -> str | None:
    return value.strip() or None


def _date(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y%m%d").date() if len(value) == 8 else None
    except ValueError:
        return None


def _procedure(segment: Segment, index: int) -> ProcedureCode | None:
    parts = segment.components(index)
    if not parts:
        return None
    return ProcedureCode(
        qualifier=parts[0],
        code=parts[1] if len(parts) > 1 else "",
        modifiers=tuple(modifier for modifier in parts[2:6] if modifier),
        description=_text(parts[6]) if len(parts) > 6 else None,
    )


@dataclass
class _Line:
    svc: Segment
    charge: Decimal
    paid: Decimal
    units: Decimal | None
    original_units: Decimal | None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    dates: dict[str, date] = field(default_factory=dict)
    line_control_number: str | None = None
    allowed: Decimal | None = None

    def finish(self) -> ServicePayment:
        return ServicePayment(
            procedure=_procedure(self.svc, 1) or ProcedureCode(qualifier="", code=""),
            charge=self.charge,
            paid=self.paid,
            revenue_code=_text(self.svc.element(4)),
            units=self.units,
            original_procedure=_procedure(self.svc, 6),
            original_units=self.original_units,
            service_date=self.dates.get("472"),
            service_from=self.dates.get("150"),
            service_to=self.dates.get("151"),
            line_control_number=self.line_control_number,
            adjustments=tuple(self.adjustments),
            allowed=self.allowed,
            remarks=tuple(self.remarks),
            position=self.svc.position,
        )


@dataclass
class _Claim:
    clp: Segment
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    dates: dict[str, date] = field(default_factory=dict)
    rendering_provider_id: str | None = None
    lines: list[_Line] = field(default_factory=list)

    def finish(self) -> ClaimPayment:
        clp = self.clp
        return ClaimPayment(
            patient_control_number=clp.element(1),
            status_code=clp.element(2),
            charge=self.charge,
            paid=self.paid,
            patient_responsibility=self.patient_responsibility,
            filing_indicator=_text(clp.element(6)),
            payer_claim_control_number=_text(clp.element(7)),
            facility_type=_text(clp.element(8)),
            frequency=_text(clp.element(9)),
            adjustments=tuple(self.adjustments),
            remarks=tuple(dict.fromkeys(self.remarks)),
            statement_from=self.dates.get("232"),
            statement_to=self.dates.get("233"),
            received=self.dates.get("050"),
            rendering_provider_id=self.rendering_provider_id,
            lines=tuple(line.finish() for line in self.lines),
            position=clp.position,
        )


class _TransactionReader:
    """Mutable state while reading one 835 transaction set."""

    def __init__(self, st: Segment, envelope: tuple[str | None, str | None, str | None]) -> None:
        self.st = st
        self.envelope = envelope
        self.problems: list[str] = []
        self.header: dict[str, object] = {}
        self.party = ""  # which 1000 loop REF/N3/N4/PER belong to: "PR", "PE" or "" (none we read)
        self.claims: list[_Claim] = []
        self.claim: _Claim | None = None
        self.line: _Line | None = None
        self.plb: list[ProviderAdjustment] = []
        self.bpr: Segment | None = None
        self.handlers: dict[str, Callable[[Segment], None]] = {
            "BPR": self._on_bpr,
            "TRN": self._on_trn,
            "N1": self._on_n1,
            "REF": self._on_ref,
            "DTM": self._on_dtm,
            "LX": self._on_lx,
            "CLP": self._on_clp,
            "CAS": self._on_cas,
            "MOA": self._on_moa,
            "MIA": self._on_mia,
            "NM1": self._on_nm1,
            "SVC": self._on_svc,
            "AMT": self._on_amt,
            "LQ": self._on_lq,
            "PLB": self._on_plb,
        }

    # --- values

    def amount(self, loop: str, segment: Segment, index: int, *, required: bool) -> Decimal | None:
        """A decimal element; an absent required one, or an unreadable one, is noted and read as ``None``."""
        value = segment.element(index).strip()
        if not value:
            if required:
                self.problems.append(f"{_where(loop, segment, index)}: required amount is missing; read as 0")
            return None
        if not _X12_DECIMAL.fullmatch(value):
            self.problems.append(f"{_where(loop, segment, index)}: not an X12 decimal number; read as 0")
            return None
        return Decimal(value)

    def money(self, loop: str, segment: Segment, index: int) -> Decimal:
        return self.amount(loop, segment, index, required=True) or _ZERO

    # --- segments

    def add(self, segment: Segment) -> None:
        """Dispatch on the segment id; ids the 835 reader does not use (TS3, TS2, QTY, PER, RDM, ...) are skipped."""
        handler = self.handlers.get(segment.tag)
        if handler is not None:
            handler(segment)

    def _on_bpr(self, segment: Segment) -> None:
        if self.bpr is not None:
            self.problems.append(f"{_where('Header', segment)}: a second BPR in the transaction set is ignored")
            return
        self.bpr = segment

    def _on_trn(self, segment: Segment) -> None:
        if self.claim is None and "trace_number" not in self.header:
            self.header["trace_number"] = _text(segment.element(2))
            self.header["trace_originator"] = _text(segment.element(3))

    def _on_n1(self, segment: Segment) -> None:
        entity = segment.element(1)
        self.party = ""
        if entity not in ("PR", "PE"):
            return
        loop = "1000A" if entity == "PR" else "1000B"
        if self.claims or self.claim is not None or f"{entity}_name" in self.header:
            self.problems.append(f"{_where(loop, segment)}: the {loop} loop repeats; the first one is kept")
            return
        self.party = entity
        self.header[f"{entity}_name"] = _text(segment.element(2))
        if entity == "PR":
            if segment.element(3) == "XV" and segment.element(4):
                self.header.setdefault("PR_id", segment.element(4))
        else:
            self.header["PE_qualifier"] = _text(segment.element(3))
            self.header["PE_id"] = _text(segment.element(4))

    def _on_ref(self, segment: Segment) -> None:
        qualifier, value = segment.element(1), _text(segment.element(2))
        if self.line is not None:
            if qualifier == "6R" and value and self.line.line_control_number is None:
                self.line.line_control_number = value
        elif self.claim is None and value:
            if self.party == "PR" and qualifier == "2U":
                self.header["PR_id"] = value  # REF*2U is the payer identification; it outranks N1*PR*XV
            elif self.party == "PE" and qualifier == "TJ":
                self.header["PE_tin"] = value

    def _on_dtm(self, segment: Segment) -> None:
        qualifier, value = segment.element(1), _date(segment.element(2))
        if value is None:
            return
        if self.line is not None:
            if qualifier in ("472", "150", "151"):
                self.line.dates.setdefault(qualifier, value)
        elif self.claim is not None:
            if qualifier in ("232", "233", "050"):
                self.claim.dates.setdefault(qualifier, value)
        elif qualifier == "405":
            self.header.setdefault("production_date", value)

    def _close_claim(self) -> None:
        if self.claim is not None:
            self.claims.append(self.claim)
        self.claim = None
        self.line = None

    def _on_lx(self, segment: Segment) -> None:
        self._close_claim()
        self.party = ""

    def _on_clp(self, segment: Segment) -> None:
        self._close_claim()
        self.party = ""
        self.claim = _Claim(
            clp=segment,
            charge=self.money("2100", segment, 3),
            paid=self.money("2100", segment, 4),
            patient_responsibility=self.amount("2100", segment, 5, required=False),
        )
        if not segment.element(1):
            self.problems.append(f"{_where('2100', segment, 1)}: the patient control number is missing")

    def _on_cas(self, segment: Segment) -> None:
        if self.claim is None:
            return
        target = self.line.adjustments if self.line is not None else self.claim.adjustments
        loop = "2110" if self.line is not None else "2100"
        group = segment.element(1)
        for triplet in range(_CAS_TRIPLETS):
            reason_index = 2 + 3 * triplet
            reason = segment.element(reason_index).strip()
            if not reason:
                continue
            target.append(
                Adjustment(
                    group=group,
                    reason=reason,
                    amount=self.money(loop, segment, reason_index + 1),
                    quantity=self.amount(loop, segment, reason_index + 2, required=False),
                )
            )

    def _on_moa(self, segment: Segment) -> None:
        if self.claim is not None and self.line is None:
            self.claim.remarks.extend(code for code in (segment.element(i) for i in _MOA_REMARKS) if code)

    def _on_mia(self, segment: Segment) -> None:
        if self.claim is not None and self.line is None:
            self.claim.remarks.extend(code for code in (segment.element(i) for i in _MIA_REMARKS) if code)

    def _on_nm1(self, segment: Segment) -> None:
        # Only the rendering provider's id is read: NM1*QC/IL/74 carry patient and insured names and member ids (PHI).
        if self.claim is not None and self.line is None and segment.element(1) == "82":
            self.claim.rendering_provider_id = _text(segment.element(9))

    def _on_svc(self, segment: Segment) -> None:
        if self.claim is None:
            self.problems.append(f"{_where('2110', segment)}: a service line outside any claim is ignored")
            return
        self.line = _Line(
            svc=segment,
            charge=self.money("2110", segment, 2),
            paid=self.money("2110", segment, 3),
            units=self.amount("2110", segment, 5, required=False),
            original_units=self.amount("2110", segment, 7, required=False),
        )
        self.claim.lines.append(self.line)

    def _on_amt(self, segment: Segment) -> None:
        if self.line is not None and segment.element(1) == "B6" and self.line.allowed is None:
            self.line.allowed = self.amount("2110", segment, 2, required=True)

    def _on_lq(self, segment: Segment) -> None:
        if self.line is not None and segment.element(1) == "HE" and segment.element(2):
            self.line.remarks.append(segment.element(2))

    def _on_plb(self, segment: Segment) -> None:
        self._close_claim()
        self.party = ""
        for pair in range(_PLB_PAIRS):
            reason_index = 3 + 2 * pair
            reason = segment.component(reason_index, 1)
            if not reason:
                continue
            self.plb.append(
                ProviderAdjustment(
                    provider_id=segment.element(1),
                    fiscal_period_end=_date(segment.element(2)),
                    reason=reason,
                    reference=_text(segment.component(reason_index, 2)),
                    amount=self.money("PLB", segment, reason_index + 1),
                    position=segment.position,
                )
            )

    # --- result

    def finish(self, *, closed: bool) -> Remittance:
        self._close_claim()
        if not closed:
            self.problems.insert(0, f"Trailer SE: transaction set {self.st.element(2)} has no SE; read up to its end")
        bpr = self.bpr
        if bpr is None:
            self.problems.insert(0, f"Header BPR: missing in transaction set {self.st.element(2)}; total read as 0")
        isa13, gs06, gs08 = self.envelope
        header = self.header

        def text(key: str) -> str | None:
            value = header.get(key)
            return value if isinstance(value, str) else None

        production = header.get("production_date")
        return Remittance(
            interchange_control_number=isa13,
            group_control_number=gs06,
            transaction_control_number=self.st.element(2),
            implementation=_text(self.st.element(3)) or gs08,
            payer_name=text("PR_name"),
            payer_id=text("PR_id"),
            payee_name=text("PE_name"),
            payee_id_qualifier=text("PE_qualifier"),
            payee_id=text("PE_id"),
            payee_tin=text("PE_tin"),
            transaction_handling=_text(bpr.element(1)) if bpr else None,
            total_paid=self.money("Header", bpr, 2) if bpr else _ZERO,
            credit_debit=_text(bpr.element(3)) if bpr else None,
            payment_method=_text(bpr.element(4)) if bpr else None,
            payment_date=_date(bpr.element(16)) if bpr else None,
            trace_number=text("trace_number"),
            trace_originator=text("trace_originator"),
            production_date=production if isinstance(production, date) else None,
            claims=tuple(claim.finish() for claim in self.claims),
            provider_adjustments=tuple(self.plb),
            problems=tuple(self.problems),
            position=self.st.position,
        )


def parse_835(text: str) -> list[Remittance]:
    """Every 835 transaction set in ``text``, in file order, one ``Remittance`` each.

    Raises ``X12SyntaxError`` only when there is no readable ISA (see ``x12.reader.iter_segments``). Transaction sets
    other than 835 are skipped; a file without any 835 gives an empty list.
    """
    remittances: list[Remittance] = []
    isa13: str | None = None
    gs06: str | None = None
    gs08: str | None = None
    current: _TransactionReader | None = None
    for segment in iter_segments(text):
        tag = segment.tag
        if tag in ("ISA", "GS", "ST", "GE", "IEA") and current is not None:
            remittances.append(current.finish(closed=False))
            current = None
        if tag == "ISA":
            isa13, gs06, gs08 = _text(segment.element(13)), None, None
        elif tag == "GS":
            gs06, gs08 = _text(segment.element(6)), _text(segment.element(8))
        elif tag == "ST":
            if segment.element(1) == "835":
                current = _TransactionReader(segment, (isa13, gs06, gs08))
        elif current is None:
            continue
        elif tag == "SE":
            remittances.append(current.finish(closed=True))
            current = None
        else:
            current.add(segment)
    if current is not None:
        remittances.append(current.finish(closed=False))
    return remittances


# ---------------------------------------------------------------------------------------------------------- balancing


def _total(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((adjustment.amount for adjustment in adjustments), _ZERO)


def _claim_where(claim: ClaimPayment) -> str:
    return f"2100 CLP (segment {claim.position})"


def patient_responsibility_total(claim: ClaimPayment) -> Decimal:
    """Sum of every PR adjustment of the claim, claim level and lines."""
    return _total(adjustment for adjustment in claim.all_adjustments if adjustment.group == "PR")


def balance_problems(remittance: Remittance) -> list[str]:
    """Where the X221A1 balancing rules fail, one message each (an empty list: the remittance balances).

    Rules: per line SVC02 - sum(line CAS) = SVC03; per claim CLP03 - sum(claim CAS) - sum(line CAS) = CLP04; per
    claim sum(PR adjustments) = CLP05 (an absent CLP05 counts as 0); per transaction BPR02 = sum(CLP04) - sum(PLB
    amounts). Messages name the location and the difference, never a value of the file.
    """
    problems: list[str] = []
    for claim in remittance.claims:
        for line in claim.lines:
            difference = line.charge - _total(line.adjustments) - line.paid
            if difference:
                problems.append(f"2110 SVC (segment {line.position}): SVC02 - CAS differs from SVC03 by {difference:f}")
        difference = claim.charge - _total(claim.all_adjustments) - claim.paid
        if difference:
            scope = "claim and line CAS" if claim.lines else "claim CAS"
            problems.append(f"{_claim_where(claim)}: CLP03 - {scope} differs from CLP04 by {difference:f}")
        stated = claim.patient_responsibility or _ZERO
        difference = patient_responsibility_total(claim) - stated
        if difference:
            problems.append(f"{_claim_where(claim)}: PR adjustments differ from CLP05 by {difference:f}")
    provider = sum((plb.amount for plb in remittance.provider_adjustments), _ZERO)
    difference = sum((claim.paid for claim in remittance.claims), _ZERO) - provider - remittance.total_paid
    if difference:
        problems.append(
            f"Header BPR02 (transaction set {remittance.transaction_control_number} at segment {remittance.position}): "
            f"sum(CLP04) - sum(PLB) differs from BPR02 by {difference:f}"
        )
    return problems


# ---------------------------------------------------------------------------------------------------------- reversals


class ReversalPair(BaseModel):
    """A reversal (CLP02 22) and the claim that corrects it (``None``: the payer sent no corrected claim here)."""

    model_config = _FROZEN
    reversal: ClaimPayment
    corrected: ClaimPayment | None = None


def pair_reversals(claims: Sequence[ClaimPayment]) -> list[ReversalPair]:
    """Pair every reversal with its corrected claim: the nearest non-reversal claim with the same CLP01.

    Payers put the corrected claim right after the reversal; one that comes first is taken when none follows. Each
    corrected claim pairs with at most one reversal.
    """
    taken: set[int] = set()
    pairs: list[ReversalPair] = []
    for index, claim in enumerate(claims):
        if not claim.is_reversal:
            continue
        candidates = [
            other
            for other in (*range(index + 1, len(claims)), *range(index - 1, -1, -1))
            if other not in taken
            and not claims[other].is_reversal
            and claims[other].patient_control_number == claim.patient_control_number
        ]
        corrected = candidates[0] if candidates else None
        if corrected is not None:
            taken.add(corrected)
        pairs.append(ReversalPair(reversal=claim, corrected=claims[corrected] if corrected is not None else None))
    return pairs
