"""837P (005010X222A1) segments: one builder per segment, each applying its TR3 element lengths.

A builder takes plain values, cleans them (``x12_text`` for names and addresses, ``x12_id`` for identifiers, with
the element's IG limits) and returns an ``OutSegment``; ``OutSegment.render`` joins it with the interchange's
delimiters and drops trailing empty elements and components, as the TR3 requires. Docstrings cite the IG element
layout with a synthetic sample. ``loop`` arguments (``2010BA``) only name the location in errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from claimbridge.x12.escaping import X12WriteError, x12_id, x12_text
from claimbridge.x12.reader import Delimiters

__all__ = [
    "DELIMITERS",
    "ISA_LENGTH",
    "Element",
    "OutSegment",
    "amt",
    "bht",
    "cas",
    "clm",
    "dmg",
    "dtp_adjudication",
    "dtp_service",
    "ge",
    "gs",
    "hi",
    "hl",
    "iea",
    "isa",
    "lx",
    "n3",
    "n4",
    "nm1",
    "oi",
    "other_sbr",
    "pat",
    "per",
    "prv",
    "ref",
    "sbr",
    "se",
    "st",
    "sv1",
    "svd",
    "x12_decimal",
]

DELIMITERS = Delimiters(element="*", component=":", repetition="^", segment="~")
"""What the writer declares in ISA (ISA11 repetition, ISA16 component; element and segment by position)."""

ISA_LENGTH = 106
"""ISA01-ISA16 with separators is 105 characters; the segment terminator makes 106."""

IMPLEMENTATION_GUIDE = "005010X222A1"

Element = str | tuple[str, ...]
"""A simple element, or a composite as its components."""


@dataclass(frozen=True)
class OutSegment:
    """A segment to write: identifier and elements (composites as tuples), not yet delimited."""

    id: str
    elements: tuple[Element, ...]

    def render(self, delimiters: Delimiters = DELIMITERS) -> str:
        """``NM1*IL*1*DOE*JANE****MI*W123~``: empty trailing elements/components removed, inner ones kept."""
        values = [
            delimiters.component.join(_strip_trailing(element)) if isinstance(element, tuple) else element
            for element in self.elements
        ]
        return delimiters.element.join([self.id, *_strip_trailing(tuple(values))]) + delimiters.segment


def _strip_trailing(values: tuple[str, ...]) -> tuple[str, ...]:
    end = len(values)
    while end and values[end - 1] == "":
        end -= 1
    return values[:end]


def x12_decimal(value: Decimal) -> str:
    """X12 ``R`` type: no exponent and no trailing zeros (``180.00`` -> ``180``, ``12.50`` -> ``12.5``).

    A zero is ``0`` whatever its sign: ``Decimal("-0.00")`` passes ``ge=0`` and FHIR may send ``-0.0``, but ``-0``
    would put a minus sign on a charge or a paid amount.
    """
    normalized = value.normalize()
    return "0" if normalized.is_zero() else f"{normalized:f}"


def _d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def isa(
    *, sender_id: str, receiver_id: str, created: datetime, interchange_number: int, usage_indicator: str
) -> OutSegment:
    """ISA Interchange Control Header, fixed width (106 characters with the terminator).

    ``ISA*00*          *00*          *ZZ*DEMOBH01       *ZZ*CBSANDBOX      *260302*1530*^*00501*000000001*0*T*:~``
    ISA01/03 ``00`` (no authorization/security information), ISA05/07 ``ZZ`` (mutually defined), ISA14 ``0`` (no
    TA1 requested), ISA15 ``T``/``P``; ISA11 and ISA16 declare the repetition and component separators.
    """
    sender = x12_id(sender_id, max_length=15, location="ISA06")
    receiver = x12_id(receiver_id, max_length=15, location="ISA08")
    if not 1 <= interchange_number <= 999_999_999:
        raise X12WriteError("ISA13", "interchange control number must be 1-999999999")
    return OutSegment(
        "ISA",
        (
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            sender.ljust(15),
            "ZZ",
            receiver.ljust(15),
            created.strftime("%y%m%d"),
            created.strftime("%H%M"),
            DELIMITERS.repetition,
            "00501",
            f"{interchange_number:09d}",
            "0",
            usage_indicator,
            DELIMITERS.component,
        ),
    )


def gs(*, sender_id: str, receiver_id: str, created: datetime, group_number: int) -> OutSegment:
    """GS Functional Group Header: ``GS*HC*DEMOBH01*CBSANDBOX*20260302*1530*1*X*005010X222A1~``."""
    return OutSegment(
        "GS",
        (
            "HC",
            x12_id(sender_id, max_length=15, min_length=2, location="GS02"),
            x12_id(receiver_id, max_length=15, min_length=2, location="GS03"),
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            str(group_number),
            "X",
            IMPLEMENTATION_GUIDE,
        ),
    )


def st(control_number: str) -> OutSegment:
    """ST Transaction Set Header: ``ST*837*0001*005010X222A1~`` (ST02 4-9 characters, unique within the group)."""
    return OutSegment("ST", ("837", control_number, IMPLEMENTATION_GUIDE))


def bht(*, reference: str, created: datetime) -> OutSegment:
    """BHT Beginning of Hierarchical Transaction: ``BHT*0019*00*000000001-0001*20260302*1530*CH~``.

    0019 information source/subscriber/dependent structure, 00 original, CH chargeable (a claim, not an encounter).
    """
    return OutSegment(
        "BHT",
        (
            "0019",
            "00",
            x12_id(reference, max_length=50, location="BHT03"),
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            "CH",
        ),
    )


def nm1(
    *,
    loop: str,
    entity_code: str,
    person: bool,
    last_or_organization: str,
    first: str = "",
    middle: str = "",
    id_qualifier: str = "",
    identifier: str = "",
) -> OutSegment:
    """NM1 Individual or Organizational Name (every 837P name loop).

    ``NM1*IL*1*TESTPATIENT*ALEX****MI*W123456789~``: NM101 entity code, NM102 ``1`` person / ``2`` non-person,
    NM103 last or organization name (1-60), NM104 first (1-35), NM105 middle (1-25), NM108/NM109 id qualifier and
    id (2-80). Names are cleaned and truncated; the identifier is written exactly or refused.
    """
    name = x12_text(last_or_organization, max_length=60, location=f"{loop} NM103")
    first_name = x12_text(first, max_length=35, min_length=0, location=f"{loop} NM104") if person else ""
    middle_name = x12_text(middle, max_length=25, min_length=0, location=f"{loop} NM105") if person else ""
    ident = x12_id(identifier, max_length=80, min_length=2, location=f"{loop} NM109") if id_qualifier else ""
    return OutSegment(
        "NM1", (entity_code, "1" if person else "2", name, first_name, middle_name, "", "", id_qualifier, ident)
    )


def per(*, contact_name: str, phone: str, email: str | None) -> OutSegment:
    """1000A PER Submitter EDI Contact: ``PER*IC*BILLING OFFICE*TE*8165550100*EM*BILLING@EXAMPLE.COM~``."""
    phone_number = x12_id(phone, max_length=10, min_length=10, location="1000A PER04")
    elements: tuple[str, ...] = (
        "IC",
        x12_text(contact_name, max_length=60, location="1000A PER02"),
        "TE",
        phone_number,
    )
    if email:
        elements += ("EM", x12_text(email, max_length=256, location="1000A PER06"))
    return OutSegment("PER", elements)


def hl(*, number: int, parent: int | None, level_code: str, has_children: bool) -> OutSegment:
    """HL Hierarchical Level: ``HL*1**20*1~`` (20 billing provider, 22 subscriber, 23 patient)."""
    return OutSegment("HL", (str(number), str(parent) if parent else "", level_code, "1" if has_children else "0"))


def prv(*, loop: str, provider_code: str, taxonomy: str) -> OutSegment:
    """PRV Provider Information: ``PRV*BI*PXC*193400000X~`` (BI billing, PE performing), NUCC taxonomy."""
    return OutSegment(
        "PRV", (provider_code, "PXC", x12_id(taxonomy, max_length=10, min_length=10, location=f"{loop} PRV03"))
    )


def n3(*, loop: str, lines: tuple[str, ...]) -> OutSegment:
    """N3 Address Information: ``N3*123 MAIN ST*SUITE 4~`` (N301 required, N302 optional; 1-55 each)."""
    cleaned = [
        x12_text(line, max_length=55, min_length=0, location=f"{loop} N30{index}")
        for index, line in enumerate(lines, 1)
    ]
    kept = tuple(line for line in cleaned if line)
    if not kept or len(kept) > 2:
        raise X12WriteError(f"{loop} N301", "needs one or two address lines with usable text")
    return OutSegment("N3", kept)


def n4(*, loop: str, city: str, state: str, postal_code: str) -> OutSegment:
    """N4 City, State, ZIP: ``N4*KANSAS CITY*MO*641081234~`` (N401 2-30, N402 2, N403 3-15)."""
    return OutSegment(
        "N4",
        (
            x12_text(city, max_length=30, min_length=2, location=f"{loop} N401"),
            x12_id(state, max_length=2, min_length=2, location=f"{loop} N402"),
            x12_id(postal_code, max_length=15, min_length=3, location=f"{loop} N403"),
        ),
    )


def ref(*, loop: str, qualifier: str, value: str) -> OutSegment:
    """REF Reference Identification: ``REF*G1*AUTH12345~`` (REF02 1-50, never truncated)."""
    return OutSegment("REF", (qualifier, x12_id(value, max_length=50, location=f"{loop} REF*{qualifier} REF02")))


def nte(text: str) -> OutSegment:
    """2300 NTE Claim Note: ``NTE*ADD*CORRECTED CLAIM - UPDATED UNITS~`` (NTE02 1-80, never truncated)."""
    return OutSegment("NTE", ("ADD", x12_text(text, max_length=80, location="2300 NTE02")))


def sbr(
    *, responsibility: str, patient_is_subscriber: bool, group_number: str | None, filing_indicator: str
) -> OutSegment:
    """2000B SBR Subscriber Information: ``SBR*P*18*GRP01******CI~``.

    SBR01 payer responsibility (P/S/T), SBR02 ``18`` (self) only when the subscriber is the patient, SBR03 group or
    policy number (1-50), SBR09 claim filing indicator (CI commercial, MB Medicare Part B, MC Medicaid, ...).
    """
    group = x12_id(group_number, max_length=50, location="2000B SBR03") if group_number else ""
    return OutSegment(
        "SBR",
        (responsibility, "18" if patient_is_subscriber else "", group, "", "", "", "", "", filing_indicator),
    )


def other_sbr(*, responsibility: str, relationship: str, group_number: str | None, filing_indicator: str) -> OutSegment:
    """2320 SBR Other Subscriber Information: ``SBR*P*18*GRP01******CI~``.

    SBR01 this other payer's responsibility (P/S/T, A-H beyond the third), SBR02 the patient's relationship to its
    subscriber (18 self, 01 spouse, 19 child, G8 other), SBR03 group or policy number, SBR09 claim filing indicator.
    """
    group = x12_id(group_number, max_length=50, location="2320 SBR03") if group_number else ""
    return OutSegment("SBR", (responsibility, relationship, group, "", "", "", "", "", filing_indicator))


def cas(*, loop: str, group: str, adjustments: tuple[tuple[str, Decimal], ...]) -> OutSegment:
    """2320/2430 CAS Claim or Line Adjustment: ``CAS*PR*1*50**3*20~``.

    CAS01 group code (CO, CR, OA, PI, PR), then up to six CARC (CAS02/05/...) and amount (CAS03/06/...) pairs; the
    quantity elements (CAS04/07/...) are left empty.
    """
    if not 1 <= len(adjustments) <= 6:
        raise X12WriteError(f"{loop} CAS", "a CAS segment carries one to six adjustments")
    elements: list[str] = [group]
    for index, (reason, amount) in enumerate(adjustments):
        elements += [x12_id(reason, max_length=5, location=f"{loop} CAS{2 + 3 * index:02d}"), x12_decimal(amount), ""]
    return OutSegment("CAS", tuple(elements))


def amt(*, qualifier: str, amount: Decimal) -> OutSegment:
    """2320 AMT: ``AMT*D*120~`` (payer paid amount) or ``AMT*EAF*30~`` (remaining patient liability)."""
    return OutSegment("AMT", (qualifier, x12_decimal(amount)))


def oi() -> OutSegment:
    """2320 OI Other Insurance Coverage Information: ``OI***Y***Y~``.

    OI03 ``Y`` benefits assigned and OI06 ``Y`` release of information on file, as CLM08/CLM09 always say.
    """
    return OutSegment("OI", ("", "", "Y", "", "", "Y"))


def svd(*, payer_id: str, paid: Decimal, procedure_code: str, modifiers: tuple[str, ...], units: Decimal) -> OutSegment:
    """2430 SVD Line Adjudication Information: ``SVD*CMA01*120*HC:90834:95**1~``.

    SVD01 the other payer's id (= its 2330B NM109), SVD02 line paid amount, SVD03 ``HC`` : code : modifiers as
    adjudicated, SVD05 paid units.
    """
    if len(modifiers) > 4:
        raise X12WriteError("2430 SVD03", "at most four procedure modifiers")
    return OutSegment(
        "SVD",
        (
            x12_id(payer_id, max_length=80, min_length=2, location="2430 SVD01"),
            x12_decimal(paid),
            ("HC", procedure_code, *modifiers),
            "",
            x12_decimal(units),
        ),
    )


def dtp_adjudication(day: date) -> OutSegment:
    """2330B/2430 DTP Claim/Line Check or Remittance Date: ``DTP*573*D8*20260320~``."""
    return OutSegment("DTP", ("573", "D8", _d8(day)))


def dmg(*, birth_date: date, gender: str) -> OutSegment:
    """DMG Demographic Information: ``DMG*D8*19900402*F~``."""
    return OutSegment("DMG", ("D8", _d8(birth_date), gender))


def pat(*, relationship: str) -> OutSegment:
    """2000C PAT Patient Information: ``PAT*19~`` (01 spouse, 19 child, G8 other relationship)."""
    return OutSegment("PAT", (relationship,))


def clm(*, claim_id: str, total: Decimal, place_of_service: str, frequency: str) -> OutSegment:
    """2300 CLM Claim Information: ``CLM*CB7Q2K9D1*180***10:B:1*Y*A*Y*Y~``.

    CLM01 patient control number (1-38, echoed in 835 CLP01), CLM02 total charge, CLM05 POS : ``B`` (professional)
    : frequency (1 original, 7 replacement, 8 void), CLM06 provider signature on file, CLM07 ``A`` assigned,
    CLM08 benefits assigned, CLM09 ``Y`` release of information.
    """
    return OutSegment(
        "CLM",
        (
            x12_id(claim_id, max_length=38, location="2300 CLM01"),
            x12_decimal(total),
            "",
            "",
            (place_of_service, "B", frequency),
            "Y",
            "A",
            "Y",
            "Y",
        ),
    )


def hi(diagnoses: tuple[str, ...]) -> OutSegment:
    """2300 HI Health Care Diagnosis Code: ``HI*ABK:F411*ABF:Z630~`` (ICD-10-CM without the point, at most 12)."""
    if not 1 <= len(diagnoses) <= 12:
        raise X12WriteError("2300 HI", "needs 1-12 diagnosis codes")
    codes = [
        x12_id(code.replace(".", ""), max_length=30, location=f"2300 HI{i:02d}-02")
        for i, code in enumerate(diagnoses, 1)
    ]
    return OutSegment("HI", tuple(("ABK" if index == 0 else "ABF", code) for index, code in enumerate(codes)))


def lx(number: int) -> OutSegment:
    """2400 LX Service Line Number: ``LX*1~`` (1, 2, ... within the claim)."""
    return OutSegment("LX", (str(number),))


def sv1(
    *,
    procedure_code: str,
    modifiers: tuple[str, ...],
    charge: Decimal,
    units: Decimal,
    place_of_service: str | None,
    diagnosis_pointers: tuple[int, ...],
) -> OutSegment:
    """2400 SV1 Professional Service: ``SV1*HC:90837:95*180*UN*1***1:2~``.

    SV101 ``HC`` : CPT/HCPCS : up to four modifiers, SV102 line charge, SV103 ``UN`` units, SV104 quantity, SV105
    place of service only when it differs from CLM05-1, SV107 up to four pointers into the HI codes.
    """
    if len(modifiers) > 4:
        raise X12WriteError("2400 SV101", "at most four procedure modifiers")
    if not 1 <= len(diagnosis_pointers) <= 4:
        raise X12WriteError("2400 SV107", "needs 1-4 diagnosis code pointers")
    return OutSegment(
        "SV1",
        (
            ("HC", procedure_code, *modifiers),
            x12_decimal(charge),
            "UN",
            x12_decimal(units),
            place_of_service or "",
            "",
            tuple(str(pointer) for pointer in diagnosis_pointers),
        ),
    )


def dtp_service(start: date, end: date | None) -> OutSegment:
    """2400 DTP Date - Service Date: ``DTP*472*D8*20260302~`` or ``DTP*472*RD8*20260302-20260306~``."""
    if end is None or end == start:
        return OutSegment("DTP", ("472", "D8", _d8(start)))
    if end < start:
        raise X12WriteError("2400 DTP03", "service period ends before it starts")
    return OutSegment("DTP", ("472", "RD8", f"{_d8(start)}-{_d8(end)}"))


def se(*, segment_count: int, control_number: str) -> OutSegment:
    """SE Transaction Set Trailer: SE01 counts every segment from ST to SE inclusive; SE02 repeats ST02."""
    return OutSegment("SE", (str(segment_count), control_number))


def ge(*, transaction_count: int, group_number: int) -> OutSegment:
    """GE Functional Group Trailer: GE01 number of ST-SE sets, GE02 repeats GS06."""
    return OutSegment("GE", (str(transaction_count), str(group_number)))


def iea(*, group_count: int, interchange_number: int) -> OutSegment:
    """IEA Interchange Control Trailer: IEA01 number of functional groups, IEA02 repeats ISA13."""
    return OutSegment("IEA", (str(group_count), f"{interchange_number:09d}"))
