"""Diagnosis rules BH-DX-01..05: table-driven passes, failures and boundaries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding
from claimbridge.scrubber import CodeTables, parse_table, scrub
from claimbridge.scrubber.icd10cm import EDITIONS_TABLE
from tests.unit.scrubber.support import AS_OF, run_rule, severities, tenant_with
from tests.unit.x12_builders import claim, line, payer

DOS = date(2026, 3, 2)
TWELVE = ("F411", "F329", "F4310", "F909", "F840", "F1020", "F603", "F4001", "F319", "F250", "F200", "F42")


def dx_claim(
    diagnoses: tuple[str, ...], *pointers: tuple[int, ...], payer_key: str = "COMM-A", **line_kw: Any
) -> ProfessionalClaim:
    """A claim with these diagnoses and one line per pointer tuple (default: one line pointing at 1), unvalidated."""
    lines = tuple(line(n, **({"diagnosis_pointers": (1,)} | line_kw)) for n in range(1, max(len(pointers), 1) + 1))
    built = claim(payer=payer(payer_key), lines=lines)
    if pointers:
        lines = tuple(ln.model_copy(update={"diagnosis_pointers": p}) for ln, p in zip(lines, pointers, strict=True))
    # model_copy skips validation: the rules must guard what the model would refuse
    return built.model_copy(update={"diagnoses": diagnoses, "lines": lines})


def summary(found: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.rule_id, str(f.severity), f.x12_location) for f in found]


# BH-DX-01 -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnoses", "expected", "fix"),
    [
        pytest.param(("F411",), [], "", id="pass-F411"),
        pytest.param(("F32A",), [], "", id="pass-F32A-letter-fourth"),
        pytest.param(("F99",), [], "", id="pass-three-characters"),
        pytest.param(("T360X1A",), [], "", id="pass-seven-characters"),
        pytest.param(("QA00142",), [], "", id="pass-listed-QA0-code"),
        pytest.param(("F41.1",), [("BH-DX-01", "error", "2300 HI01-2")], "send F411", id="fail-decimal-point"),
        pytest.param(("F4",), [("BH-DX-01", "error", "2300 HI01-2")], "3-7 characters", id="fail-two-characters"),
        pytest.param(("F411X123",), [("BH-DX-01", "error", "2300 HI01-2")], "3-7", id="fail-eight-characters"),
        pytest.param(("1F41",), [("BH-DX-01", "error", "2300 HI01-2")], "a letter, a digit", id="fail-digit-first"),
        pytest.param(("F411", "FF41"), [("BH-DX-01", "error", "2300 HI02-2")], "e.g. F411", id="fail-position-2"),
    ],
)
def test_dx_format(diagnoses: tuple[str, ...], expected: list[tuple[str, str, str]], fix: str) -> None:
    found = run_rule("BH-DX-01", dx_claim(diagnoses))
    assert summary(found) == expected
    if fix:
        assert fix in found[0].fix


# BH-DX-02 -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnoses", "expected", "fix"),
    [
        pytest.param(("F411",), [], "", id="pass-F411"),
        pytest.param(("F32A",), [], "", id="pass-F32A-valid-since-FY2022"),
        pytest.param(("Z630",), [], "", id="pass-Z630"),
        pytest.param(("F328",), ["error"], "use a more specific code (F3281, F3289)", id="fail-F328-header"),
        pytest.param(("F41",), ["error"], "(F410, F411, F413", id="fail-F41-category"),
        pytest.param(("F999",), ["error"], "nearest listed code is F99", id="fail-F999-unlisted"),
        pytest.param(("Z004",), ["error"], "and 5 more", id="fail-unlisted-suggests-capped-list"),
        pytest.param(("F41.1",), [], "", id="pass-dot-left-to-DX-01"),
    ],
)
def test_dx_valid_and_billable(diagnoses: tuple[str, ...], expected: list[str], fix: str) -> None:
    found = run_rule("BH-DX-02", dx_claim(diagnoses))
    assert severities(found) == expected
    if fix:
        assert found[0].x12_location == "2300 HI01-2"
        assert fix in found[0].fix


@pytest.mark.parametrize(
    ("service_date", "diagnosis", "expected", "year"),
    [
        pytest.param(date(2025, 9, 30), "F411", ["warning"], "2025", id="2025-09-30-FY2025-not-loaded"),
        pytest.param(date(2025, 10, 1), "F411", [], "", id="2025-10-01-FY2026"),
        pytest.param(date(2026, 9, 30), "F411", [], "", id="2026-09-30-FY2026"),
        pytest.param(date(2026, 10, 1), "F411", ["warning"], "2027", id="2026-10-01-FY2027-not-loaded"),
        pytest.param(date(2026, 10, 1), "F328", ["error", "warning"], "2027", id="outside-still-checked"),
    ],
)
def test_dx_edition_boundaries(service_date: date, diagnosis: str, expected: list[str], year: str) -> None:
    found = run_rule("BH-DX-02", dx_claim((diagnosis,), service_date=service_date))
    assert severities(found) == expected
    if year:
        warning = found[-1]
        assert (warning.x12_location, f"fiscal year {year} is not loaded" in warning.message) == ("2300 HI", True)
        assert "checked against FY2026" in warning.message
        assert f"load the FY{year} ICD-10-CM code set" in warning.fix


def test_dx_edition_warning_is_one_per_fiscal_year() -> None:
    # Given two lines in FY2027 and one in FY2026, all pointing at both diagnoses
    built = dx_claim(("F411", "F329"), (1, 2), (1, 2), (2, 1))
    dated = built.model_copy(
        update={
            "lines": tuple(
                ln.model_copy(update={"service_date": d})
                for ln, d in zip(built.lines, (date(2026, 10, 1), date(2026, 10, 2), date(2026, 9, 30)), strict=True)
            )
        }
    )
    # When BH-DX-02 runs / Then one warning names FY2027
    found = run_rule("BH-DX-02", dated)
    assert severities(found) == ["warning"]


def test_dx_unpointed_diagnosis_is_judged_at_the_first_date_of_service() -> None:
    found = run_rule("BH-DX-02", dx_claim(("F411", "F328"), (1,)))
    assert summary(found) == [("BH-DX-02", "error", "2300 HI02-2")]


def test_dx_a_loaded_next_edition_silences_the_warning() -> None:
    # Given an editions table that also loads FY2027 (same list, for the test)
    versions = [
        {
            "effective_from": f"{y - 1}-10-01",
            "effective_to": f"{y}-09-30",
            "rows": [
                {
                    "edition": f"FY{y}",
                    "fiscal_year": y,
                    "update": "",
                    "package": "simple_icd_10_cm",
                    "resource": "data/code-list-April-2026.txt",
                }
            ],
        }
        for y in (2026, 2027)
    ]
    tables = CodeTables({EDITIONS_TABLE: parse_table({"table": EDITIONS_TABLE, "source": ["t"], "versions": versions})})
    # When a FY2027 claim is scrubbed
    result = scrub(
        dx_claim(("F328",), service_date=date(2026, 10, 1)),
        tenant=tenant_with(),
        as_of=AS_OF,
        tables=tables,
        only=["BH-DX-02"],
    )
    # Then only the code is wrong, named with the FY2027 edition
    [found] = result.findings
    assert (str(found.severity), "FY2027" in found.message) == ("error", True)


# BH-DX-03 -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnoses", "pointers", "expected"),
    [
        pytest.param(("F411",), (1,), [], id="pass-one"),
        pytest.param(TWELVE, (1,), [], id="pass-twelve"),
        pytest.param((*TWELVE, "F4322"), (1,), [("BH-DX-03", "error", "2300 HI")], id="fail-thirteen"),
        pytest.param((), (1,), [("BH-DX-03", "error", "2300 HI")], id="fail-none"),
        pytest.param(("F411", "F411"), (1,), [("BH-DX-03", "warning", "2300 HI02-2")], id="warn-duplicate"),
        pytest.param(("F411", "F41.1"), (1,), [("BH-DX-03", "warning", "2300 HI02-2")], id="warn-duplicate-dotted"),
    ],
)
def test_dx_count_and_duplicates(
    diagnoses: tuple[str, ...], pointers: tuple[int, ...], expected: list[tuple[str, str, str]]
) -> None:
    assert summary(run_rule("BH-DX-03", dx_claim(diagnoses, pointers))) == expected


def test_dx_duplicate_fix_names_the_first_position() -> None:
    [found] = run_rule("BH-DX-03", dx_claim(("F329", "F411", "F329")))
    assert (found.x12_location, found.fix) == (
        "2300 HI03-2",
        "remove diagnosis 3 and point lines at diagnosis 1 instead",
    )


# BH-DX-04 -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "pointers", "expected"),
    [
        pytest.param(1, (1,), [], id="pointer-1-pass"),
        pytest.param(1, (0,), [("BH-DX-04", "error", "2400 LX*1 SV107-1")], id="pointer-0-fail"),
        pytest.param(4, (1, 2, 3, 4), [], id="four-pointers-pass"),
        pytest.param(5, (1, 2, 3, 4, 5), [("BH-DX-04", "error", "2400 LX*1 SV107")], id="five-pointers-fail"),
        pytest.param(12, (12,), [], id="pointer-12-pass"),
        pytest.param(12, (13,), [("BH-DX-04", "error", "2400 LX*1 SV107-1")], id="pointer-13-fail"),
        pytest.param(13, (13,), [("BH-DX-04", "error", "2400 LX*1 SV107-1")], id="pointer-13-fail-even-if-populated"),
        pytest.param(2, (1, 3), [("BH-DX-04", "error", "2400 LX*1 SV107-2")], id="unpopulated-position-fail"),
        pytest.param(1, (), [("BH-DX-04", "error", "2400 LX*1 SV107")], id="no-pointer-fail"),
    ],
)
def test_dx_pointers(count: int, pointers: tuple[int, ...], expected: list[tuple[str, str, str]]) -> None:
    diagnoses = (*TWELVE, "F4322")[:count]
    assert summary(run_rule("BH-DX-04", dx_claim(diagnoses, pointers))) == expected


def test_dx_pointer_past_the_last_diagnosis_names_the_populated_range() -> None:
    [found] = run_rule("BH-DX-04", dx_claim(("F411", "F329"), (1,), (3,)))
    assert found.x12_location == "2400 LX*2 SV107-1"
    assert "pointer 1 is 3" in found.message and "diagnoses 1-2" in found.fix


# BH-DX-05 -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payer_key", "profile", "diagnoses", "code", "expected", "fix"),
    [
        pytest.param("MCR", None, ("F411",), "90837", [], "", id="908xx-F-primary-pass"),
        pytest.param("MCR", None, ("F0150",), "90834", [], "", id="F01-lower-bound-pass"),
        pytest.param("MCR", None, ("F99",), "90834", [], "", id="F99-upper-bound-pass"),
        pytest.param(
            "MCR",
            None,
            ("Z630", "F411"),
            "90837",
            ["warning"],
            "point SV107-1 at diagnosis 2 (F411)",
            id="908xx-Z-warn",
        ),
        pytest.param("MCR", None, ("G309",), "90832", ["warning"], "send the diagnosis", id="908xx-G-warn"),
        pytest.param("MCR", None, ("Z630",), "90791", [], "", id="907xx-not-in-default"),
        pytest.param("MCR", None, ("Z1331",), "96127", [], "", id="non-908xx-Z-pass"),
        pytest.param("COMM-A", None, ("Z630", "F411"), "90837", ["error"], "diagnosis 2 (F411)", id="disallow-Z-error"),
        pytest.param("COMM-A", None, ("Z1331",), "96127", ["error"], "send the diagnosis", id="disallow-any-code"),
        pytest.param("COMM-A", None, ("F411",), "90837", [], "", id="disallow-not-matching-pass"),
        pytest.param("MCR", {"covered_dx": ["F32", "F33"]}, ("F411",), "90837", ["error"], "send", id="covered-miss"),
        pytest.param("MCR", {"covered_dx": ["F32.", "F33"]}, ("F329",), "90837", [], "", id="covered-dotted-prefix"),
        pytest.param(
            "MCR",
            {"covered_dx": ["F32"]},
            ("F411", "F329"),
            "90837",
            ["error"],
            "diagnosis 2 (F329)",
            id="covered-hint",
        ),
        pytest.param(
            "MCR", {"covered_dx": ["F", "Z63"]}, ("Z630",), "90837", ["warning"], "", id="covered-then-default"
        ),
    ],
)
def test_dx_primary_policy(
    *,
    payer_key: str,
    profile: dict[str, Any] | None,
    diagnoses: tuple[str, ...],
    code: str,
    expected: list[str],
    fix: str,
) -> None:
    tenant = tenant_with(profiles={payer_key: profile}) if profile is not None else tenant_with()
    found = run_rule("BH-DX-05", dx_claim(diagnoses, payer_key=payer_key, procedure_code=code), tenant=tenant)
    assert severities(found) == expected
    if expected:
        assert found[0].x12_location == "2400 LX*1 SV107-1"
    if fix:
        assert fix in found[0].fix


def test_dx_primary_disallow_names_the_payer_key_and_prefix() -> None:
    [found] = run_rule("BH-DX-05", dx_claim(("Z630",)))
    assert "payer COMM-A" in found.message and "dx.primary_disallow Z" in found.message


@pytest.mark.parametrize(
    ("diagnoses", "pointers", "expected"),
    [
        pytest.param(("Z0000", "F411"), (1, 2), [], id="Z00-first-pass"),
        pytest.param(("F411", "Z0000"), (1, 2), [("warning", "2400 LX*1 SV107-2")], id="Z00-second-pointer-warn"),
        pytest.param(("F411", "Z006"), (1, 2), [], id="Z006-excepted-pass"),
        pytest.param(("F411", "Z021"), (1,), [("warning", "2300 HI02-2")], id="Z02-unpointed-HI02-warn"),
        pytest.param(("F411", "Z630"), (1, 2), [], id="Z630-secondary-allowed"),
        pytest.param(("F411", "Z529"), (1, 2), [], id="Z529-excepted-pass"),
    ],
)
def test_dx_first_listed_only_z_codes(
    diagnoses: tuple[str, ...], pointers: tuple[int, ...], expected: list[tuple[str, str]]
) -> None:
    # 96127 is not 908xx and MCR has no disallow list: only the first-listed check can fire
    found = run_rule("BH-DX-05", dx_claim(diagnoses, pointers, payer_key="MCR", procedure_code="96127"))
    assert [(str(f.severity), f.x12_location) for f in found] == expected


def test_dx_first_listed_only_code_used_first_on_another_line_is_fine() -> None:
    found = run_rule("BH-DX-05", dx_claim(("F411", "Z0000"), (1,), (2,), payer_key="MCR", procedure_code="96127"))
    assert found == []


# PHI ------------------------------------------------------------------------------------------------------------------


def test_dx_findings_carry_no_patient_data() -> None:
    # Given a claim that trips every diagnosis rule
    messy = dx_claim(("F41.1", "F328", "F328", "Z0000", "Z630"), (5, 4, 13), (0,), service_date=date(2026, 10, 1))
    # When all five rules run
    found = [f for rid in ("BH-DX-01", "BH-DX-02", "BH-DX-03", "BH-DX-04", "BH-DX-05") for f in run_rule(rid, messy)]
    # Then they say something, and nothing about the patient or the date of service
    assert {f.rule_id for f in found} == {"BH-DX-01", "BH-DX-02", "BH-DX-03", "BH-DX-04", "BH-DX-05"}
    text = " ".join(f.model_dump_json() for f in found).upper()
    for secret in ("TESTPATIENT", "ALEX", "W123456789", "ELM ST", "1990", "2026-10-01", "20261001"):
        assert secret not in text
