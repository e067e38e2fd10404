"""intake_bundle on the example bundles of events/bundles and on third-party corpus files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from claimbridge.errors import FileFormatError
from claimbridge.intake import IntakeResult, intake_bundle
from tests.unit.fhir_builders import BUNDLES, PHI_VALUES, demo_tenant, findings_text

pytestmark = pytest.mark.unit


def _intake(name: str) -> IntakeResult:
    return intake_bundle((BUNDLES / name).read_bytes(), file_name=name, tenant=demo_tenant())


def test_intake_telehealth_example_maps_as_the_contract_says() -> None:
    # Given the contract section 12 example
    # When it is taken in
    result = _intake("telehealth-90837-home.json")
    # Then one clean COMM-A claim: 90837-95 at POS 10, 53 minutes, video visit from home
    assert (len(result.claims), len(result.rejected), result.skipped) == (1, 0, 0)
    mapped = result.claims[0]
    claim = mapped.claim
    assert mapped.findings == ()
    assert (claim.payer.key, claim.payer.payer_id, claim.payer_responsibility) == ("COMM-A", "CMA01", "P")
    assert claim.place_of_service == "10"
    assert claim.diagnoses == ("F411",)
    assert claim.subscriber.member_id == "W123456789"
    assert claim.patient is None
    assert claim.rendering is not None
    assert (claim.rendering.npi, claim.rendering.taxonomy) == ("1111111112", "1041C0700X")
    line = claim.lines[0]
    assert (line.procedure_code, line.modifiers, line.charge, line.units) == (
        "90837",
        ("95",),
        Decimal("180.00"),
        Decimal(1),
    )
    assert (line.documented_minutes, line.place_of_service, line.diagnosis_pointers) == (53, "10", (1,))
    assert line.telehealth.model_dump() == {"virtual": True, "modality": "audio-video", "patient_at_home": True}
    assert claim.source.key == "Claim/clm-1"
    assert claim.source.version == "1"
    assert len(claim.claim_id) <= 20


def test_intake_90791_example_is_an_office_intake_by_the_psychologist() -> None:
    # Given the 90791 example (relative references, facility POS, unitPrice, PractitionerRole taxonomy)
    result = _intake("intake-90791.json")
    # Then one MCR claim at POS 11 rendered by the clinical psychologist
    assert len(result.claims) == 1
    claim = result.claims[0].claim
    assert result.claims[0].findings == ()
    assert (claim.payer.key, claim.payer.claim_filing_indicator) == ("MCR", "MB")
    assert claim.rendering is not None
    assert (claim.rendering.npi, claim.rendering.taxonomy) == ("1000000004", "103TC0700X")
    line = claim.lines[0]
    assert (line.procedure_code, line.modifiers, line.place_of_service, line.charge) == (
        "90791",
        (),
        "11",
        Decimal("200.00"),
    )
    assert line.documented_minutes is None
    assert line.telehealth.virtual is False
    assert claim.subscriber.member_id == "1EG4TE5MK73"


def test_intake_em_example_exercises_the_dependent_child_and_the_add_on() -> None:
    # Given the 99214 + 90833 example of a dependent child
    result = _intake("em-99214-90833.json")
    assert len(result.claims) == 1
    claim = result.claims[0].claim
    assert result.claims[0].findings == ()
    # Then 2000C is exercised: the parent subscribes, the child is the patient (PAT01 19)
    assert claim.patient is not None
    assert claim.patient.relationship == "19"
    assert claim.subscriber.member_id == "7QX4RT2NN18"
    assert claim.subscriber.group_number == "GRP4410"
    assert claim.payer.key == "MCR"
    # And the PMHNP renders, two diagnoses, the E/M and the add-on with its own psychotherapy minutes
    assert claim.rendering is not None
    assert (claim.rendering.npi, claim.rendering.taxonomy) == ("1987654328", "363LP0808X")
    assert claim.diagnoses == ("F331", "F411")
    assert [(ln.procedure_code, ln.diagnosis_pointers, ln.documented_minutes) for ln in claim.lines] == [
        ("99214", (1, 2), None),
        ("90833", (1,), 32),
    ]
    assert claim.total_charge == Decimal("260.00")
    assert claim.billing_provider.tin == "123456789"


def test_intake_secondary_example_carries_the_primary_payers_adjudication() -> None:
    # Given the secondary example: COMM-A adjudicated 90834, MCD-TX is billed
    result = _intake("secondary-90834-after-primary.json")
    # Then one clean claim billed as S with COMM-A as the prior payer, balanced (140 = 65 + 40 + 20 + 15)
    assert (len(result.claims), len(result.rejected)) == (1, 0)
    assert result.claims[0].findings == ()
    claim = result.claims[0].claim
    assert (claim.payer.key, claim.payer_responsibility, claim.total_charge) == ("MCD-TX", "S", Decimal(140))
    (other,) = claim.other_payers
    assert (other.responsibility, other.payer.key, other.relationship) == ("P", "COMM-A", "18")
    assert other.adjudication is not None
    assert (other.adjudication.paid, other.adjudication.patient_liability) == (Decimal(65), Decimal(35))
    (line,) = other.adjudication.lines
    assert line.paid + sum(a.amount for a in line.adjustments) == claim.lines[0].charge


@pytest.mark.parametrize(
    ("name", "rule", "path"),
    [
        (
            "bad/claim-without-coverage.json",
            "IN-REF",
            "Bundle.entry[6].resource(Claim/clm-nocov).insurance[0].coverage",
        ),
        ("bad/claim-without-patient.json", "IN-REF", "Bundle.entry[6].resource(Claim/clm-nopat).patient"),
    ],
)
def test_intake_bad_examples_are_rejected_with_in_ref_and_no_phi(name: str, rule: str, path: str) -> None:
    # Given a bundle whose claim misses a required resource
    result = _intake(name)
    # Then the claim is rejected naming the path, and no finding carries PHI
    assert not result.claims
    assert [(f.rule_id, f.fhir_path) for f in result.rejected[0].findings] == [(rule, path)]
    text = findings_text(result)
    for value in PHI_VALUES:
        assert value not in text


@pytest.mark.parametrize(
    ("name", "message"), [("bad/not-json.json", "not valid JSON"), ("bad/not-a-bundle.json", "Patient")]
)
def test_intake_unreadable_examples_raise_in_format_naming_the_file(name: str, message: str) -> None:
    with pytest.raises(FileFormatError) as caught:
        _intake(name)
    assert caught.value.fhir_path == name
    assert message in caught.value.message
    for value in PHI_VALUES:
        assert value not in str(caught.value)


# --- third-party corpus -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "fhir/davinci-pas/Bundle-MedicalServicesAuthorizationBundleExample.json",
        "fhir/davinci-pas/Bundle-ReferralAuthorizationBundleExample.json",
        "synthea/bundles/Burton_McKenzie_346a7f9f-36e7-44b9-aa97-56514aee667c.json",
    ],
)
def test_intake_corpus_claims_relabelled_professional_are_rejected_with_in_codes(
    corpus_dir: Path, relative: str
) -> None:
    # Given a corpus bundle whose Claims are relabelled as professional claims to bill
    path = corpus_dir / relative
    bundle = json.loads(path.read_text(encoding="utf-8"))
    names = [
        n.get("family", "")
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Patient"
        for n in e["resource"].get("name", [])
    ]
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Claim":
            entry["resource"]["use"] = "claim"
            entry["resource"]["type"] = {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]
            }
    # When it is taken in for the demo tenant (which knows none of their payers)
    result = intake_bundle(json.dumps(bundle).encode(), file_name=path.name, tenant=demo_tenant())
    # Then every claim is rejected with IN-* findings naming Bundle paths, and no patient name appears
    assert not result.claims
    assert result.rejected
    for rejected in result.rejected:
        errors = [f for f in rejected.findings if f.severity == "error"]
        assert errors
        assert all(f.rule_id.startswith("IN-") and f.fhir_path.startswith("Bundle.entry[") for f in errors)
    text = findings_text(result)
    for family in names:
        assert family not in text


@pytest.mark.parametrize(
    "name",
    [
        "telehealth-90837-home.json",
        "intake-90791.json",
        "em-99214-90833.json",
        "secondary-90834-after-primary.json",
        "bad/claim-without-coverage.json",
        "bad/claim-without-patient.json",
    ],
)
def test_example_bundles_are_valid_r4(name: str) -> None:
    # Given an example bundle (bad ones are bad for Claimbridge, still well-formed R4)
    # When the whole Bundle is validated with the R4B models, mandatory elements included
    bundle = Bundle.model_validate_json((BUNDLES / name).read_text(encoding="utf-8"))
    # Then it validates, with every date in 2026
    assert bundle.type in {"collection", "transaction"}
    assert "2025-" not in (BUNDLES / name).read_text(encoding="utf-8")


def test_not_a_bundle_example_is_a_valid_patient() -> None:
    patient = Patient.model_validate_json((BUNDLES / "bad" / "not-a-bundle.json").read_text(encoding="utf-8"))
    assert patient.id == "pat-1"
