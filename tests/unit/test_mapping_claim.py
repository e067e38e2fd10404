"""claimbridge.mapping: each rule of contract sections 4-8 on the section 12 example, one fact changed at a time."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from claimbridge.claim import EntityType, PayerResponsibility, ProfessionalClaim
from claimbridge.findings import Finding, Severity
from claimbridge.intake import IntakeResult
from tests.unit.fhir_builders import (
    CPT,
    NPI,
    PHI_VALUES,
    POS,
    Json,
    add,
    claim,
    coding,
    drop,
    example,
    findings_text,
    item,
    resource,
    run_intake,
)

pytestmark = pytest.mark.unit

CLAIM_PATH = "Bundle.entry[7].resource(Claim/clm-1)"
COVERAGE_PATH = "Bundle.entry[2].resource(Coverage/cov-1)"


def mapped(bundle: Json) -> tuple[ProfessionalClaim, tuple[Finding, ...]]:
    """The one claim of ``bundle``; its findings never carry the example's PHI."""
    result = run_intake(bundle)
    assert_no_phi(result)
    assert not result.rejected, [f.model_dump() for r in result.rejected for f in r.findings]
    assert len(result.claims) == 1
    return result.claims[0].claim, result.claims[0].findings


def rejected(bundle: Json) -> tuple[Finding, ...]:
    """The findings of the one rejected source of ``bundle``; they never carry the example's PHI."""
    result = run_intake(bundle)
    assert_no_phi(result)
    assert not result.claims
    assert len(result.rejected) == 1
    return result.rejected[0].findings


def errors(findings: tuple[Finding, ...]) -> list[tuple[str, str]]:
    return [(f.rule_id, f.fhir_path) for f in findings if f.severity == Severity.ERROR]


def assert_no_phi(result: IntakeResult) -> None:
    text = findings_text(result)
    for value in PHI_VALUES:
        assert value not in text


# --- billing provider (contract section 5) ---------------------------------------------------------------------


def test_mapping_uses_the_tenant_billing_provider_without_claim_provider() -> None:
    # Given the example without Claim.provider
    bundle = example()
    del claim(bundle)["provider"]
    # When it is mapped
    built, findings = mapped(bundle)
    # Then 2010AA is the tenant's billing provider
    assert built.billing_provider.npi == "1234567893"
    assert built.billing_provider.entity == EntityType.ORGANIZATION
    assert built.billing_provider.organization_name == "DEMO BEHAVIORAL HEALTH LLC"
    assert built.billing_provider.tin == "123456789"
    assert built.billing_provider.taxonomy == "193400000X"
    assert not findings


def test_mapping_holds_a_claim_whose_billing_npi_is_not_the_tenants() -> None:
    # Given a billing Organization with another (valid) NPI
    bundle = example()
    resource(bundle, "Organization", 1)["identifier"][0]["value"] = "1987654328"
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the claim is built but held with IN-CONFLICT on Claim.provider
    assert errors(findings) == [("IN-CONFLICT", f"{CLAIM_PATH}.provider")]
    assert built.billing_provider.npi == "1234567893"


def test_mapping_takes_a_practitioner_billing_provider_as_a_person() -> None:
    # Given a solo clinician billing under the tenant NPI
    bundle = example()
    practitioner = {
        "resourceType": "Practitioner",
        "id": "solo",
        "name": [{"family": "SOLO", "given": ["PAT"]}],
        "identifier": [{"system": NPI, "value": "1234567893"}],
    }
    add(bundle, practitioner, "urn:uuid:solo")
    claim(bundle)["provider"] = {"reference": "urn:uuid:solo"}
    # When it is mapped
    built, _ = mapped(bundle)
    # Then 2010AA is a person with the tenant's TIN and address
    assert built.billing_provider.entity == EntityType.PERSON
    assert built.billing_provider.person_name is not None
    assert built.billing_provider.person_name.last == "SOLO"
    assert built.billing_provider.tin == "123456789"


def test_mapping_rejects_a_billing_address_without_nine_digit_zip() -> None:
    # Given a billing Organization whose ZIP has 5 digits
    bundle = example()
    resource(bundle, "Organization", 1)["address"][0]["postalCode"] = "64108"
    # When it is mapped
    findings = rejected(bundle)
    # Then the claim is rejected IN-CODE naming the postal code
    assert errors(findings) == [("IN-CODE", "Bundle.entry[3].resource(Organization/org-billing).address[0].postalCode")]


