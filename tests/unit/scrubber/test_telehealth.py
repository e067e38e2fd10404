"""Telehealth rules BH-TEL-01 … BH-TEL-06, table-driven per rule over the demo tenant's payer profiles.

Profiles: MCR (Medicare defaults spelt out: no modifier, POS 02/10, audio-only 93), COMM-A (95 + 02_10), MCD-ORIG
(95 + original POS, no audio-only), MCD-TX (no telehealth block: convention unknown), plus edited variants.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any

import pytest

from claimbridge.claim import Address, ProfessionalClaim, TelehealthFacts
from claimbridge.findings import Finding
from claimbridge.scrubber import CodeTables, InMemoryHistory, load_table, parse_table, registered_rules, scrub
from claimbridge.scrubber.rules import telehealth
from claimbridge.tenants import TenantConfig
from tests.unit.scrubber.support import AS_OF, run_rule, tenant_with
from tests.unit.x12_builders import billing_provider, claim, line, payer

DOS = date(2026, 3, 2)
KEY = "c" * 64

HOME = TelehealthFacts(virtual=True, modality="audio-video", patient_at_home=True)
AWAY = TelehealthFacts(virtual=True, modality="audio-video", patient_at_home=False)
AUDIO_HOME = TelehealthFacts(virtual=True, modality="audio-only", patient_at_home=True)
AUDIO_AWAY = TelehealthFacts(virtual=True, modality="audio-only", patient_at_home=False)
UNKNOWN_HOME = TelehealthFacts(virtual=True, modality="unknown", patient_at_home=True)
IN_PERSON = TelehealthFacts()

MCR_TELEHEALTH = {"modifier": "none", "pos_style": "02_10"}
GT_PAYER = tenant_with(profiles={"COMM-A": {"telehealth": {"modifier": "GT", "pos_style": "02_10"}}})
COMM_IMPLICIT = tenant_with(profiles={"COMM-A": {"timely_filing_days": 90}})
COMM_EMPTY = tenant_with(profiles={"COMM-A": {}})
MCR_FQ = tenant_with(profiles={"MCR": {"telehealth": MCR_TELEHEALTH, "audio_only": {"modifier": "FQ"}}})
MCR_CODES = tenant_with(profiles={"MCR": {"telehealth": MCR_TELEHEALTH, "audio_only": {"codes": ["90834"]}}})
ORIG_AUDIO = tenant_with(profiles={"MCD-ORIG": {"telehealth": {"modifier": "95", "pos_style": "original_pos"}}})


def tele(
    payer_key: str = "MCR",
    *,
    pos: str = "10",
    facts: TelehealthFacts = HOME,
    code: str = "90837",
    modifiers: tuple[str, ...] = (),
    day: date = DOS,
    line_pos: str | None = None,
    dx: tuple[str, ...] = ("F411",),
    **overrides: Any,
) -> ProfessionalClaim:
    """A one-line claim to ``payer_key`` with the given POS, telehealth facts, code and modifiers."""
    service = line(
        procedure_code=code, modifiers=modifiers, telehealth=facts, service_date=day, place_of_service=line_pos
    )
    values: dict[str, Any] = {
        "payer": payer(payer_key),
        "place_of_service": pos,
        "diagnoses": dx,
        "lines": (service,),
    }
    return claim(**(values | overrides))


Expected = list[tuple[str, str]]


def check(findings: list[Finding], rule_id: str, expected: Expected, fix: str) -> None:
    """Severity and X12 location of every finding, in order, and the key part of the first finding's fix."""
    assert [(str(f.severity), f.x12_location) for f in findings] == expected
    assert all(f.rule_id == rule_id for f in findings)
    if expected:
        assert fix in findings[0].fix, findings[0].fix


def case(
    case_id: str, built: ProfessionalClaim, expected: Expected, fix: str = "", tenant: TenantConfig | None = None
) -> Any:
    return pytest.param(built, tenant, expected, fix, id=case_id)


CASE_ARGS = "built, tenant, expected, fix"
CLM05 = "2300 CLM05-1"
SV105 = "2400 LX*1 SV105"
CODE = "2400 LX*1 SV101-2"
MOD1 = "2400 LX*1 SV101-3"
MOD2 = "2400 LX*1 SV101-4"
ERROR_AT_POS = [("error", CLM05)]


