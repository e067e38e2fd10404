"""999 (005010X231A1) and 277CA (005010X214) acknowledgements: builders and readers.

The readers turn a clearinghouse response into what the pipeline matches on: the acknowledged GS06/ST02 and, per
transaction, the IK5 verdict with IK3/IK4 error *codes* and positions (999); per claim the patient control number
(CLM01, echoed in 2200D TRN02) with its STC category:status:entity (277CA). Bad data values (IK404, CTX copies of
segments) are never carried into the models: they would take PHI into logs and events.

The builders write the same models back as X12; the sandbox clearinghouse uses them so that what it publishes is
exactly what the readers (and pyx12) accept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.x12.reader import Segment, iter_segments

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

ACK_999_VERSION = "005010X231A1"
CLAIM_ACK_277_VERSION = "005010X214"

ResponseKind = Literal["999", "277CA", "835"]
AckCode = Literal["A", "E", "M", "P", "R", "W", "X"]

REJECTED_CATEGORIES = frozenset({"A3", "A6", "A7", "A8"})
"""277CA categories that mean the claim never reached adjudication (domain reference section 7.3)."""
ACCEPTED_CATEGORIES = frozenset({"A2", "A5"})

# The code lists of the X231A1 TR3 (as pyx12's 999 map carries them): what a 999 we write may say.
IK304_CODES = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9"})
IK403_CODES = frozenset(
    {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "I10", "I11", "I12", "I13", "I6", "I9"}
)
IK502_CODES = frozenset({*(str(code) for code in range(1, 20) if code != 14), "23", "24", "25", "26", "27", "I5", "I6"})
AK905_CODES = frozenset(str(code) for code in (*range(1, 7), *range(10, 20), *range(23, 27)))


# ---------------------------------------------------------------------------------------------------------- 999 models


class ElementError(BaseModel):
    """IK4: which element of the segment failed (IK401 position[:component[:repeat]]) and why (IK403)."""

    model_config = _FROZEN
    position: Annotated[int, Field(ge=1)]
    component: Annotated[int | None, Field(ge=1)] = None
    repetition: Annotated[int | None, Field(ge=1)] = None
    data_element: str | None = None
    code: str


class SegmentError(BaseModel):
    """IK3: the segment (id, position counted from ST = 1, loop) and the syntax error code IK304.

    ``claim_ref`` is the CLM01 a business-unit CTX names (``CTX*CLM01:<pcn>``), so a 999 error can be tied to one claim.
    """

    model_config = _FROZEN
    segment_id: str
    position: Annotated[int, Field(ge=1)]
    loop_id: str | None = None
    code: str | None = None
    claim_ref: str | None = None
    element_errors: tuple[ElementError, ...] = ()


class TransactionSetAck(BaseModel):
    """AK2..IK5: the verdict on one acknowledged transaction set (ST02 = ``control_number``)."""

    model_config = _FROZEN
    transaction_set_id: str = "837"
    control_number: str
    implementation: str | None = None
    status: AckCode
    error_codes: tuple[str, ...] = ()
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def accepted(self) -> bool:
        """IK501 A or E: the transaction set goes on (E = accepted with errors noted)."""
        return self.status in ("A", "E")


class FunctionalGroupAck(BaseModel):
    """One 999 transaction: AK1 (the acknowledged group, GS06 = ``group_control_number``) .. AK9.

    ``interchange_control_number``/``ack_control_number`` are the 999's own ISA13/ST02 (set by the reader, ignored by
    the builder, which takes them from the envelope).
    """

    model_config = _FROZEN
    functional_id: str = "HC"
    group_control_number: str
    version: str | None = None
    status: AckCode
    transactions_included: Annotated[int, Field(ge=0)]
    transactions_received: Annotated[int, Field(ge=0)]
    transactions_accepted: Annotated[int, Field(ge=0)]
    error_codes: tuple[str, ...] = ()
    transactions: tuple[TransactionSetAck, ...] = ()
    interchange_control_number: str | None = None
    ack_control_number: str | None = None


# -------------------------------------------------------------------------------------------------------- 277CA models


class StatusCode(BaseModel):
    """An STC01/STC10/STC11 composite: category (e.g. A2), status (e.g. 20) and optional entity (e.g. 85)."""

    model_config = _FROZEN
    category: str
    status: str
    entity: str | None = None

    def composite(self, separator: str) -> str:
        """The X12 form, e.g. ``A7:562:85``."""
        return separator.join(part for part in (self.category, self.status, self.entity or "") if part)


class LineStatusAck(BaseModel):
    """2220D: one service line's status; ``line_item_control_number`` is the 837's REF*6R (echoed as REF*FJ)."""

    model_config = _FROZEN
    procedure: tuple[str, ...]
    charge: Decimal | None = None
    units: Decimal | None = None
    line_item_control_number: str | None = None
    statuses: tuple[StatusCode, ...]


class ClaimStatusAck(BaseModel):
    """2200D: one claim's status as a 277CA reports it, keyed by the patient control number (CLM01)."""

    model_config = _FROZEN
    patient_control_number: str
    statuses: tuple[StatusCode, ...]
    status_date: date | None = None
    action_code: str | None = None
    total_charge: Decimal | None = None
    payer_claim_control_number: str | None = None
    clearinghouse_trace_number: str | None = None
    billing_provider_id: str | None = None
    lines: tuple[LineStatusAck, ...] = ()
    interchange_control_number: str | None = None
    group_control_number: str | None = None
    transaction_control_number: str | None = None

    @property
    def status(self) -> StatusCode | None:
        """The first (governing) status; ``None`` when the 2200D carried no STC."""
        return self.statuses[0] if self.statuses else None

    @property
    def outcome(self) -> Literal["accepted", "rejected", "pending"]:
        """A2/A5 accepted into adjudication, A3/A6/A7/A8 rejected (never adjudicated), anything else pending."""
        categories = {status.category for status in self.statuses}
        if categories & REJECTED_CATEGORIES:
            return "rejected"
        if categories & ACCEPTED_CATEGORIES:
            return "accepted"
        return "pending"


