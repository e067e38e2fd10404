"""Claim-level rules: frequency and payer claim number (BH-CLM-01), balancing (BH-CLM-02), timely filing (BH-TF-01)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding
from claimbridge.scrubber import INTERNAL_RULE_ID, CodeTables, parse_table, scrub
from claimbridge.scrubber.rules.claim_level import add_years
from tests.unit.scrubber.support import run_rule, severities, tenant_with
from tests.unit.x12_builders import claim, line, payer

DOS = date(2026, 3, 2)
"""The builders' date of service."""


def _days(n: int) -> date:
    return DOS + timedelta(days=n)


def _where(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(str(f.severity), f.x12_location) for f in findings]


# BH-CLM-01 -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "icn", "expected"),
    [
        pytest.param("1", None, [], id="original-without-F8-passes"),
        pytest.param("1", "PAYERICN1", [("warning", "2300 REF*F8")], id="original-with-F8-warns"),
        pytest.param("7", "PAYERICN1", [], id="replacement-with-F8-passes"),
        pytest.param("7", None, [("error", "2300 REF*F8")], id="replacement-without-F8-fails"),
        pytest.param("8", "PAYERICN1", [], id="void-with-F8-passes"),
        pytest.param("8", None, [("error", "2300 REF*F8")], id="void-without-F8-fails"),
    ],
)
def test_frequency_and_payer_claim_number(frequency: str, icn: str | None, expected: list[tuple[str, str]]) -> None:
    # Given a claim of that frequency, with or without REF*F8, and no corrected-claim window (COMM-A)
    subject = claim(frequency=frequency, payer_claim_control_number=icn)
    # When BH-CLM-01 runs
    found = run_rule("BH-CLM-01", subject, as_of=_days(400))
    # Then
    assert _where(found) == expected
    assert all(f.rule_id == "BH-CLM-01" for f in found)


def test_missing_F8_names_the_fix_and_an_original_with_F8_suggests_7() -> None:
    [missing] = run_rule("BH-CLM-01", claim(frequency="7"))
    assert "835 CLP07" in missing.fix and "Claim.related.reference.value" in missing.fix
    [original] = run_rule("BH-CLM-01", claim(payer_claim_control_number="PAYERICN1"))
    assert "send it as 7" in original.fix


def _window_tenant(days: int | None) -> Any:
    profile: dict[str, Any] = {"timely_filing_days": 90, "corrected_claim_window_days": days}
    return tenant_with(profiles={"COMM-A": profile})


@pytest.mark.parametrize(
    ("frequency", "window", "elapsed", "expected"),
    [
        pytest.param("7", 180, 179, [], id="7-day-before-window-end"),
        pytest.param("7", 180, 180, [], id="7-on-window-end"),
        pytest.param("7", 180, 181, [("warning", "2300 CLM05-3")], id="7-day-after-window-warns"),
        pytest.param("8", 180, 180, [], id="8-on-window-end"),
        pytest.param("8", 180, 181, [("warning", "2300 CLM05-3")], id="8-day-after-window-warns"),
        pytest.param("7", None, 3000, [], id="no-window-configured"),
        pytest.param("1", 180, 181, [], id="originals-have-no-correction-window"),
    ],
)
def test_corrected_claim_window_counts_from_the_first_date_of_service(
    frequency: str, window: int | None, elapsed: int, expected: list[tuple[str, str]]
) -> None:
    # Given a correction (with its F8) sent `elapsed` days after the first date of service
    icn = None if frequency == "1" else "PAYERICN1"
    subject = claim(frequency=frequency, payer_claim_control_number=icn)
    # When
    found = run_rule("BH-CLM-01", subject, tenant=_window_tenant(window), as_of=_days(elapsed))
    # Then
    assert _where(found) == expected
    if found:
        assert f"sent {elapsed} days after" in found[0].message and f"within {window} days" in found[0].message
        assert "reopening or appeal" in found[0].fix


def test_window_uses_the_earliest_line_date() -> None:
    # Given a replacement whose second line is 10 days earlier than the first
    subject = claim(
        "CLMW1",
        frequency="7",
        payer_claim_control_number="PAYERICN1",
        lines=(line(1, claim_id="CLMW1"), line(2, claim_id="CLMW1", service_date=_days(-10))),
    )
    # Then 180 days after the first line is 190 after the earliest one
    assert severities(run_rule("BH-CLM-01", subject, tenant=_window_tenant(180), as_of=_days(170))) == []
    assert severities(run_rule("BH-CLM-01", subject, tenant=_window_tenant(180), as_of=_days(171))) == ["warning"]