# BH-TEL-01 ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    CASE_ARGS,
    [
        case("mcr-home-pos10", tele(pos="10", facts=HOME), []),
        case("mcr-away-pos02", tele(pos="02", facts=AWAY), []),
        case("mcr-home-pos02", tele(pos="02", facts=HOME), ERROR_AT_POS, "bill POS 10"),
        case("mcr-away-pos10", tele(pos="10", facts=AWAY), ERROR_AT_POS, "bill POS 02"),
        case("mcr-line-pos-overrides", tele(pos="11", line_pos="02", facts=HOME), [("error", SV105)], "POS 10"),
        case("mcr-virtual-in-person-pos", tele(pos="11", facts=HOME), ERROR_AT_POS, "bill POS 10"),
        case("mcr-pos10-without-facts", tele(pos="10", facts=IN_PERSON), []),
        case("mcr-in-person", tele(pos="11", facts=IN_PERSON), []),
        case("comm-a-home-pos10", tele("COMM-A", pos="10", modifiers=("95",)), []),
        case("comm-a-away-pos10", tele("COMM-A", pos="10", facts=AWAY, modifiers=("95",)), ERROR_AT_POS, "POS 02"),
        case("mcd-orig-pos11-95", tele("MCD-ORIG", pos="11", modifiers=("95",)), []),
        case(
            "mcd-orig-pos10", tele("MCD-ORIG", pos="10", modifiers=("95",)), ERROR_AT_POS, "(e.g. 11) with modifier 95"
        ),
        case("mcd-orig-pos02-no-facts", tele("MCD-ORIG", pos="02", facts=IN_PERSON), ERROR_AT_POS, "in person"),
        case("mcd-tx-in-person-pos-warns", tele("MCD-TX", pos="11", facts=HOME), [("warning", CLM05)], "POS 10"),
        case("mcd-tx-home-pos02", tele("MCD-TX", pos="02", facts=HOME), ERROR_AT_POS, "POS 10"),
        case("implicit-block-warns", tele("COMM-A", pos="11"), [("warning", CLM05)], "POS 10", COMM_IMPLICIT),
        case("unassigned-pos", tele(pos="29", facts=IN_PERSON), ERROR_AT_POS, "assigned POS"),
        case("unassigned-line-pos", tele(pos="11", line_pos="30", facts=IN_PERSON), [("error", SV105)], "assigned POS"),
        case("unassigned-pos-virtual", tele(pos="29", facts=HOME), ERROR_AT_POS, "bill POS 10"),
    ],
)
def test_bh_tel_01_pos_follows_patient_location(
    built: ProfessionalClaim, tenant: TenantConfig | None, expected: Expected, fix: str
) -> None:
    # Given a claim and the payer's profile / When BH-TEL-01 runs / Then
    check(run_rule("BH-TEL-01", built, tenant=tenant), "BH-TEL-01", expected, fix)


@pytest.mark.parametrize(
    "pos, day, facts, expected",
    [
        pytest.param("02", date(2016, 12, 31), IN_PERSON, ERROR_AT_POS, id="02-day-before-2017"),
        pytest.param("02", date(2017, 1, 1), IN_PERSON, [], id="02-from-2017"),
        pytest.param("10", date(2021, 12, 31), IN_PERSON, ERROR_AT_POS, id="10-day-before-2022"),
        pytest.param("10", date(2022, 1, 1), IN_PERSON, [], id="10-from-2022"),
        pytest.param("02", date(2021, 12, 31), HOME, [], id="home-02-before-pos10-existed"),
        pytest.param("02", date(2022, 1, 1), HOME, ERROR_AT_POS, id="home-02-once-pos10-exists"),
        pytest.param("58", date(2019, 12, 31), IN_PERSON, ERROR_AT_POS, id="58-day-before-2020"),
        pytest.param("58", date(2020, 1, 1), IN_PERSON, [], id="58-from-2020"),
        pytest.param("27", date(2023, 9, 30), IN_PERSON, ERROR_AT_POS, id="27-day-before-oct-2023"),
        pytest.param("27", date(2023, 10, 1), IN_PERSON, [], id="27-from-oct-2023"),
        pytest.param("66", date(2024, 7, 31), IN_PERSON, ERROR_AT_POS, id="66-day-before-aug-2024"),
        pytest.param("66", date(2024, 8, 1), IN_PERSON, [], id="66-from-aug-2024"),
        pytest.param("29", date(2015, 12, 31), IN_PERSON, [], id="before-the-table-no-check"),
        pytest.param("29", date(2016, 1, 1), IN_PERSON, ERROR_AT_POS, id="unassigned-from-the-table"),
    ],
)
def test_bh_tel_01_pos_code_set_is_dated(pos: str, day: date, facts: TelehealthFacts, expected: Expected) -> None:
    findings = run_rule("BH-TEL-01", tele("COMM-A", pos=pos, facts=facts, day=day, modifiers=("95",)))
    check(findings, "BH-TEL-01", expected, "POS")


