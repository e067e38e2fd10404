"""Provider rules BH-NPI-01, BH-TIN-01, BH-ADDR-01, BH-CRED-01/02, BH-MOD-01, BH-SCOPE-01: table-driven."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from claimbridge.claim import Address, Clinician, EntityType, PersonName, ProfessionalClaim, ServiceFacility
from claimbridge.findings import Finding
from claimbridge.tenants import TenantConfig, parse_tenant_config
from tests.unit.scrubber.support import demo_document, run_rule, severities, tenant_with
from tests.unit.x12_builders import BILLING_ADDRESS, CHEN, OKAFOR, RIVERA, billing_provider, claim, line, payer

DOS = date(2026, 3, 2)
BAD_NPI = "1234567890"  # right shape, wrong check digit (domain doc 4.1 worked example)
UNROSTERED_NPI = "1234567893"  # valid, not a roster clinician


def summary(found: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.rule_id, str(f.severity), f.x12_location) for f in found]


def clinician(npi: str = UNROSTERED_NPI, taxonomy: str | None = None) -> Clinician:
    return Clinician(npi=npi, name=PersonName(last="SYNTHETIC", first="DOC"), taxonomy=taxonomy)


def roster_tenant(enrolled: list[Any], *, npi: str = RIVERA.npi, **provider: Any) -> TenantConfig:
    """The demo tenant with one roster clinician's ``enrolled_payers`` (and other keys) replaced."""
    document = demo_document()
    for entry in document["providers"]:
        if entry["npi"] == npi:
            entry["enrolled_payers"] = enrolled
            entry.update(provider)
    return parse_tenant_config(document)


def day(offset: int) -> str:
    return (DOS + timedelta(days=offset)).isoformat()


# BH-NPI-01 ------------------------------------------------------------------------------------------------------------


def _facility(npi: str) -> ServiceFacility:
    return ServiceFacility(name="DEMO CLINIC", npi=npi, address=BILLING_ADDRESS)


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        pytest.param({}, None, id="clean"),
        pytest.param(
            {"billing_provider": billing_provider().model_copy(update={"npi": BAD_NPI})}, "2010AA NM109", id="billing"
        ),
        pytest.param({"referring": clinician(BAD_NPI)}, "2310A NM109", id="referring"),
        pytest.param({"rendering": clinician(BAD_NPI)}, "2310B NM109", id="rendering"),
        pytest.param({"service_facility": _facility(BAD_NPI)}, "2310C NM109", id="facility"),
        pytest.param({"supervising": clinician(BAD_NPI)}, "2310D NM109", id="supervising"),
        pytest.param(
            {"lines": (line(rendering_override=clinician(BAD_NPI)),)}, "2400 LX*1 2420A NM109", id="line-rendering"
        ),
        pytest.param(
            {"lines": (line(supervising_override=clinician(BAD_NPI)),)}, "2400 LX*1 2420D NM109", id="line-supervising"
        ),
        pytest.param(
            {"referring": clinician("1234567893"), "service_facility": _facility("1987654328")},
            None,
            id="valid-everywhere",
        ),
    ],
)
def test_npi_check_digit(overrides: dict[str, Any], location: str | None) -> None:
    found = run_rule("BH-NPI-01", claim(**overrides))
    assert summary(found) == ([("BH-NPI-01", "error", location)] if location else [])
    if location == "2010AA NM109":
        assert "billing_provider.npi" in found[0].fix


# BH-TIN-01 ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        pytest.param({}, [], id="EI-9-digits"),
        pytest.param({"tin_type": "SY"}, [], id="SY-9-digits"),
        pytest.param({"tin": ""}, [("BH-TIN-01", "error", "2010AA REF02")], id="missing"),
        pytest.param({"tin": "12345678"}, [("BH-TIN-01", "error", "2010AA REF02")], id="8-digits"),
        pytest.param({"tin": "12-3456789"}, [("BH-TIN-01", "error", "2010AA REF02")], id="hyphen"),
        pytest.param({"tin_type": "XX"}, [("BH-TIN-01", "error", "2010AA REF01")], id="qualifier"),
    ],
)
def test_billing_tin(update: dict[str, str], expected: list[tuple[str, str, str]]) -> None:
    found = run_rule("BH-TIN-01", claim(billing_provider=billing_provider().model_copy(update=update)))
    assert summary(found) == expected
    if expected:
        assert "tin_type (EI or SY)" in found[0].fix


