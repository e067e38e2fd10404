"""BH-TIME-01..06 and BH-FREQ-01: documented minutes, units, crisis blocks, family minutes, repeat evaluations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from claimbridge.claim import ProfessionalClaim, ServiceLine
from claimbridge.findings import Finding
from claimbridge.scrubber import InMemoryHistory
from claimbridge.scrubber.engine import ScrubContext
from claimbridge.scrubber.rules.timing import CodeRow, code_book
from claimbridge.scrubber.tables import default_tables, load_table
from tests.unit.scrubber.support import AS_OF, run_rule, severities, tenant_with
from tests.unit.x12_builders import CHEN, claim, line

DOS = date(2026, 3, 2)
KEY = "a" * 64


def lines(*specs: dict[str, Any], claim_id: str = "CB7Q2K9D1") -> tuple[ServiceLine, ...]:
    """Lines 1..n from ``{"procedure_code": ..., ...}`` specs (other fields as the builder's defaults)."""
    return tuple(line(index, claim_id=claim_id, **spec) for index, spec in enumerate(specs, start=1))


def run(rule_id: str, *specs: dict[str, Any], **claim_fields: Any) -> list[Finding]:
    return run_rule(rule_id, claim(lines=lines(*specs), **claim_fields))


def code(procedure_code: str, minutes: int | None = None, **fields: Any) -> dict[str, Any]:
    return {"procedure_code": procedure_code, "documented_minutes": minutes, **fields}


EM_LINE = code("99213")


def _case_id(value: object) -> str:
    """Readable ids: ``90834-53-alone-fix``."""
    if value is None:
        return "ok"
    if isinstance(value, bool):
        return "with-em" if value else "alone"
    if isinstance(value, str) and " " in value:
        return "fix"
    return str(value)


# --- BH-TIME-01 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("billed", "minutes", "with_em", "fix"),
    [
        ("90832", 15, False, "15 documented minutes are below 16: bill no psychotherapy code"),
        ("90832", 16, False, None),
        ("90832", 37, False, None),
        ("90832", 38, False, "38 documented minutes fall in 38-52: bill 90834"),
        ("90834", 37, False, "37 documented minutes fall in 16-37: bill 90832"),
        ("90834", 38, False, None),
        ("90834", 52, False, None),
        ("90834", 53, False, "53 documented minutes fall in 53 or more: bill 90837"),
        ("90837", 52, False, "52 documented minutes fall in 38-52: bill 90834"),
        ("90837", 53, False, None),
        ("90837", 180, False, None),
        ("90837", 0, False, "0 documented minutes are below 16: bill no psychotherapy code"),
        ("90833", 15, True, "15 documented minutes are below 16: bill no psychotherapy code"),
        ("90833", 16, True, None),
        ("90833", 37, True, None),
        ("90833", 38, True, "38 documented minutes fall in 38-52: bill 90836"),
        ("90836", 37, True, "37 documented minutes fall in 16-37: bill 90833"),
        ("90836", 52, True, None),
        ("90836", 53, True, "53 documented minutes fall in 53 or more: bill 90838"),
        ("90838", 52, True, "52 documented minutes fall in 38-52: bill 90836"),
        ("90838", 53, True, None),
    ],
    ids=_case_id,
)
def test_time_01_psychotherapy_code_matches_minutes(billed: str, minutes: int, with_em: bool, fix: str | None) -> None:
    # Given a psychotherapy line (the add-ons after an E/M line) with documented minutes
    specs = [EM_LINE, code(billed, minutes)] if with_em else [code(billed, minutes)]
    # When BH-TIME-01 runs
    found = run("BH-TIME-01", *specs)
    # Then a mismatch is an error on the psychotherapy line naming the code whose band holds the minutes
    if fix is None:
        assert found == []
        return
    [finding] = found
    assert (finding.rule_id, str(finding.severity)) == ("BH-TIME-01", "error")
    assert finding.x12_location == f"2400 LX*{len(specs)} SV101-2"
    assert fix in finding.fix


def test_time_01_leaves_lines_without_minutes_and_other_codes_alone() -> None:
    assert run("BH-TIME-01", code("90834"), code("90791", 5), code("90846", 10)) == []