def test_bh_tel_01_reports_an_unassigned_claim_pos_once() -> None:
    # Given two lines sharing the claim's unassigned POS
    two = claim(place_of_service="29", lines=(line(1), line(2)))
    # When / Then: one finding at CLM05-1
    check(run_rule("BH-TEL-01", two), "BH-TEL-01", ERROR_AT_POS, "assigned POS")


# BH-TEL-02 ----------------------------------------------------------------------------------------------------------


def audio(payer_key: str = "MCR", **overrides: Any) -> ProfessionalClaim:
    """An audio-only visit with the patient at home, billed with 93."""
    return tele(payer_key, facts=AUDIO_HOME, modifiers=("93",), **overrides)


@pytest.mark.parametrize(
    CASE_ARGS,
    [
        case("mcr-listed", tele(code="90837"), []),
        case("mcr-not-listed", tele(code="H2019"), [("error", CODE)], "does not pay H2019 as telehealth"),
        case("mcr-not-listed-in-person", tele(code="H2019", pos="11", facts=IN_PERSON), []),
        case("comm-a-table-not-for-ci", tele("COMM-A", code="H2019", modifiers=("95",)), []),
        case("mcd-tx-table-not-for-mc", tele("MCD-TX", code="H2019"), []),
        case("mcr-care-management-exempt", tele(code="99484"), []),
        case("90849-day-before-2026", tele(code="90849", day=date(2025, 12, 31)), [("error", CODE)], "in-person"),
        case("90849-from-2026", tele(code="90849", day=date(2026, 1, 1)), []),
        case("audio-column-yes", tele(code="90837", pos="02", facts=AUDIO_AWAY, modifiers=("93",)), []),
        case(
            "audio-column-no-2024-unverified",
            audio(code="96130", day=date(2024, 12, 31)),
            [("warning", CODE)],
            "bill only a visit that used video",
        ),
        case("audio-any-home-service-2025", audio(code="96130", day=date(2025, 1, 1)), []),
        case(
            "audio-column-no-away",
            tele(code="96130", pos="02", facts=AUDIO_AWAY, modifiers=("93",)),
            [("warning", CODE)],
            "video",
        ),
        case(
            "audio-by-modifier-only",
            tele(code="96130", facts=IN_PERSON, modifiers=("93",), day=date(2024, 6, 3)),
            [("warning", CODE)],
            "video",
        ),
    ],
)
def test_bh_tel_02_code_on_cms_telehealth_list(
    built: ProfessionalClaim, tenant: TenantConfig | None, expected: Expected, fix: str
) -> None:
    check(run_rule("BH-TEL-02", built, tenant=tenant), "BH-TEL-02", expected, fix)


def _list_edition(rows: list[dict[str, Any]], effective_from: str = "2018-01-01") -> CodeTables:
    """Pin BH-TEL-02 to a test edition of the list."""
    document = {
        "table": "cms_telehealth_list",
        "source": ["test edition"],
        "versions": [{"effective_from": effective_from, "effective_to": None, "rows": rows}],
    }
    return CodeTables({"cms_telehealth_list": parse_table(document)})


def _entry(*, audio_only: bool, verified: bool) -> dict[str, Any]:
    return {
        "code": "90837",
        "descriptor": "psychotherapy 60 min",
        "status": "permanent",
        "audio_only": audio_only,
        "mental_health": True,
        "filing_indicators": ["MB"],
        "verified": verified,
    }