# ----------------------------------------------------------------------------------------------------- builder inputs


class Party(BaseModel):
    """An NM1 of the 277CA: organisation (``first`` empty) or person, with its identifier."""

    model_config = _FROZEN
    name: Annotated[str, Field(min_length=1, repr=False)]
    first: Annotated[str, Field(repr=False)] = ""
    id_qualifier: str
    id: Annotated[str, Field(min_length=1, repr=False)]

    @property
    def is_person(self) -> bool:
        return bool(self.first)


class LineStatus(BaseModel):
    """Builder input for one 2220D service line; X214 reports lines only to reject them (STC03 is always ``U``)."""

    model_config = _FROZEN
    procedure: Annotated[tuple[str, ...], Field(min_length=2)]
    charge: Decimal
    units: Decimal | None = None
    status: StatusCode
    line_item_control_number: str | None = None
    service_date: date | None = None


class ClaimStatus(BaseModel):
    """Builder input for one 2000D/2200D claim."""

    model_config = _FROZEN
    patient: Party
    patient_control_number: Annotated[str, Field(min_length=1, max_length=50)]
    status: StatusCode
    total_charge: Decimal
    service_from: date
    service_to: date
    payer_claim_control_number: str | None = None
    clearinghouse_trace_number: str | None = None
    lines: tuple[LineStatus, ...] = ()

    @property
    def rejected(self) -> bool:
        return self.status.category in REJECTED_CATEGORIES


class ProviderClaims(BaseModel):
    """Builder input for one 2000C billing provider and its claims."""

    model_config = _FROZEN
    provider: Party
    claims: Annotated[tuple[ClaimStatus, ...], Field(min_length=1)]


