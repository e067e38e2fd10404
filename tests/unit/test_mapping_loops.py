"""claimbridge.mapping: 2310C service facility, 2420D line supervisor, REF*9F referral number and TR3 limits.

Each test changes one fact of the contract section 12 example. Claims that map are also written, so the suite-wide
capture hands every 837P to the pyx12 contract test; the safety tests validate here as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding, Severity
from claimbridge.intake import IntakeResult
from claimbridge.x12 import writer
from claimbridge.x12.validate import validate_837p
from tests.unit.fhir_builders import (
    NPI,
    PHI_VALUES,
    POS,
    ROLE_CODE,
    Json,
    add,
    claim,
    coding,
    example,
    findings_text,
    item,
    resource,
    run_intake,
)
from tests.unit.x12_builders import CONTROL, CREATED, demo_tenant

pytestmark = pytest.mark.unit

CLAIM_PATH = "Bundle.entry[7].resource(Claim/clm-1)"
PATIENT_PATH = "Bundle.entry[0].resource(Patient/pat-1)"
COVERAGE_PATH = "Bundle.entry[2].resource(Coverage/cov-1)"
FACILITY_PATH = "Bundle.entry[8].resource(Location/fac)"
FACILITY_NPI = "1245319599"
HOSTILE = "O'BRIEN~JR*SMITH:^"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"


def _intake(bundle: Json, extra_phi: tuple[str, ...] = ()) -> IntakeResult:
    """Intake of ``bundle``; no finding carries the example's PHI (or ``extra_phi``)."""
    result = run_intake(bundle)
    text = findings_text(result)
    for value in (*PHI_VALUES, *extra_phi):
        assert value not in text
    return result


def mapped(bundle: Json, extra_phi: tuple[str, ...] = ()) -> tuple[ProfessionalClaim, tuple[Finding, ...]]:
    result = _intake(bundle, extra_phi)
    assert not result.rejected, [f.model_dump() for r in result.rejected for f in r.findings]
    (built,) = result.claims
    assert built.claim is not None
    return built.claim, built.findings


def rejected(bundle: Json) -> list[tuple[str, str, str]]:
    """(rule, FHIR path, X12 location) of the errors of the one rejected claim."""
    result = _intake(bundle)
    assert not result.claims
    (source,) = result.rejected
    return [(f.rule_id, f.fhir_path, f.x12_location) for f in source.findings if f.severity == Severity.ERROR]


def warnings(findings: tuple[Finding, ...], rule: str = "IN-CODE") -> list[tuple[str, str]]:
    return [(f.fhir_path, f.x12_location) for f in findings if f.severity == Severity.WARNING and f.rule_id == rule]


def written(built: ProfessionalClaim) -> list[str]:
    """The claim as an 837P (pyx12-clean), split into segments."""
    text = writer.write_837p([built], tenant=demo_tenant(), control=CONTROL, created=CREATED)
    assert validate_837p(text) == []
    return text[:-1].split("~")


# --- 2310C service facility (contract section 13) -------------------------------------------------------------


def in_office(bundle: Json, pos: str = "11") -> Json:
    """The example billed as an in-person visit at POS ``pos`` (no telehealth modifier)."""
    item(bundle)["locationCodeableConcept"] = coding(POS, pos)
    del item(bundle)["modifier"]
    return bundle


def with_facility(bundle: Json, **location: Any) -> Json:
    """``Claim.facility`` -> a satellite office Location (overridable), entry 8 of the bundle."""
    fields: dict[str, Any] = {
        "resourceType": "Location",
        "id": "fac",
        "name": "Eastside Counseling Office",
        "identifier": [{"system": NPI, "value": FACILITY_NPI}],
        "address": {
            "line": ["900 E 9th St", "Suite 200"],
            "city": "Kansas City",
            "state": "MO",
            "postalCode": "64106-1234",
        },
    }
    add(bundle, {k: v for k, v in (fields | location).items() if v is not None}, "urn:uuid:fac")
    claim(bundle)["facility"] = {"reference": "urn:uuid:fac"}
    return bundle


