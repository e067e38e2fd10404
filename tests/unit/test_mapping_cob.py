"""claimbridge.mapping.cob: other payers (2320/2330A/2330B) and prior payers' adjudication (2320 CAS/AMT, 2430).

The base is events/bundles/secondary-90834-after-primary.json: COMM-A adjudicated 90834 ($140: CO-45 40, deductible 20,
copay 15, paid 65), the claim bills MCD-TX as secondary. Each test changes one fact.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from claimbridge.claim import AdjustmentGroup, PayerResponsibility, ProfessionalClaim
from claimbridge.fhir import Located
from claimbridge.findings import Finding, Severity
from claimbridge.mapping.cob import (
    ADJUDICATION_SYSTEM,
    C4BB_ADJUDICATION_SYSTEM,
    CARC_SYSTEM,
    CAS_GROUP_SYSTEM,
    cas_segments_needed,
    read_adjudication,
)
from claimbridge.x12 import writer
from claimbridge.x12.validate import validate_837p
from claimbridge.x12.writer import InterchangeControl
from tests.unit.fhir_builders import (
    PHI_VALUES,
    Json,
    add,
    claim,
    coding,
    demo_tenant,
    example,
    findings_text,
    resource,
    run_intake,
)
from tests.unit.x12_builders import adjustment

pytestmark = pytest.mark.unit

SECONDARY = "secondary-90834-after-primary.json"
CLAIM_PATH = "Bundle.entry[10].resource(Claim/clm-cob)"
CR_PATH = "Bundle.entry[9].resource(ClaimResponse/cr-comm)"
PATIENT_URL = "urn:uuid:5c0b0000-0000-4000-8000-000000000001"
BILLING_URL = "urn:uuid:5c0b0000-0000-4000-8000-000000000006"
COMM_COVERAGE_URL = "urn:uuid:5c0b0000-0000-4000-8000-000000000004"
MCD_COVERAGE_URL = "urn:uuid:5c0b0000-0000-4000-8000-000000000005"


def secondary() -> Json:
    return example(SECONDARY)


def claim_response(bundle: Json) -> Json:
    return resource(bundle, "ClaimResponse")


def line_entry(bundle: Json, code: str) -> Json:
    """The adjudication entry of the ClaimResponse's first item whose category code is ``code``."""
    found: Json = next(
        a for a in claim_response(bundle)["item"][0]["adjudication"] if a["category"]["coding"][0]["code"] == code
    )
    return found


def adjudication(group_or_category: str, amount: float, *, reason: str | None = None) -> Json:
    """An adjudication entry: a CAS group code (with a CARC ``reason``) or an HL7/CARIN adjudication category."""
    if reason is not None:
        return {
            "category": coding(CAS_GROUP_SYSTEM, group_or_category),
            "reason": coding(CARC_SYSTEM, reason),
            "amount": {"value": amount, "currency": "USD"},
        }
    system = C4BB_ADJUDICATION_SYSTEM if group_or_category == "coinsurance" else ADJUDICATION_SYSTEM
    return {"category": coding(system, group_or_category), "amount": {"value": amount, "currency": "USD"}}


def mapped(bundle: Json) -> tuple[ProfessionalClaim, tuple[Finding, ...]]:
    """The one claim of ``bundle`` (built, possibly held); its findings never carry the bundle's PHI."""
    result = run_intake(bundle)
    text = findings_text(result)
    for value in PHI_VALUES:
        assert value not in text
    assert not result.rejected, [f.model_dump() for r in result.rejected for f in r.findings]
    assert len(result.claims) == 1
    return result.claims[0].claim, result.claims[0].findings


def errors(findings: tuple[Finding, ...]) -> list[tuple[str, str, str]]:
    return [(f.rule_id, f.fhir_path, f.x12_location) for f in findings if f.severity == Severity.ERROR]


