"""claimbridge.x12.acks: 999 and 277CA builders write what pyx12 accepts, readers read it back and read real files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from claimbridge.x12.acks import (
    AckEnvelope,
    ClaimAckReport,
    ClaimStatus,
    ElementError,
    FunctionalGroupAck,
    LineStatus,
    LineStatusAck,
    Party,
    ProviderClaims,
    SegmentError,
    StatusCode,
    TransactionSetAck,
    build_277ca,
    build_999,
    parse_277ca,
    parse_999,
    response_kind,
)
from claimbridge.x12.validate import validate_x12

pytestmark = pytest.mark.unit

ENVELOPE = AckEnvelope(
    sender_id="CBSANDBOX",
    receiver_id="DEMOBH01",
    interchange_number=42,
    group_number=7,
    created=datetime(2026, 3, 3, 9, 5),
)
ACCEPTED = StatusCode(category="A2", status="20")
REJECTED = StatusCode(category="A7", status="562", entity="85")

MIXED_GROUP = FunctionalGroupAck(
    group_control_number="1001",
    version="005010X222A1",
    status="P",
    transactions_included=2,
    transactions_received=2,
    transactions_accepted=1,
    transactions=(
        TransactionSetAck(control_number="0001", implementation="005010X222A1", status="A"),
        TransactionSetAck(
            control_number="0002",
            implementation="005010X222A1",
            status="R",
            error_codes=("5",),
            segment_errors=(
                SegmentError(
                    segment_id="CLM",
                    position=22,
                    loop_id="2300",
                    code="8",
                    claim_ref="CB7Q2K9D1",
                    element_errors=(ElementError(position=5, component=3, code="7"),),
                ),
                SegmentError(segment_id="N4", position=9, loop_id="2010AA", code="3"),
            ),
        ),
    ),
)


def _patient(first: str) -> Party:
    return Party(name="TESTPATIENT", first=first, id_qualifier="MI", id="W123456789")


def _claim(pcn: str, status: StatusCode, charge: str, *, lines: tuple[LineStatus, ...] = ()) -> ClaimStatus:
    return ClaimStatus(
        patient=_patient("ALEX"),
        patient_control_number=pcn,
        status=status,
        total_charge=Decimal(charge),
        service_from=date(2026, 3, 2),
        service_to=date(2026, 3, 6) if lines else date(2026, 3, 2),
        payer_claim_control_number=None if status == REJECTED else f"PAYER-{pcn}",
        clearinghouse_trace_number=f"TRACE-{pcn}",
        lines=lines,
    )


REJECTED_LINE = LineStatus(
    procedure=("HC", "90834", "95"),
    charge=Decimal("140"),
    units=Decimal(1),
    status=REJECTED,
    line_item_control_number="CLMDEP01-2",
    service_date=date(2026, 3, 2),
)
REPORT = ClaimAckReport(
    source=Party(name="CLAIMBRIDGE SANDBOX", id_qualifier="46", id="CBSANDBOX"),
    receiver=Party(name="DEMO BEHAVIORAL HEALTH LLC", id_qualifier="46", id="DEMOBH01"),
    source_trace="SBX0000001",
    receiver_trace="000000001-0001",
    received=date(2026, 3, 3),
    processed=date(2026, 3, 3),
    providers=(
        ProviderClaims(
            provider=Party(name="DEMO BEHAVIORAL HEALTH LLC", id_qualifier="XX", id="1234567893"),
            claims=(
                _claim("CLMSELF1", ACCEPTED, "180"),
                _claim("CLMDEP01", REJECTED, "355.50", lines=(REJECTED_LINE,)),
            ),
        ),
        ProviderClaims(
            provider=Party(name="RIVERA", first="JORDAN", id_qualifier="XX", id="1111111112"),
            claims=(_claim("CLMSOLO1", ACCEPTED, "95.5"),),
        ),
    ),
)


def test_build_999_passes_pyx12_and_reads_back() -> None:
    # Given a partially accepted group with segment and element errors
    # When it is written as a 999
    text = build_999([MIXED_GROUP], envelope=ENVELOPE)
    # Then pyx12 (X231A1 map) finds nothing wrong with it
    assert validate_x12(text) == []
    # And reading it gives the same acknowledgement (loop ids cut to IK303's 4 characters) plus its own numbers
    (group,) = parse_999(text)
    rejected = MIXED_GROUP.transactions[1]
    clm_error, n4_error = rejected.segment_errors
    expected = MIXED_GROUP.model_copy(
        update={
            "transactions": (
                MIXED_GROUP.transactions[0],
                rejected.model_copy(
                    update={"segment_errors": (clm_error, n4_error.model_copy(update={"loop_id": "2010"}))}
                ),
            )
        }
    )
    assert group.model_copy(update={"interchange_control_number": None, "ack_control_number": None}) == expected
    assert (group.interchange_control_number, group.ack_control_number) == ("000000042", "0001")


def test_build_999_writes_one_transaction_set_per_group() -> None:
    # Given two acknowledged groups
    accepted = MIXED_GROUP.model_copy(
        update={
            "group_control_number": "1002",
            "status": "A",
            "transactions_included": 1,
            "transactions_received": 1,
            "transactions_accepted": 1,
            "transactions": (MIXED_GROUP.transactions[0],),
        }
    )
    # When they are written
    text = build_999([MIXED_GROUP, accepted], envelope=ENVELOPE)
    # Then each is its own ST, and pyx12 accepts the whole interchange
    assert validate_x12(text) == []
    groups = parse_999(text)
    assert [(g.group_control_number, g.ack_control_number, g.status) for g in groups] == [
        ("1001", "0001", "P"),
        ("1002", "0002", "A"),
    ]


def test_build_277ca_passes_pyx12_and_reads_back() -> None:
    # Given claim statuses under two billing providers, one claim rejected with a line
    # When the 277CA is written
    text = build_277ca(REPORT, envelope=ENVELOPE)
    # Then pyx12 (X214 map) finds nothing wrong with it
    assert validate_x12(text) == []
    # And every claim reads back with its status, charge, payer claim number and provider
    claims = parse_277ca(text)
    assert [(c.patient_control_number, c.status, c.total_charge, c.outcome) for c in claims] == [
        ("CLMSELF1", ACCEPTED, Decimal(180), "accepted"),
        ("CLMDEP01", REJECTED, Decimal("355.5"), "rejected"),
        ("CLMSOLO1", ACCEPTED, Decimal("95.5"), "accepted"),
    ]
    assert [c.payer_claim_control_number for c in claims] == ["PAYER-CLMSELF1", None, "PAYER-CLMSOLO1"]
    assert [c.billing_provider_id for c in claims] == ["1234567893", "1234567893", "1111111112"]
    assert [c.action_code for c in claims] == ["WQ", "U", "WQ"]
    assert claims[1].clearinghouse_trace_number == "TRACE-CLMDEP01"
    assert claims[1].lines[0] == LineStatusAck(
        procedure=("HC", "90834", "95"),
        charge=Decimal(140),
        units=Decimal(1),
        line_item_control_number="CLMDEP01-2",
        statuses=(REJECTED,),
    )
    assert {(c.interchange_control_number, c.group_control_number, c.transaction_control_number) for c in claims} == {
        ("000000042", "7", "0001")
    }


def test_build_277ca_blanks_our_delimiters_inside_values() -> None:
    # Given a name that holds this file's element and component separators (legal in an 837 with other delimiters)
    report = REPORT.model_copy(update={"source": Party(name="ACME*CLEARING:HOUSE", id_qualifier="46", id="CBSANDBOX")})
    # When the 277CA is written
    text = build_277ca(report, envelope=ENVELOPE)
    # Then the value cannot break the segment, and the file is still valid
    assert "NM1*PR*2*ACME CLEARING HOUSE*****46*CBSANDBOX~" in text
    assert validate_x12(text) == []


def _with_delimiters(text: str, element: str, component: str, terminator: str) -> str:
    """Re-delimit one of our files ("*", ":", "~", newline after each segment)."""
    table = str.maketrans({"*": element, ":": component, "~": terminator})
    return text.replace("~\n", "~").translate(table)


def test_parse_999_takes_delimiters_from_the_isa() -> None:
    # Given our 999 rewritten with "|" elements, ">" components and "!" as segment terminator, on one line
    text = _with_delimiters(build_999([MIXED_GROUP], envelope=ENVELOPE), "|", ">", "!")
    # When it is read
    (group,) = parse_999(text)
    # Then the composite IK401 (5:3) and the CTX business unit still split right
    error = group.transactions[1].segment_errors[0]
    assert error.claim_ref == "CB7Q2K9D1"
    assert error.element_errors == (ElementError(position=5, component=3, code="7"),)


def test_parse_277ca_reads_several_interchanges_with_their_own_delimiters() -> None:
    # Given two 277CA interchanges in one file, the second with other delimiters and a byte-order mark first
    first = build_277ca(REPORT, envelope=ENVELOPE)
    second = _with_delimiters(
        build_277ca(REPORT, envelope=ENVELOPE.model_copy(update={"interchange_number": 43})), "|", ">", "\n"
    )
    # When the file is read
    claims = parse_277ca("\ufeff" + first + second)
    # Then both interchanges' claims come out, each with its own ISA13
    assert len(claims) == 6
    assert [c.interchange_control_number for c in claims] == ["000000042"] * 3 + ["000000043"] * 3
    assert claims[4].status == REJECTED


def test_parse_999_keeps_bad_data_values_out() -> None:
    # Given a 999 whose IK4 copies the bad value (IK404) and whose CTX copies a segment
    text = (
        "ISA*00*          *00*          *ZZ*CH             *ZZ*SUB            *260303*0905*^*00501*000000001*0*T*:~"
        "GS*FA*CH*SUB*20260303*0905*1*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HC*1*005010X222A1~"
        "AK2*837*0001*005010X222A1~IK3*NM1*9*2010BA*8~CTX*SITUATIONAL TRIGGER*NM1*9**3~"
        "IK4*3*1035*5*SECRETLASTNAMEWAYTOOLONGFORTHEELEMENTSECRETLASTNAMEWAYTOOLONGFORTHEELEMENT~"
        "IK5*R*5~AK9*R*1*1*0~SE*9*0001~GE*1*1~IEA*1*000000001~"
    )
    # When it is read
    (group,) = parse_999(text)
    # Then codes and positions are there, the value is not
    error = group.transactions[0].segment_errors[0]
    assert (error.segment_id, error.position, error.loop_id, error.code, error.claim_ref) == (
        "NM1",
        9,
        "2010BA",
        "8",
        None,
    )
    assert error.element_errors == (ElementError(position=3, data_element="1035", code="5"),)
    assert "SECRET" not in group.model_dump_json()


@pytest.mark.parametrize(
    ("trailer", "expected_status", "expected_accepted"),
    [
        ("IK5*A~AK9*A*1*1*1~", "A", 1),
        ("IK5*E~AK9*E*1*1*1~", "E", 1),
        ("", "R", 0),  # no IK5/AK9: a 999 that does not say "accepted" must not advance a claim
    ],
)
def test_parse_999_reads_verdicts(trailer: str, expected_status: str, expected_accepted: int) -> None:
    # Given a 999 with the given IK5/AK9
    text = (
        "ISA*00*          *00*          *ZZ*CH             *ZZ*SUB            *260303*0905*^*00501*000000001*0*T*:~"
        f"GS*FA*CH*SUB*20260303*0905*1*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HC*77~AK2*837*0001~{trailer}"
        "SE*5*0001~GE*1*1~IEA*1*000000001~"
    )
    # When it is read
    (group,) = parse_999(text)
    # Then the group and the transaction carry that verdict
    assert (group.status, group.transactions_accepted) == (expected_status, expected_accepted)
    assert group.transactions[0].status == expected_status
    assert group.transactions[0].accepted is (expected_accepted == 1)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (build_999([MIXED_GROUP], envelope=ENVELOPE), "999"),
        (build_277ca(REPORT, envelope=ENVELOPE), "277CA"),
        (build_999([MIXED_GROUP], envelope=ENVELOPE).replace("ST*999", "ST*835"), "835"),
        (build_999([MIXED_GROUP], envelope=ENVELOPE).replace("ST*999", "ST*997"), None),
    ],
)
def test_response_kind_reads_first_transaction_set(text: str, kind: str | None) -> None:
    # Given a response document / When its kind is asked / Then ST01 (and ST03 for 277) decide
    assert response_kind(text) == kind


# --- third-party files (../shared/corpus/x12): every 999 and 277CA must read, with the counts they hold

CORPUS_999 = {
    # file: [(AK102, AK901, [(AK202, IK501, IK3 count)])]
    "imsweb__x12_999_accepted.x12": [("17456", "A", [("0001", "A", 0)])],
    "imsweb__x12_999_rejected.x12": [("28", "R", [("0028", "R", 1)])],
    "oopfactory__DHS_Wisconsin_Sample.x12": [("17456", "P", [("0001", "A", 0), ("002", "R", 1), ("0003", "R", 1)])],
    "pyx12__834_ls_le_ls_5010.999.x12": [("146", "A", [("146001", "A", 0)])],
    "pyx12__834_lui_id_5010.999.x12": [("13360001", "A", [("0001", "A", 0)])] * 4,
}
CORPUS_277CA = {
    # file: [(TRN02 in 2200D, STC01 of the first STC, STC04, REF*1K)]
    "imsweb__x12_277CA_accepted.x12": [("5781", "A2:20", Decimal(125), "1107000000014420")],
    "imsweb__x12_277CA_rejected.x12": [("3920394930203", "A7:562:85", Decimal("199.14"), "1107000000001120")],
    "oopfactory__277_Deidentified_from_nth.x12": [
        ("99999999-99999", "X9:999:99", Decimal(220), None),
        ("99999999-99999", "X9:999:99", Decimal(340), None),
        ("99999999-99999", "X9:999:99", Decimal(340), None),
    ],
    "oopfactory__FromAlexbrodsky.x12": [("3920394930203", "A7:562:85", Decimal("199.14"), "1107000000001120")],
    "oopfactory__FromBogeyone.x12": [],  # cut off after the receiver level: no claim to report
    "oopfactory__FromLatitude81uk.x12": [("MVC132-0145454", "A2:20:PRP", Decimal(442), "545454")],
}


def _corpus_files(corpus_dir: Path, folder: str, expected: Mapping[str, object]) -> list[Path]:
    files = sorted((corpus_dir / "x12" / folder).glob("*.x12"))
    if not files:
        pytest.skip(f"no {folder} files in the corpus")
    assert {path.name for path in files} <= set(expected), "a new corpus file needs its expected counts here"
    return files


def test_parse_999_reads_every_corpus_999(corpus_dir: Path) -> None:
    # Given every third-party 999 of the corpus
    for path in _corpus_files(corpus_dir, "999", CORPUS_999):
        # When it is read
        groups = parse_999(path.read_text(encoding="utf-8-sig"))
        # Then groups, verdicts and error counts are what the file says
        summary = [
            (
                g.group_control_number,
                g.status,
                [(t.control_number, t.status, len(t.segment_errors)) for t in g.transactions],
            )
            for g in groups
        ]
        assert summary == CORPUS_999[path.name], path.name


def test_parse_999_reads_ctx_and_ik4_of_corpus_sample(corpus_dir: Path) -> None:
    # Given the Wisconsin sample, whose rejected transaction names its claim in CTX*CLM01 and has an IK4
    path = corpus_dir / "x12" / "999" / "oopfactory__DHS_Wisconsin_Sample.x12"
    if not path.is_file():
        pytest.skip("corpus file is not present")
    # When it is read
    (group,) = parse_999(path.read_text(encoding="utf-8-sig"))
    # Then the claim reference and the element error are there
    error = group.transactions[1].segment_errors[0]
    assert (error.segment_id, error.position, error.code, error.claim_ref) == ("CLM", 22, "8", "123456789")
    assert error.element_errors == (ElementError(position=2, data_element="782", code="1"),)
    assert group.transactions[2].segment_errors[0].claim_ref == "987654321"


def test_parse_277ca_reads_every_corpus_277ca(corpus_dir: Path) -> None:
    # Given every third-party 277CA of the corpus (mixed delimiters, indentation, a truncated file)
    for path in _corpus_files(corpus_dir, "277ca", CORPUS_277CA):
        # When it is read
        claims = parse_277ca(path.read_text(encoding="utf-8-sig"))
        # Then each claim has its patient control number, first status, charge and payer claim number
        summary = [
            (
                c.patient_control_number,
                c.status.composite(":") if c.status else None,
                c.total_charge,
                c.payer_claim_control_number,
            )
            for c in claims
        ]
        assert summary == CORPUS_277CA[path.name], path.name
        assert response_kind(path.read_text(encoding="utf-8-sig")) == "277CA"


def test_parse_277ca_keeps_every_status_of_a_claim(corpus_dir: Path) -> None:
    # Given the nth sample, where each claim carries three STC segments
    path = corpus_dir / "x12" / "277ca" / "oopfactory__277_Deidentified_from_nth.x12"
    if not path.is_file():
        pytest.skip("corpus file is not present")
    # When it is read
    first = parse_277ca(path.read_text(encoding="utf-8-sig"))[0]
    # Then all three statuses are kept in order, and an unknown category is "pending"
    assert [s.composite(":") for s in first.statuses] == ["X9:999:99", "X9:999:XX", "X9:999:99"]
    assert first.outcome == "pending"
    assert first.action_code == "U"