def test_mapping_facility_away_from_billing_address_becomes_2310c() -> None:
    # Given an in-office visit at a satellite office with its own NPI
    bundle = with_facility(in_office(example()))
    # When it is mapped and written
    built, findings = mapped(bundle)
    segments = written(built)
    # Then 2310C carries the office's name, NPI and address (ZIP+4 without the hyphen)
    facility = built.service_facility
    assert facility is not None
    assert (facility.name, facility.npi, facility.fhir_path) == (
        "Eastside Counseling Office",
        FACILITY_NPI,
        FACILITY_PATH,
    )
    assert facility.address.lines == ("900 E 9th St", "Suite 200")
    assert facility.address.postal_code == "641061234"
    at = segments.index(f"NM1*77*2*EASTSIDE COUNSELING OFFICE*****XX*{FACILITY_NPI}")
    assert segments[at + 1 : at + 3] == ["N3*900 E 9TH ST*SUITE 200", "N4*KANSAS CITY*MO*641061234"]
    assert not warnings(findings)


def test_mapping_facility_name_and_npi_from_managing_organization() -> None:
    # Given a facility Location without name or NPI, managed by an Organization that has both
    bundle = in_office(example())
    add(
        bundle,
        {
            "resourceType": "Organization",
            "id": "east",
            "name": "Eastside Clinic",
            "identifier": [{"system": NPI, "value": FACILITY_NPI}],
        },
        "urn:uuid:east",
    )
    with_facility(bundle, name=None, identifier=None, managingOrganization={"reference": "urn:uuid:east"})
    # When it is mapped
    built, _ = mapped(bundle)
    # Then the Organization supplies NM103 and NM109
    assert built.service_facility is not None
    assert (built.service_facility.name, built.service_facility.npi) == ("Eastside Clinic", FACILITY_NPI)


def test_mapping_facility_npi_given_in_the_managing_organization_reference() -> None:
    # Given a named facility whose managingOrganization is referenced by NPI only (not sent)
    bundle = with_facility(
        in_office(example()),
        identifier=None,
        managingOrganization={"identifier": {"system": NPI, "value": FACILITY_NPI}},
    )
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the reference's NPI is NM109, without a warning about the unsent Organization
    assert built.service_facility is not None and built.service_facility.npi == FACILITY_NPI
    assert not [f for f in findings if f.rule_id == "IN-REF"]


def test_mapping_facility_without_npi_is_sent_without_nm109() -> None:
    # Given a facility with neither its own nor a managing Organization's NPI
    bundle = with_facility(in_office(example()), identifier=None)
    # When it is mapped and written
    built, _ = mapped(bundle)
    # Then 2310C has the name only
    assert built.service_facility is not None and built.service_facility.npi is None
    assert "NM1*77*2*EASTSIDE COUNSELING OFFICE" in written(built)


@pytest.mark.parametrize(
    "change",
    [
        lambda b: with_facility(
            in_office(b),
            address={"line": ["123 Main St."], "city": "Kansas City", "state": "Missouri", "postalCode": "64108"},
        ),
        with_facility,
        lambda b: with_facility(in_office(b), type=[coding(ROLE_CODE, "PTRES")]),
        lambda b: with_facility(in_office(b), address=None),
    ],
    ids=["billing-address", "telehealth-home-pos-10", "patient-residence", "no-address"],
)
def test_mapping_no_2310c(change: Callable[[Json], Json]) -> None:
    # Given a facility at the billing address (spelt differently), telehealth to the home (POS 10), a Location
    # typed as the patient's residence, or a Location without an address
    bundle = example()
    change(bundle)
    # When it is mapped and written
    built, _ = mapped(bundle)
    # Then there is no service facility
    assert built.service_facility is None
    assert not [s for s in written(built) if s.startswith("NM1*77*")]


def test_mapping_facility_with_a_postal_address_only_is_a_warning() -> None:
    # Given a facility whose only address is a mailing address
    postal = {
        "type": "postal",
        "line": ["PO Box 7788"],
        "city": "Kansas City",
        "state": "MO",
        "postalCode": "641411234",
    }
    bundle = with_facility(in_office(example()), address=postal)
    # When it is mapped
    built, findings = mapped(bundle)
    # Then no 2310C is sent, and a warning says why
    assert built.service_facility is None
    assert warnings(findings, "IN-REQUIRED") == [(f"{FACILITY_PATH}.address", "2310C N301")]