class ClaimAckReport(BaseModel):
    """Builder input for one 277CA transaction: who reports (2000A) to whom (2000B) about which claims."""

    model_config = _FROZEN
    source: Party
    receiver: Party
    source_trace: Annotated[str, Field(min_length=1, max_length=50)]
    receiver_trace: Annotated[str, Field(min_length=1, max_length=50)]
    received: date
    processed: date
    providers: Annotated[tuple[ProviderClaims, ...], Field(min_length=1)]


class AckEnvelope(BaseModel):
    """ISA/GS/ST of an acknowledgement the sandbox sends back: ids swapped against the submission it answers."""

    model_config = _FROZEN
    sender_qualifier: Annotated[str, Field(min_length=2, max_length=2)] = "ZZ"
    sender_id: Annotated[str, Field(min_length=1, max_length=15)]
    receiver_qualifier: Annotated[str, Field(min_length=2, max_length=2)] = "ZZ"
    receiver_id: Annotated[str, Field(min_length=1, max_length=15)]
    application_sender: Annotated[str | None, Field(min_length=2, max_length=15)] = None
    application_receiver: Annotated[str | None, Field(min_length=2, max_length=15)] = None
    interchange_number: Annotated[int, Field(ge=1, le=999_999_999)]
    group_number: Annotated[int, Field(ge=1, le=999_999_999)]
    transaction_number: Annotated[int, Field(ge=1, le=999_999_999)] = 1
    usage_indicator: Literal["T", "P"] = "T"
    created: datetime


# ------------------------------------------------------------------------------------------------------------ writing

_ELEMENT, _COMPONENT, _REPETITION, _TERMINATOR = "*", ":", "^", "~"
_RESERVED = str.maketrans(dict.fromkeys(_ELEMENT + _COMPONENT + _REPETITION + _TERMINATOR + "\r\n", " "))


def _clean(value: str) -> str:
    """A data value with our delimiters blanked out (values come from an 837 that may use other delimiters)."""
    return value.translate(_RESERVED).strip()


def _amount(value: Decimal) -> str:
    """X12 R type: no exponent, no trailing zeros (``150``, ``95.5``)."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _segment(tag: str, *elements: str) -> str:
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return _ELEMENT.join((tag, *values))


class _TransactionWriter:
    """Collects the segments between ST and SE and counts them for SE01."""

    def __init__(self, transaction_set: str, control_number: str, version: str) -> None:
        self.control_number = control_number
        self.segments: list[str] = [_segment("ST", transaction_set, control_number, version)]

    def add(self, tag: str, *elements: str) -> None:
        self.segments.append(_segment(tag, *elements))

    def close(self) -> list[str]:
        return [*self.segments, _segment("SE", str(len(self.segments) + 1), self.control_number)]


def envelope_text(envelope: AckEnvelope, functional_id: str, version: str, transactions: Sequence[list[str]]) -> str:
    """ISA/GS, the transaction sets' segments, GE/IEA: one interchange of responses (999 FA, 277 HN, 835 HP)."""
    created = envelope.created
    isa13 = f"{envelope.interchange_number:09d}"
    group = str(envelope.group_number)
    isa = _ELEMENT.join(
        (
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            envelope.sender_qualifier,
            f"{envelope.sender_id:<15}",
            envelope.receiver_qualifier,
            f"{envelope.receiver_id:<15}",
            created.strftime("%y%m%d"),
            created.strftime("%H%M"),
            _REPETITION,
            "00501",
            isa13,
            "0",
            envelope.usage_indicator,
            _COMPONENT,
        )
    )
    gs = _segment(
        "GS",
        functional_id,
        envelope.application_sender or envelope.sender_id,
        envelope.application_receiver or envelope.receiver_id,
        created.strftime("%Y%m%d"),
        created.strftime("%H%M"),
        group,
        "X",
        version,
    )
    body = [segment for transaction in transactions for segment in transaction]
    trailer = [_segment("GE", str(len(transactions)), group), _segment("IEA", "1", isa13)]
    return "".join(f"{segment}{_TERMINATOR}\n" for segment in (isa, gs, *body, *trailer))