# BH-ADDR-01 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "location"),
    [
        pytest.param(("123 MAIN ST",), None, id="street"),
        pytest.param(("123 BOXWOOD LN",), None, id="box-inside-word"),
        pytest.param(("9 POLO BOX RD",), None, id="polo-is-not-po"),
        pytest.param(("PO BOX 12",), "2010AA N301", id="PO-BOX"),
        pytest.param(("P.O. BOX 12",), "2010AA N301", id="P.O.-BOX"),
        pytest.param(("P O BOX 12",), "2010AA N301", id="P-O-BOX"),
        pytest.param(("pobox 12",), "2010AA N301", id="pobox-lower"),
        pytest.param(("POST OFFICE BOX 9",), "2010AA N301", id="post-office-box"),
        pytest.param(("LOCKBOX 4410",), "2010AA N301", id="LOCKBOX"),
        pytest.param(("LOCK BOX 4410",), "2010AA N301", id="LOCK-BOX"),
        pytest.param(("100 MAIN ST", "PMB 44"), "2010AA N302", id="PMB-second-line"),
    ],
)
def test_billing_address_is_not_a_po_box(lines: tuple[str, ...], location: str | None) -> None:
    address = Address(lines=lines, city="KANSAS CITY", state="MO", postal_code="641081234")
    found = run_rule("BH-ADDR-01", claim(billing_provider=billing_provider().model_copy(update={"address": address})))
    assert summary(found) == ([("BH-ADDR-01", "error", location)] if location else [])
    if location:
        assert "move it to pay_to (2010AB)" in found[0].fix
        assert lines[-1] not in found[0].message  # the address itself is never quoted


# BH-CRED-01 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enrolled", "expected", "says"),
    [
        pytest.param(["COMM-A"], [], "", id="bare-key-open-ended"),
        pytest.param(["MCR"], ["error"], "has no enrollment with payer COMM-A", id="other-payer-only"),
        pytest.param([], ["error"], "has no enrollment", id="no-enrollment"),
        pytest.param([{"payer": "COMM-A", "from": day(1)}], ["error"], "starts 1 day(s) after", id="from-day-after"),
        pytest.param([{"payer": "COMM-A", "from": day(0)}], [], "", id="from-on-DOS"),
        pytest.param([{"payer": "COMM-A", "from": day(-1)}], [], "", id="from-day-before"),
        pytest.param([{"payer": "COMM-A", "to": day(-1)}], ["error"], "ended 1 day(s) before", id="to-day-before"),
        pytest.param([{"payer": "COMM-A", "to": day(0)}], ["warning"], "only until 0 day(s)", id="to-on-DOS"),
        pytest.param([{"payer": "COMM-A", "to": day(1)}], ["warning"], "only until 1 day(s)", id="to-day-after"),
        pytest.param([{"payer": "COMM-A", "to": day(29)}], ["warning"], "only until 29 day(s)", id="ends-in-29"),
        pytest.param([{"payer": "COMM-A", "to": day(30)}], ["warning"], "only until 30 day(s)", id="ends-in-30"),
        pytest.param([{"payer": "COMM-A", "to": day(31)}], [], "", id="ends-in-31"),
        pytest.param(
            [{"payer": "COMM-A", "from": "2025-01-01", "to": day(10)}, {"payer": "COMM-A", "from": day(11)}],
            [],
            "",
            id="back-to-back-renewal",
        ),
        pytest.param(
            [{"payer": "COMM-A", "to": day(10)}, {"payer": "COMM-A", "from": day(12), "to": day(100)}],
            ["warning"],
            "only until 10 day(s)",
            id="gap-before-renewal",
        ),
    ],
)
def test_rendering_enrolled_on_the_date_of_service(enrolled: list[Any], expected: list[str], says: str) -> None:
    found = run_rule("BH-CRED-01", claim(), tenant=roster_tenant(enrolled))
    assert severities(found) == expected
    if expected:
        assert (found[0].rule_id, found[0].x12_location) == ("BH-CRED-01", "2310B NM109")
        assert says in found[0].message