def test_mapping_unresolved_facility_is_one_warning() -> None:
    # Given Claim.facility naming a Location that was not sent (the POS lookup and 2310C both read it)
    bundle = in_office(example())
    claim(bundle)["facility"] = {"reference": "Location/missing"}
    # When it is mapped
    built, findings = mapped(bundle)
    # Then there is no service facility and the unresolved reference is reported once
    assert built.service_facility is None
    assert [(f.rule_id, f.fhir_path) for f in findings if f.rule_id == "IN-REF"] == [
        ("IN-REF", f"{CLAIM_PATH}.facility")
    ]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            {"address": {"line": ["900 E 9th St"], "city": "Kansas City", "state": "MO", "postalCode": "64106"}},
            ("IN-CODE", f"{FACILITY_PATH}.address.postalCode", "2310C N403"),
        ),
        (
            {"identifier": [{"system": NPI, "value": "1245319590"}]},
            ("BH-NPI-01", f"{FACILITY_PATH}.identifier", "2310C NM109"),
        ),
        ({"name": None}, ("IN-REQUIRED", f"{FACILITY_PATH}.name", "2310C NM103")),
        ({"name": "\U0001f3e5"}, ("IN-CODE", f"{FACILITY_PATH}.name", "2310C NM103")),
    ],
    ids=["zip5", "bad-npi", "no-name", "unwritable-name"],
)
def test_mapping_rejects_a_facility_the_837p_cannot_carry(location: Json, expected: tuple[str, str, str]) -> None:
    # Given a facility with a 5-digit ZIP, an NPI failing the check digit, or no (usable) name
    bundle = with_facility(in_office(example()), **location)
    # When it is mapped
    # Then the claim is rejected naming the Location element and the 2310C element
    assert rejected(bundle) == [expected]


# --- 2420D line supervising (contract section 5) --------------------------------------------------------------


def _practitioner(bundle: Json, pid: str, npi: str, family: str) -> None:
    add(
        bundle,
        {
            "resourceType": "Practitioner",
            "id": pid,
            "name": [{"family": family}],
            "identifier": [{"system": NPI, "value": npi}],
        },
        f"urn:uuid:{pid}",
    )


def _supervisor(bundle: Json, sequence: int, pid: str) -> None:
    claim(bundle)["careTeam"].append(
        {
            "sequence": sequence,
            "provider": {"reference": f"urn:uuid:{pid}"},
            "role": coding(CARE_TEAM_ROLE, "supervisor"),
        }
    )


def test_mapping_line_supervisor_other_than_2310d_becomes_2420d() -> None:
    # Given two supervisors on the care team (CHEN first: 2310D) and two lines naming one each
    bundle = example()
    _practitioner(bundle, "sup1", "1987654328", "CHEN")
    _practitioner(bundle, "sup2", "1000000004", "OKAFOR")
    _supervisor(bundle, 2, "sup1")
    _supervisor(bundle, 3, "sup2")
    second = dict(item(bundle), sequence=2, careTeamSequence=[1, 3])
    item(bundle)["careTeamSequence"] = [1, 2]
    claim(bundle)["item"].append(second)
    # When it is mapped and written
    built, _ = mapped(bundle)
    segments = written(built)
    # Then line 1 (2310D's supervisor) has no override, line 2 has OKAFOR as 2420D and keeps RIVERA as rendering
    assert built.supervising is not None and built.supervising.npi == "1987654328"
    assert [line.supervising_override.npi if line.supervising_override else None for line in built.lines] == [
        None,
        "1000000004",
    ]
    assert [line.rendering_override for line in built.lines] == [None, None]
    assert [s for s in segments if s.startswith("NM1*DQ*")] == [
        "NM1*DQ*1*CHEN*****XX*1987654328",
        "NM1*DQ*1*OKAFOR*****XX*1000000004",
    ]


# --- REF*9F referral number -----------------------------------------------------------------------------------


def with_referral(bundle: Json, identifiers: list[Json]) -> Json:
    add(
        bundle,
        {
            "resourceType": "ServiceRequest",
            "id": "sr-1",
            "status": "active",
            "intent": "order",
            "subject": claim(bundle)["patient"],
            "identifier": identifiers,
        },
        "urn:uuid:sr-1",
    )
    claim(bundle)["referral"] = {"reference": "urn:uuid:sr-1"}
    return bundle


def test_mapping_referral_identifier_becomes_ref_9f() -> None:
    # Given a referral ServiceRequest with two identifiers
    bundle = with_referral(example(), [{"value": "RF-2026-0042"}, {"value": "OTHER-1"}])
    # When it is mapped and written
    built, findings = mapped(bundle)
    # Then the first is REF*9F, and a warning says another was not sent
    assert built.referral_number == "RF-2026-0042"
    assert "REF*9F*RF-2026-0042" in written(built)
    assert warnings(findings, "IN-REQUIRED") == [
        ("Bundle.entry[8].resource(ServiceRequest/sr-1).identifier", "2300 REF*9F")
    ]