@pytest.mark.parametrize(
    "entry, built, expected",
    [
        pytest.param(
            _entry(audio_only=False, verified=True),
            tele(pos="02", facts=AUDIO_AWAY, modifiers=("93",)),
            [("error", CODE)],
            id="verified-entry-errors",
        ),
        pytest.param(
            _entry(audio_only=False, verified=False),
            tele(pos="02", facts=AUDIO_AWAY, modifiers=("93",)),
            [("warning", CODE)],
            id="unverified-entry-warns",
        ),
        pytest.param(
            _entry(audio_only=True, verified=True),
            audio(day=date(2020, 2, 29)),
            [("warning", CODE)],
            id="no-audio-only-before-march-2020",
        ),
        pytest.param(_entry(audio_only=True, verified=True), audio(day=date(2020, 3, 1)), [], id="column-from-2020"),
    ],
)
def test_bh_tel_02_audio_only_column_per_edition(
    entry: dict[str, Any], built: ProfessionalClaim, expected: Expected
) -> None:
    # Given a pinned list edition
    tables = _list_edition([entry])
    # When
    result = scrub(built, tenant=tenant_with(), as_of=AS_OF, tables=tables, only=["BH-TEL-02"])
    # Then: unverified table facts (entry or policy) never hold the claim
    findings = list(result.findings)
    check(findings, "BH-TEL-02", expected, "video")
    assert all(("unverified" in f.message) == (f.severity == "warning") for f in findings)


# BH-TEL-03 ----------------------------------------------------------------------------------------------------------
FOUR_MODIFIERS = ("AJ", "HO", "U1", "U2")


@pytest.mark.parametrize(
    CASE_ARGS,
    [
        case("mcr-audio-93-pos10", audio(), []),
        case("mcr-audio-no-modifier", tele(facts=AUDIO_HOME), [("error", MOD1)], "add modifier 93"),
        case(
            "mcr-audio-95-and-93",
            tele(facts=AUDIO_HOME, modifiers=("95", "93")),
            [("error", MOD1)],
            "remove modifier 95",
        ),
        case("mcr-video-93", tele(facts=HOME, modifiers=("93",)), [("error", MOD1)], "remove modifier 93"),
        case(
            "comm-a-video-93",
            tele("COMM-A", facts=HOME, modifiers=("95", "93")),
            [("error", MOD2)],
            "video modifier is 95",
        ),
        case(
            "mcr-audio-away-pos02",
            tele(pos="02", facts=AUDIO_AWAY, modifiers=("93",)),
            ERROR_AT_POS,
            "needs a video visit",
        ),
        case("mcr-audio-home-pos02", audio(pos="02"), ERROR_AT_POS, "bill POS 10"),
        case("mcr-audio-unknown-modality-95", tele(facts=UNKNOWN_HOME, modifiers=("95",)), []),
        case(
            "mcr-audio-fifth-modifier-slot",
            tele(facts=AUDIO_HOME, modifiers=FOUR_MODIFIERS),
            [("error", "2400 LX*1 SV101-6")],
            "93",
        ),
        case("comm-a-audio-93", audio("COMM-A"), []),
        case("mcd-orig-audio", audio("MCD-ORIG", pos="11"), [("error", CODE)], "audio_only.allowed=false"),
        case(
            "mcd-orig-93-no-facts",
            tele("MCD-ORIG", pos="11", facts=IN_PERSON, modifiers=("93",)),
            [("error", CODE)],
            "audio_only.allowed=false",
        ),
        case("original-pos-no-pos-check", audio("MCD-ORIG", pos="11"), [], tenant=ORIG_AUDIO),
        case(
            "mcd-tx-audio-away-warns",
            tele("MCD-TX", pos="02", facts=AUDIO_AWAY, modifiers=("93",)),
            [("warning", CLM05)],
            "video visit",
        ),
        case("fq-profile-takes-fq", tele(facts=AUDIO_HOME, modifiers=("FQ",)), [], tenant=MCR_FQ),
        case("fq-profile-takes-93", audio(), [], tenant=MCR_FQ),
        case("fq-profile-missing", tele(facts=AUDIO_HOME), [("error", MOD1)], "add modifier FQ", MCR_FQ),
        case("93-profile-refuses-fq", tele(facts=AUDIO_HOME, modifiers=("FQ",)), [("error", MOD2)], "add modifier 93"),
        case("codes-restrict", audio(), [("error", CODE)], "90834 only", MCR_CODES),
        case("codes-allow", audio(code="90834"), [], tenant=MCR_CODES),
    ],
)
def test_bh_tel_03_audio_only(
    built: ProfessionalClaim, tenant: TenantConfig | None, expected: Expected, fix: str
) -> None:
    check(run_rule("BH-TEL-03", built, tenant=tenant), "BH-TEL-03", expected, fix)


# BH-TEL-04 ----------------------------------------------------------------------------------------------------------
ALASKA = billing_provider().model_copy(
    update={"address": Address(lines=("1 MAIN ST",), city="ANCHORAGE", state="AK", postal_code="995010001")}
)