def test_rendering_not_enrolled_fix_points_at_the_roster() -> None:
    [found] = run_rule("BH-CRED-01", claim(payer=payer("MCD-ORIG"), rendering=CHEN))
    assert "MCD-ORIG" in found.message and "providers[].enrolled_payers" in found.fix


def test_rendering_not_on_the_roster_is_one_error_per_clinician() -> None:
    two_lines = claim(rendering=clinician(), lines=(line(1), line(2)))
    found = run_rule("BH-CRED-01", two_lines)
    assert summary(found) == [("BH-CRED-01", "error", "2310B NM109")]
    assert "not on the tenant's provider roster" in found[0].message


def test_line_rendering_override_is_checked_per_line() -> None:
    lines = (line(1), line(2, rendering_override=CHEN))
    found = run_rule("BH-CRED-01", claim(payer=payer("MCD-ORIG"), lines=lines))
    assert summary(found) == [("BH-CRED-01", "error", "2400 LX*2 2420A NM109")]


def test_organisation_billing_without_rendering_clinician_is_an_error() -> None:
    found = run_rule("BH-CRED-01", claim(rendering=None))
    assert summary(found) == [("BH-CRED-01", "error", "2310B NM109")]
    assert "Claim.careTeam" in found[0].fix


def test_sole_proprietor_billing_provider_is_checked_against_the_roster() -> None:
    # Given a person billing provider (RIVERA's NPI) with no rendering loop
    person = billing_provider().model_copy(update={"entity": EntityType.PERSON, "npi": RIVERA.npi})
    solo = claim(billing_provider=person, rendering=None)
    # When RIVERA is enrolled with COMM-A, nothing; when not, an error at 2010AA
    assert run_rule("BH-CRED-01", solo) == []
    found = run_rule("BH-CRED-01", solo, tenant=roster_tenant(["MCR"]))
    assert summary(found) == [("BH-CRED-01", "error", "2010AA NM109")]


# BH-CRED-02 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "profile", "expected", "says"),
    [
        pytest.param({}, None, [], "", id="roster-taxonomy-sent"),
        pytest.param(
            {"rendering": clinician(taxonomy=None)},
            None,
            [("error", "2310B PRV03")],
            "require_rendering_prv",
            id="none-required",
        ),
        pytest.param(
            {"rendering": clinician(taxonomy=None)}, {"require_rendering_prv": False}, [], "", id="none-not-required"
        ),
        pytest.param(
            {"rendering": RIVERA.model_copy(update={"taxonomy": "101YM0800X"})},
            None,
            [("warning", "2310B PRV03")],
            "1041C0700X (Social Worker - Clinical)",
            id="differs-from-roster",
        ),
        pytest.param({"rendering": clinician(taxonomy="101YM0800X")}, None, [], "", id="not-on-roster-no-compare"),
        pytest.param(
            {"lines": (line(rendering_override=CHEN.model_copy(update={"taxonomy": "2084P0800X"})),)},
            None,
            [("warning", "2400 LX*1 2420A PRV03")],
            "363LP0808X",
            id="line-override-differs",
        ),
    ],
)
def test_rendering_taxonomy(
    overrides: dict[str, Any], profile: dict[str, Any] | None, expected: list[tuple[str, str]], says: str
) -> None:
    tenant = tenant_with(profiles={"COMM-A": profile}) if profile is not None else tenant_with()
    found = run_rule("BH-CRED-02", claim(**overrides), tenant=tenant)
    assert [(str(f.severity), f.x12_location) for f in found] == expected
    if says:
        assert says in found[0].message + found[0].fix