def test_mapping_referral_without_identifier_has_no_ref_9f() -> None:
    # Given a referral that carries no identifier
    bundle = with_referral(example(), [])
    # When it is mapped
    built, _ = mapped(bundle)
    # Then no referral number is sent
    assert built.referral_number is None


# --- TR3 limits: identifiers are never changed (errors), text is cut with a warning ---------------------------


def _set_auth_extension(value: str) -> Callable[[Json], None]:
    def change(bundle: Json) -> None:
        url = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-authorizationNumber"
        item(bundle)["extension"] = [{"url": url, "valueString": value}]

    return change


def _related(value: str) -> Callable[[Json], None]:
    def change(bundle: Json) -> None:
        claim(bundle)["related"] = [
            {
                "relationship": coding("http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship", "prior"),
                "reference": {"value": value},
            }
        ]

    return change


@pytest.mark.parametrize(
    ("change", "element", "location"),
    [
        (
            lambda b: resource(b, "Coverage").update(subscriberId="W123*456"),
            f"{COVERAGE_PATH}.subscriberId",
            "2010BA NM109",
        ),
        (lambda b: resource(b, "Coverage").update(subscriberId="W"), f"{COVERAGE_PATH}.subscriberId", "2010BA NM109"),
        (
            lambda b: resource(b, "Coverage").update(subscriberId="W" * 81),
            f"{COVERAGE_PATH}.subscriberId",
            "2010BA NM109",
        ),
        (
            lambda b: resource(b, "Coverage").update(
                identifier=[{"type": coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MB"), "value": "MB~1"}]
            ),
            f"{COVERAGE_PATH}.identifier[0].value",
            "2010BA NM109",
        ),
        (
            lambda b: resource(b, "Coverage").update(
                **{
                    "class": [
                        {
                            "type": coding("http://terminology.hl7.org/CodeSystem/coverage-class", "group"),
                            "value": "G" * 51,
                        }
                    ]
                }
            ),
            f"{COVERAGE_PATH}.class[0].value",
            "2000B SBR03",
        ),
        (
            lambda b: claim(b)["insurance"][0].update(preAuthRef=["PA:77", "PA-78"]),
            f"{CLAIM_PATH}.insurance[0].preAuthRef[0]",
            "2300 REF*G1 REF02",
        ),
        (_related("ICN^12"), f"{CLAIM_PATH}.related[0].reference.value", "2300 REF*F8 REF02"),
        (_related("9" * 51), f"{CLAIM_PATH}.related[0].reference.value", "2300 REF*F8 REF02"),
        (_set_auth_extension("L" * 51), f"{CLAIM_PATH}.item[0].extension[0].valueString", "2400 REF*G1 REF02"),
        (_set_auth_extension("LÄ1"), f"{CLAIM_PATH}.item[0].extension[0].valueString", "2400 REF*G1 REF02"),
        (
            lambda b: with_referral(b, [{"value": "R" * 51}]),
            "Bundle.entry[8].resource(ServiceRequest/sr-1).identifier[0].value",
            "2300 REF*9F REF02",
        ),
        (
            lambda b: with_referral(b, [{"value": "RF~1"}]),
            "Bundle.entry[8].resource(ServiceRequest/sr-1).identifier[0].value",
            "2300 REF*9F REF02",
        ),
    ],
    ids=[
        "member-delimiter",
        "member-short",
        "member-long",
        "mb-delimiter",
        "group-long",
        "auth-delimiter",
        "icn-delimiter",
        "icn-long",
        "line-auth-long",
        "line-auth-non-x12",
        "referral-long",
        "referral-delimiter",
    ],
)
def test_mapping_rejects_an_identifier_the_837p_would_change(
    change: Callable[[Json], Any], element: str, location: str
) -> None:
    # Given an identifier too long or short for its element, or holding a delimiter or a non-X12 character
    bundle = example()
    change(bundle)
    # When it is mapped
    # Then the claim is rejected IN-CODE naming the FHIR element and the 837P element (never the value)
    assert rejected(bundle) == [("IN-CODE", element, location)]


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda c: c.update(subscriberId="CMX*55501234"), "2330A NM109"),
        (
            lambda c: c.update(
                **{
                    "class": [
                        {
                            "type": coding("http://terminology.hl7.org/CodeSystem/coverage-class", "group"),
                            "value": "G~1",
                        }
                    ]
                }
            ),
            "2320 SBR03",
        ),
    ],
    ids=["member-id", "group"],
)
def test_mapping_holds_an_other_payers_identifier_the_837p_would_change(
    change: Callable[[Json], Any], location: str
) -> None:
    # Given the secondary example whose prior payer's Coverage has an identifier holding a delimiter
    bundle = example("secondary-90834-after-primary.json")
    coverage = resource(bundle, "Coverage", 0)
    change(coverage)
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the claim is held IN-CODE naming that Coverage element and the 2320/2330A element, without the other payer
    errors = [(f.rule_id, f.x12_location) for f in findings if f.severity == Severity.ERROR]
    assert errors == [("IN-CODE", location)]
    assert all(
        f.fhir_path.startswith("Bundle.entry[3].resource(Coverage/cov-comm).")
        for f in findings
        if f.severity == Severity.ERROR
    )
    assert built.other_payers == ()