def add_payer_coverage(bundle: Json, *, key: str, payer_id: str, member_id: str) -> str:
    """A payer Organization and a self Coverage for the bundle's patient; returns the Coverage's fullUrl."""
    payer_url = f"urn:uuid:payer-{key}"
    coverage_url = f"urn:uuid:coverage-{key}"
    add(
        bundle,
        {
            "resourceType": "Organization",
            "id": f"payer-{key}",
            "name": f"PAYER {key}",
            "identifier": [{"system": "urn:claimbridge:payer-id", "value": payer_id}],
        },
        payer_url,
    )
    add(
        bundle,
        {
            "resourceType": "Coverage",
            "id": f"cov-{key}",
            "status": "active",
            "subscriberId": member_id,
            "beneficiary": {"reference": PATIENT_URL},
            "payor": [{"reference": payer_url}],
            "relationship": coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"),
        },
        coverage_url,
    )
    return coverage_url


def add_claim_response(bundle: Json, rid: str, *, paid: float, item: list[Json], when: str = "2026-03-27") -> str:
    """A ClaimResponse adjudicating item 1 of the claim; returns its fullUrl."""
    url = f"urn:uuid:{rid}"
    add(
        bundle,
        {
            "resourceType": "ClaimResponse",
            "id": rid,
            "status": "active",
            "type": coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
            "use": "claim",
            "patient": {"reference": PATIENT_URL},
            "created": when,
            "insurer": {"reference": BILLING_URL},
            "outcome": "complete",
            "item": [{"itemSequence": 1, "adjudication": item}],
            "payment": {"amount": {"value": paid, "currency": "USD"}, "date": when},
        },
        url,
    )
    return url


def as_explanation_of_benefit(bundle: Json) -> None:
    """Turn the example's ClaimResponse into a CARIN-style ExplanationOfBenefit carrying the same adjudication."""
    response = claim_response(bundle)
    adjudications = response["item"][0]["adjudication"]
    response.clear()
    response.update(
        {
            "resourceType": "ExplanationOfBenefit",
            "id": "eob-comm",
            "status": "active",
            "type": coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
            "use": "claim",
            "patient": {"reference": PATIENT_URL},
            "created": "2026-03-20T08:00:00-05:00",
            "insurer": {"reference": "urn:uuid:5c0b0000-0000-4000-8000-000000000002"},
            "provider": {"reference": BILLING_URL},
            "outcome": "complete",
            "insurance": [{"focal": True, "coverage": {"reference": COMM_COVERAGE_URL}}],
            "item": [
                {
                    "sequence": 1,
                    "productOrService": coding("http://www.ama-assn.org/go/cpt", "90834"),
                    "quantity": {"value": 1},
                    "adjudication": adjudications,
                }
            ],
            "total": [{"category": coding(ADJUDICATION_SYSTEM, "benefit"), "amount": {"value": 65, "currency": "USD"}}],
        }
    )


# --- a secondary claim -------------------------------------------------------------------------------------------


def test_cob_secondary_example_carries_the_primary_payers_adjudication() -> None:
    # Given the secondary example (COMM-A primary adjudicated, MCD-TX billed)
    # When it is mapped
    built, findings = mapped(secondary())
    # Then the claim is clean, billed to MCD-TX as S, with COMM-A as the adjudicated primary
    assert findings == ()
    assert (built.payer.key, built.payer_responsibility) == ("MCD-TX", PayerResponsibility.SECONDARY)
    (other,) = built.other_payers
    assert (other.responsibility, other.payer.key, other.payer.payer_id) == ("P", "COMM-A", "CMA01")
    assert (other.subscriber.member_id, other.subscriber.group_number, other.relationship) == (
        "CMX55501234",
        "GRP7781",
        "18",
    )
    assert other.payer.claim_filing_indicator == "CI"
    assert other.fhir_path == f"{CLAIM_PATH}.insurance[0]"
    prior = other.adjudication
    assert prior is not None
    assert (prior.paid, prior.adjudication_date, prior.patient_liability) == (
        Decimal("65.00"),
        date(2026, 3, 20),
        Decimal("35.00"),
    )
    assert prior.claim_adjustments == ()
    (line,) = prior.lines
    assert (line.line_sequence, line.procedure_code, line.paid, line.paid_units) == (
        1,
        "90834",
        Decimal(65),
        Decimal(1),
    )
    assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [
        (AdjustmentGroup.CONTRACTUAL, "45", Decimal(40)),
        (AdjustmentGroup.PATIENT_RESPONSIBILITY, "1", Decimal(20)),
        (AdjustmentGroup.PATIENT_RESPONSIBILITY, "3", Decimal(15)),
    ]
    assert line.fhir_path == f"{CR_PATH}.item[0]"