def test_missing_F8_and_a_late_correction_are_both_reported() -> None:
    found = run_rule("BH-CLM-01", claim(frequency="8"), tenant=_window_tenant(30), as_of=_days(31))
    assert _where(found) == [("error", "2300 REF*F8"), ("warning", "2300 CLM05-3")]


def _policy_tables(**values: Any) -> CodeTables:
    """The packaged claim_policy with some row values replaced."""
    text = resources.files("claimbridge.scrubber.data").joinpath("claim_policy.json").read_text(encoding="utf-8")
    document = json.loads(text)
    for row in document["versions"][-1]["rows"]:
        if row["key"] in values:
            row["value"] = values[row["key"]]
    return CodeTables({"claim_policy": parse_table(document)})


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        pytest.param("1", [], id="1-allowed"),
        pytest.param("7", [], id="7-allowed"),
        pytest.param("8", [("error", "2300 CLM05-3")], id="8-not-in-table"),
    ],
)
def test_frequency_codes_come_from_the_table(frequency: str, expected: list[tuple[str, str]]) -> None:
    # Given a policy edition that accepts only 1 and 7
    tables = _policy_tables(frequency_codes=["1", "7"])
    subject = claim(frequency=frequency, payer_claim_control_number=None if frequency == "1" else "PAYERICN1")
    # When
    result = scrub(subject, tenant=tenant_with(), as_of=_days(8), tables=tables, only=["BH-CLM-01"])
    # Then
    assert _where(list(result.findings)) == expected
    if expected:
        assert "one of 1, 7" in result.findings[0].message


# BH-CLM-02 -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charges", "expected"),
    [
        pytest.param(("180.00",), [], id="charged-line-passes"),
        pytest.param(("0.01",), [], id="one-cent-passes"),
        pytest.param(("0",), [("error", "2400 LX*1 SV102")], id="zero-charge-fails"),
        pytest.param(("180.00", "0.00"), [("error", "2400 LX*2 SV102")], id="second-line-zero-fails"),
    ],
)
def test_zero_charge_lines(charges: tuple[str, ...], expected: list[tuple[str, str]]) -> None:
    lines = tuple(line(i, claim_id="CLMC2", charge=Decimal(c)) for i, c in enumerate(charges, start=1))
    subject = claim("CLMC2", lines=lines)
    found = run_rule("BH-CLM-02", subject)
    assert _where(found) == expected
    assert subject.total_charge == sum(Decimal(c) for c in charges)


# BH-TF-01 --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        pytest.param(-1, [], id="future-date-of-service"),
        pytest.param(0, [], id="same-day"),
        pytest.param(59, [], id="31-days-left-no-warning"),
        pytest.param(60, ["warning"], id="30-days-left-warns"),
        pytest.param(89, ["warning"], id="limit-minus-1"),
        pytest.param(90, ["warning"], id="on-the-limit-still-in-time"),
        pytest.param(91, ["error"], id="limit-plus-1-fails"),
        pytest.param(400, ["error"], id="long-past"),
    ],
)
def test_timely_filing_in_days(elapsed: int, expected: list[str]) -> None:
    # Given COMM-A (timely_filing_days 90) and the claim checked `elapsed` days after its date of service
    found = run_rule("BH-TF-01", claim(), as_of=_days(elapsed))
    # Then
    assert severities(found) == expected
    for f in found:
        assert (f.rule_id, f.x12_location) == ("BH-TF-01", "2400 LX*1 DTP*472")
        assert "limit 90 days" in f.message
    if expected == ["error"]:
        assert f"filed {elapsed} days after the date of service" in found[0].message
        assert "CO-29" in found[0].fix
    if expected == ["warning"]:
        assert f"{90 - elapsed} days left" in found[0].message
        assert "send the claim now" in found[0].fix


def _mcr(service_date: date) -> ProfessionalClaim:
    return claim("CLMMCR", payer=payer("MCR"), lines=(line(claim_id="CLMMCR", service_date=service_date),))


