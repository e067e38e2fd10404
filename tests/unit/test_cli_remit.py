"""claimbridge remit: per claim status, money, adjustments, remarks, denial category and next action; no PHI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claimbridge.cli import main
from tests.unit.remit_builders import (
    MEMBER_ID,
    PAYEE_NAME,
    PAYER_NAME,
    PHI_VALUES,
    cas,
    claim,
    header,
    interchange,
    service,
)

pytestmark = pytest.mark.unit

CLAIM_KEYS = [
    "patient_control_number",
    "status_code",
    "paid",
    "patient_responsibility",
    "adjustments",
    "remarks",
    "category",
    "action",
]
NOT_PRINTED = (*PHI_VALUES, PAYER_NAME, PAYEE_NAME)


def _remittance(tmp_path: Path) -> Path:
    """Paid with patient amounts, denied CO-197, denied CO-16 + N290, and a reversal."""
    text = interchange(
        [
            [
                *header("62.50"),
                *claim(
                    "CBPAID01",
                    "1",
                    "200.00",
                    "112.50",
                    "37.50",
                    lines=[
                        service(
                            "90837",
                            "200.00",
                            "112.50",
                            modifiers=("95",),
                            adjustments=[cas("CO", ("45", "50.00")), cas("PR", ("2", "17.50"), ("3", "20.00"))],
                            allowed="150.00",
                        )
                    ],
                ),
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
                *claim("CBOLD001", "22", "-50.00", "-50.00"),
            ]
        ]
    )
    path = tmp_path / "remit.835"
    path.write_text(text, encoding="ascii")
    return path


def test_cli_remit_json_gives_exactly_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a built 835 with a paid, two denied and a reversed claim
    path = _remittance(tmp_path)
    # When it is read as JSON
    code = main(["remit", str(path), "--json"])
    captured = capsys.readouterr()
    # Then stdout is exactly {"claims": [...]} with the documented keys, amounts as two-decimal strings
    document = json.loads(captured.out)
    assert list(document) == ["claims"]
    assert all(list(entry) == CLAIM_KEYS for entry in document["claims"])
    paid, auth, rendering, reversal = document["claims"]
    assert paid == {
        "patient_control_number": "CBPAID01",
        "status_code": "1",
        "paid": "112.50",
        "patient_responsibility": "37.50",
        "adjustments": [
            {"group": "CO", "reason": "45", "amount": "50.00"},
            {"group": "PR", "reason": "2", "amount": "17.50"},
            {"group": "PR", "reason": "3", "amount": "20.00"},
        ],
        "remarks": [],
        "category": "patient_responsibility",
        "action": "BILL_PATIENT",
    }
    assert (auth["category"], auth["action"], auth["adjustments"]) == (
        "authorization",
        "RESUBMIT_CORRECTED",
        [{"group": "CO", "reason": "197", "amount": "180.00"}],
    )
    assert (rendering["category"], rendering["action"], rendering["remarks"]) == (
        "credentialing",
        "RESUBMIT_CORRECTED",
        ["N290"],
    )
    assert (reversal["status_code"], reversal["paid"], reversal["category"], reversal["action"]) == (
        "22",
        "-50.00",
        None,
        None,
    )
    assert code == 0
    assert captured.err == ""
    for value in NOT_PRINTED:
        assert value not in captured.out


def test_cli_remit_text_prints_each_claim_with_its_decision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the same 835
    path = _remittance(tmp_path)
    # When it is read as text
    code = main(["remit", str(path)])
    out = capsys.readouterr().out
    # Then each claim shows status, charge, paid, patient amount, adjustments, remarks, category and action
    assert code == 0
    assert out.splitlines()[0] == (
        "835 ST 0001 (ISA 000000101, GS 7): trace EFT0001, BPR02 62.50 ACH, 4 claim(s), 3 line(s), 0 PLB adjustment(s)"
    )
    assert (
        "  CBPAID01: status 1 (Processed as Primary), charge 200.00, paid 112.50, patient 37.50 -> PAID\n"
        "    adjustments: CO-45 50.00, PR-2 17.50, PR-3 20.00\n"
        "    category: patient_responsibility, action: BILL_PATIENT (decided by PR-2)\n"
    ) in out
    assert (
        "  CBREND01: status 4 (Denied), charge 120.00, paid 0.00, patient 0.00 -> DENIED\n"
        "    adjustments: CO-16 120.00\n"
        "    remarks: N290\n"
        "    category: credentialing, action: RESUBMIT_CORRECTED (decided by CO-16 + N290)\n"
    ) in out
    assert "  CBOLD001: status 22 (Reversal of Previous Payment)" in out
    assert "balance:" not in out
    for value in NOT_PRINTED:
        assert value not in out


def test_cli_remit_reads_a_corpus_835(corpus_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the emedny sample (a paid, a timely-filing denial and a partial payment)
    path = corpus_dir / "x12" / "835" / "edi835parser__emedny_sample.x12"
    if not path.is_file():
        pytest.skip("corpus file is not present")
    # When it is read as JSON
    code = main(["remit", str(path), "--json"])
    captured = capsys.readouterr()
    # Then the three claims come out with their decisions and none of the patient names or member ids
    claims = json.loads(captured.out)["claims"]
    assert code == 0
    assert [(c["status_code"], c["paid"], c["category"], c["action"]) for c in claims] == [
        ("1", "34.25", None, None),
        ("2", "0.00", "timely_filing", "WRITE_OFF"),
        ("2", "11.50", "documentation", "RESUBMIT_CORRECTED"),
    ]
    assert claims[2]["remarks"] == ["N206"]
    for value in ("SUBMITTED LAST", "CORRECTED FIRST", "LL99999L", "LL88888L", "LL77777L", "NYSDOH"):
        assert value not in captured.out


def test_cli_remit_text_reports_balance_and_read_problems(corpus_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the 4010-era sample whose BPR02 ignores its PLB and whose last CLP is bare
    path = corpus_dir / "x12" / "835" / "oopfactory__Example1.x12"
    if not path.is_file():
        pytest.skip("corpus file is not present")
    # When it is read as text
    code = main(["remit", str(path)])
    out = capsys.readouterr().out
    # Then the file still reads (exit 0) and the problems are listed by location
    assert code == 0
    assert "  read: 2100 CLP03 (segment 98): required amount is missing; read as 0" in out
    assert "  balance: Header BPR02 (transaction set 07504123 at segment 3): " in out
    for value in ("FUDD", "ELMER", "1333333", "SIMPSON"):
        assert value not in out


@pytest.mark.parametrize(
    ("content", "location"),
    [
        (None, "cannot be read"),
        ("NOT AN X12 FILE " + MEMBER_ID, ": ISA: "),
        (interchange([[("AK1", "HC", "1")]]).replace("ST*835", "ST*999"), ": ST: "),
    ],
    ids=["missing", "not-x12", "no-835"],
)
def test_cli_remit_exits_2_when_the_file_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, location: str
) -> None:
    # Given a missing file, a text that is not X12, and an X12 file without an 835
    path = tmp_path / "input.835"
    if content is not None:
        path.write_text(content, encoding="ascii")
    # When it is read
    code = main(["remit", str(path), "--json"])
    captured = capsys.readouterr()
    # Then the exit status is 2, stdout is empty and stderr names the place, never the data
    assert code == 2
    assert captured.out == ""
    assert location in captured.err
    assert MEMBER_ID not in captured.err
