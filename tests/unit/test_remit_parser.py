"""claimbridge.remit.parser: the 835 reader on built remittances (valid per pyx12) and on every corpus 835."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimbridge.errors import X12SyntaxError
from claimbridge.remit.denials import classify
from claimbridge.remit.parser import (
    Adjustment,
    ProcedureCode,
    ProviderAdjustment,
    Remittance,
    balance_problems,
    pair_reversals,
    parse_835,
)
from claimbridge.remit.summary import remit_document, remit_text
from claimbridge.x12.acks import response_kind
from claimbridge.x12.validate import validate_x12
from tests.unit.remit_builders import (
    MEMBER_ID,
    PAYEE_NPI,
    PAYER_ID,
    PHI_VALUES,
    Element,
    Seg,
    cas,
    claim,
    header,
    interchange,
    plb,
    service,
)

pytestmark = pytest.mark.unit


def _one(text: str) -> Remittance:
    (remittance,) = parse_835(text)
    return remittance


def _assert_no_phi(remittance: Remittance) -> None:
    dumped = remittance.model_dump_json()
    for value in PHI_VALUES:
        assert value not in dumped
    for problem in (*remittance.problems, *balance_problems(remittance)):
        for value in PHI_VALUES:
            assert value not in problem


# --- built remittances


def test_parse_835_reads_a_paid_claim_with_envelope_payment_and_parties() -> None:
    # Given a valid 835 paying one 90837 line after a CO-45 contractual write-off
    text = interchange(
        [
            [
                *header("100.00"),
                *claim(
                    "CB7Q2K9D1",
                    "1",
                    "150.00",
                    "100.00",
                    lines=[
                        service(
                            "90837",
                            "150.00",
                            "100.00",
                            modifiers=("95",),
                            adjustments=[cas("CO", ("45", "50.00"))],
                            allowed="100.00",
                            control="CB7Q2K9D1-1",
                        )
                    ],
                ),
            ]
        ]
    )
    assert validate_x12(text) == []
    # When it is read
    remittance = _one(text)
    # Then envelope, payment, parties, claim and line are all there, and it balances
    assert (remittance.interchange_control_number, remittance.group_control_number) == ("000000101", "7")
    assert (remittance.transaction_control_number, remittance.implementation) == ("0001", "005010X221A1")
    assert (remittance.total_paid, remittance.payment_method, remittance.payment_date) == (
        Decimal("100.00"),
        "ACH",
        date(2026, 3, 5),
    )
    assert (remittance.trace_number, remittance.production_date) == ("EFT0001", date(2026, 3, 4))
    assert (remittance.payer_id, remittance.payee_id_qualifier, remittance.payee_id) == (PAYER_ID, "XX", PAYEE_NPI)
    assert remittance.payee_tin == "431234567"
    (paid,) = remittance.claims
    assert (paid.patient_control_number, paid.status_code, paid.charge, paid.paid) == (
        "CB7Q2K9D1",
        "1",
        Decimal("150.00"),
        Decimal("100.00"),
    )
    assert (paid.filing_indicator, paid.payer_claim_control_number, paid.facility_type, paid.frequency) == (
        "12",
        "PCN0001",
        "11",
        "1",
    )
    assert (paid.statement_from, paid.statement_to, paid.rendering_provider_id) == (
        date(2026, 3, 2),
        date(2026, 3, 2),
        "1111111112",
    )
    (line,) = paid.lines
    assert line.procedure == ProcedureCode(qualifier="HC", code="90837", modifiers=("95",))
    assert (line.charge, line.paid, line.units, line.allowed) == (
        Decimal("150.00"),
        Decimal("100.00"),
        Decimal(1),
        Decimal("100.00"),
    )
    assert (line.service_date, line.line_control_number) == (date(2026, 3, 2), "CB7Q2K9D1-1")
    assert line.adjustments == (Adjustment(group="CO", reason="45", amount=Decimal("50.00")),)
    assert balance_problems(remittance) == []
    assert remittance.problems == ()
    _assert_no_phi(remittance)


def test_parse_835_reads_partial_payment_with_contractual_and_patient_amounts() -> None:
    # Given a line with CO-45 and deductible, coinsurance and copay in one CAS*PR, plus a claim-level MOA remark
    text = interchange(
        [
            [
                *header("60.00"),
                *claim(
                    "CBPART01",
                    "1",
                    "200.00",
                    "60.00",
                    "90.00",
                    remarks=("MA01",),
                    lines=[
                        service(
                            "90834",
                            "200.00",
                            "60.00",
                            adjustments=[
                                cas("CO", ("45", "50.00")),
                                cas("PR", ("1", "40.00"), ("2", "30.00", "1"), ("3", "20.00")),
                            ],
                            allowed="150.00",
                        )
                    ],
                ),
            ]
        ]
    )
    assert validate_x12(text) == []
    # When it is read
    remittance = _one(text)
    # Then every triplet of the CAS*PR is its own adjustment (quantity kept) and the claim balances, CLP05 included
    (partial,) = remittance.claims
    assert partial.patient_responsibility == Decimal("90.00")
    assert partial.remarks == ("MA01",)
    assert [(a.key, a.amount, a.quantity) for a in partial.all_adjustments] == [
        ("CO-45", Decimal("50.00"), None),
        ("PR-1", Decimal("40.00"), None),
        ("PR-2", Decimal("30.00"), Decimal(1)),
        ("PR-3", Decimal("20.00"), None),
    ]
    assert balance_problems(remittance) == []


def test_parse_835_reads_denials_with_line_remarks() -> None:
    # Given a claim denied CO-197 and one denied CO-16 with N290 on the line
    text = interchange(
        [
            [
                *header("0.00", method="NON"),
                *claim(
                    "CBAUTH01",
                    "4",
                    "180.00",
                    "0.00",
                    lines=[service("90837", "180.00", "0.00", adjustments=[cas("CO", ("197", "180.00"))])],
                ),
                *claim(
                    "CBREND01",
                    "4",
                    "120.00",
                    "0.00",
                    lines=[
                        service("90832", "120.00", "0.00", adjustments=[cas("CO", ("16", "120.00"))], remarks=("N290",))
                    ],
                ),
            ]
        ]
    )
    assert validate_x12(text) == []
    # When it is read
    remittance = _one(text)
    # Then statuses, adjustments and remarks are read per claim and line
    auth, rendering = remittance.claims
    assert (auth.status_code, auth.lines[0].adjustments[0].key) == ("4", "CO-197")
    assert rendering.lines[0].remarks == ("N290",)
    assert rendering.all_remarks == ("N290",)
    assert remittance.payment_method == "NON"
    assert balance_problems(remittance) == []


def test_parse_835_pairs_a_reversal_with_its_corrected_claim() -> None:
    # Given a reversal (CLP02 22, negative amounts) followed by the corrected claim, and a reversal with none
    text = interchange(
        [
            [
                *header("20.00"),
                *claim(
                    "CBREV01",
                    "22",
                    "-150.00",
                    "-100.00",
                    adjustments=[cas("CO", ("45", "-50.00"))],
                ),
                *claim("CBREV01", "1", "150.00", "120.00", adjustments=[cas("CO", ("45", "30.00"))]),
                *claim("CBREV02", "22", "-80.00", "-80.00"),
                *claim("CBOTHER", "1", "80.00", "80.00"),
            ]
        ]
    )
    assert validate_x12(text) == []
    # When it is read and its reversals are paired
    remittance = _one(text)
    pairs = pair_reversals(remittance.claims)
    # Then the first reversal pairs with the corrected CBREV01, the second has no corrected claim
    assert [(p.reversal.patient_control_number, p.corrected) for p in pairs][1] == ("CBREV02", None)
    assert pairs[0].corrected is remittance.claims[1]
    assert pairs[0].reversal.is_reversal and pairs[0].reversal.paid == Decimal("-100.00")
    assert balance_problems(remittance) == []


def test_parse_835_reads_plb_and_balances_bpr_against_it() -> None:
    # Given two paid claims, a PLB with an interest payment (negative: adds) and an overpayment recovery
    text = interchange(
        [
            [
                *header("182.50"),
                *claim("CBPLB01", "1", "100.00", "100.00"),
                *claim("CBPLB02", "1", "100.00", "100.00"),
                plb(("L6", "-2.50"), ("WO:CB-OLD-9", "20.00")),
            ]
        ]
    )
    assert validate_x12(text) == []
    # When it is read
    remittance = _one(text)
    # Then both PLB pairs are read (reason, reference, amount) and BPR02 = sum(CLP04) - sum(PLB)
    assert remittance.provider_adjustments == (
        ProviderAdjustment(
            provider_id=PAYEE_NPI,
            fiscal_period_end=date(2026, 12, 31),
            reason="L6",
            amount=Decimal("-2.50"),
            position=remittance.provider_adjustments[0].position,
        ),
        ProviderAdjustment(
            provider_id=PAYEE_NPI,
            fiscal_period_end=date(2026, 12, 31),
            reason="WO",
            reference="CB-OLD-9",
            amount=Decimal("20.00"),
            position=remittance.provider_adjustments[0].position,
        ),
    )
    assert balance_problems(remittance) == []


def test_balance_problems_names_each_failing_rule_and_location() -> None:
    # Given a line whose CAS does not explain its payment, a claim without lines whose CLP05 has no PR behind it,
    # and a BPR02 that matches neither
    text = interchange(
        [
            [
                *header("500.00"),
                *claim(
                    "CBBAL01",
                    "1",
                    "150.00",
                    "100.00",
                    lines=[service("90837", "150.00", "100.00", adjustments=[cas("CO", ("45", "40.00"))])],
                ),
                *claim("CBBAL02", "1", "80.00", "60.00", "20.00", adjustments=[cas("CO", ("45", "20.00"))]),
            ]
        ]
    )
    remittance = _one(text)
    # When balancing is checked
    problems = balance_problems(remittance)
    # Then each rule reports its loop, segment position and difference, and nothing else
    first, second = remittance.claims
    assert problems == [
        f"2110 SVC (segment {first.lines[0].position}): SVC02 - CAS differs from SVC03 by 10.00",
        f"2100 CLP (segment {first.position}): CLP03 - claim and line CAS differs from CLP04 by 10.00",
        f"2100 CLP (segment {second.position}): PR adjustments differ from CLP05 by -20.00",
        "Header BPR02 (transaction set 0001 at segment 3): sum(CLP04) - sum(PLB) differs from BPR02 by -340.00",
    ]
    _assert_no_phi(remittance)


def test_parse_835_reads_several_interchanges_with_their_own_delimiters() -> None:
    # Given two interchanges in one file: "*" ":" "~" with newlines, then "|" ">" "~" without, two ST in the second
    first = interchange([[*header("100.00"), *claim("CBA", "1", "100.00", "100.00")]], control=1)
    second = interchange(
        [
            [*header("50.00"), *claim("CBB", "1", "50.00", "50.00", lines=[service("90832", "50.00", "50.00")])],
            [*header("70.00"), *claim("CBC", "1", "70.00", "70.00")],
        ],
        control=2,
        group=8,
        element="|",
        component=">",
        newline=False,
    )
    # When the file is read
    remittances = parse_835(first + second)
    # Then each transaction set is its own remittance with its envelope's control numbers and composites split
    assert [
        (r.interchange_control_number, r.group_control_number, r.transaction_control_number) for r in remittances
    ] == [("000000001", "7", "0001"), ("000000002", "8", "0001"), ("000000002", "8", "0002")]
    assert [c.patient_control_number for r in remittances for c in r.claims] == ["CBA", "CBB", "CBC"]
    assert remittances[1].claims[0].lines[0].procedure.code == "90832"
    assert all(balance_problems(r) == [] for r in remittances)


def test_parse_835_skips_unknown_segments_and_notes_unreadable_amounts() -> None:
    # Given segments the reader does not use (TS3, RDM, a made-up ZZZ), a non-numeric CLP03 and a repeated payer loop
    body = [
        *header("100.00"),
        ("TS3", PAYEE_NPI, "11", "20261231", "1", "100.00"),
        ("ZZZ", "1", "2"),
        ("CLP", "CBODD", "1", "ABC", "100.00", "", "12", "PCN9"),
        ("NM1", "QC", "1", "TESTPATIENT", "JANIEQ", "", "", "", "MI", MEMBER_ID),
        ("RDM", "BM", "SOMEONE"),
        ("N1", "PR", "ANOTHER PAYER"),
        ("REF", "2U", "OTHER"),
    ]
    # When it is read
    remittance = _one(interchange([body]))
    # Then the claim is there, the unreadable amount and the repeated loop are noted by location, and nothing crashed
    (odd,) = remittance.claims
    assert odd.charge == Decimal(0) and odd.paid == Decimal("100.00")
    assert remittance.payer_id == PAYER_ID
    assert remittance.problems == (
        f"2100 CLP03 (segment {odd.position}): not an X12 decimal number; read as 0",
        f"1000A N1 (segment {odd.position + 3}): the 1000A loop repeats; the first one is kept",
    )
    _assert_no_phi(remittance)


def test_parse_835_keeps_a_transaction_set_cut_short() -> None:
    # Given an 835 whose SE, GE and IEA never came
    text = interchange([[*header("100.00"), *claim("CBCUT", "1", "100.00", "100.00")]], close=False)
    # When it is read
    remittance = _one(text)
    # Then the claim read so far is kept and the missing SE is noted
    assert [c.patient_control_number for c in remittance.claims] == ["CBCUT"]
    assert remittance.problems == ("Trailer SE: transaction set 0001 has no SE; read up to its end",)


def test_parse_835_skips_other_transaction_sets_and_needs_an_isa() -> None:
    # Given a 999 and a text that is not X12 at all
    ack = interchange([[("AK1", "HC", "1", "005010X222A1"), ("AK9", "A", "1", "1", "1")]]).replace("ST*835", "ST*999")
    # When they are read / Then the 999 gives no remittance and the non-X12 text names the ISA
    assert parse_835(ack) == []
    with pytest.raises(X12SyntaxError) as raised:
        parse_835("NOT AN X12 FILE " + MEMBER_ID)
    assert raised.value.x12_location == "ISA"
    assert MEMBER_ID not in str(raised.value)


# --- third-party files (../shared/corpus/x12/835): every 835 must read, with the counts it holds

CORPUS_835: Mapping[str, tuple[list[tuple[str, str, str, int, int, int]], bool]] = {
    # file: ([(ISA13, GS06, ST02, claims, service lines, PLB entries) per transaction set], balances)
    "edi835parser__emedny_sample.x12": ([("006000600", "6000600", "1740", 3, 10, 0)], True),
    "edi835parser__united_healthcare_legacy_sample.x12": ([("444444444", "444444444", "000000064", 2, 5, 0)], True),
    "lfh-x12__cob-contractural-adjustment.x12": ([("000000907", "1", "0001", 1, 1, 0)], True),
    "lfh-x12__managed-care.x12": ([("000000907", "1", "112233", 2, 2, 0)], True),
    "lfh-x12__medicare-part-a.x12": ([("000000907", "1", "1234", 2, 0, 1)], True),
    "lfh-x12__secondary-payment.x12": ([("000000907", "1", "1234", 2, 2, 0)], True),
    # SVC01 is split over two elements ("HC*24599.00"), so SVC02/03 hold the paid amounts: the line cannot balance
    "lfh-x12__tertiary-payment.x12": ([("000000907", "1", "0001", 1, 1, 0)], False),
    # 4010-era sample: a bare "CLP*090909*22", CLP05 without PR adjustments, BPR02 that ignores the PLB
    "oopfactory__Example1.x12": ([("004075123", "1", "07504123", 10, 9, 1)], False),
    # de-identified with 9s: amounts no longer add up
    "oopfactory__ExampleFromNth.x12": (
        [
            ("000000031", "8", "8001", 19, 38, 0),
            ("000000032", "9", "9001", 23, 24, 0),
            ("000000033", "10", "10001", 14, 29, 0),
        ],
        False,
    ),
    "pyx12__835_mult_loops.x12": ([("000238388", "383880001", "0001", 1, 3, 0)], True),
    # the predetermination claim states no CLP05 for its PR adjustments
    "tigershark__5010-835-example-1.x12": ([("000004592", "45920001", "0001", 3, 9, 0)], False),
    "tigershark__5010-835-example-2.x12": ([("000004592", "45920001", "0001", 2, 6, 0)], True),
    "tigershark__5010-835-example-3.x12": ([("000004592", "45920001", "0001", 2, 2, 0)], True),
}


def _corpus_835(corpus_dir: Path) -> list[Path]:
    files = sorted((corpus_dir / "x12" / "835").glob("*.x12"))
    if not files:
        pytest.skip("no 835 files in the corpus")
    assert {path.name for path in files} <= set(CORPUS_835), "a new corpus file needs its expected counts here"
    return files


def _corpus_file(corpus_dir: Path, name: str) -> Remittance:
    path = corpus_dir / "x12" / "835" / name
    if not path.is_file():
        pytest.skip("corpus file is not present")
    return _one(path.read_text(encoding="utf-8-sig"))


def test_parse_835_reads_every_corpus_835_with_its_counts_and_balance(corpus_dir: Path) -> None:
    # Given every third-party 835 of the corpus (4010-era codes, BOM and indentation, three interchanges in one file)
    for path in _corpus_835(corpus_dir):
        text = path.read_text(encoding="utf-8-sig")
        # When it is read
        remittances = parse_835(text)
        # Then transactions, claims, lines and PLB entries are what the file holds, and it balances or not as known
        counts = [
            (
                r.interchange_control_number,
                r.group_control_number,
                r.transaction_control_number,
                len(r.claims),
                r.service_line_count,
                len(r.provider_adjustments),
            )
            for r in remittances
        ]
        expected_counts, balances = CORPUS_835[path.name]
        assert counts == expected_counts, path.name
        assert all(balance_problems(r) == [] for r in remittances) is balances, path.name
        assert response_kind(text) == "835"


def test_parse_835_reads_the_uhc_sample_in_detail(corpus_dir: Path) -> None:
    # Given the UnitedHealthcare sample ("^" repetition, ">" components, several CAS triplets)
    remittance = _corpus_file(corpus_dir, "edi835parser__united_healthcare_legacy_sample.x12")
    # Then payment, payer id (REF*2U), payee NPI, claim dates, line control numbers and triplets are read
    assert (remittance.total_paid, remittance.payment_method, remittance.payment_date) == (
        Decimal("349.99"),
        "ACH",
        date(2021, 2, 4),
    )
    assert (remittance.payer_id, remittance.payee_id_qualifier, remittance.payee_id) == ("87726", "XX", "1922164458")
    first, second = remittance.claims
    assert (first.patient_control_number, first.filing_indicator, first.payer_claim_control_number) == (
        "001-18573-358",
        "16",
        "ATL2819897200",
    )
    assert (first.statement_from, first.statement_to, first.received) == (
        date(2020, 12, 21),
        date(2021, 1, 13),
        date(2021, 1, 14),
    )
    assert [line.line_control_number for line in first.lines] == ["800941258001", "800941258002"]
    assert first.lines[0].procedure == ProcedureCode(qualifier="HC", code="B4152")
    assert first.lines[1].units == Decimal(277)
    assert [(a.key, a.amount) for a in second.lines[2].adjustments] == [
        ("PR-2", Decimal("5.13")),
        ("PR-1", Decimal(110)),
        ("CO-45", Decimal("184.32")),
    ]
    assert second.lines[2].allowed == Decimal("144.18")
    _assert_no_phi(remittance)


def test_parse_835_reads_the_4010_era_sample_with_reversals_and_plb(corpus_dir: Path) -> None:
    # Given the oopfactory sample (BOM, indentation, "CR" group, reversals, a PLB, a bare CLP)
    remittance = _corpus_file(corpus_dir, "oopfactory__Example1.x12")
    # Then the reversals are read with negative amounts, the PLB with its reference, the bare CLP noted
    reversals = [c for c in remittance.claims if c.is_reversal]
    assert [(c.patient_control_number, c.paid) for c in reversals] == [
        ("123456", Decimal("-42.58")),
        ("090909", Decimal("-86.76")),
        ("090909", Decimal(0)),
    ]
    assert reversals[1].lines[0].remarks == ("MA92",)
    assert reversals[1].lines[0].units == Decimal(-4)
    assert [p.corrected for p in pair_reversals(remittance.claims)] == [None, None, None]
    assert [(p.reason, p.reference, p.amount) for p in remittance.provider_adjustments] == [
        ("CV", "9876514", Decimal("-1.27"))
    ]
    assert remittance.claims[1].lines[0].procedure == ProcedureCode(qualifier="ZZ", code="M2200", modifiers=("HE",))
    assert [problem.split(":")[1] for problem in remittance.problems] == [
        " required amount is missing; read as 0",
        " required amount is missing; read as 0",
    ]
    _assert_no_phi(remittance)


def test_parse_835_reads_original_codes_units_and_revenue_codes(corpus_dir: Path) -> None:
    # Given the tigershark samples: SVC04 revenue codes, SVC07 original units, DTM*150/151 line periods
    second = _corpus_file(corpus_dir, "tigershark__5010-835-example-2.x12")
    third = _corpus_file(corpus_dir, "tigershark__5010-835-example-3.x12")
    # Then those elements land in their fields
    paid_line = second.claims[0].lines[0]
    assert (paid_line.procedure.qualifier, paid_line.procedure.code, paid_line.original_units) == (
        "NU",
        "0450",
        Decimal(0),
    )
    assert second.claims[1].lines[2].revenue_code == "0300"
    assert second.claims[1].all_remarks == ("N142",)
    line = third.claims[0].lines[0]
    assert (line.units, line.original_units) == (Decimal(8), Decimal(76))
    assert (line.service_from, line.service_to) == (date(2009, 1, 13), date(2009, 1, 13))
    assert line.procedure.modifiers == ("P2",)


def test_parse_835_reads_medicare_remarks_from_moa(corpus_dir: Path) -> None:
    # Given the Medicare Part A sample (MIA on the first claim, MOA*** MA02 on the second, a PLB)
    remittance = _corpus_file(corpus_dir, "lfh-x12__medicare-part-a.x12")
    # Then the MOA remark is on its claim and the payer id comes from REF*2U
    assert [c.remarks for c in remittance.claims] == [(), ("MA02",)]
    assert remittance.payer_id == "999"
    assert balance_problems(remittance) == []


# --- whatever a payer sends, the reader does not crash


def _sample_body() -> list[Seg]:
    return [
        *header("182.50"),
        *claim(
            "CBFUZZ01",
            "1",
            "200.00",
            "112.50",
            "37.50",
            remarks=("MA01",),
            lines=[
                service(
                    "90837",
                    "200.00",
                    "112.50",
                    modifiers=("95", "HO"),
                    adjustments=[cas("CO", ("45", "50.00")), cas("PR", ("2", "17.50", "1"), ("3", "20.00"))],
                    allowed="150.00",
                    control="CBFUZZ01-1",
                    remarks=("N290",),
                )
            ],
        ),
        *claim("CBFUZZ02", "22", "-80.00", "-80.00", adjustments=[cas("CO", ("16", "-80.00"))]),
        plb(("L6", "-2.50"), ("WO:CB-OLD-9", "20.00")),
    ]


_GARBAGE = st.text(alphabet="0123456789.-+eE:*~^ ABCNQXZ\t", max_size=12)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=20), _GARBAGE),
        min_size=1,
        max_size=8,
    ),
    dropped=st.lists(st.integers(min_value=0), max_size=3),
)
def test_parse_835_never_crashes_on_garbled_segments(edits: list[tuple[int, int, str]], dropped: list[int]) -> None:
    # Given the sample 835 with elements overwritten by garbage (delimiters included) and segments dropped
    body: list[list[Element]] = [list(segment) for segment in _sample_body()]
    for segment_pick, element_pick, value in edits:
        segment = body[segment_pick % len(body)]
        index = 1 + element_pick % (len(segment) + 2)  # may write past the last element
        segment.extend([""] * (index + 1 - len(segment)))
        segment[index] = value
    for pick in dropped:
        if len(body) > 1:
            body.pop(pick % len(body))
    text = interchange([[tuple(segment) for segment in body]])
    # When it is read, balanced, classified and summarised / Then nothing raises and no PHI leaks into problems
    for remittance in parse_835(text):
        problems = [*remittance.problems, *balance_problems(remittance)]
        pair_reversals(remittance.claims)
        for payment in remittance.claims:
            classify(payment)
        remit_document([remittance])
        remit_text([remittance])
        for value in PHI_VALUES:
            assert all(value not in problem for problem in problems)