def _st02(envelope: AckEnvelope, offset: int) -> str:
    return f"{envelope.transaction_number + offset:04d}"


def build_999(groups: Sequence[FunctionalGroupAck], *, envelope: AckEnvelope) -> str:
    """One 999 interchange acknowledging ``groups`` (one 999 transaction set per acknowledged GS).

    Parameters
    ----------
    groups
        The verdicts; each becomes AK1..AK9 in its own ST/SE.
    envelope
        Control numbers and ids of the 999 itself.
    """
    transactions = []
    for offset, group in enumerate(groups):
        writer = _TransactionWriter("999", _st02(envelope, offset), ACK_999_VERSION)
        writer.add("AK1", group.functional_id, group.group_control_number, group.version or "")
        for transaction in group.transactions:
            writer.add(
                "AK2", transaction.transaction_set_id, transaction.control_number, transaction.implementation or ""
            )
            for error in transaction.segment_errors:
                loop = (error.loop_id or "")[:4]  # IK303 (element 447) holds 1-4 characters: "2010AA" -> "2010"
                writer.add("IK3", error.segment_id, str(error.position), loop, error.code or "")
                if error.claim_ref:
                    writer.add("CTX", _COMPONENT.join(("CLM01", _clean(error.claim_ref))))
                for element in error.element_errors:
                    position = _COMPONENT.join(
                        str(part) for part in (element.position, element.component, element.repetition) if part
                    )
                    writer.add("IK4", position, element.data_element or "", element.code)
            writer.add("IK5", transaction.status, *transaction.error_codes[:5])
        writer.add(
            "AK9",
            group.status,
            str(group.transactions_included),
            str(group.transactions_received),
            str(group.transactions_accepted),
            *group.error_codes[:5],
        )
        transactions.append(writer.close())
    return envelope_text(envelope, "FA", ACK_999_VERSION, transactions)


def _nm1(writer: _TransactionWriter, entity_code: str, party: Party) -> None:
    writer.add(
        "NM1",
        entity_code,
        "1" if party.is_person else "2",
        _clean(party.name),
        _clean(party.first),
        "",
        "",
        "",
        party.id_qualifier,
        _clean(party.id),
    )


def _date_span(start: date, end: date) -> tuple[str, str]:
    if start == end:
        return "D8", start.strftime("%Y%m%d")
    return "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}"


def _totals(writer: _TransactionWriter, claims: Iterable[ClaimStatus], quantity_codes: tuple[str, str]) -> None:
    """QTY/AMT pairs: accepted then rejected counts and charges, each only when non-zero (the TR3 makes them S)."""
    accepted = [claim for claim in claims if not claim.rejected]
    rejected = [claim for claim in claims if claim.rejected]
    for code, group in zip(quantity_codes, (accepted, rejected), strict=True):
        if group:
            writer.add("QTY", code, str(len(group)))
    for code, group in zip(("YU", "YY"), (accepted, rejected), strict=True):
        if group:
            writer.add("AMT", code, _amount(sum((claim.total_charge for claim in group), Decimal(0))))