@pytest.mark.parametrize(
    CASE_ARGS,
    [
        case("mcr-gt", tele(modifiers=("GT",)), [("error", MOD1)], "remove GT"),
        case("mcr-gt-day-before-2018", tele(modifiers=("GT",), day=date(2017, 12, 31)), []),
        case("mcr-gt-from-2018", tele(modifiers=("GT",), day=date(2018, 1, 1)), [("error", MOD1)], "remove GT"),
        case("mcr-gt-second-slot", tele(modifiers=("AJ", "GT")), [("error", MOD2)], "remove GT"),
        case("mcr-gt-in-person", tele(pos="11", facts=IN_PERSON, modifiers=("GT",)), [("error", MOD1)], "remove GT"),
        case("comm-a-gt", tele("COMM-A", modifiers=("GT",)), [("error", MOD1)], "replace GT with 95"),
        case("gt-payer-gt", tele("COMM-A", modifiers=("GT",)), [], tenant=GT_PAYER),
        case("gt-payer-gq", tele("COMM-A", modifiers=("GQ",)), [], tenant=GT_PAYER),
        case("mcr-gq", tele(modifiers=("GQ",)), [("error", MOD1)], "remove GQ"),
        case("mcr-gq-alaska", tele(modifiers=("GQ",), billing_provider=ALASKA), [("warning", MOD1)], "demonstration"),
        case("mcr-95-pos10", tele(modifiers=("95",)), [("warning", MOD1)], "remove 95"),
        case("mcr-95-pos02", tele(pos="02", facts=AWAY, modifiers=("95",)), [("warning", MOD1)], "remove 95"),
        case("mcr-95-in-person-pos", tele(pos="11", facts=IN_PERSON, modifiers=("95",)), []),
        case("comm-a-95", tele("COMM-A", modifiers=("95",)), []),
        case("mcd-orig-95", tele("MCD-ORIG", pos="11", modifiers=("95",)), []),
        case("mcd-tx-gt-warns", tele("MCD-TX", modifiers=("GT",)), [("warning", MOD1)], "remove GT"),
        case("mcd-tx-95-unknown-convention", tele("MCD-TX", modifiers=("95",)), []),
    ],
)
def test_bh_tel_04_legacy_and_unneeded_modifiers(
    built: ProfessionalClaim, tenant: TenantConfig | None, expected: Expected, fix: str
) -> None:
    check(run_rule("BH-TEL-04", built, tenant=tenant), "BH-TEL-04", expected, fix)


# BH-TEL-05 ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    CASE_ARGS,
    [
        case("comm-a-missing-95", tele("COMM-A"), [("error", MOD1)], "add modifier 95"),
        case("comm-a-95", tele("COMM-A", modifiers=("95",)), []),
        case(
            "comm-a-licensure-then-missing-95", tele("COMM-A", modifiers=("AJ",)), [("error", MOD2)], "add modifier 95"
        ),
        case("comm-a-audio-only-takes-93", audio("COMM-A"), []),
        case("comm-a-in-person", tele("COMM-A", pos="11", facts=IN_PERSON), []),
        case("mcd-orig-virtual-pos11", tele("MCD-ORIG", pos="11"), [("error", MOD1)], "add modifier 95"),
        case("mcd-orig-95", tele("MCD-ORIG", pos="11", modifiers=("95",)), []),
        case("mcr-no-modifier", tele(), []),
        case("gt-payer-missing-gt", tele("COMM-A", modifiers=("95",)), [("error", MOD2)], "add modifier GT", GT_PAYER),
        case("gt-payer-gt", tele("COMM-A", modifiers=("GT",)), [], tenant=GT_PAYER),
        case("mcd-tx-unknown", tele("MCD-TX"), [("warning", MOD1)], "set them in the tenant's payer profile"),
        case("mcd-tx-in-person", tele("MCD-TX", pos="11", facts=IN_PERSON), []),
        case("comm-a-implicit", tele("COMM-A"), [("warning", MOD1)], "telehealth modifier", COMM_IMPLICIT),
        case("comm-a-empty-profile", tele("COMM-A"), [("warning", MOD1)], "POS style", COMM_EMPTY),
    ],
)
def test_bh_tel_05_payer_convention(
    built: ProfessionalClaim, tenant: TenantConfig | None, expected: Expected, fix: str
) -> None:
    check(run_rule("BH-TEL-05", built, tenant=tenant), "BH-TEL-05", expected, fix)