# BH-MOD-01 ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payer_key", "rendering", "modifiers", "expected", "fix"),
    [
        pytest.param("MCR", RIVERA, (), [], "", id="empty-map-no-check"),
        pytest.param("MCD-ORIG", RIVERA, ("AJ",), [], "", id="AJ-present"),
        pytest.param("MCD-ORIG", RIVERA, (), ["2400 LX*1 SV101-3"], "add modifier AJ in SV101-3", id="AJ-missing"),
        pytest.param("MCD-ORIG", RIVERA, ("95",), ["2400 LX*1 SV101-4"], "add modifier AJ in SV101-4", id="after-95"),
        pytest.param(
            "MCD-ORIG",
            OKAFOR,
            ("95", "AJ"),
            ["2400 LX*1 SV101-4"],
            "replace modifier AJ with AH in SV101-4",
            id="wrong-licensure-modifier",
        ),
        pytest.param(
            "MCD-ORIG", RIVERA, ("95", "HQ", "U1", "U2"), ["2400 LX*1 SV101-3"], "free a slot", id="slots-full"
        ),
        pytest.param("MCD-ORIG", CHEN, (), [], "", id="NP-nothing-expected"),
        pytest.param(
            "MCD-ORIG",
            RIVERA.model_copy(update={"taxonomy": None}),
            (),
            ["2400 LX*1 SV101-3"],
            "add modifier AJ",
            id="roster-taxonomy-fallback",
        ),
    ],
)
def test_licensure_modifier(
    payer_key: str, rendering: Clinician, modifiers: tuple[str, ...], expected: list[str], fix: str
) -> None:
    built = claim(payer=payer(payer_key), rendering=rendering, lines=(line(modifiers=modifiers),))
    found = run_rule("BH-MOD-01", built)
    assert [(f.rule_id, str(f.severity), f.x12_location) for f in found] == [
        ("BH-MOD-01", "error", where) for where in expected
    ]
    if fix:
        assert fix in found[0].fix


def test_licensure_modifier_falls_back_to_the_roster_when_the_map_has_no_entry() -> None:
    # Given MCD-TX asks only AH by taxonomy, and RIVERA's roster entry says AJ
    tenant = tenant_with(profiles={"MCD-TX": {"licensure_modifiers": {"103TC0700X": "AH"}}})
    built = claim(payer=payer("MCD-TX"), lines=(line(),))
    # When the line lacks AJ / Then the roster's modifier is expected
    [found] = run_rule("BH-MOD-01", built, tenant=tenant)
    assert "the roster's licensure_modifier" in found.message and found.fix == "add modifier AJ in SV101-3"