def test_cob_accepts_an_explanation_of_benefit_with_carin_coinsurance() -> None:
    # Given the primary's adjudication as an EOB, copay sent as CARIN coinsurance, no payment (benefit total only)
    bundle = secondary()
    line_entry(bundle, "copay")["category"] = coding(C4BB_ADJUDICATION_SYSTEM, "coinsurance")
    as_explanation_of_benefit(bundle)
    claim(bundle)["insurance"][0]["claimResponse"] = {"reference": "urn:uuid:5c0b0000-0000-4000-8000-000000000010"}
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the EOB's item 1 is line 1: coinsurance is PR-2, the paid amount the benefit total, the date `created`
    assert findings == ()
    prior = built.other_payers[0].adjudication
    assert prior is not None
    assert (prior.paid, prior.adjudication_date, prior.patient_liability) == (Decimal(65), date(2026, 3, 20), None)
    assert [(a.group.value, a.reason) for a in prior.lines[0].adjustments] == [("CO", "45"), ("PR", "1"), ("PR", "2")]


def test_cob_takes_claim_level_adjustments_when_the_payer_reported_no_lines() -> None:
    # Given a ClaimResponse with the adjustments at claim level and no items
    bundle = secondary()
    response = claim_response(bundle)
    response["adjudication"] = response["item"][0]["adjudication"]
    del response["item"]
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the adjustments are 2320 CAS and there is no 2430
    assert findings == ()
    prior = built.other_payers[0].adjudication
    assert prior is not None
    assert prior.lines == ()
    assert [(a.group.value, a.reason, a.amount) for a in prior.claim_adjustments] == [
        ("CO", "45", Decimal(40)),
        ("PR", "1", Decimal(20)),
        ("PR", "3", Decimal(15)),
    ]


def test_cob_does_not_count_a_deductible_twice_when_also_sent_as_pr_1() -> None:
    # Given the deductible sent both as the HL7 category and as the explicit CAS PR-1
    bundle = secondary()
    claim_response(bundle)["item"][0]["adjudication"].append(adjudication("PR", 20, reason="1"))
    # When it is mapped
    built, findings = mapped(bundle)
    # Then PR-1 appears once and the claim balances
    assert findings == ()
    prior = built.other_payers[0].adjudication
    assert prior is not None
    assert [(a.group.value, a.reason) for a in prior.lines[0].adjustments] == [("CO", "45"), ("PR", "1"), ("PR", "3")]


def test_cob_dependent_on_the_other_coverage_reports_the_relationship_and_its_subscriber() -> None:
    # Given the primary coverage held by the patient's spouse
    bundle = secondary()
    add(
        bundle,
        {
            "resourceType": "RelatedPerson",
            "id": "spouse",
            "patient": {"reference": PATIENT_URL},
            "name": [{"family": "COBSPOUSE", "given": ["DANA"]}],
        },
        "urn:uuid:spouse",
    )
    coverage = resource(bundle, "Coverage", 0)
    coverage["relationship"] = coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "spouse")
    coverage["subscriber"] = {"reference": "urn:uuid:spouse"}
    # When it is mapped
    built, findings = mapped(bundle)
    # Then 2320 SBR02 is 01 and 2330A is the spouse with the coverage's member id
    assert findings == ()
    other = built.other_payers[0]
    assert (other.relationship, other.subscriber.name.last, other.subscriber.member_id) == (
        "01",
        "COBSPOUSE",
        "CMX55501234",
    )


# --- held: missing, ungrouped, unbalanced ----------------------------------------------------------------------


def test_cob_holds_a_prior_payer_without_claim_response() -> None:
    # Given the primary's insurance without claimResponse
    bundle = secondary()
    del claim(bundle)["insurance"][0]["claimResponse"]
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the claim is built but held IN-REQUIRED naming the insurance's claimResponse and 2320
    assert errors(findings) == [("IN-REQUIRED", f"{CLAIM_PATH}.insurance[0].claimResponse", "2320")]
    assert built.other_payers[0].adjudication is None