# --- payer (section 4) -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "payer_key"),
    [
        ({"system": "urn:claimbridge:payer-id", "value": "CMA01"}, "COMM-A"),
        ({"system": "urn:oid:2.16.840.1.113883.6.300", "value": "99901"}, "COMM-A"),
        (
            {
                "type": coding("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType", "payerid"),
                "system": "https://payers.example/ids",
                "value": "MCDO1",
            },
            "MCD-ORIG",
        ),
        ({"system": "urn:claimbridge:payer-id", "value": "MCDT1"}, "MCD-TX"),
    ],
)
def test_mapping_matches_the_payer_by_configured_identifiers(identifier: Json, payer_key: str) -> None:
    # Given a payer Organization identified one of the configured ways
    bundle = example()
    resource(bundle, "Organization", 0)["identifier"] = [identifier]
    # When it is mapped
    built, _ = mapped(bundle)
    # Then the configured payer is billed, with its payer id and filing indicator
    assert built.payer.key == payer_key
    assert built.payer.payer_id == {"COMM-A": "CMA01", "MCD-ORIG": "MCDO1", "MCD-TX": "MCDT1"}[payer_key]


def test_mapping_rejects_an_unknown_payer_with_in_payer() -> None:
    # Given a payer Organization no tenant payer lists
    bundle = example()
    resource(bundle, "Organization", 0)["identifier"] = [{"system": "urn:claimbridge:payer-id", "value": "ZZZ99"}]
    # When it is mapped
    findings = rejected(bundle)
    # Then IN-PAYER names Coverage.payor[0]
    assert errors(findings) == [("IN-PAYER", f"{COVERAGE_PATH}.payor[0]")]


def test_mapping_accepts_a_payor_given_by_identifier_only() -> None:
    # Given Coverage.payor as a bare identifier and no payer Organization in the bundle
    bundle = example()
    resource(bundle, "Coverage")["payor"] = [{"identifier": {"system": "urn:claimbridge:payer-id", "value": "CMA01"}}]
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != "payer-a"]
    # When it is mapped
    built, _ = mapped(bundle)
    # Then the identifier alone selects the payer
    assert built.payer.key == "COMM-A"


# --- insurance and subscriber (section 6) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("insurance", "rule"),
    [
        ([{"sequence": 1, "focal": False, "coverage": {"reference": "urn:uuid:x"}}], "IN-REQUIRED"),
        (
            [
                {"sequence": 1, "focal": True, "coverage": {"reference": "urn:uuid:x"}},
                {"sequence": 2, "focal": True, "coverage": {"reference": "urn:uuid:y"}},
            ],
            "IN-REQUIRED",
        ),
    ],
)
def test_mapping_requires_exactly_one_focal_insurance(insurance: list[Json], rule: str) -> None:
    # Given no or two focal insurances
    bundle = example()
    claim(bundle)["insurance"] = insurance
    # When it is mapped
    findings = rejected(bundle)
    # Then IN-REQUIRED names Claim.insurance
    assert errors(findings) == [(rule, f"{CLAIM_PATH}.insurance")]


def test_mapping_holds_a_secondary_claim_and_reports_sbr01_s() -> None:
    # Given the billed coverage in second position
    bundle = example()
    other = {"sequence": 1, "focal": False, "coverage": {"reference": "urn:uuid:0b6b1c1e-0000-4000-8000-000000000003"}}
    claim(bundle)["insurance"][0]["sequence"] = 2
    claim(bundle)["insurance"].append(other)
    # When it is mapped
    built, findings = mapped(bundle)
    # Then SBR01 is S and the claim is held: the prior payer's insurance references no ClaimResponse (2320)
    assert built.payer_responsibility == PayerResponsibility.SECONDARY
    assert errors(findings) == [("IN-REQUIRED", f"{CLAIM_PATH}.insurance[1].claimResponse")]
    assert [f.x12_location for f in findings] == ["2320"]


def test_mapping_holds_a_claim_whose_beneficiary_is_not_the_patient() -> None:
    # Given a Coverage for another Patient
    bundle = example()
    add(bundle, {"resourceType": "Patient", "id": "pat-9", "name": [{"family": "OTHER"}]}, "urn:uuid:pat-9")
    resource(bundle, "Coverage")["beneficiary"] = {"reference": "urn:uuid:pat-9"}
    # When it is mapped
    _, findings = mapped(bundle)
    # Then IN-CONFLICT names Coverage.beneficiary
    assert errors(findings) == [("IN-CONFLICT", f"{COVERAGE_PATH}.beneficiary")]