# BH-SCOPE-01 ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "rendering", "expected", "fix"),
    [
        pytest.param("90792", RIVERA, [("error", "2400 LX*1 SV101-2")], "bill 90791", id="90792-LCSW"),
        pytest.param("90792", OKAFOR, [("error", "2400 LX*1 SV101-2")], "bill 90791", id="90792-psychologist"),
        pytest.param("90792", CHEN, [], "", id="90792-NP"),
        pytest.param("90833", RIVERA, [("error", "2400 LX*1 SV101-2")], "bill 90832", id="90833-LCSW"),
        pytest.param("90838", OKAFOR, [("error", "2400 LX*1 SV101-2")], "bill 90837", id="90838-psychologist"),
        pytest.param("99201", RIVERA, [], "", id="99201-below-range-not-checked"),
        pytest.param("99202", RIVERA, [("error", "2400 LX*1 SV101-2")], "medical practitioner", id="99202-LCSW"),
        pytest.param("99215", RIVERA, [("error", "2400 LX*1 SV101-2")], "medical practitioner", id="99215-LCSW"),
        pytest.param("99216", RIVERA, [], "", id="99216-above-range-not-checked"),
        pytest.param("99213", CHEN, [], "", id="E/M-NP"),
        pytest.param("99213", clinician(taxonomy="2084P0800X"), [], "", id="E/M-psychiatrist"),
        pytest.param("99213", clinician(taxonomy="363A00000X"), [], "", id="E/M-PA"),
        pytest.param("99213", clinician(taxonomy="364SP0808X"), [], "", id="E/M-CNS"),
        pytest.param("99213", clinician(taxonomy="101YP2500X"), [("error", "2400 LX*1 SV101-2")], "", id="E/M-LPC"),
        pytest.param("99213", clinician(taxonomy="106H00000X"), [("error", "2400 LX*1 SV101-2")], "", id="E/M-MFT"),
        pytest.param(
            "99213", clinician(taxonomy="390200000X"), [("warning", "2310B PRV03")], "physician, NP", id="unknown-tax"
        ),
        pytest.param("99213", clinician(taxonomy=None), [("warning", "2310B PRV03")], "", id="no-taxonomy"),
        pytest.param("90837", RIVERA, [], "", id="psychotherapy-not-scoped"),
    ],
)
def test_scope_of_practice(code: str, rendering: Clinician, expected: list[tuple[str, str]], fix: str) -> None:
    found = run_rule("BH-SCOPE-01", claim(rendering=rendering, lines=(line(procedure_code=code),)))
    assert [(str(f.severity), f.x12_location) for f in found] == expected
    if fix:
        assert fix in found[0].fix


def test_scope_uses_the_roster_taxonomy_when_none_is_sent() -> None:
    sent_without = RIVERA.model_copy(update={"taxonomy": None})
    [found] = run_rule("BH-SCOPE-01", claim(rendering=sent_without, lines=(line(procedure_code="99213"),)))
    assert str(found.severity) == "error" and "1041C0700X" in found.message


def test_scope_checks_the_line_override() -> None:
    lines = (line(1, procedure_code="99213", rendering_override=CHEN), line(2, procedure_code="99213"))
    found = run_rule("BH-SCOPE-01", claim(rendering=RIVERA, lines=lines))
    assert [f.x12_location for f in found] == ["2400 LX*2 SV101-2"]


# PHI ------------------------------------------------------------------------------------------------------------------


def _messy() -> ProfessionalClaim:
    address = Address(lines=("PO BOX 12",), city="KANSAS CITY", state="MO", postal_code="641081234")
    return claim(
        payer=payer("MCD-ORIG"),
        billing_provider=billing_provider().model_copy(update={"npi": BAD_NPI, "tin_type": "XX", "address": address}),
        rendering=OKAFOR.model_copy(update={"taxonomy": "103T00000X"}),
        lines=(
            line(1, procedure_code="90792"),
            line(2, procedure_code="99213", rendering_override=clinician(BAD_NPI, taxonomy=None)),
        ),
    )


def test_provider_findings_carry_no_patient_or_clinician_data() -> None:
    # Given a claim that trips every provider rule
    ids = ("BH-NPI-01", "BH-TIN-01", "BH-ADDR-01", "BH-CRED-01", "BH-CRED-02", "BH-MOD-01", "BH-SCOPE-01")
    found = [f for rid in ids for f in run_rule(rid, _messy())]
    # Then every rule spoke, and no name, member id, NPI, TIN, address or date of service is in the text
    assert {f.rule_id for f in found} == set(ids)
    text = " ".join(f.model_dump_json() for f in found).upper()
    secrets = ("TESTPATIENT", "ALEX", "W123456789", "ELM ST", "OKAFOR", "TAYLOR", "SYNTHETIC", "RIVERA", "JORDAN")
    for secret in (*secrets, BAD_NPI, OKAFOR.npi, "123456789", "PO BOX 12", "KANSAS", "2026-03-02", "20260302"):
        assert secret not in text