def test_bh_tel_05_unknown_convention_warns_once_per_claim() -> None:
    # Given two telehealth lines to a payer without a telehealth block
    lines = (line(1, telehealth=HOME), line(2, procedure_code="90785", telehealth=HOME))
    built = claim(payer=payer("MCD-TX"), place_of_service="10", lines=lines)
    # When
    [found] = run_rule("BH-TEL-05", built)
    # Then
    assert found.severity == "warning"
    assert "line(s) 1, 2" in found.message


# BH-TEL-06 ----------------------------------------------------------------------------------------------------------
IN_PERSON_DUE = date(2028, 3, 15)


def stored(
    claim_id: str, day: date, *, pos: str = "11", code: str = "90837", modifiers: tuple[str, ...] = ()
) -> ProfessionalClaim:
    """Another claim of the same patient (history)."""
    service = line(claim_id=claim_id, procedure_code=code, service_date=day, modifiers=modifiers)
    return claim(claim_id, payer=payer("MCR"), patient_key=KEY, place_of_service=pos, lines=(service,))


def in_person_case(
    case_id: str,
    history: list[ProfessionalClaim],
    expected: Expected,
    *,
    day: date = IN_PERSON_DUE,
    payer_key: str = "MCR",
    code: str = "90837",
    dx: tuple[str, ...] = ("F411",),
    voided: tuple[str, ...] = (),
    months: int = 6,
) -> Any:
    built = tele(payer_key, code=code, day=day, dx=dx, patient_key=KEY)
    return pytest.param(built, history, voided, expected, months, id=case_id)


SIX_MONTHS_BEFORE = date(2027, 9, 15)
TWELVE_MONTHS_BEFORE = date(2027, 3, 15)
EARLIER_TELEHEALTH = stored("CLMTEL01", date(2028, 2, 1), pos="10")
WARN = [("warning", CODE)]


@pytest.mark.parametrize(
    "built, history, voided, expected, months",
    [
        in_person_case("waived-day-before-2028", [], [], day=date(2027, 12, 31)),
        in_person_case("required-from-2028", [], WARN, day=date(2028, 1, 1)),
        in_person_case("six-months-edge", [stored("CLMIP001", SIX_MONTHS_BEFORE)], []),
        in_person_case("six-months-and-a-day", [stored("CLMIP001", date(2027, 9, 14))], WARN),
        in_person_case("same-day-in-person", [stored("CLMIP001", IN_PERSON_DUE)], []),
        in_person_case("in-person-after-the-visit", [stored("CLMIP001", date(2028, 3, 16))], WARN),
        in_person_case("voided-in-person", [stored("CLMIP001", SIX_MONTHS_BEFORE)], WARN, voided=("CLMIP001",)),
        in_person_case(
            "telehealth-pos-is-not-in-person", [stored("CLMIP001", SIX_MONTHS_BEFORE, pos="02")], WARN, months=12
        ),
        in_person_case(
            "original-pos-with-95-is-not-in-person",
            [stored("CLMIP001", SIX_MONTHS_BEFORE, modifiers=("95",))],
            WARN,
            months=12,
        ),
        in_person_case(
            "subsequent-twelve-month-edge", [EARLIER_TELEHEALTH, stored("CLMIP001", TWELVE_MONTHS_BEFORE)], []
        ),
        in_person_case(
            "subsequent-twelve-months-and-a-day",
            [EARLIER_TELEHEALTH, stored("CLMIP001", date(2027, 3, 14))],
            WARN,
            months=12,
        ),
        in_person_case("first-needs-six-months", [stored("CLMIP001", TWELVE_MONTHS_BEFORE)], WARN),
        in_person_case("month-end-clamp-edge", [stored("CLMIP001", date(2028, 2, 29))], [], day=date(2028, 8, 31)),
        in_person_case(
            "month-end-clamp-day-before", [stored("CLMIP001", date(2028, 2, 28))], WARN, day=date(2028, 8, 31)
        ),
        in_person_case("commercial-not-named", [], [], payer_key="COMM-A"),
        in_person_case("em-with-mental-health-dx", [], WARN, code="99214"),
        in_person_case("em-without-mental-health-dx", [], [], code="99214", dx=("E119",)),
    ],
)
def test_bh_tel_06_in_person_requirement(
    built: ProfessionalClaim, history: list[ProfessionalClaim], voided: tuple[str, ...], expected: Expected, months: int
) -> None:
    # Given the patient's stored claims
    known = InMemoryHistory()
    for other in history:
        known.add(other, voided=other.claim_id in voided)
    # When
    findings = run_rule("BH-TEL-06", built, history=known)
    # Then
    check(findings, "BH-TEL-06", expected, "in-person visit within 6 months")
    if expected:  # a patient who already had mental-health telehealth needs an in-person visit every 12 months
        assert f"prior {months} months" in findings[0].message