def test_mapping_self_uses_the_mb_identifier_as_member_id() -> None:
    # Given a self coverage with an identifier typed MB
    bundle = example()
    resource(bundle, "Coverage")["identifier"] = [
        {"type": coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MB"), "value": "MB0001"}
    ]
    # When it is mapped
    built, _ = mapped(bundle)
    # Then the MB identifier is NM109 and there is no 2000C patient
    assert built.subscriber.member_id == "MB0001"
    assert built.patient is None


@pytest.mark.parametrize(
    ("relationship", "pat01"), [("spouse", "01"), ("child", "19"), ("parent", "G8"), ("other", "G8")]
)
def test_mapping_dependent_gets_pat01_from_relationship(relationship: str, pat01: str) -> None:
    # Given the patient as a dependent of a RelatedPerson subscriber
    bundle = example()
    add(
        bundle,
        {
            "resourceType": "RelatedPerson",
            "id": "rp",
            "patient": {"reference": "urn:uuid:p"},
            "name": [{"family": "HOLDER"}],
        },
        "urn:uuid:rp",
    )
    coverage = resource(bundle, "Coverage")
    coverage["relationship"] = coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", relationship)
    coverage["subscriber"] = {"reference": "urn:uuid:rp"}
    # When it is mapped
    built, _ = mapped(bundle)
    # Then 2010BA is the subscriber with subscriberId and 2000C carries PAT01
    assert built.subscriber.name.last == "HOLDER"
    assert built.subscriber.member_id == "W123456789"
    assert built.patient is not None
    assert built.patient.relationship == pat01
    assert built.patient.name.last == "TESTPATIENT"


def test_mapping_reports_a_dependent_with_own_member_id_as_subscriber() -> None:
    # Given a child whose identifier MB differs from the subscriberId
    bundle = example()
    add(bundle, {"resourceType": "RelatedPerson", "id": "rp", "patient": {"reference": "urn:uuid:p"}}, "urn:uuid:rp")
    coverage = resource(bundle, "Coverage")
    coverage["relationship"] = coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "child")
    coverage["subscriber"] = {"reference": "urn:uuid:rp"}
    coverage["identifier"] = [
        {"type": coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MB"), "value": "OWN0002"}
    ]
    # When it is mapped
    built, _ = mapped(bundle)
    # Then the patient is the subscriber with their own member id (837P 2000C note)
    assert built.patient is None
    assert built.subscriber.member_id == "OWN0002"
    assert built.subscriber.name.last == "TESTPATIENT"


def test_mapping_requires_the_subscriber_of_a_dependent() -> None:
    # Given a child relationship whose subscriber is not in the bundle
    bundle = example()
    coverage = resource(bundle, "Coverage")
    coverage["relationship"] = coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "child")
    coverage["subscriber"] = {"reference": "RelatedPerson/missing"}
    # When it is mapped
    findings = rejected(bundle)
    # Then IN-REF names Coverage.subscriber
    assert errors(findings) == [("IN-REF", f"{COVERAGE_PATH}.subscriber")]


# --- diagnoses (section 7) ------------------------------------------------------------------------------------


def test_mapping_orders_diagnoses_by_sequence_and_strips_the_dot() -> None:
    # Given two diagnoses sent out of order, one inline
    bundle = example()
    claim(bundle)["diagnosis"][0]["sequence"] = 2
    claim(bundle)["diagnosis"].append(
        {
            "sequence": 1,
            "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "f32.a"}]},
        }
    )
    item(bundle)["diagnosisSequence"] = [2, 1]
    # When it is mapped
    built, _ = mapped(bundle)
    # Then HI is in sequence order, upper-case without dots, and pointers follow the positions
    assert built.diagnoses == ("F32A", "F411")
    assert built.lines[0].diagnosis_pointers == (2, 1)


def test_mapping_rejects_a_condition_without_icd10cm_coding() -> None:
    # Given a SNOMED-only Condition
    bundle = example()
    resource(bundle, "Condition")["code"] = coding("http://snomed.info/sct", "35489007")
    # When it is mapped
    findings = rejected(bundle)
    # Then IN-CODE names Condition.code
    assert errors(findings) == [("IN-CODE", "Bundle.entry[5].resource(Condition/cond-1).code")]