# --- BH-TIME-02 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        pytest.param([code("90834")], ["error"], id="90834-no-minutes"),
        pytest.param([code("90834", 45)], [], id="90834-with-minutes"),
        pytest.param([code("90791")], [], id="untimed-90791"),
        pytest.param([code("96130")], [], id="testing-time-spans-days"),
        pytest.param([code("99492")], [], id="monthly-cocm"),
        pytest.param([code("90846")], ["error"], id="family-no-minutes"),
        pytest.param([code("90839")], ["error"], id="crisis-no-minutes"),
        pytest.param([code("90839", 80), code("90840")], [], id="90840-uses-session-minutes"),
        pytest.param([code("90839"), code("90840")], ["error", "error"], id="crisis-session-without-minutes"),
        pytest.param([code("90833")], ["error"], id="add-on-without-em"),
        pytest.param([EM_LINE, code("90833")], [], id="add-on-with-em-is-time-03"),
    ],
)
def test_time_02_timed_codes_need_minutes(specs: list[dict[str, Any]], expected: list[str]) -> None:
    found = run("BH-TIME-02", *specs)
    assert severities(found) == expected
    for finding in found:
        assert finding.message.startswith("duration not substantiated")
        assert finding.x12_location.endswith("SV101-2")
        assert "servicedPeriod" in finding.fix


@pytest.mark.parametrize(("service_date", "expected"), [(date(2023, 12, 31), []), (date(2024, 1, 1), ["error"])])
def test_time_02_g0017_is_checked_from_its_effective_date(service_date: date, expected: list[str]) -> None:
    # Given G0017 (in bh_codes from 2024-01-01) without minutes, the day before and on its effective date
    found = run("BH-TIME-02", code("G0017", service_date=service_date))
    # Then the code is only known, and so only checked, from 2024-01-01
    assert severities(found) == expected


# --- BH-TIME-03 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "expected", "text"),
    [
        pytest.param([EM_LINE, code("90833")], ["error"], "no psychotherapy minutes of its own", id="no-minutes"),
        pytest.param([code("99213", 25), code("90836", 25)], ["warning"], "same 25 documented minutes", id="same"),
        pytest.param([code("99213", 15), code("90836", 40)], [], "", id="separate-minutes"),
        pytest.param([code("99213"), code("90838", 60)], [], "", id="em-without-minutes"),
        pytest.param([code("90833")], [], "", id="no-em-is-add-01"),
        pytest.param([EM_LINE, code("90833", service_date=date(2026, 3, 3))], [], "", id="em-other-day"),
    ],
)
def test_time_03_add_on_minutes_are_psychotherapy_only(
    specs: list[dict[str, Any]], expected: list[str], text: str
) -> None:
    found = run("BH-TIME-03", *specs)
    assert severities(found) == expected
    if found:
        assert found[0].x12_location == "2400 LX*2 SV101-2"
        assert text in found[0].message


def test_time_03_minutes_on_the_add_on_are_what_time_01_checks() -> None:
    # Given an E/M documented at 30 minutes and its psychotherapy add-on at 20
    specs = [code("99214", 30), code("90836", 20)]
    # Then the add-on's own 20 minutes decide: 90836 needs 38-52, 20 minutes is 90833
    [finding] = run("BH-TIME-01", *specs)
    assert "bill 90833" in finding.fix


# --- BH-TIME-04 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "claim_pos", "expected", "location"),
    [
        pytest.param([code("90834", 45, units=Decimal(1))], "11", [], "", id="one-unit"),
        pytest.param([code("90834", 45, units=Decimal(2))], "11", ["error"], "2400 LX*1 SV104", id="two-units"),
        pytest.param([code("90834", 45, units=Decimal(2), place_of_service="52")], "11", [], "", id="line-pos-52"),
        pytest.param([code("90834", 45, units=Decimal(2))], "52", [], "", id="claim-pos-52"),
        pytest.param([code("90834", 45, units=Decimal(2))], "53", ["error"], "2400 LX*1 SV104", id="pos-53"),
        pytest.param([code("90837", 60), code("90837", 60)], "11", ["error"], "2400 LX*2 SV104", id="two-lines"),
        pytest.param(
            [code("90837", 60), code("90837", 60, service_date=date(2026, 3, 3))], "11", [], "", id="two-days"
        ),
        pytest.param([code("90791", units=Decimal(2))], "11", ["error"], "2400 LX*1 SV104", id="90791-twice"),
        pytest.param([code("90839", 60, units=Decimal(2))], "11", ["error"], "2400 LX*1 SV104", id="90839-twice"),
        pytest.param([code("96127", units=Decimal(3))], "11", [], "", id="96127-per-instrument"),
    ],
)
def test_time_04_psychotherapy_units_per_day(
    specs: list[dict[str, Any]], claim_pos: str, expected: list[str], location: str
) -> None:
    found = run("BH-TIME-04", *specs, place_of_service=claim_pos)
    assert severities(found) == expected
    if found:
        assert found[0].x12_location == location
        assert "1 unit" in found[0].fix


