"""claimbridge.x12.validate: pyx12 finds real errors, passes clean interchanges and never leaks data values."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from claimbridge.x12.validate import X12Issue, validate_837p, validate_x12

pytestmark = pytest.mark.unit

# Synthetic (demo tenant, fake patient): the 837P excerpt of fhir-input-contract section 12 in a full envelope.
CLEAN_837P = (
    "~".join(
        [
            "ISA*00*          *00*          *ZZ*DEMOBH01       *ZZ*CBSANDBOX      *260302*1530*^*00501*000000001*0*T*:",
            "GS*HC*DEMOBH01*CBSANDBOX*20260302*1530*1*X*005010X222A1",
            "ST*837*0001*005010X222A1",
            "BHT*0019*00*000000001*20260302*1530*CH",
            "NM1*41*2*DEMO BEHAVIORAL HEALTH LLC*****46*DEMOBH01",
            "PER*IC*BILLING OFFICE*TE*8165550100",
            "NM1*40*2*CLAIMBRIDGE SANDBOX*****46*CBSANDBOX",
            "HL*1**20*1",
            "PRV*BI*PXC*193400000X",
            "NM1*85*2*DEMO BEHAVIORAL HEALTH LLC*****XX*1234567893",
            "N3*123 MAIN ST",
            "N4*KANSAS CITY*MO*641081234",
            "REF*EI*123456789",
            "HL*2*1*22*0",
            "SBR*P*18*******CI",
            "NM1*IL*1*TESTPATIENT*ALEX****MI*W123456789",
            "N3*45 ELM ST",
            "N4*KANSAS CITY*MO*641081234",
            "DMG*D8*19900402*F",
            "NM1*PR*2*COMMERCIAL PLAN A*****PI*CMA01",
            "CLM*CB7Q2K9D1*180***10:B:1*Y*A*Y*Y",
            "HI*ABK:F411",
            "NM1*82*1*RIVERA*JORDAN****XX*1111111112",
            "PRV*PE*PXC*1041C0700X",
            "LX*1",
            "SV1*HC:90837:95*180*UN*1***1",
            "DTP*472*D8*20260302",
            "REF*6R*CB7Q2K9D1-1",
            "SE*27*0001",
            "GE*1*1",
            "IEA*1*000000001",
        ]
    )
    + "~"
)


def _without_segment(text: str, prefix: str) -> str:
    return "~".join(seg for seg in text.split("~") if not seg.startswith(prefix))


def test_validate_837p_accepts_clean_interchange() -> None:
    # Given a complete, hand-checked 837P
    # When it is validated
    issues = validate_837p(CLEAN_837P)
    # Then pyx12 reports nothing
    assert issues == []


@pytest.mark.parametrize(
    ("broken", "level", "code", "segment_id"),
    [
        (CLEAN_837P.replace("SE*27*", "SE*26*"), "transaction", "4", "SE"),
        (CLEAN_837P.replace("GE*1*1", "GE*2*1"), "group", "5", "GE"),
        (CLEAN_837P.replace("IEA*1*", "IEA*2*"), "interchange", "021", "IEA"),
        (CLEAN_837P.replace("*0*T*:", "*0*X*:"), "element", "7", "ISA"),
        (CLEAN_837P.replace("HL*2*1*22*0", "HL*2*3*22*0"), "segment", "HL2", "HL"),
        (CLEAN_837P.replace("10:B:1", "10:B"), "element", "1", "CLM"),
        (_without_segment(CLEAN_837P, "NM1*85"), "segment", "3", None),
    ],
    ids=["se01", "ge01", "iea01", "isa15", "hl-parent", "clm05-3", "no-2010aa"],
)
def test_validate_837p_reports_located_error(broken: str, level: str, code: str, segment_id: str | None) -> None:
    # Given a clean interchange with one defect
    # When it is validated
    issues = validate_837p(broken)
    # Then the defect is reported at its level, with its pyx12 code and segment
    matching = [i for i in issues if i.level == level and i.code == code]
    assert matching, [str(i) for i in issues]
    if segment_id is not None:
        assert matching[0].segment_id == segment_id


def test_validate_837p_names_loop_and_element() -> None:
    # Given an 837P whose CLM05-3 (claim frequency) is missing
    issues = validate_837p(CLEAN_837P.replace("10:B:1", "10:B"))
    # When the issue is read
    issue = next(i for i in issues if i.element == "CLM05-03")
    # Then it is located by IG loop, segment ordinal and pyx12 path
    assert issue.loop == "2300"
    assert issue.location == "2300 CLM05-03"
    assert issue.segment_index == 21
    assert issue.x12_path is not None
    assert issue.x12_path.endswith("/2300/CLM")


def test_validate_837p_refuses_other_implementation_guide() -> None:
    # Given an 837P labelled with the (non-adopted) A2 errata version
    relabelled = CLEAN_837P.replace("005010X222A1", "005010X222A2")
    # When it is validated as an 837P
    issues = validate_837p(relabelled)
    # Then the group version is refused (pyx12 has no A2 map either)
    assert any(i.level == "group" and i.code == "VERSION" for i in issues)


def test_validate_x12_reports_unreadable_input() -> None:
    # Given something that is not an interchange
    # When it is validated
    issues = validate_x12("NM1*IL*1*DOE*JANE~")
    # Then one interchange-level issue says so
    assert [(i.level, i.code) for i in issues] == [("interchange", "NOT-X12")]


def test_validate_x12_keeps_data_values_out_of_issues_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    # Given an interchange whose errors involve recognisable fake PHI
    secret_name = "ZYXWVUTSRQ"
    secret_member = "QQ987654321"
    broken = CLEAN_837P.replace("TESTPATIENT*ALEX", f"{secret_name}*ALEX").replace("W123456789", secret_member)
    broken = broken.replace("DMG*D8*19900402*F", f"DMG*D8*{secret_name}*F")  # an invalid date holding the name
    broken = broken.replace("NM1*PR*2", f"NM1*PR*{secret_member}")  # invalid code holding the member id
    broken = broken.replace("N3*45 ELM ST~", f"N3*45 ELM ST~XYZ*{secret_name}~")  # unknown segment
    # When it is validated with every log level captured
    with caplog.at_level(logging.DEBUG):
        issues = validate_837p(broken)
    # Then errors are found, yet neither the issues nor any log line carries the values
    assert len(issues) >= 3
    rendered = " ".join(f"{i!s} {i!r}" for i in issues) + caplog.text
    assert secret_name not in rendered
    assert secret_member not in rendered
    assert "19900402" not in rendered


def test_x12_issue_location_without_loop() -> None:
    # Given an envelope issue
    issue = X12Issue(level="transaction", code="4", message="SE01 wrong", segment_id="SE", segment_index=29)
    # Then its location is the segment id
    assert issue.location == "SE"
    assert re.match(r"^SE \(segment 29\) \[transaction 4\]", str(issue))


# Third-party samples (../shared/corpus). None of the imsweb "valid" files passes pyx12 (their SE01 is wrong and
# their HI composites are malformed); the LinuxForHealth TR3 examples do, once relabelled from the A2 errata to A1.
CLEAN_CORPUS = ["lfh-x12__demo.example1.x12", "lfh-x12__demo.example2.x12", "lfh-x12__demo.drug.example10.1.x12"]
BROKEN_CORPUS = [
    ("imsweb__x12_valid.x12", "transaction", "4"),
    ("imsweb__x12_missing_elements.x12", "element", "1"),
    ("imsweb__x12_bad_valid_code.x12", "segment", "1"),
    ("imsweb__x12_segment_errors.x12", "segment", "3"),
]


def _corpus_837p(corpus_dir: Path, name: str) -> str:
    path = corpus_dir / "x12" / "837p" / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} is not present")
    return path.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("name", CLEAN_CORPUS)
def test_validate_837p_accepts_tr3_example_from_corpus(corpus_dir: Path, name: str) -> None:
    # Given a TR3 example 837P relabelled to the HIPAA-adopted version
    text = _corpus_837p(corpus_dir, name).replace("005010X222A2", "005010X222A1")
    # When it is validated
    issues = validate_837p(text)
    # Then it is clean
    assert issues == [], [str(i) for i in issues]


@pytest.mark.parametrize(("name", "level", "code"), BROKEN_CORPUS)
def test_validate_837p_rejects_broken_corpus_sample(corpus_dir: Path, name: str, level: str, code: str) -> None:
    # Given a third-party 837P with known defects
    text = _corpus_837p(corpus_dir, name)
    # When it is validated
    issues = validate_837p(text)
    # Then pyx12's finding is among the issues
    assert any(i.level == level and i.code == code for i in issues), [str(i) for i in issues]