def test_bh_tel_06_counts_an_in_person_line_of_the_same_claim() -> None:
    # Given an in-person line two weeks before the telehealth line, on the same claim
    lines = (
        line(1, service_date=IN_PERSON_DUE, place_of_service="10", telehealth=HOME),
        line(2, service_date=date(2028, 3, 1), place_of_service="11"),
    )
    built = claim(payer=payer("MCR"), place_of_service="11", lines=lines)
    # When / Then
    assert run_rule("BH-TEL-06", built) == []
    alone = claim(payer=payer("MCR"), place_of_service="11", lines=lines[:1])
    check(run_rule("BH-TEL-06", alone), "BH-TEL-06", WARN, "12 months after")


# Tables, catalogue and PHI ------------------------------------------------------------------------------------------
ASSIGNED_2026 = (
    "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 31 32 33 34 41 42 "
    "49 50 51 52 53 54 55 56 57 58 60 61 62 65 66 71 72 81 99"
).split()


def test_pos_table_holds_every_assigned_code_and_no_overlaps() -> None:
    table = load_table("place_of_service")
    [version] = table.versions
    rows = [telehealth.PlaceOfService.model_validate(row) for row in version.rows]
    assert sorted(row.code for row in rows if row.assigned_on(DOS)) == ASSIGNED_2026
    for code in {row.code for row in rows}:
        spans = sorted(
            (row.effective_from or date.min, row.effective_to or date.max) for row in rows if row.code == code
        )
        assert all(earlier[1] < later[0] for earlier, later in itertools.pairwise(spans)), code
    home = [row.code for row in rows if row.patient_home]
    assert home == ["10"]


def test_every_telehealth_table_row_parses_into_the_rule_models() -> None:
    for version in load_table("cms_telehealth_list").versions:
        entries = [telehealth.TelehealthListEntry.model_validate(row) for row in version.rows]
        assert len({e.code for e in entries}) == len(entries)
        assert all("verified" in row for row in version.rows)  # unverified entries are flagged, never implied
    policies = [telehealth.TelehealthPolicy.model_validate(v.rows[0]) for v in load_table("telehealth_policy").versions]
    assert [p.audio_only.scope for p in policies] == ["none", "list_column", "any_home_service", "any_home_service"]
    table = load_table("telehealth_policy")
    required = [
        telehealth.TelehealthPolicy.model_validate(table.rows_on(d)[0]).in_person.required
        for d in (date(2027, 12, 31), date(2028, 1, 1))
    ]
    assert required == [False, True]


def test_telehealth_rules_are_registered_with_a_sourced_docstring() -> None:
    rules = registered_rules()
    for number in range(1, 7):
        registered = rules[f"BH-TEL-0{number}"]
        assert registered.check.__doc__ and "[S" in registered.check.__doc__, registered.rule_id


def test_no_finding_quotes_the_patient() -> None:
    # Given claims that trip every telehealth rule
    claims = [
        tele(pos="02", facts=AUDIO_HOME, modifiers=("95", "GT"), code="H2019"),
        tele("COMM-A", pos="29", facts=HOME, modifiers=("93",)),
        audio("MCD-ORIG", pos="10"),
        tele("MCD-TX", pos="11"),
        tele(day=IN_PERSON_DUE, patient_key=KEY),
    ]
    # When
    findings = [
        f
        for built in claims
        for f in scrub(built, tenant=tenant_with(), as_of=AS_OF).findings
        if f.rule_id.startswith("BH-TEL")
    ]
    # Then
    assert {f.rule_id for f in findings} == {f"BH-TEL-0{n}" for n in range(1, 7)}
    text = json.dumps([f.model_dump(mode="json") for f in findings])
    for phi in ("TESTPATIENT", "ALEX", "W123456789", "45 ELM", "1990", "2026-03-02", "20260302", "2028-03-15"):
        assert phi not in text