def test_cob_holds_an_unresolvable_claim_response_with_in_ref() -> None:
    # Given a claimResponse reference that matches nothing in the submission
    bundle = secondary()
    claim(bundle)["insurance"][0]["claimResponse"] = {"reference": "urn:uuid:not-sent"}
    # When it is mapped
    _, findings = mapped(bundle)
    # Then the claim is held with IN-REF
    assert errors(findings) == [("IN-REF", f"{CLAIM_PATH}.insurance[0].claimResponse", "2320")]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda b: line_entry(b, "CO").pop("reason"),
            ("IN-REQUIRED", f"{CR_PATH}.item[0].adjudication[2].reason", "2430 CAS02"),
        ),
        (
            lambda b: line_entry(b, "CO").update(category=coding(C4BB_ADJUDICATION_SYSTEM, "discount")),
            ("IN-REQUIRED", f"{CR_PATH}.item[0].adjudication[2]", "2430"),
        ),
        (
            lambda b: line_entry(b, "CO").update(category=coding(CAS_GROUP_SYSTEM, "XX")),
            ("IN-CODE", f"{CR_PATH}.item[0].adjudication[2].category", "2430 CAS01"),
        ),
        (
            lambda b: line_entry(b, "CO").pop("amount"),
            ("IN-REQUIRED", f"{CR_PATH}.item[0].adjudication[2].amount", "2430 CAS03"),
        ),
        (
            lambda b: claim_response(b)["item"][0]["adjudication"].remove(line_entry(b, "benefit")),
            ("IN-REQUIRED", f"{CR_PATH}.item[0].adjudication", "2430 SVD02"),
        ),
        (
            lambda b: [claim_response(b).pop("payment"), claim_response(b).pop("total")],
            ("IN-REQUIRED", f"{CR_PATH}.payment.amount", "2320 AMT*D"),
        ),
        (
            lambda b: line_entry(b, "benefit")["amount"].update(value=70),
            ("IN-CONFLICT", f"{CR_PATH}.item[0]", "2430"),
        ),
        (
            lambda b: claim_response(b)["payment"]["amount"].update(value=60),
            ("IN-CONFLICT", CR_PATH, "2320 AMT*D"),
        ),
        (
            lambda b: claim_response(b)["item"][0].update(itemSequence=2),
            ("IN-CONFLICT", f"{CR_PATH}.item[0]", "2430"),
        ),
        (
            lambda b: claim_response(b).update(use="preauthorization"),
            ("IN-CONFLICT", CR_PATH, "2320"),
        ),
        (
            lambda b: claim_response(b).update(outcome="queued"),
            ("IN-CONFLICT", CR_PATH, "2320"),
        ),
    ],
    ids=[
        "no-carc",
        "ungroupable-category",
        "bad-group-code",
        "no-adjustment-amount",
        "no-benefit",
        "no-paid-amount",
        "line-unbalanced",
        "claim-unbalanced",
        "unknown-item",
        "preauthorization",
        "not-adjudicated",
    ],
)
def test_cob_holds_an_adjudication_that_cannot_be_grouped_or_balanced(
    change: Any, expected: tuple[str, str, str]
) -> None:
    # Given the primary's ClaimResponse changed in one place
    bundle = secondary()
    change(bundle)
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the claim is held with one finding naming the FHIR element and the 837P location, no amounts in it
    assert errors(findings) == [expected]
    assert built.other_payers[0].adjudication is None
    for amount in ("140", "65", "70", "60", "40"):
        assert amount not in findings[0].message