def test_mapping_rejects_a_claim_without_diagnoses() -> None:
    bundle = example()
    del claim(bundle)["diagnosis"]
    del item(bundle)["diagnosisSequence"]
    findings = rejected(bundle)
    assert errors(findings) == [("IN-REQUIRED", f"{CLAIM_PATH}.diagnosis")]


def test_mapping_rejects_a_pointer_to_no_diagnosis() -> None:
    bundle = example()
    item(bundle)["diagnosisSequence"] = [3]
    findings = rejected(bundle)
    assert errors(findings) == [("BH-DX-04", f"{CLAIM_PATH}.item[0].diagnosisSequence[0]")]


# --- rendering (section 5) ------------------------------------------------------------------------------------


def test_mapping_taxonomy_prefers_qualification_then_roster() -> None:
    # Given a qualification that differs from the roster's taxonomy
    bundle = example()
    claim(bundle)["careTeam"][0]["qualification"] = coding("http://nucc.org/provider-taxonomy", "101YM0800X")
    built, _ = mapped(bundle)
    assert built.rendering is not None
    assert built.rendering.taxonomy == "101YM0800X"
    # And without a qualification the tenant roster supplies it
    del claim(bundle)["careTeam"][0]["qualification"]
    built, _ = mapped(bundle)
    assert built.rendering is not None
    assert built.rendering.taxonomy == "1041C0700X"


def test_mapping_completes_a_clinician_referenced_by_npi_from_the_roster() -> None:
    # Given a careTeam provider given only as an NPI identifier and no Practitioner sent
    bundle = example()
    drop(bundle, "Practitioner")
    claim(bundle)["careTeam"][0]["provider"] = {"identifier": {"system": NPI, "value": "1987654328"}}
    del claim(bundle)["careTeam"][0]["qualification"]
    # When it is mapped
    built, _ = mapped(bundle)
    # Then the rendering clinician comes from the tenant's providers
    assert built.rendering is not None
    assert (built.rendering.npi, built.rendering.name.last, built.rendering.taxonomy) == (
        "1987654328",
        "CHEN",
        "363LP0808X",
    )


def test_mapping_holds_an_organization_claim_without_rendering() -> None:
    bundle = example()
    del claim(bundle)["careTeam"]
    del item(bundle)["careTeamSequence"]
    built, findings = mapped(bundle)
    assert built.rendering is None
    assert errors(findings) == [("IN-REQUIRED", f"{CLAIM_PATH}.careTeam")]


def test_mapping_line_clinician_other_than_rendering_becomes_2420a() -> None:
    # Given a second careTeam member (role primary, higher sequence) named by the line
    bundle = example()
    add(
        bundle,
        {
            "resourceType": "Practitioner",
            "id": "p2",
            "name": [{"family": "CHEN", "given": ["MORGAN"]}],
            "identifier": [{"system": NPI, "value": "1987654328"}],
        },
        "urn:uuid:p2",
    )
    claim(bundle)["careTeam"].append(
        {"sequence": 2, "provider": {"reference": "urn:uuid:p2"}, "role": claim(bundle)["careTeam"][0]["role"]}
    )
    item(bundle)["careTeamSequence"] = [2]
    built, _ = mapped(bundle)
    assert built.rendering is not None
    assert built.rendering.npi == "1111111112"
    assert built.lines[0].rendering_override is not None
    assert built.lines[0].rendering_override.npi == "1987654328"


# --- lines (section 7) ----------------------------------------------------------------------------------------