def build_277ca(report: ClaimAckReport, *, envelope: AckEnvelope) -> str:
    """One 277CA interchange (005010X214) with one transaction set reporting every claim of ``report``.

    Levels: 2000A information source, 2000B information receiver (batch totals), 2000C billing provider (its
    totals), 2000D one per claim with its STC (action WQ, or U when rejected) and, when given, its 2220D rejected
    service lines.
    """
    writer = _TransactionWriter("277", _st02(envelope, 0), CLAIM_ACK_277_VERSION)
    processed = report.processed.strftime("%Y%m%d")
    all_claims = [claim for provider in report.providers for claim in provider.claims]
    writer.add("BHT", "0085", "08", _clean(report.source_trace), processed, envelope.created.strftime("%H%M"), "TH")
    writer.add("HL", "1", "", "20", "1")
    _nm1(writer, "PR", report.source)
    writer.add("TRN", "1", _clean(report.source_trace))
    writer.add("DTP", "050", "D8", report.received.strftime("%Y%m%d"))
    writer.add("DTP", "009", "D8", processed)
    writer.add("HL", "2", "1", "21", "1")
    _nm1(writer, "41", report.receiver)
    writer.add("TRN", "2", _clean(report.receiver_trace))
    batch_total = _amount(sum((claim.total_charge for claim in all_claims), Decimal(0)))
    writer.add("STC", "A1:20", processed, "WQ", batch_total)
    _totals(writer, all_claims, ("90", "AA"))
    level = 2
    for provider in report.providers:
        level += 1
        provider_level = level
        writer.add("HL", str(provider_level), "2", "19", "1")
        _nm1(writer, "85", provider.provider)
        writer.add("TRN", "1", "0")
        provider_total = _amount(sum((claim.total_charge for claim in provider.claims), Decimal(0)))
        writer.add("STC", "A1:20", "", "WQ", provider_total)  # 2200C STC02 is "not used" in X214
        _totals(writer, provider.claims, ("QA", "QC"))
        for claim in provider.claims:
            level += 1
            writer.add("HL", str(level), str(provider_level), "PT")
            _nm1(writer, "QC", claim.patient)
            writer.add("TRN", "2", _clean(claim.patient_control_number))
            action = "U" if claim.rejected else "WQ"
            writer.add("STC", claim.status.composite(_COMPONENT), processed, action, _amount(claim.total_charge))
            if claim.payer_claim_control_number:
                writer.add("REF", "1K", _clean(claim.payer_claim_control_number))
            if claim.clearinghouse_trace_number:
                writer.add("REF", "D9", _clean(claim.clearinghouse_trace_number))
            writer.add("DTP", "472", *_date_span(claim.service_from, claim.service_to))
            for line in claim.lines:
                writer.add(
                    "SVC",
                    _COMPONENT.join(_clean(part) for part in line.procedure),
                    _amount(line.charge),
                    "",
                    "",
                    "",
                    "",
                    _amount(line.units) if line.units is not None else "",
                )
                writer.add("STC", line.status.composite(_COMPONENT), processed, "U")
                if line.line_item_control_number:
                    writer.add("REF", "FJ", _clean(line.line_item_control_number))
                if line.service_date:
                    writer.add("DTP", "472", "D8", line.service_date.strftime("%Y%m%d"))
    return envelope_text(envelope, "HN", CLAIM_ACK_277_VERSION, [writer.close()])