def test_cob_claim_level_balancing_also_needs_every_line_adjudicated() -> None:
    # Given a two-line claim whose primary adjudicated only line 1 but paid as if for both
    bundle = secondary()
    second = json.loads(json.dumps(claim(bundle)["item"][0]))
    second.update(sequence=2, net={"value": 60, "currency": "USD"})
    second["productOrService"] = coding("http://www.ama-assn.org/go/cpt", "90785")
    del second["servicedPeriod"]
    second["servicedDate"] = "2026-03-04"
    claim(bundle)["item"].append(second)
    claim_response(bundle)["payment"]["amount"]["value"] = 125
    # When it is mapped
    _, findings = mapped(bundle)
    # Then CLM02 = AMT*D + CAS holds, but AMT*D differs from the lines' paid less claim CAS (TR3 1.4.4.1)
    assert errors(findings) == [("IN-CONFLICT", CR_PATH, "2320 AMT*D")]
    assert "sum of SVD02" in findings[0].message


# --- tertiary and later payers ---------------------------------------------------------------------------------


def tertiary() -> Json:
    """MCR primary (paid 88), COMM-A secondary (paid 22 after OA-23), MCD-TX billed as tertiary."""
    bundle = secondary()
    mcr_coverage = add_payer_coverage(bundle, key="mcr", payer_id="05302", member_id="1EG4TE5MK99")
    mcr_response = add_claim_response(
        bundle,
        "cr-mcr",
        paid=88,
        item=[adjudication("CO", 30, reason="45"), adjudication("coinsurance", 22), adjudication("benefit", 88)],
        when="2026-03-12",
    )
    claim_response(bundle)["item"][0]["adjudication"] = [
        adjudication("OA", 88, reason="23"),
        adjudication("CO", 30, reason="45"),
        adjudication("benefit", 22),
    ]
    claim_response(bundle)["payment"]["amount"]["value"] = 22
    del claim_response(bundle)["total"]
    claim(bundle)["insurance"] = [
        {
            "sequence": 1,
            "focal": False,
            "coverage": {"reference": mcr_coverage},
            "claimResponse": {"reference": mcr_response},
        },
        {
            "sequence": 2,
            "focal": False,
            "coverage": {"reference": COMM_COVERAGE_URL},
            "claimResponse": {"reference": "urn:uuid:5c0b0000-0000-4000-8000-000000000010"},
        },
        {"sequence": 3, "focal": True, "coverage": {"reference": MCD_COVERAGE_URL}},
    ]
    return bundle


def test_cob_tertiary_claim_carries_both_prior_payers() -> None:
    # Given MCR and COMM-A adjudicated before MCD-TX
    # When it is mapped
    built, findings = mapped(tertiary())
    # Then MCD-TX is billed as T with MCR (P) and COMM-A (S), each with its own adjudication
    assert findings == ()
    assert built.payer_responsibility == PayerResponsibility.TERTIARY
    assert [(o.responsibility.value, o.payer.key) for o in built.other_payers] == [("P", "MCR"), ("S", "COMM-A")]
    first, second = (o.adjudication for o in built.other_payers)
    assert first is not None and second is not None
    assert (first.paid, first.adjudication_date, second.paid, second.adjudication_date) == (
        Decimal(88),
        date(2026, 3, 12),
        Decimal(22),
        date(2026, 3, 20),
    )
    assert [(a.group.value, a.reason) for a in first.lines[0].adjustments] == [("CO", "45"), ("PR", "2")]
    assert [(a.group.value, a.reason) for a in second.lines[0].adjustments] == [("OA", "23"), ("CO", "45")]


def test_cob_tertiary_claim_writes_a_clean_837p_with_two_2320_and_two_2430() -> None:
    # Given the tertiary claim, mapped
    built, _ = mapped(tertiary())
    # When it is written
    text = writer.write_837p(
        [built],
        tenant=demo_tenant(),
        control=InterchangeControl(interchange_number=7, group_number=7),
        created=__import__("datetime").datetime(2026, 3, 28, 9, 0),
    )
    segments = text.split("~")
    # Then SBR*T, two 2320 SBRs (P then S), an SVD per prior payer on the line, and pyx12 is silent
    assert [s.split("*")[1] for s in segments if s.startswith("SBR*")] == ["T", "P", "S"]
    assert [s for s in segments if s.startswith("SVD*")] == ["SVD*05302*88*HC:90834**1", "SVD*CMA01*22*HC:90834**1"]
    assert validate_837p(text) == []