# --- BH-TIME-05 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "expected", "location", "fix"),
    [
        pytest.param([code("90839", 29)], ["error"], "2400 LX*1 SV101-2", "bill 90832 (16-37", id="29"),
        pytest.param([EM_LINE, code("90839", 29)], ["error"], "2400 LX*2 SV101-2", "bill 90833", id="29-with-em"),
        pytest.param([code("90839", 15)], ["error"], "2400 LX*1 SV101-2", "bill no psychotherapy code", id="15"),
        pytest.param([code("90839", 30)], [], "", "", id="30"),
        pytest.param([code("90839", 74)], [], "", "", id="74"),
        pytest.param(
            [code("90839", 74), code("90840")], ["error"], "2400 LX*2 SV104", "remove 90840", id="74-with-90840"
        ),
        pytest.param([code("90839", 75)], ["warning"], "2400 LX*1 SV101-2", "75-104: bill 1 unit", id="75-none"),
        pytest.param([code("90839", 75), code("90840")], [], "", "", id="75-one"),
        pytest.param([code("90839", 104), code("90840")], [], "", "", id="104-one"),
        pytest.param(
            [code("90839", 104), code("90840", units=Decimal(2))],
            ["warning"],
            "2400 LX*2 SV104",
            "75-104: bill 1 unit of 90840",
            id="104-two",
        ),
        pytest.param(
            [code("90839", 105), code("90840")], ["warning"], "2400 LX*2 SV104", "105-134: bill 2 units", id="105-one"
        ),
        pytest.param([code("90839", 105), code("90840", units=Decimal(2))], [], "", "", id="105-two"),
        pytest.param([code("90839"), code("90840", 110, units=Decimal(2))], [], "", "", id="minutes-on-add-on"),
        pytest.param([code("G0017", 29)], ["warning"], "2400 LX*1 SV101-2", "bill 90832", id="g0017-unverified"),
        pytest.param(
            [code("G0017", 60), code("G0018")], ["warning"], "2400 LX*2 SV104", "remove G0018", id="g0018-unverified"
        ),
    ],
)
def test_time_05_crisis_minutes_and_90840_units(
    specs: list[dict[str, Any]], expected: list[str], location: str, fix: str
) -> None:
    found = run("BH-TIME-05", *specs)
    assert severities(found) == expected
    if found:
        assert (found[0].rule_id, found[0].x12_location) == ("BH-TIME-05", location)
        assert fix in found[0].fix


def test_time_05_marks_the_unverified_block_math() -> None:
    [finding] = run("BH-TIME-05", code("90839", 110), code("90840"))
    assert "unverified" in finding.message
    assert "2 units of 90840" in finding.message


# --- BH-TIME-06 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "expected", "text"),
    [
        pytest.param([code("90846", 25)], ["warning"], "at least 26 minutes", id="90846-25"),
        pytest.param([code("90846", 26)], [], "", id="90846-26"),
        pytest.param([code("90847", 25)], ["warning"], "do not bill 90847", id="90847-25"),
        pytest.param([code("90847", 26)], [], "", id="90847-26"),
        pytest.param([code("90847")], [], "", id="no-minutes-is-time-02"),
        pytest.param(
            [EM_LINE, code("90833", 20), code("90836", 40)],
            ["warning"],
            "bill one psychotherapy code",
            id="two-add-ons",
        ),
        pytest.param(
            [code("90834", 40), code("90832", 20, rendering_override=CHEN)],
            ["warning"],
            "bill one psychotherapy code",
            id="two-clinicians",
        ),
        pytest.param([code("90834", 40), code("90832", 20)], [], "", id="same-clinician-is-ptp-04"),
        pytest.param([code("90834", 40), code("90834", 40)], [], "", id="same-code-is-time-04"),
        pytest.param(
            [code("90834", 40), code("90832", 20, service_date=date(2026, 3, 3), rendering_override=CHEN)],
            [],
            "",
            id="other-day",
        ),
    ],
)
def test_time_06_family_minutes_and_one_psychotherapy_code(
    specs: list[dict[str, Any]], expected: list[str], text: str
) -> None:
    found = run("BH-TIME-06", *specs)
    assert severities(found) == expected
    if found:
        assert found[0].x12_location == f"2400 LX*{len(specs)} SV101-2"
        assert text in found[0].fix


# --- BH-FREQ-01 -----------------------------------------------------------------------------------------------------


def _evaluation_claim(claim_id: str, service_date: date, procedure_code: str = "90791") -> ProfessionalClaim:
    return claim(
        claim_id,
        patient_key=KEY,
        lines=(line(1, claim_id=claim_id, procedure_code=procedure_code, service_date=service_date),),
    )