# ------------------------------------------------------------------------------------------------------------ reading


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _date(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y%m%d").date() if len(value) == 8 else None
    except ValueError:
        return None


def _codes(segment: Segment, first: int, last: int) -> tuple[str, ...]:
    return tuple(code for code in (segment.element(index) for index in range(first, last + 1)) if code)


def response_kind(text: str) -> ResponseKind | None:
    """What a clearinghouse response holds, from its first ST01/GS08 (``None``: not a 999, 277CA or 835)."""
    for segment in iter_segments(text):
        if segment.tag == "ST":
            implementation = segment.element(3)
            if segment.element(1) == "999":
                return "999"
            if segment.element(1) == "277" and implementation.startswith("005010X214"):
                return "277CA"
            if segment.element(1) == "835":
                return "835"
            return None
    return None


class _GroupBuilder:
    """Mutable state while reading one 999 transaction set."""

    def __init__(self, isa13: str | None, st02: str) -> None:
        self.isa13 = isa13
        self.st02 = st02
        self.ak1: Segment | None = None
        self.ak9: Segment | None = None
        self.transactions: list[TransactionSetAck] = []
        self.ak2: Segment | None = None
        self.segment_errors: list[SegmentError] = []

    def close_transaction(self, ik5: Segment | None) -> None:
        if self.ak2 is None:
            return
        status = ik5.element(1) if ik5 is not None else "R"
        self.transactions.append(
            TransactionSetAck(
                transaction_set_id=self.ak2.element(1),
                control_number=self.ak2.element(2),
                implementation=self.ak2.element(3) or None,
                status=status if status in ("A", "E", "M", "P", "R", "W", "X") else "R",  # type: ignore[arg-type]
                error_codes=_codes(ik5, 2, 6) if ik5 is not None else (),
                segment_errors=tuple(self.segment_errors),
            )
        )
        self.ak2 = None
        self.segment_errors = []

    def finish(self) -> FunctionalGroupAck | None:
        self.close_transaction(None)
        if self.ak1 is None:
            return None
        ak9 = self.ak9
        count = len(self.transactions)
        accepted = sum(transaction.accepted for transaction in self.transactions)
        status = ak9.element(1) if ak9 is not None else ("A" if accepted == count else "R")
        return FunctionalGroupAck(
            functional_id=self.ak1.element(1),
            group_control_number=self.ak1.element(2),
            version=self.ak1.element(3) or None,
            status=status if status in ("A", "E", "M", "P", "R", "W", "X") else "R",  # type: ignore[arg-type]
            transactions_included=_count(ak9, 2, count),
            transactions_received=_count(ak9, 3, count),
            transactions_accepted=_count(ak9, 4, accepted),
            error_codes=_codes(ak9, 5, 9) if ak9 is not None else (),
            transactions=tuple(self.transactions),
            interchange_control_number=self.isa13,
            ack_control_number=self.st02,
        )


def _count(ak9: Segment | None, index: int, fallback: int) -> int:
    """An AK9 count, or what the transactions read say when the AK9 is missing or garbled."""
    value = _int(ak9.element(index)) if ak9 is not None else None
    return fallback if value is None else value


def _element_error(segment: Segment) -> ElementError | None:
    position = _int(segment.component(1, 1))
    if position is None or position < 1:
        return None
    return ElementError(
        position=position,
        component=_int(segment.component(1, 2)) or None,
        repetition=_int(segment.component(1, 3)) or None,
        data_element=segment.element(2) or None,
        code=segment.element(3),
    )


def parse_999(text: str) -> list[FunctionalGroupAck]:
    """Every 999 transaction set in ``text`` (several ISA/GS/ST tolerated), one FunctionalGroupAck each.

    Raises X12SyntaxError only when there is no readable ISA; a missing AK9/IK5 is read as a rejection, since an
    acknowledgement that does not say "accepted" must not advance a claim.
    """
    groups: list[FunctionalGroupAck] = []
    isa13: str | None = None
    current: _GroupBuilder | None = None
    for segment in iter_segments(text):
        tag = segment.tag
        if tag == "ISA":
            isa13 = segment.element(13)
        elif tag == "ST":
            current = _GroupBuilder(isa13, segment.element(2)) if segment.element(1) == "999" else None
        elif current is None:
            continue
        elif tag == "AK1":
            current.ak1 = segment
        elif tag == "AK2":
            current.close_transaction(None)
            current.ak2 = segment
        elif tag == "IK3":
            current.segment_errors.append(
                SegmentError(
                    segment_id=segment.element(1),
                    position=_int(segment.element(2)) or 1,
                    loop_id=segment.element(3) or None,
                    code=segment.element(4) or None,
                )
            )
        elif tag == "CTX" and current.segment_errors and segment.component(1, 1) == "CLM01":
            last = current.segment_errors[-1]
            current.segment_errors[-1] = last.model_copy(update={"claim_ref": segment.component(1, 2) or None})
        elif tag == "IK4" and current.segment_errors:
            element_error = _element_error(segment)
            if element_error is not None:
                last = current.segment_errors[-1]
                current.segment_errors[-1] = last.model_copy(
                    update={"element_errors": (*last.element_errors, element_error)}
                )
        elif tag == "IK5":
            current.close_transaction(segment)
        elif tag == "AK9":
            current.ak9 = segment
        elif tag == "SE":
            finished = current.finish()
            if finished is not None:
                groups.append(finished)
            current = None
    if current is not None:
        finished = current.finish()
        if finished is not None:
            groups.append(finished)
    return groups


class _ClaimBuilder:
    """Mutable state while reading one 2200D claim (and its 2220D lines)."""

    def __init__(self, trn: Segment, provider_id: str | None, envelope: tuple[str | None, str | None, str]) -> None:
        self.patient_control_number = trn.element(2)
        self.provider_id = provider_id
        self.envelope = envelope
        self.stc: list[Segment] = []
        self.refs: dict[str, str] = {}
        self.lines: list[tuple[Segment, list[Segment], dict[str, str]]] = []

    def add(self, segment: Segment) -> None:
        if segment.tag == "SVC":
            self.lines.append((segment, [], {}))
        elif segment.tag == "STC":
            (self.lines[-1][1] if self.lines else self.stc).append(segment)
        elif segment.tag == "REF":
            (self.lines[-1][2] if self.lines else self.refs).setdefault(segment.element(1), segment.element(2))

    def finish(self) -> ClaimStatusAck:
        first = self.stc[0] if self.stc else None
        isa13, gs06, st02 = self.envelope
        return ClaimStatusAck(
            patient_control_number=self.patient_control_number,
            statuses=_statuses(self.stc),
            status_date=_date(first.element(2)) if first else None,
            action_code=(first.element(3) or None) if first else None,
            total_charge=_decimal(first.element(4)) if first else None,
            payer_claim_control_number=self.refs.get("1K"),
            clearinghouse_trace_number=self.refs.get("D9"),
            billing_provider_id=self.provider_id,
            lines=tuple(
                LineStatusAck(
                    procedure=svc.components(1),
                    charge=_decimal(svc.element(2)),
                    units=_decimal(svc.element(7)),
                    line_item_control_number=refs.get("FJ"),
                    statuses=_statuses(stc),
                )
                for svc, stc, refs in self.lines
            ),
            interchange_control_number=isa13,
            group_control_number=gs06,
            transaction_control_number=st02,
        )


def _statuses(stc_segments: Sequence[Segment]) -> tuple[StatusCode, ...]:
    """Every STC01/STC10/STC11 composite, in order."""
    statuses = []
    for segment in stc_segments:
        for index in (1, 10, 11):
            category, status, entity = (segment.component(index, sub) for sub in (1, 2, 3))
            if category:
                statuses.append(StatusCode(category=category, status=status, entity=entity or None))
    return tuple(statuses)


def parse_277ca(text: str) -> list[ClaimStatusAck]:
    """Every claim status (2200D) in every 277 transaction of ``text``.

    The hierarchy is followed by HL level codes (20 source, 21 receiver, 19 provider, PT patient); a claim starts
    at a TRN under a PT level and owns the STC/REF/SVC segments up to the next TRN, HL or SE.
    """
    claims: list[ClaimStatusAck] = []
    isa13: str | None = None
    gs06: str | None = None
    st02 = ""
    level = ""
    provider_id: str | None = None
    in_277 = False
    current: _ClaimBuilder | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            claims.append(current.finish())
            current = None

    for segment in iter_segments(text):
        tag = segment.tag
        if tag == "ISA":
            close()
            isa13 = segment.element(13)
        elif tag == "GS":
            close()
            gs06 = segment.element(6)
        elif tag == "ST":
            close()
            in_277 = segment.element(1) == "277"
            st02, level, provider_id = segment.element(2), "", None
        elif not in_277:
            continue
        elif tag in ("HL", "SE"):
            close()
            level = segment.element(3) if tag == "HL" else ""
            if level == "19":
                provider_id = None
        elif tag == "NM1" and level == "19" and segment.element(1) in ("85", "1P"):
            provider_id = segment.element(9) or None
        elif tag == "TRN" and level == "PT":
            close()
            current = _ClaimBuilder(segment, provider_id, (isa13, gs06, st02))
        elif current is not None:
            current.add(segment)
    close()
    return claims