def test_cob_payer_after_the_billed_one_is_reported_without_adjudication() -> None:
    # Given a primary claim to COMM-A with MCD-TX as a later coverage (no claimResponse)
    bundle = secondary()
    claim(bundle)["insurance"] = [
        {"sequence": 1, "focal": True, "coverage": {"reference": COMM_COVERAGE_URL}},
        {"sequence": 2, "focal": False, "coverage": {"reference": MCD_COVERAGE_URL}},
    ]
    # When it is mapped
    built, findings = mapped(bundle)
    # Then it is a clean P claim whose 2320 names MCD-TX as S, with no adjudication
    assert findings == ()
    assert (built.payer.key, built.payer_responsibility) == ("COMM-A", PayerResponsibility.PRIMARY)
    (other,) = built.other_payers
    assert (other.responsibility, other.payer.key, other.adjudication) == ("S", "MCD-TX", None)


def test_cob_holds_an_other_payer_unknown_to_the_tenant_naming_2330b() -> None:
    # Given the primary payer's Organization with an identifier no tenant payer lists
    bundle = secondary()
    resource(bundle, "Organization", 0)["identifier"][0]["value"] = "UNKNOWN1"
    # When it is mapped
    built, findings = mapped(bundle)
    # Then the claim is held IN-PAYER at the coverage's payor, 2330B, and carries no other payer
    assert errors(findings) == [
        ("IN-PAYER", "Bundle.entry[3].resource(Coverage/cov-comm).payor[0]", "2330B NM109"),
    ]
    assert built.other_payers == ()


def test_cob_holds_two_other_payers_with_one_payer_id() -> None:
    # Given the tertiary claim whose two prior payers are both COMM-A
    bundle = tertiary()
    resource(bundle, "Organization", 3)["identifier"][0]["value"] = "CMA01"
    # When it is mapped
    _, findings = mapped(bundle)
    # Then it is held: SVD01 could not tell the two adjudications apart
    assert errors(findings) == [("IN-CONFLICT", f"{CLAIM_PATH}.insurance[1]", "2330B NM109")]


def test_cob_mapped_claim_survives_the_stores_json_round_trip() -> None:
    # Given the mapped tertiary claim (nested other payers, adjustments, dates)
    built, _ = mapped(tertiary())
    # When it is stored as JSON and read back, as the claim store does
    restored = ProfessionalClaim.model_validate_json(built.model_dump_json(exclude={"total_charge"}))
    # Then nothing is lost
    assert restored == built


# --- reading one resource --------------------------------------------------------------------------------------


def _located(resource_json: Json, path: str = "Bundle.entry[0].resource(ClaimResponse/x)") -> Located:
    parsed: Json = json.loads(json.dumps(resource_json), parse_float=Decimal)
    return Located(resource=parsed, path=path, entry_index=0, full_url=None, root=parsed)