def _set(path: list[Any], value: Any) -> Callable[[Json], None]:
    def change(bundle: Json) -> None:
        target: Any = item(bundle)
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "attribute", "expected"),
    [
        (_set(["quantity"], None), "units", Decimal(1)),
        (_set(["quantity"], {"value": 2}), "units", Decimal(2)),
        (
            lambda b: (item(b).pop("net"), item(b).update(unitPrice={"value": 50}, quantity={"value": 2}, factor=0.9)),
            "charge",
            Decimal("90.00"),
        ),
        (
            _set(["productOrService"], coding("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "h0004")),
            "procedure_code",
            "H0004",
        ),
        (
            _set(
                ["productOrService"],
                coding("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets/Alpha-Numeric-HCPCS.html", "G0017"),
            ),
            "procedure_code",
            "G0017",
        ),
        (
            _set(["modifier"], [coding(CPT, "95"), coding("urn:other", "ZZ"), coding(CPT, "gt")]),
            "modifiers",
            ("95", "GT"),
        ),
        (
            _set(["servicedPeriod"], {"start": "2026-03-02T23:30:00-06:00", "end": "2026-03-03T00:25:00-06:00"}),
            "service_date",
            __import__("datetime").date(2026, 3, 2),
        ),
        (_set(["locationCodeableConcept"], coding(POS.lower() + ".html", "2")), "place_of_service", "02"),
        (
            _set(["locationCodeableConcept"], coding("http://terminology.hl7.org/CodeSystem/ex-serviceplace", "11")),
            "place_of_service",
            "11",
        ),
        (_set(["locationCodeableConcept"], None), "place_of_service", "11"),
        (
            _set(
                ["extension"],
                [
                    {
                        "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-authorizationNumber",
                        "valueString": "AUTH-L1",
                    }
                ],
            ),
            "prior_authorization",
            "AUTH-L1",
        ),
    ],
)
def test_mapping_line_rules(change: Callable[[Json], Any], attribute: str, expected: object) -> None:
    # Given the example with one line fact changed
    bundle = example()
    change(bundle)
    # When it is mapped
    built, _ = mapped(bundle)
    # Then the line carries the expected value
    assert getattr(built.lines[0], attribute) == expected


def test_mapping_line_control_number_is_claim_id_and_sequence() -> None:
    built, _ = mapped(example())
    assert built.lines[0].line_control_number == f"{built.claim_id}-1"


def test_mapping_pos_falls_back_to_facility_then_encounter_location() -> None:
    # Given no item POS, and an encounter location typed with a POS code
    bundle = example()
    del item(bundle)["locationCodeableConcept"]
    encounter = resource(bundle, "Encounter")
    encounter["contained"].append({"resourceType": "Location", "id": "office", "type": [coding(POS, "53")]})
    encounter["location"].append({"location": {"reference": "#office"}})
    built, _ = mapped(bundle)
    assert built.place_of_service == "53"
    # And a Claim.facility Location with a POS type wins over the encounter's
    add(bundle, {"resourceType": "Location", "id": "fac", "type": [coding(POS, "22")]}, "urn:uuid:fac")
    claim(bundle)["facility"] = {"reference": "urn:uuid:fac"}
    built, _ = mapped(bundle)
    assert built.place_of_service == "22"
    assert built.lines[0].place_of_service == "22"


@pytest.mark.parametrize(
    ("change", "rule", "element"),
    [
        (_set(["productOrService"], coding("urn:local", "THERAPY")), "IN-CODE", "item[0].productOrService"),
        (
            _set(["productOrService"], coding("http://snomed.info/sct", "999999999")),
            "IN-XWALK",
            "item[0].productOrService",
        ),
        (_set(["net"], None), "IN-REQUIRED", "item[0].net"),
        (_set(["modifier"], [coding(CPT, m) for m in ("95", "GT", "AJ", "59", "25")]), "IN-CODE", "item[0].modifier"),
        (lambda b: (item(b).pop("servicedPeriod"), None), "IN-REQUIRED", "item[0].servicedDate"),
        (_set(["encounter"], [{"reference": "Encounter/missing"}]), "IN-REF", "item[0].encounter[0]"),
    ],
)
def test_mapping_line_problems_reject_with_in_codes(change: Callable[[Json], Any], rule: str, element: str) -> None:
    # Given a line that cannot be billed as sent
    bundle = example()
    change(bundle)
    # When it is mapped
    result = run_intake(bundle)
    # Then the claim is rejected with the rule and the path of the element, and no PHI
    assert [(f.rule_id, f.fhir_path) for r in result.rejected for f in r.findings if f.severity == "error"] == [
        (rule, f"{CLAIM_PATH}.{element}")
    ]
    assert_no_phi(result)


def test_mapping_snomed_item_goes_through_the_crosswalk_with_minutes() -> None:
    # Given a SNOMED-only CBT item with 53 documented minutes
    bundle = example()
    item(bundle)["productOrService"] = coding("http://snomed.info/sct", "228557008")
    built, _ = mapped(bundle)
    # Then the crosswalk band for 53 minutes gives 90837
    assert built.lines[0].procedure_code == "90837"
    # And 40 minutes give 90834
    item(bundle)["servicedPeriod"]["end"] = "2026-03-02T15:40:00-06:00"
    built, _ = mapped(bundle)
    assert built.lines[0].procedure_code == "90834"


# --- documented minutes (section 7) ---------------------------------------------------------------------------


def _no_item_period(bundle: Json) -> None:
    item(bundle).pop("servicedPeriod")
    item(bundle)["servicedDate"] = "2026-03-02"


def _encounter_length(value: int, unit: str) -> Callable[[Json], None]:
    def change(bundle: Json) -> None:
        _no_item_period(bundle)
        resource(bundle, "Encounter")["length"] = {"value": value, "system": "http://unitsofmeasure.org", "code": unit}

    return change


def _no_times(bundle: Json) -> None:
    _no_item_period(bundle)
    resource(bundle, "Encounter").pop("period")


def _linked_procedure(bundle: Json) -> None:
    _no_item_period(bundle)
    procedure = {
        "resourceType": "Procedure",
        "id": "proc-1",
        "status": "completed",
        "subject": {"reference": "urn:uuid:0b6b1c1e-0000-4000-8000-000000000001"},
        "performedPeriod": {"start": "2026-03-02T15:02:30-06:00", "end": "2026-03-02T15:48:10-06:00"},
    }
    add(bundle, procedure, "urn:uuid:proc-1")
    claim(bundle)["procedure"] = [{"sequence": 1, "procedureReference": {"reference": "urn:uuid:proc-1"}}]
    item(bundle)["procedureSequence"] = [1]


def _unchanged(bundle: Json) -> None:
    return None


@pytest.mark.parametrize(
    ("change", "minutes"),
    [
        (_unchanged, 53),
        (_no_item_period, 55),
        (_encounter_length(50, "min"), 50),
        (_encounter_length(1, "h"), 60),
        (_no_times, None),
        (_linked_procedure, 45),
    ],
)
def test_mapping_documented_minutes_follow_the_contract_order(
    change: Callable[[Json], Any], minutes: int | None
) -> None:
    # Given minutes documented in one of the four places
    bundle = example()
    change(bundle)
    # When it is mapped
    built, _ = mapped(bundle)
    # Then whole minutes, rounded down, come from the first place that has them
    assert built.lines[0].documented_minutes == minutes


def test_mapping_em_with_add_on_never_takes_encounter_time() -> None:
    # Given the E/M + 90833 example without the add-on's own period
    bundle = example("em-99214-90833.json")
    add_on = claim(bundle)["item"][1]
    add_on.pop("servicedPeriod")
    add_on["servicedDate"] = "2026-03-05"
    # When it is mapped
    built, _ = mapped(bundle)
    # Then no minutes are taken from the Encounter (BH-TIME-03)
    assert [line.documented_minutes for line in built.lines] == [None, None]


# --- telehealth facts ---------------------------------------------------------------------------------------


def test_mapping_telehealth_modality_missing_on_virtual_is_unknown_with_warning() -> None:
    bundle = example()
    resource(bundle, "Encounter").pop("extension")
    built, findings = mapped(bundle)
    assert built.lines[0].telehealth.modality == "unknown"
    assert [f.rule_id for f in findings if f.severity == Severity.WARNING] == ["IN-REQUIRED"]


def test_mapping_in_person_encounter_is_not_virtual_nor_home() -> None:
    bundle = example()
    encounter = resource(bundle, "Encounter")
    encounter["class"]["code"] = "AMB"
    encounter["contained"][0]["type"] = [coding(POS, "11")]
    built, _ = mapped(bundle)
    assert built.lines[0].telehealth.virtual is False
    assert built.lines[0].telehealth.patient_at_home is False
    assert built.lines[0].telehealth.modality is None


def test_mapping_unresolved_encounter_location_is_a_warning() -> None:
    bundle = example()
    resource(bundle, "Encounter")["location"] = [{"location": {"reference": "Location/gone"}}]
    built, findings = mapped(bundle)
    assert built.lines[0].telehealth.patient_at_home is False
    assert ("IN-REF", "Bundle.entry[6].resource(Encounter/enc-1).location[0].location") in [
        (f.rule_id, f.fhir_path) for f in findings if f.severity == Severity.WARNING
    ]


# --- authorization, frequency, anchors -----------------------------------------------------------------------


def test_mapping_prior_authorization_from_the_focal_insurance() -> None:
    bundle = example()
    claim(bundle)["insurance"][0]["preAuthRef"] = ["PA-777", "PA-778"]
    built, findings = mapped(bundle)
    assert built.prior_authorization == "PA-777"
    assert [(f.rule_id, f.severity) for f in findings] == [("IN-REQUIRED", Severity.WARNING)]


@pytest.mark.parametrize(("status", "frequency"), [("active", "7"), ("cancelled", "8")])
def test_mapping_related_prior_claim_sets_frequency(status: str, frequency: str) -> None:
    bundle = example()
    claim(bundle)["status"] = status
    claim(bundle)["related"] = [
        {
            "claim": {"reference": "Claim/clm-0"},
            "relationship": coding("http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship", "prior"),
            "reference": {"value": "PCN-2026-1"},
        }
    ]
    built, _ = mapped(bundle)
    assert built.frequency == frequency
    assert built.payer_claim_control_number == "PCN-2026-1"


@pytest.mark.parametrize(
    ("change", "skipped"),
    [
        (lambda c: c.update(use="preauthorization"), 2),
        (lambda c: c.update(status="draft"), 2),
        (lambda c: c.update(type=coding("http://terminology.hl7.org/CodeSystem/claim-type", "institutional")), 2),
    ],
)
def test_intake_skips_and_counts_claims_that_are_not_professional_billing(
    change: Callable[[Json], Any], skipped: int
) -> None:
    bundle = example()
    change(claim(bundle))
    result = run_intake(bundle)
    # (the Claim, and its Encounter: finished but without a Procedure or ChargeItem to bill on its own -- unless a
    # cancelled or entered-in-error professional Claim names it: the Encounter is then that Claim's, not skipped)
    assert (len(result.claims), len(result.rejected), result.skipped) == (0, 0, skipped)


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error"])
def test_intake_claim_cancelled_without_prior_or_entered_in_error_is_a_withdrawal(status: str) -> None:
    # Given the example claim withdrawn by the EHR (no Claim.related prior: not a void)
    bundle = example()
    claim(bundle).update(status=status, meta={"versionId": "2"})
    # When it is taken in
    result = run_intake(bundle)
    # Then no claim is mapped; the withdrawal names the source, its version and status (its Encounter is the
    # Claim's: neither billed on its own nor skipped)
    assert (len(result.claims), len(result.rejected), result.skipped) == (0, 0, 0)
    (withdrawal,) = result.withdrawn
    assert (withdrawal.source_key, withdrawal.version, withdrawal.status) == ("Claim/clm-1", "2", status)
    assert withdrawal.fhir_path.endswith("(Claim/clm-1)")


def test_mapping_invalid_r4_in_a_reached_resource_rejects_with_in_format() -> None:
    # Given a Patient with a malformed birth date, and an unreferenced malformed Observation
    bundle = example()
    resource(bundle, "Patient")["birthDate"] = "02/04/1990"
    add(bundle, {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": "bad"})
    # When it is mapped
    result = run_intake(bundle)
    # Then IN-FORMAT names the Patient element only, without the value
    findings = result.rejected[0].findings
    assert [(f.rule_id, f.fhir_path) for f in findings] == [
        ("IN-FORMAT", "Bundle.entry[0].resource(Patient/pat-1).birthDate")
    ]
    assert "02/04/1990" not in findings_text(result)


def test_mapping_converts_full_state_names_and_strips_zip_hyphens() -> None:
    built, _ = mapped(example("intake-90791.json"))
    assert built.subscriber.address is not None
    assert (built.subscriber.address.state, built.subscriber.address.postal_code) == ("KS", "662041111")


def test_mapping_rejects_an_unknown_state() -> None:
    bundle = example()
    resource(bundle, "Patient")["address"][0]["state"] = "Atlantis"
    findings = rejected(bundle)
    assert errors(findings) == [("IN-CODE", "Bundle.entry[0].resource(Patient/pat-1).address[0].state")]


# --- versions and ids (section 8) -----------------------------------------------------------------------------


def test_mapping_version_is_meta_version_id_else_a_content_hash() -> None:
    # Given the example with and without meta.versionId
    bundle = example()
    built, _ = mapped(bundle)
    assert built.source.version == "1"
    del claim(bundle)["meta"]
    first, _ = mapped(bundle)
    # When only meta.lastUpdated changes, the hash stays; when a resolved resource changes, it moves
    resource(bundle, "Patient")["meta"] = {"lastUpdated": "2026-03-03T10:00:00Z"}
    same, _ = mapped(bundle)
    resource(bundle, "Patient")["gender"] = "male"
    changed, _ = mapped(bundle)
    assert first.source.version.startswith("sha256:")
    assert same.source.version == first.source.version
    assert changed.source.version != first.source.version
    assert first.claim_id == changed.claim_id


def test_mapping_several_claims_map_independently() -> None:
    # Given a bundle with a good claim and a claim whose coverage is missing
    bundle = example()
    second = __import__("copy").deepcopy(claim(bundle))
    second["id"] = "clm-2"
    second["insurance"][0]["coverage"] = {"reference": "Coverage/none"}
    add(bundle, second)
    # When it is taken in
    result = run_intake(bundle)
    # Then one claim is mapped and the other rejected with IN-REF
    assert [c.claim.source.key for c in result.claims] == ["Claim/clm-1"]
    assert [(r.source_key, r.findings[0].rule_id) for r in result.rejected] == [("Claim/clm-2", "IN-REF")]
    assert_no_phi(result)


def test_mapping_supervisor_and_referring_come_from_care_team_and_referral() -> None:
    # Given a supervisor on the care team and a referral whose requester is a practitioner
    bundle = example()
    for pid, npi in (("sup", "1987654328"), ("ref", "1000000004")):
        add(
            bundle,
            {
                "resourceType": "Practitioner",
                "id": pid,
                "name": [{"family": pid.upper()}],
                "identifier": [{"system": NPI, "value": npi}],
            },
            f"urn:uuid:{pid}",
        )
    add(
        bundle,
        {
            "resourceType": "ServiceRequest",
            "id": "sr-1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "urn:uuid:0b6b1c1e-0000-4000-8000-000000000001"},
            "requester": {"reference": "urn:uuid:ref"},
        },
        "urn:uuid:sr-1",
    )
    claim(bundle)["careTeam"].append(
        {
            "sequence": 2,
            "provider": {"reference": "urn:uuid:sup"},
            "role": coding("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "supervisor"),
        }
    )
    claim(bundle)["referral"] = {"reference": "urn:uuid:sr-1"}
    # When it is mapped
    built, _ = mapped(bundle)
    # Then 2310D and 2310A are filled, and the rendering clinician is unchanged
    assert built.supervising is not None and built.supervising.npi == "1987654328"
    assert built.referring is not None and built.referring.npi == "1000000004"
    assert built.rendering is not None and built.rendering.npi == "1111111112"


def test_intake_malformed_taxonomy_is_in_code_at_the_qualification_not_a_crash() -> None:
    # Given a rendering clinician whose careTeam qualification is not a NUCC taxonomy code
    bundle = example()
    claim(bundle)["careTeam"][0]["qualification"]["coding"][0]["code"] = "BAD"
    # When it is taken in
    result = run_intake(bundle)
    # Then the claim is rejected with IN-CODE naming careTeam[0].qualification (never an exception)
    (rejected,) = result.rejected
    (error,) = [f for f in rejected.findings if f.severity == "error"]
    assert error.rule_id == "IN-CODE"
    assert error.fhir_path.endswith("(Claim/clm-1).careTeam[0].qualification")


def test_intake_corrected_claim_without_payer_claim_number_is_held_bh_clm_01() -> None:
    # Given a corrected claim (related prior) that does not carry the payer's claim control number
    bundle = example()
    claim(bundle)["related"] = [
        {
            "relationship": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship", "code": "prior"}
                ]
            }
        }
    ]
    # When it is taken in
    result = run_intake(bundle)
    # Then it is built as frequency 7 but held with BH-CLM-01 naming related[0].reference and REF*F8
    (mapped,) = result.claims
    assert mapped.claim.frequency == "7"
    assert mapped.held
    (error,) = [f for f in mapped.findings if f.severity == "error"]
    assert (error.rule_id, error.x12_location) == ("BH-CLM-01", "2300 REF*F8")
    assert error.fhir_path.endswith("(Claim/clm-1).related[0].reference")