@pytest.mark.parametrize(
    ("other_date", "other_code", "expected"),
    [
        pytest.param(date(2025, 9, 2), "90791", [], id="exactly-6-months-before"),
        pytest.param(date(2025, 9, 3), "90791", ["warning"], id="a-day-inside-before"),
        pytest.param(date(2025, 9, 3), "90792", ["warning"], id="90792-counts"),
        pytest.param(date(2026, 9, 1), "90791", ["warning"], id="a-day-inside-after"),
        pytest.param(date(2026, 9, 2), "90791", [], id="exactly-6-months-after"),
        pytest.param(date(2026, 3, 2), "90791", ["warning"], id="same-day-other-claim"),
        pytest.param(date(2025, 12, 1), "90834", [], id="psychotherapy-does-not-count"),
    ],
)
def test_freq_01_repeat_evaluation_within_6_months(other_date: date, other_code: str, expected: list[str]) -> None:
    # Given the patient's earlier or later claim with an evaluation, and this claim's 90791 on 2026-03-02
    history = InMemoryHistory([_evaluation_claim("CLMB", other_date, other_code)])
    # When BH-FREQ-01 runs
    found = run_rule("BH-FREQ-01", _evaluation_claim("CLMA", DOS), history=history)
    # Then a repeat inside the window (either direction, any provider) is a warning naming the other claim
    assert severities(found) == expected
    if found:
        assert found[0].x12_location == "2400 LX*1 SV101-2"
        assert "claim CLMB" in found[0].message
        assert "6-month break" in found[0].fix


def test_freq_01_month_ends_clamp() -> None:
    # 31 Aug minus 6 months is 28 Feb (2026 is no leap year): 1 Mar is inside, 28 Feb is not
    inside = InMemoryHistory([_evaluation_claim("CLMB", date(2026, 3, 1))])
    outside = InMemoryHistory([_evaluation_claim("CLMB", date(2026, 2, 28))])
    this = _evaluation_claim("CLMA", date(2026, 8, 31))
    assert severities(run_rule("BH-FREQ-01", this, history=inside, as_of=date(2026, 9, 1))) == ["warning"]
    assert run_rule("BH-FREQ-01", this, history=outside, as_of=date(2026, 9, 1)) == []


def test_freq_01_ignores_voided_claims_and_other_patients() -> None:
    history = InMemoryHistory()
    history.add(_evaluation_claim("CLMB", date(2026, 1, 5)), voided=True)
    history.add(claim("CLMC", patient_key="b" * 64, lines=(line(1, claim_id="CLMC", procedure_code="90791"),)))
    assert run_rule("BH-FREQ-01", _evaluation_claim("CLMA", DOS), history=history) == []


def test_freq_01_counts_this_claims_own_lines() -> None:
    specs = (code("90792", service_date=date(2026, 1, 10)), code("90791"))
    found = run("BH-FREQ-01", *specs)
    assert [f.x12_location for f in found] == ["2400 LX*1 SV101-2", "2400 LX*2 SV101-2"]
    assert "line 2" in found[0].message and "51 days later" in found[0].message


# --- the bh_codes table ---------------------------------------------------------------------------------------------


def _context() -> ScrubContext:
    return ScrubContext(claim=claim(), tenant=tenant_with(), as_of=AS_OF, tables=default_tables())


def test_bh_codes_rows_parse_and_every_add_on_names_its_primaries() -> None:
    table = load_table("bh_codes")
    rows = [CodeRow.model_validate(row) for version in table.versions for row in version.rows]
    book = code_book(_context(), DOS)
    assert len(book.rows) == len(rows)  # every row is in effect in 2026 and no code has two rows
    for row in rows:
        assert row.sources, row.code
        if row.add_on:
            assert row.primaries or row.primary_kinds, row.code
            assert all(book.get(primary) is not None for primary in row.primaries), row.code
        for primary in row.primaries if row.block_minutes else ():
            primary_row = book.get(primary)
            assert primary_row is not None and primary_row.max_minutes is not None, row.code


def test_bh_codes_psychotherapy_bands_leave_no_gap() -> None:
    book = code_book(_context(), DOS)
    for family in ("psychotherapy", "psychotherapy_with_em"):
        for minutes in range(16, 240):
            assert book.band_code(family, minutes) is not None, (family, minutes)
        assert book.band_code(family, 15) is None


@pytest.mark.parametrize(
    ("day", "present", "absent"),
    [
        (date(2012, 12, 31), [], ["90834", "99213"]),
        (date(2013, 1, 1), ["90834", "90839", "99213"], ["G0017", "96130"]),
        (date(2023, 12, 31), ["90834"], ["G0017", "G0018"]),
        (date(2024, 1, 1), ["G0017", "G0018"], []),
    ],
    ids=str,
)
def test_bh_codes_rows_follow_their_effective_dates(day: date, present: list[str], absent: list[str]) -> None:
    book = code_book(_context(), day)
    assert all(book.get(c) is not None for c in present)
    assert all(book.get(c) is None for c in absent)


def test_unverified_rows_are_marked() -> None:
    book = code_book(_context(), DOS)
    assert [c for c in ("90840", "G0017", "G0018", "90839", "90834") if not book.rows[c].verified] == [
        "90840",
        "G0017",
        "G0018",
    ]