def test_read_adjudication_takes_codes_without_system_as_hl7_adjudication() -> None:
    # Given an R4-example-style ClaimResponse whose categories have no system
    response = {
        "resourceType": "ClaimResponse",
        "created": "2026-03-20",
        "item": [
            {
                "itemSequence": 1,
                "adjudication": [
                    {"category": {"coding": [{"code": "copay"}]}, "amount": {"value": 10}},
                    {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": 90.475}},
                ],
            }
        ],
    }
    # When it is read
    reading = read_adjudication(_located(response))
    # Then copay is PR-3, the benefit rounds to the cent, and the missing payment is the only issue
    (line,) = reading.lines
    assert (line.sequence, line.paid) == (1, Decimal("90.48"))
    assert [(a.group.value, a.reason, a.amount) for a in line.adjustments] == [("PR", "3", Decimal(10))]
    assert reading.adjudication_date == date(2026, 3, 20)
    assert [(i.rule_id, i.fhir_path) for i in reading.issues] == [
        ("IN-REQUIRED", "Bundle.entry[0].resource(ClaimResponse/x).payment.amount")
    ]


def test_cas_segments_needed_counts_one_per_group_and_six_reasons_each() -> None:
    # Given 7 CO reasons and 1 PR reason
    adjustments = [adjustment("CO", str(10 + n), 1) for n in range(7)]
    adjustments.append(adjustment("PR", "1", 1))
    # Then they need three CAS segments
    assert cas_segments_needed(adjustments) == 3


# --- third-party corpus ----------------------------------------------------------------------------------------


def test_read_adjudication_reads_the_r4_claim_response_example(corpus_dir: Path) -> None:
    # Given the FHIR R4 core ClaimResponse example R3500
    path = corpus_dir / "fhir" / "hl7-r4-core" / "ClaimResponse-R3500.json"
    response = json.loads(path.read_text(encoding="utf-8"))
    # When it is read
    reading = read_adjudication(_located(response, "ClaimResponse-R3500.json"))
    # Then payment, date, the item's benefit and its copay (PR-3) come out, without issues
    assert (reading.paid, reading.adjudication_date, reading.issues) == (Decimal("100.47"), date(2014, 8, 31), ())
    (line,) = reading.lines
    assert (line.sequence, line.paid) == (1, Decimal("90.47"))
    assert [(a.group.value, a.reason, a.amount) for a in line.adjustments] == [("PR", "3", Decimal("10.00"))]


def test_cob_holds_a_claim_whose_prior_adjudication_is_the_r4_example(corpus_dir: Path) -> None:
    # Given the secondary example whose primary adjudication is replaced by R3500 (its amounts do not balance)
    bundle = secondary()
    r3500 = json.loads((corpus_dir / "fhir" / "hl7-r4-core" / "ClaimResponse-R3500.json").read_text(encoding="utf-8"))
    response = claim_response(bundle)
    response.clear()
    response.update(r3500)
    # When it is mapped
    _, findings = mapped(bundle)
    # Then it is read without crashing and held for not balancing with the billed line
    assert errors(findings) == [("IN-CONFLICT", "Bundle.entry[9].resource(ClaimResponse/R3500).item[0]", "2430")]


@pytest.mark.parametrize(
    "name",
    [
        "ExplanationOfBenefit-EOBProfessional1.json",
        "ExplanationOfBenefit-EOBProfessional2.json",
        "ExplanationOfBenefit-EOBProfessionalTransportation1.json",
        "ExplanationOfBenefit-EOBInpatient1.json",
        "ExplanationOfBenefit-EOBOutpatient1.json",
    ],
)
def test_read_adjudication_reads_the_carin_eob_examples(corpus_dir: Path, name: str) -> None:
    # Given a CARIN Blue Button EOB example
    eob = json.loads((corpus_dir / "fhir" / "carin-bb" / name).read_text(encoding="utf-8"))
    # When it is read
    reading = read_adjudication(_located(eob, name))
    # Then every item is read by its sequence; CARIN discriminators and totals other than benefit add nothing
    assert [line.sequence for line in reading.lines] == [item["sequence"] for item in eob["item"]]
    assert reading.adjudication_date is not None
    for line in reading.lines:
        assert all(a.group.value in {"CO", "CR", "OA", "PI", "PR"} for a in line.adjustments)
    benefit_totals = [
        t["amount"]["value"] for t in eob.get("total", []) if t["category"]["coding"][0]["code"] == "benefit"
    ]
    assert reading.paid == (Decimal(str(benefit_totals[0])).quantize(Decimal("0.01")) if benefit_totals else None)


def test_read_adjudication_carin_professional_example_has_line_benefits(corpus_dir: Path) -> None:
    # Given the CARIN professional EOB with six adjudicated lines (some reversed) and a member liability total
    eob = json.loads(
        (corpus_dir / "fhir" / "carin-bb" / "ExplanationOfBenefit-EOBProfessional2.json").read_text(encoding="utf-8")
    )
    # When it is read
    reading = read_adjudication(_located(eob, "EOBProfessional2.json"))
    # Then the first line's benefit is read, the liability is the memberliability total, reversals are issues
    assert reading.lines[0].paid == Decimal("34.80")
    assert reading.patient_liability == Decimal(0)
    assert reading.paid == Decimal("258.91")
    assert any(issue.x12_location == "2430 SVD02" for issue in reading.issues)