@pytest.mark.parametrize(
    ("service_date", "as_of", "expected", "text"),
    [
        pytest.param(date(2025, 3, 2), date(2026, 3, 2), ["warning"], "limit 365 days (12 months)", id="one-year"),
        pytest.param(date(2025, 3, 2), date(2026, 3, 3), ["error"], "filed 366 days", id="one-year-plus-1"),
        pytest.param(date(2024, 2, 29), date(2025, 2, 27), ["warning"], "1 days left", id="29-feb-day-before"),
        pytest.param(date(2024, 2, 29), date(2025, 2, 28), ["warning"], "0 days left", id="29-feb-by-28-feb"),
        pytest.param(date(2024, 2, 29), date(2025, 3, 1), ["error"], "limit 365 days (12 months)", id="29-feb-late"),
        pytest.param(date(2024, 1, 15), date(2025, 1, 15), ["warning"], "limit 366 days", id="leap-span-366-ok"),
        pytest.param(date(2024, 1, 15), date(2025, 1, 16), ["error"], "filed 367 days", id="leap-span-late"),
        pytest.param(date(2025, 3, 2), date(2026, 1, 31), ["warning"], "30 days left", id="lead-edge-30"),
        pytest.param(date(2025, 3, 2), date(2026, 1, 30), [], "", id="lead-edge-31"),
    ],
)
def test_medicare_twelve_months_is_a_calendar_year(
    service_date: date, as_of: date, expected: list[str], text: str
) -> None:
    # Given MCR (timely_filing_days 365 = Medicare's 12 months after the date of service)
    found = run_rule("BH-TF-01", _mcr(service_date), as_of=as_of)
    # Then
    assert severities(found) == expected
    assert all(text in f.message for f in found)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        pytest.param(date(2025, 3, 1), ["warning"], id="366-days-is-a-count-limit-day"),
        pytest.param(date(2025, 3, 2), ["error"], id="366-days-is-a-count-day-after"),
    ],
)
def test_other_day_counts_are_plain_days_even_across_29_february(as_of: date, expected: list[str]) -> None:
    tenant = tenant_with(profiles={"MCR": {"timely_filing_days": 366}})
    assert severities(run_rule("BH-TF-01", _mcr(date(2024, 2, 29)), tenant=tenant, as_of=as_of)) == expected


@pytest.mark.parametrize("frequency", ["7", "8"])
def test_corrections_are_not_subject_to_timely_filing(frequency: str) -> None:
    subject = claim(frequency=frequency, payer_claim_control_number="PAYERICN1")
    assert run_rule("BH-TF-01", subject, as_of=_days(500)) == []


def test_timely_filing_counts_from_the_earliest_line() -> None:
    # Given a claim whose second line is 20 days before the first
    subject = claim(
        "CLMTF2",
        lines=(line(1, claim_id="CLMTF2"), line(2, claim_id="CLMTF2", service_date=_days(-20))),
    )
    # When it is checked 71 days after the first line (91 after the second)
    [found] = run_rule("BH-TF-01", subject, as_of=_days(71))
    # Then the earliest line is late
    assert (found.severity, found.x12_location) == ("error", "2400 LX*2 DTP*472")
    assert "filed 91 days after the date of service of line 2" in found.message


def test_lead_days_come_from_the_table() -> None:
    tables = _policy_tables(timely_filing_warning_days=10)
    at_11 = scrub(claim(), tenant=tenant_with(), as_of=_days(79), tables=tables, only=["BH-TF-01"])
    at_10 = scrub(claim(), tenant=tenant_with(), as_of=_days(80), tables=tables, only=["BH-TF-01"])
    assert (at_11.findings, severities(list(at_10.findings))) == ((), ["warning"])


def test_a_date_no_policy_version_covers_holds_the_claim() -> None:
    result = scrub(claim(), tenant=tenant_with(), as_of=date(2023, 12, 31), only=["BH-TF-01"])
    assert [f.rule_id for f in result.findings] == [INTERNAL_RULE_ID]


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), -1, date(2023, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2025, 12, 31), 1, date(2026, 12, 31)),
    ],
)
def test_add_years(day: date, years: int, expected: date) -> None:
    assert add_years(day, years) == expected


# PHI -------------------------------------------------------------------------------------------------------------


def test_findings_carry_no_patient_data_or_dates() -> None:
    # Given claims that make every rule of this module speak
    late = claim(frequency="7", lines=(line(charge=Decimal(0)),))
    found = [
        *run_rule("BH-CLM-01", late, tenant=_window_tenant(30), as_of=_days(120)),
        *run_rule("BH-CLM-01", claim(payer_claim_control_number="PAYERICN1")),
        *run_rule("BH-CLM-02", late),
        *run_rule("BH-TF-01", claim(), as_of=_days(120)),
        *run_rule("BH-TF-01", claim(), as_of=_days(70)),
    ]
    assert len(found) == 6
    text = " ".join(f.model_dump_json() for f in found)
    for secret in ("TESTPATIENT", "ALEX", "W123456789", "1990", "2026-03-02", "20260302", "PAYERICN1"):
        assert secret not in text