@pytest.mark.parametrize(
    ("change", "element", "location"),
    [
        (lambda p: p["name"][0].update(family="L" * 61), "name[0].family", "NM103"),
        (lambda p: p["name"][0].update(given=["F" * 36]), "name[0].given[0]", "NM104"),
        (lambda p: p["name"][0].update(given=["ALEX", "M" * 26]), "name[0].given[1]", "NM105"),
        (lambda p: p["name"][0].update(given=["\U0001f642"]), "name[0].given[0]", "NM104"),
        (lambda p: p["address"][0].update(line=["S" * 56]), "address[0].line[0]", "N301"),
        (lambda p: p["address"][0].update(line=["45 ELM ST", "A" * 56]), "address[0].line[1]", "N302"),
        (lambda p: p["address"][0].update(line=["45 ELM ST", "A" * 30, "B" * 30]), "address[0].line", "N302"),
        (lambda p: p["address"][0].update(city="C" * 31), "address[0].city", "N401"),
        (lambda p: p["address"][0].update(city="Straße" + "S" * 25), "address[0].city", "N401"),
    ],
    ids=["family", "given", "middle", "given-unwritable", "street", "line-2", "lines-2-3", "city", "city-ss"],
)
def test_mapping_warns_about_text_the_837p_cuts(change: Callable[[Json], Any], element: str, location: str) -> None:
    # Given a patient name part or address element beyond its TR3 length (or with no X12 character at all)
    bundle = example()
    change(resource(bundle, "Patient"))
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the claim is built and written, with one IN-CODE warning naming the element and its X12 location
    assert warnings(findings) == [(f"{PATIENT_PATH}.{element}", location)]
    written(built)


@pytest.mark.parametrize(
    ("change", "element", "location"),
    [
        (lambda p: p["name"][0].update(family="\U0001f642\U0001f642"), "name[0].family", "NM103"),
        (lambda p: p["address"][0].update(city="X"), "address[0].city", "N401"),
        (lambda p: p["address"][0].update(line=["~*", "^"]), "address[0].line", "N301"),
    ],
    ids=["family", "city-1", "street"],
)
def test_mapping_rejects_required_text_with_nothing_writable(
    change: Callable[[Json], Any], element: str, location: str
) -> None:
    # Given a family name, city or street with no (or too few) X12 characters
    bundle = example()
    change(resource(bundle, "Patient"))
    # When it is mapped
    # Then the claim is rejected at intake (not refused later by the writer, which would stop a whole interchange)
    assert rejected(bundle) == [("IN-CODE", f"{PATIENT_PATH}.{element}", location)]


def test_mapping_hostile_and_accented_names_reach_the_837p_clean() -> None:
    # Given a patient whose name and address are full of X12 delimiters and accented letters
    bundle = example()
    patient = resource(bundle, "Patient")
    patient["name"] = [{"family": HOSTILE, "given": ["Zoë", "Núñez"]}]
    patient["address"] = [
        {"line": ["1*2 Main~St", "Apt:^3"], "city": "São Paulo", "state": "MO", "postalCode": "64108"}
    ]
    # When it is mapped and written
    built, findings = mapped(bundle, extra_phi=(HOSTILE, "Zoë", "1*2 Main~St"))
    segments = written(built)
    # Then no delimiter breaks a segment: the values are cleaned and the file is pyx12-clean
    assert "NM1*IL*1*O'BRIEN JR SMITH*ZOE*NUNEZ***MI*W123456789" in segments
    assert "N3*1 2 MAIN ST*APT 3" in segments
    assert "N4*SAO PAULO*MO*64108" in segments
    assert not warnings(findings)
