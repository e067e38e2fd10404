"""What the sandbox clearinghouse needs to know about a submitted 837P to answer it with a 999 and a 277CA.

Envelopes (ISA/GS/ST control numbers and where each transaction set starts and ends), and per claim what a 277CA
echoes: CLM01, CLM02, the billing provider (2010AA), the patient (2010CA, else the subscriber 2010BA, whose member
id identifies both), the service dates and lines (2400 SV1/DTP*472/REF*6R), and REF*D9. Validation is pyx12's job;
this only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from claimbridge.x12.acks import Party
from claimbridge.x12.reader import Segment, iter_segments


@dataclass
class SubmittedLine:
    procedure: tuple[str, ...]
    charge: Decimal
    units: Decimal | None
    line_item_control_number: str | None = None
    service_from: date | None = None
    service_to: date | None = None


@dataclass
class SubmittedClaim:
    patient_control_number: str
    total_charge: Decimal
    billing_provider: Party | None
    patient: Party | None
    clearinghouse_trace_number: str | None = None
    lines: list[SubmittedLine] = field(default_factory=list)
    first_position: int = 0
    last_position: int = 0

    def service_span(self, fallback: date) -> tuple[date, date]:
        """First and last service date over the lines (``fallback`` when no line carries a date)."""
        starts = [line.service_from for line in self.lines if line.service_from]
        ends = [line.service_to or line.service_from for line in self.lines if line.service_from]
        return (min(starts), max(end for end in ends if end)) if starts else (fallback, fallback)


@dataclass
class SubmittedTransaction:
    control_number: str
    implementation: str
    transaction_set_id: str
    first_position: int
    last_position: int = 0
    reference: str = ""
    claims: list[SubmittedClaim] = field(default_factory=list)

    def claim_at(self, position: int) -> SubmittedClaim | None:
        """The claim whose 2300/2400 loops hold the segment at ``position``, if any."""
        return next((claim for claim in self.claims if claim.first_position <= position <= claim.last_position), None)


@dataclass
class SubmittedGroup:
    functional_id: str
    control_number: str
    version: str
    first_position: int
    last_position: int = 0
    transactions: list[SubmittedTransaction] = field(default_factory=list)


@dataclass
class SubmittedInterchange:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    control_number: str
    usage_indicator: str
    first_position: int
    last_position: int = 0
    submitter: Party | None = None
    receiver: Party | None = None
    application_sender: str = ""
    application_receiver: str = ""
    groups: list[SubmittedGroup] = field(default_factory=list)


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value) if value else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _dates(qualifier: str, value: str) -> tuple[date | None, date | None]:
    try:
        if qualifier == "RD8" and "-" in value:
            start, end = value.split("-", 1)
            return datetime.strptime(start, "%Y%m%d").date(), datetime.strptime(end, "%Y%m%d").date()
        parsed = datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None, None
    return parsed, parsed


def _party(segment: Segment, default_qualifier: str) -> Party | None:
    name, qualifier, identifier = segment.element(3), segment.element(8), segment.element(9)
    if not name or not identifier:
        return None
    first = segment.element(4) if segment.element(2) == "1" else ""
    return Party(name=name, first=first, id_qualifier=qualifier or default_qualifier, id=identifier)


class _Reader:
    """A single pass over the segments with just enough HL bookkeeping to know whose claim a CLM is."""

    def __init__(self) -> None:
        self.interchanges: list[SubmittedInterchange] = []
        self.hl_level = ""
        self.in_claim = False
        self.billing_provider: Party | None = None
        self.subscriber: Party | None = None
        self.patient: Party | None = None

    @property
    def interchange(self) -> SubmittedInterchange | None:
        return self.interchanges[-1] if self.interchanges else None

    @property
    def group(self) -> SubmittedGroup | None:
        interchange = self.interchange
        return interchange.groups[-1] if interchange and interchange.groups else None

    @property
    def transaction(self) -> SubmittedTransaction | None:
        group = self.group
        return group.transactions[-1] if group and group.transactions else None

    @property
    def claim(self) -> SubmittedClaim | None:
        transaction = self.transaction
        return transaction.claims[-1] if transaction and self.in_claim and transaction.claims else None

    def read(self, segment: Segment) -> None:
        if segment.tag in ("HL", "SE"):
            self.in_claim = False
        claim = self.claim
        if claim is not None:
            claim.last_position = segment.position
        handler = getattr(self, f"_on_{segment.tag.lower()}", None)
        if handler is not None:
            handler(segment)

    def _on_isa(self, segment: Segment) -> None:
        self.interchanges.append(
            SubmittedInterchange(
                sender_qualifier=segment.element(5),
                sender_id=segment.element(6).strip(),
                receiver_qualifier=segment.element(7),
                receiver_id=segment.element(8).strip(),
                control_number=segment.element(13),
                usage_indicator=segment.element(15),
                first_position=segment.position,
            )
        )

    def _on_iea(self, segment: Segment) -> None:
        if self.interchange:
            self.interchange.last_position = segment.position

    def _on_gs(self, segment: Segment) -> None:
        if self.interchange:
            if not self.interchange.groups:
                self.interchange.application_sender = segment.element(2)
                self.interchange.application_receiver = segment.element(3)
            self.interchange.groups.append(
                SubmittedGroup(segment.element(1), segment.element(6), segment.element(8), segment.position)
            )

    def _on_ge(self, segment: Segment) -> None:
        if self.group:
            self.group.last_position = segment.position

    def _on_st(self, segment: Segment) -> None:
        if self.group:
            self.group.transactions.append(
                SubmittedTransaction(segment.element(2), segment.element(3), segment.element(1), segment.position)
            )
        self.hl_level, self.in_claim = "", False
        self.billing_provider = self.subscriber = self.patient = None

    def _on_se(self, segment: Segment) -> None:
        if self.transaction:
            self.transaction.last_position = segment.position
        self.in_claim = False

    def _on_bht(self, segment: Segment) -> None:
        if self.transaction:
            self.transaction.reference = segment.element(3)

    def _on_hl(self, segment: Segment) -> None:
        self.hl_level, self.in_claim = segment.element(3), False
        if self.hl_level == "22":
            self.subscriber = self.patient = None
        elif self.hl_level == "23":
            self.patient = None

    def _on_nm1(self, segment: Segment) -> None:
        if self.in_claim:
            return
        entity = segment.element(1)
        interchange = self.interchange
        if entity == "41" and interchange and not self.hl_level:
            interchange.submitter = _party(segment, "46")
        elif entity == "40" and interchange and not self.hl_level:
            interchange.receiver = _party(segment, "46")
        elif entity == "85" and self.hl_level == "20":
            self.billing_provider = _party(segment, "XX")
        elif entity == "IL" and self.hl_level == "22":
            self.subscriber = _party(segment, "MI")
        elif entity == "QC" and self.hl_level == "23":
            name_only = Party(name=segment.element(3) or "UNKNOWN", first=segment.element(4), id_qualifier="MI", id="0")
            self.patient = _party(segment, "MI") or name_only

    def _on_clm(self, segment: Segment) -> None:
        transaction = self.transaction
        if transaction is None:
            return
        patient = self.subscriber
        if self.patient is not None:
            member_id = self.subscriber.id if self.subscriber else self.patient.id
            patient = self.patient.model_copy(update={"id_qualifier": "MI", "id": member_id})
        claim = SubmittedClaim(segment.element(1), _decimal(segment.element(2)), self.billing_provider, patient)
        claim.first_position = claim.last_position = segment.position
        transaction.claims.append(claim)
        self.in_claim = True

    def _on_ref(self, segment: Segment) -> None:
        claim = self.claim
        if claim is None:
            return
        if segment.element(1) == "D9" and not claim.lines:
            claim.clearinghouse_trace_number = segment.element(2)
        elif segment.element(1) == "6R" and claim.lines:
            claim.lines[-1].line_item_control_number = segment.element(2)

    def _on_sv1(self, segment: Segment) -> None:
        claim = self.claim
        if claim is not None:
            units = segment.element(4)
            claim.lines.append(
                SubmittedLine(segment.components(1), _decimal(segment.element(2)), _decimal(units) if units else None)
            )

    def _on_dtp(self, segment: Segment) -> None:
        claim = self.claim
        if claim is not None and claim.lines and segment.element(1) == "472":
            claim.lines[-1].service_from, claim.lines[-1].service_to = _dates(segment.element(2), segment.element(3))


def read_submission(text: str) -> list[SubmittedInterchange]:
    """The interchanges of a submitted 837P (raises X12SyntaxError only when there is no readable ISA)."""
    reader = _Reader()
    for segment in iter_segments(text):
        reader.read(segment)
    return reader.interchanges
