"""Synthetic 835 (005010X221A1) builders for the remittance tests: fake payer, fake patients, valid-looking NPIs.

Segments are tuples of elements; an element that is itself a tuple is a composite (joined with the component
separator). Every claim carries an NM1*QC with the fake patient below, so tests can assert it never reaches output.
"""

from __future__ import annotations

from collections.abc import Sequence

Element = str | tuple[str, ...]
Seg = tuple[Element, ...]

PATIENT_LAST = "TESTPATIENT"
PATIENT_FIRST = "JANIEQ"
MEMBER_ID = "W987654321"
PHI_VALUES = (PATIENT_LAST, PATIENT_FIRST, MEMBER_ID)

PAYER_NAME = "ACME HEALTH PLAN"
PAYER_ID = "ACME01"
PAYEE_NAME = "DEMO BEHAVIORAL HEALTH"
PAYEE_NPI = "1234567893"


def isa(control: int, *, element: str = "*", component: str = ":", repetition: str = "^", segment: str = "~") -> str:
    """A fixed-width (106 character) ISA."""
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        "ACMEPAYER".ljust(15),
        "ZZ",
        "DEMOBH01".ljust(15),
        "260305",
        "0930",
        repetition,
        "00501",
        f"{control:09d}",
        "0",
        "T",
        component,
    ]
    return element.join(fields) + segment


def _render(segment: Seg, element: str, component: str) -> str:
    return element.join(part if isinstance(part, str) else component.join(part) for part in segment)


def interchange(
    transactions: Sequence[Sequence[Seg]],
    *,
    control: int = 101,
    group: int = 7,
    element: str = "*",
    component: str = ":",
    segment: str = "~",
    newline: bool = True,
    close: bool = True,
) -> str:
    """ISA/GS, one ST..SE per transaction body (ST02 = 0001, 0002, ...), GE/IEA; ``close=False`` drops SE/GE/IEA."""
    joiner = segment + ("\n" if newline else "")
    rendered = [isa(control, element=element, component=component, segment="")]
    rendered.append(
        _render(
            ("GS", "HP", "ACMEPAYER", "DEMOBH01", "20260305", "0930", str(group), "X", "005010X221A1"),
            element,
            component,
        )
    )
    for number, body in enumerate(transactions, start=1):
        st02 = f"{number:04d}"
        segments = [("ST", "835", st02), *body]
        rendered.extend(_render(s, element, component) for s in segments)
        if close:
            rendered.append(_render(("SE", str(len(segments) + 1), st02), element, component))
    if close:
        rendered.append(_render(("GE", str(len(transactions)), str(group)), element, component))
        rendered.append(_render(("IEA", "1", f"{control:09d}"), element, component))
    return joiner.join(rendered) + segment + "\n"


def header(total: str, *, method: str = "ACH", trace: str = "EFT0001", paid_on: str = "20260305") -> list[Seg]:
    """BPR/TRN/DTM*405 and the 1000A payer (REF*2U) and 1000B payee (NPI, REF*TJ) loops."""
    bpr: Seg = (
        "BPR",
        "I",
        total,
        "C",
        method,
        "CCP",
        "01",
        "011000015",
        "DA",
        "123456",
        "1512345678",
        "",
        "01",
        "021000021",
        "DA",
        "654321",
        paid_on,
    )
    if method != "ACH":
        bpr = ("BPR", "I", total, "C", method, *([""] * 11), paid_on)
    return [
        bpr,
        ("TRN", "1", trace, "1512345678"),
        ("DTM", "405", "20260304"),
        ("N1", "PR", PAYER_NAME),
        ("N3", "PO BOX 100"),
        ("N4", "KANSAS CITY", "MO", "641080000"),
        ("REF", "2U", PAYER_ID),
        ("PER", "BL", "EDI SUPPORT", "TE", "8005551212"),
        ("N1", "PE", PAYEE_NAME, "XX", PAYEE_NPI),
        ("REF", "TJ", "431234567"),
        ("LX", "1"),
    ]


def cas(group: str, *triplets: tuple[str, str] | tuple[str, str, str]) -> Seg:
    """One CAS: a group and up to six (reason, amount[, quantity]) triplets."""
    elements: list[str] = []
    for triplet in triplets:
        reason, amount, *quantity = triplet
        elements.extend((reason, amount, quantity[0] if quantity else ""))
    while elements and not elements[-1]:
        elements.pop()
    return ("CAS", group, *elements)


def service(
    code: str,
    charge: str,
    paid: str,
    *,
    modifiers: Sequence[str] = (),
    units: str = "1",
    day: str = "20260302",
    adjustments: Sequence[Seg] = (),
    allowed: str | None = None,
    control: str | None = None,
    remarks: Sequence[str] = (),
) -> list[Seg]:
    """A 2110 loop: SVC, DTM*472, CAS..., REF*6R, AMT*B6, LQ*HE..."""
    segments: list[Seg] = [("SVC", ("HC", code, *modifiers), charge, paid, "", units), ("DTM", "472", day)]
    segments.extend(adjustments)
    if control:
        segments.append(("REF", "6R", control))
    if allowed is not None:
        segments.append(("AMT", "B6", allowed))
    segments.extend(("LQ", "HE", remark) for remark in remarks)
    return segments


def claim(
    pcn: str,
    status: str,
    charge: str,
    paid: str,
    responsibility: str = "",
    *,
    payer_claim: str = "PCN0001",
    adjustments: Sequence[Seg] = (),
    remarks: Sequence[str] = (),
    lines: Sequence[Sequence[Seg]] = (),
) -> list[Seg]:
    """A 2100 loop: CLP, claim CAS, NM1*QC (the fake patient), NM1*82, MOA, DTM*232/233, then the lines."""
    segments: list[Seg] = [("CLP", pcn, status, charge, paid, responsibility, "12", payer_claim, "11", "1")]
    segments.extend(adjustments)
    segments.append(("NM1", "QC", "1", PATIENT_LAST, PATIENT_FIRST, "", "", "", "MI", MEMBER_ID))
    segments.append(("NM1", "82", "1", "RIVERA", "JORDAN", "", "", "", "XX", "1111111112"))
    if remarks:
        segments.append(("MOA", "", "", *remarks))
    segments.extend([("DTM", "232", "20260302"), ("DTM", "233", "20260302")])
    for line in lines:
        segments.extend(line)
    return segments


def plb(*pairs: tuple[str, str], provider: str = PAYEE_NPI, period: str = "20261231") -> Seg:
    """A PLB with up to six (reason[:reference], amount) pairs."""
    elements: list[Element] = []
    for reason, amount in pairs:
        code, _, reference = reason.partition(":")
        elements.extend(((code, reference) if reference else code, amount))
    return ("PLB", provider, period, *elements)
