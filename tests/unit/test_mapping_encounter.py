"""Encounter anchors (contract section 2): a finished Encounter that no professional Claim bills becomes a claim.

Lines from completed Procedures (CPT/HCPCS, or SNOMED CT through the tenant crosswalk with minute bands), billable
ChargeItems, or an ``Encounter.type`` crosswalk row; diagnoses from ``Encounter.diagnosis`` by rank, else
encounter-diagnosis Conditions; the patient's active Coverage with the lowest ``order``; rendering from
``Procedure.performer`` or the PPRF participant; POS and telehealth/licensure modifiers derived from the facts and
the payer profile.
"""

from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal

import pytest

from claimbridge.claim import ProfessionalClaim
from claimbridge.fhir import read_submission
from claimbridge.findings import Finding, Severity
from claimbridge.intake import IntakeResult, anchor_rows, intake_bundle, intake_submission
from claimbridge.mapping.lines import crosswalk_row
from claimbridge.mapping.scope import MappingProblem
from claimbridge.x12 import writer
from claimbridge.x12.validate import validate_837p
from tests.unit.fhir_builders import (
    ACT_CODE,
    CHEN_NPI,
    CONDITION_CATEGORY,
    CPT,
    ENCOUNTER_URL,
    ICD,
    MODALITY_URL,
    PATIENT_URL,
    PHI_VALUES,
    RIVERA_NPI,
    ROLE_CODE,
    SNOMED,
    Json,
    add,
    by_id,
    charge_item,
    coding,
    condition,
    coverage,
    demo_tenant,
    encounter,
    encounter_bundle,
    example,
    findings_text,
    participant,
    payer_organization,
    practitioner,
    procedure,
    ref,
    relative_resources,
    resource,
    run_intake,
    tenant_with,
    to_bytes,
    to_ndjson,
    urn,
)
from tests.unit.x12_builders import CONTROL, CREATED

pytestmark = pytest.mark.unit

CHEN_URL = urn(20)
MCR_URL, MCD_ORIG_URL = urn(21), urn(22)
EXAMPLE_ENCOUNTER_URL = "urn:uuid:0b6b1c1e-0000-4000-8000-000000000007"
EXAMPLE_PATIENT_URL = "urn:uuid:0b6b1c1e-0000-4000-8000-000000000001"


def _claim(result: IntakeResult) -> ProfessionalClaim:
    """The one claim of a result, which must be clean of rejections."""
    assert result.rejected == (), [f.model_dump() for r in result.rejected for f in r.findings]
    assert len(result.claims) == 1
    return result.claims[0].claim


def _rejected(result: IntakeResult) -> list[Finding]:
    assert result.claims == ()
    assert len(result.rejected) == 1
    return [f for f in result.rejected[0].findings if f.severity == Severity.ERROR]


def _encounter(bundle: Json) -> Json:
    return by_id(bundle, "Encounter", "enc-1")


def _procedure(bundle: Json) -> Json:
    return by_id(bundle, "Procedure", "proc-1")


def _snomed_bundle(minutes: int | None) -> Json:
    """CBT (SNOMED CT 228557008) performed ``minutes`` long, no ChargeItem (the fee schedule prices it)."""
    bundle = encounter_bundle(with_charge=False)
    proc = _procedure(bundle)
    proc["code"] = coding(SNOMED, "228557008")
    if minutes is None:
        del proc["performedPeriod"]
        proc["performedDateTime"] = "2026-03-02T15:00:00-06:00"
        _encounter(bundle)["period"] = {"start": "2026-03-02T15:00:00-06:00"}
    else:
        proc["performedPeriod"] = {
            "start": "2026-03-02T15:00:00-06:00",
            "end": f"2026-03-02T{15 + minutes // 60}:{minutes % 60:02d}:00-06:00",
        }
    return bundle


def _add_chen(bundle: Json) -> None:
    add(bundle, practitioner("prac-np", CHEN_NPI, "CHEN", "MORGAN"), CHEN_URL)


def _virtual(bundle: Json, modality: str | None = "audio-video", *, home: bool = True) -> None:
    """Make the encounter a video (or audio-only) visit, from the patient's home unless told otherwise."""
    enc = _encounter(bundle)
    enc["class"] = {"system": ACT_CODE, "code": "VR"}
    if modality is not None:
        enc["extension"] = [{"url": MODALITY_URL, "valueCode": modality}]
    role = "PTRES" if home else "HOSP"
    enc["contained"] = [{"resourceType": "Location", "id": "where", "mode": "kind", "type": [coding(ROLE_CODE, role)]}]
    enc["location"] = [{"location": {"reference": "#where"}}]


def _bill_to(bundle: Json, key_url: str, oid: str, payer_id: str) -> None:
    """Point the patient's only Coverage at another configured payer."""
    add(bundle, payer_organization(oid, payer_id), key_url)
    by_id(bundle, "Coverage", "cov-1")["payor"] = [ref(key_url)]


# a clean claim ---------------------------------------------------------------------------------------------------
def test_encounter_with_cpt_procedure_and_charge_item_becomes_a_ready_claim() -> None:
    # Given a finished in-office Encounter with no Claim, a CPT 90837 Procedure and its ChargeItem (priceOverride)
    bundle = encounter_bundle()
    # When the submission is taken in
    result = run_intake(bundle)
    # Then one clean claim comes from the Encounter, priced and dated from the Procedure and its ChargeItem
    claim = _claim(result)
    assert result.skipped == 0
    assert result.claims[0].findings == ()
    assert (claim.source.resource_type, claim.source.resource_id) == ("Encounter", "enc-1")
    assert claim.source.fhir_path == "Bundle.entry[5].resource(Encounter/enc-1)"
    assert (claim.payer.key, claim.place_of_service, claim.diagnoses) == ("COMM-A", "11", ("F411",))
    assert claim.rendering is not None and claim.rendering.npi == RIVERA_NPI
    assert claim.rendering.taxonomy == "1041C0700X"  # from the tenant roster
    assert claim.subscriber.member_id == "W123456789"
    (line,) = claim.lines
    assert (line.procedure_code, line.modifiers, line.charge, line.units) == (
        "90837",
        (),
        Decimal("180.00"),
        Decimal(1),
    )
    assert (line.service_date, line.place_of_service, line.diagnosis_pointers) == (date(2026, 3, 2), "11", (1,))
    assert (line.documented_minutes, line.rendering_override) == (53, None)
    assert line.line_control_number == f"{claim.claim_id}-1"
    assert line.fhir_path == "Bundle.entry[6].resource(Procedure/proc-1)"
    assert claim.total_charge == Decimal("180.00")


def test_encounter_charge_item_price_is_the_total_and_its_quantity_the_units() -> None:
    # Given the ChargeItem of the Procedure says 2 units for 300.00 in all (R4 priceOverride: total price)
    bundle = encounter_bundle()
    by_id(bundle, "ChargeItem", "chg-1").update(priceOverride={"value": Decimal("300.00")}, quantity={"value": 2})
    # When it is taken in
    (line,) = _claim(run_intake(bundle)).lines
    # Then the line is 2 units charged 300.00 (not 600.00)
    assert (line.units, line.charge) == (Decimal(2), Decimal("300.00"))


def test_encounter_procedure_without_charge_item_is_priced_from_the_fee_schedule() -> None:
    # Given a CPT 90834 Procedure and no ChargeItem
    bundle = encounter_bundle(with_charge=False)
    _procedure(bundle)["code"] = coding(CPT, "90834")
    # When it is taken in / Then the demo fee schedule's 140.00 is charged
    assert _claim(run_intake(bundle)).lines[0].charge == Decimal("140.00")


def test_encounter_procedure_with_a_corrected_charge_item_is_billed_once_at_the_valid_price() -> None:
    # Given the Procedure's first ChargeItem entered in error and a corrected billable one, both on the encounter
    bundle = encounter_bundle()
    by_id(bundle, "ChargeItem", "chg-1").update(status="entered-in-error", priceOverride={"value": Decimal("999.00")})
    add(bundle, charge_item("chg-2", price="175.00"), urn(9))
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then the Procedure is one line, priced by the billable ChargeItem; neither ChargeItem is a line of its own
    assert [(ln.procedure_code, ln.charge) for ln in claim.lines] == [("90837", Decimal("175.00"))]


def test_encounter_procedure_whose_only_charge_item_is_void_is_priced_from_the_fee_schedule() -> None:
    # Given the Procedure's only ChargeItem was aborted
    bundle = encounter_bundle()
    by_id(bundle, "ChargeItem", "chg-1").update(status="aborted", priceOverride={"value": Decimal("999.00")})
    # When it is taken in / Then the demo fee for 90837 (180.00) is charged, on one line
    assert [(ln.procedure_code, ln.charge) for ln in _claim(run_intake(bundle)).lines] == [("90837", Decimal("180.00"))]


def test_encounter_standalone_charge_item_is_a_line_with_its_units_date_and_price() -> None:
    # Given no Procedure, but a billable ChargeItem for 96127 x2 on the encounter, with its own date
    bundle = encounter_bundle(with_procedure=False, with_charge=False)
    add(
        bundle,
        charge_item(code="96127", price="30.00", quantity=2, service_url=None, occurrenceDateTime="2026-03-03"),
        urn(8),
    )
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then the ChargeItem is the line, rendered by the PPRF participant
    (line,) = claim.lines
    assert (line.procedure_code, line.units, line.charge, line.service_date) == (
        "96127",
        Decimal(2),
        Decimal("30.00"),
        date(2026, 3, 3),
    )
    assert claim.rendering is not None and claim.rendering.npi == RIVERA_NPI


def test_encounter_with_two_procedures_has_two_lines_and_a_tied_charge_item_is_not_a_third() -> None:
    # Given a second completed Procedure (96127, no ChargeItem) and a not-completed one
    bundle = encounter_bundle()
    add(bundle, procedure("proc-2", code=coding(CPT, "96127"), start=None), urn(9))
    add(bundle, procedure("proc-3", code=coding(CPT, "90832"), status="not-done"), urn(10))
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then one line per completed Procedure, in submission order; the ChargeItem priced the first only
    assert [(ln.sequence, ln.procedure_code, ln.charge) for ln in claim.lines] == [
        (1, "90837", Decimal("180.00")),
        (2, "96127", Decimal("15.00")),
    ]
    assert claim.lines[1].service_date == date(2026, 3, 2)  # no performed[x]: the encounter's start


# SNOMED CT through the crosswalk ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minutes", "code", "charge"),
    [(53, "90837", "180.00"), (60, "90837", "180.00"), (45, "90834", "140.00"), (16, "90832", "100.00")],
)
def test_encounter_snomed_procedure_is_crosswalked_by_its_minutes(minutes: int, code: str, charge: str) -> None:
    # Given CBT (SNOMED CT 228557008) performed for the given minutes
    bundle = _snomed_bundle(minutes)
    # When it is taken in
    (line,) = _claim(run_intake(bundle)).lines
    # Then the demo crosswalk band picks the CPT code, priced from the fee schedule
    assert (line.procedure_code, line.documented_minutes, line.charge) == (code, minutes, Decimal(charge))


def test_encounter_snomed_minutes_are_whole_minutes_rounded_down() -> None:
    # Given CBT performed 52 minutes 59 seconds (just under the 53-minute band)
    bundle = _snomed_bundle(None)
    _procedure(bundle)["performedPeriod"] = {"start": "2026-03-02T15:00:00-06:00", "end": "2026-03-02T15:52:59-06:00"}
    del _procedure(bundle)["performedDateTime"]
    # When it is taken in / Then 52 minutes give 90834
    (line,) = _claim(run_intake(bundle)).lines
    assert (line.procedure_code, line.documented_minutes) == ("90834", 52)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (None, "BH-TIME-02"),
        (15, "BH-TIME-01"),
        (16, "90832"),
        (37, "90832"),
        (38, "90834"),
        (52, "90834"),
        (53, "90837"),
        (600, "90837"),
    ],
)
def test_crosswalk_row_picks_the_band_the_minutes_fall_in(minutes: int | None, expected: str) -> None:
    # Given the demo tenant's three CBT rows (16-37, 38-52, >= 53)
    rows = [row for row in demo_tenant().crosswalks.snomed_to_cpt if row.snomed == "228557008"]
    # When a row is picked for the minutes
    try:
        found = crosswalk_row(rows, minutes, "X.code").cpt
    except MappingProblem as exc:
        found = exc.finding.rule_id
        assert exc.finding.fhir_path == "X.code"
    # Then the band's code, or the time rule when none applies
    assert found == expected


def test_crosswalk_row_of_an_unbanded_code_ignores_minutes() -> None:
    # Given the single unbanded row of 715252007 (PHQ-9 -> 96127)
    rows = [row for row in demo_tenant().crosswalks.snomed_to_cpt if row.snomed == "715252007"]
    # When a row is picked with or without minutes / Then it is that row
    assert crosswalk_row(rows, None, "X").cpt == crosswalk_row(rows, 3, "X").cpt == "96127"


def test_encounter_with_an_em_code_takes_no_minutes_from_the_encounter() -> None:
    # Given 99214 and add-on 90833 Procedures without their own times, in a 55-minute encounter
    bundle = encounter_bundle(with_charge=False)
    _procedure(bundle).update(code=coding(CPT, "99214"))
    del _procedure(bundle)["performedPeriod"]
    add(bundle, procedure("proc-2", code=coding(CPT, "90833"), start=None), urn(9))

    def priced(document: Json) -> None:
        document["defaults"]["fee_schedule"].update({"99214": 150, "90833": 90})

    # When it is taken in
    claim = _claim(run_intake(bundle, tenant_with(priced)))
    # Then no line gets the encounter's minutes (E/M + add-on needs line or procedure times, BH-TIME-03)
    assert [(ln.procedure_code, ln.documented_minutes) for ln in claim.lines] == [("99214", None), ("90833", None)]


def test_encounter_snomed_procedure_without_its_own_minutes_uses_the_encounter_length() -> None:
    # Given CBT with only performedDateTime, and Encounter.length of one hour (UCUM h)
    bundle = _snomed_bundle(None)
    _encounter(bundle)["length"] = {"value": 1, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"}
    # When it is taken in / Then 60 minutes give 90837
    (line,) = _claim(run_intake(bundle)).lines
    assert (line.procedure_code, line.documented_minutes) == ("90837", 60)


@pytest.mark.parametrize(("minutes", "rule"), [(None, "BH-TIME-02"), (10, "BH-TIME-01")])
def test_encounter_snomed_procedure_outside_every_band_is_rejected(minutes: int | None, rule: str) -> None:
    # Given CBT with no documented minutes anywhere, or with 10 minutes (below the 16-minute band)
    bundle = _snomed_bundle(minutes)
    # When it is taken in
    errors = _rejected(run_intake(bundle))
    # Then the claim is rejected with the time rule at the Procedure's code
    assert [(f.rule_id, f.fhir_path) for f in errors] == [(rule, "Bundle.entry[6].resource(Procedure/proc-1).code")]


def test_encounter_snomed_procedure_without_crosswalk_row_is_rejected_in_xwalk() -> None:
    # Given a Procedure coded only in SNOMED CT with a code the tenant crosswalk does not list
    bundle = encounter_bundle(with_charge=False)
    _procedure(bundle)["code"] = coding(SNOMED, "76168009")
    # When it is taken in
    result = run_intake(bundle)
    (error,) = _rejected(result)
    # Then IN-XWALK names the Procedure's code; the fix names the SNOMED code to add, the message does not
    assert (error.rule_id, error.fhir_path) == ("IN-XWALK", "Bundle.entry[6].resource(Procedure/proc-1).code")
    assert "76168009" in error.fix
    assert "76168009" not in error.message
    assert result.rejected[0].source_key == "Encounter/enc-1"


def test_encounter_crosswalk_row_without_cpt_skips_the_line_with_a_warning() -> None:
    # Given a second Procedure coded 430193006, which the demo crosswalk marks not billable (cpt null)
    bundle = encounter_bundle()
    add(bundle, procedure("proc-2", code=coding(SNOMED, "430193006")), urn(9))
    # When it is taken in
    result = run_intake(bundle)
    claim = _claim(result)
    # Then only the CPT line is billed, and a warning names the skipped Procedure
    assert [ln.procedure_code for ln in claim.lines] == ["90837"]
    assert [(f.rule_id, f.severity, f.fhir_path) for f in result.claims[0].findings] == [
        ("IN-XWALK", Severity.WARNING, "Bundle.entry[8].resource(Procedure/proc-2).code")
    ]


def test_encounter_whose_only_procedure_is_not_billable_is_skipped_not_an_anchor() -> None:
    # Given only the not-billable SNOMED CT Procedure (the crosswalk row says cpt null)
    bundle = encounter_bundle(with_charge=False)
    _procedure(bundle)["code"] = coding(SNOMED, "430193006")
    # When it is taken in
    result = run_intake(bundle)
    # Then the encounter has no line source: counted as skipped, neither a claim nor an error
    assert (len(result.claims), len(result.rejected), result.skipped) == (0, 0, 1)


# Encounter.type crosswalk ----------------------------------------------------------------------------------------
def test_encounter_type_crosswalk_bills_90791_from_the_fee_schedule() -> None:
    # Given an intake visit (Encounter.type SNOMED CT 79094001) with no Procedure or ChargeItem
    bundle = encounter_bundle(with_procedure=False, with_charge=False)
    _encounter(bundle)["type"] = [coding(SNOMED, "79094001")]
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then the encounter_type row gives 90791 at the demo fee of 200.00, dated by the encounter
    (line,) = claim.lines
    assert (line.procedure_code, line.charge, line.service_date) == ("90791", Decimal("200.00"), date(2026, 3, 2))
    assert line.fhir_path == "Bundle.entry[5].resource(Encounter/enc-1)"


def test_encounter_type_crosswalk_without_a_fee_is_held_in_required_sv102() -> None:
    # Given the same visit for a tenant whose fee schedule has no 90791
    def drop_fee(document: Json) -> None:
        del document["defaults"]["fee_schedule"]["90791"]

    bundle = encounter_bundle(with_procedure=False, with_charge=False)
    _encounter(bundle)["type"] = [coding(SNOMED, "79094001")]
    # When it is taken in
    result = run_intake(bundle, tenant_with(drop_fee))
    # Then a claim is built but held: no charge for SV102
    claim = _claim(result)
    assert result.claims[0].held
    assert claim.lines[0].charge == Decimal("0.00")
    assert [(f.rule_id, f.x12_location, f.fhir_path) for f in result.claims[0].findings] == [
        ("IN-REQUIRED", "SV102", "Bundle.entry[5].resource(Encounter/enc-1).type")
    ]


def test_encounter_type_crosswalk_with_a_fee_added_to_a_tenant_copy() -> None:
    # Given a tenant whose crosswalk maps another encounter type to 90792, with a fee for it
    def add_row(document: Json) -> None:
        document["crosswalks"]["snomed_to_cpt"].append(
            {"snomed": "90526000", "applies_to": "encounter_type", "cpt": "90792"}
        )
        document["defaults"]["fee_schedule"]["90792"] = 250.5

    bundle = encounter_bundle(with_procedure=False, with_charge=False)
    _encounter(bundle)["type"] = [coding(SNOMED, "90526000")]
    # When it is taken in / Then 90792 is billed at 250.50
    (line,) = _claim(run_intake(bundle, tenant_with(add_row))).lines
    assert (line.procedure_code, line.charge) == ("90792", Decimal("250.50"))


def test_encounter_date_of_service_is_the_date_as_written() -> None:
    # Given a late-evening Procedure written with a -06:00 offset (the next day in UTC)
    bundle = encounter_bundle()
    _procedure(bundle)["performedPeriod"] = {"start": "2026-03-02T23:10:00-06:00", "end": "2026-03-03T00:05:00-06:00"}
    # When it is taken in / Then the DOS is the written date, and the minutes span midnight
    (line,) = _claim(run_intake(bundle)).lines
    assert (line.service_date, line.documented_minutes) == (date(2026, 3, 2), 55)


def test_two_encounters_in_one_submission_keep_their_own_procedures() -> None:
    # Given a second finished encounter of the same patient with its own 90832 Procedure
    bundle = encounter_bundle()
    second_url = urn(40)
    add(bundle, by_id(encounter_bundle(), "Encounter", "enc-1") | {"id": "enc-2"}, second_url)
    add(bundle, procedure("proc-9", code=coding(CPT, "90832"), encounter_url=second_url), urn(41))
    # When it is taken in
    result = run_intake(bundle)
    # Then two claims, each with its own line
    assert result.rejected == ()
    lines = {c.claim.source.key: [ln.procedure_code for ln in c.claim.lines] for c in result.claims}
    assert lines == {"Encounter/enc-1": ["90837"], "Encounter/enc-2": ["90832"]}
    assert len({c.claim.claim_id for c in result.claims}) == 2


# which Encounters are anchors ------------------------------------------------------------------------------------
def test_encounter_billed_by_a_professional_claim_is_neither_an_anchor_nor_skipped() -> None:
    # Given the contract example (a professional Claim billing enc-1) plus a completed Procedure of enc-1
    bundle = example()
    add(bundle, procedure(encounter_url=EXAMPLE_ENCOUNTER_URL, performer_url=None), urn(30))
    # When it is taken in
    result = run_intake(bundle)
    # Then only the Claim becomes a claim, and the Encounter is not counted as skipped
    assert [c.claim.source.key for c in result.claims] == ["Claim/clm-1"]
    assert result.skipped == 0


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_encounter_named_by_a_withdrawn_professional_claim_is_not_billed_on_its_own(status: str) -> None:
    # Given the contract example whose Claim was entered in error (or cancelled), plus a Procedure of its encounter
    bundle = example()
    resource(bundle, "Claim")["status"] = status
    add(bundle, procedure(encounter_url=EXAMPLE_ENCOUNTER_URL, performer_url=None), urn(30))
    # When it is taken in
    result = run_intake(bundle)
    # Then the encounter is not billed behind the EHR's back: the Claim decides (withdrawal), nothing is built
    assert result.claims == ()
    assert result.rejected == ()


@pytest.mark.parametrize(
    ("claim_type", "status"), [("institutional", "active"), ("professional", "draft")], ids=["institutional", "draft"]
)
def test_encounter_named_only_by_a_claim_that_is_not_billed_is_an_anchor(claim_type: str, status: str) -> None:
    # Given the encounter bundle plus a Claim (Synthea-style institutional, or a draft) naming the encounter
    bundle = encounter_bundle()
    other = {
        "resourceType": "Claim",
        "id": "clm-x",
        "status": status,
        "use": "claim",
        "type": coding("http://terminology.hl7.org/CodeSystem/claim-type", claim_type),
        "patient": ref(PATIENT_URL),
        "item": [{"sequence": 1, "encounter": [ref(ENCOUNTER_URL)], "productOrService": coding(CPT, "90837")}],
    }
    add(bundle, other, urn(31))
    # When it is taken in
    result = run_intake(bundle)
    # Then the Encounter is billed on its own and that Claim is the one skipped
    assert _claim(result).source.key == "Encounter/enc-1"
    assert result.skipped == 1


@pytest.mark.parametrize("status", ["in-progress", "planned", "cancelled", "entered-in-error"])
def test_encounter_that_is_not_finished_is_skipped(status: str) -> None:
    # Given an encounter that is not finished
    bundle = encounter_bundle()
    _encounter(bundle)["status"] = status
    # When it is taken in / Then no claim, and one skipped anchor
    result = run_intake(bundle)
    assert (result.claims, result.rejected, result.skipped) == ((), (), 1)


def test_encounter_without_any_line_source_is_skipped() -> None:
    # Given a finished encounter with no Procedure, ChargeItem or crosswalked type
    bundle = encounter_bundle(with_procedure=False, with_charge=False)
    _encounter(bundle)["type"] = [coding(SNOMED, "185347001")]
    # When it is taken in / Then it is skipped, not rejected
    result = run_intake(bundle)
    assert (result.claims, result.rejected, result.skipped) == ((), (), 1)


# coverage --------------------------------------------------------------------------------------------------------
def test_encounter_without_coverage_is_rejected_in_required() -> None:
    # Given no Coverage for the patient (as in Synthea data)
    bundle = encounter_bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Coverage"]
    # When it is taken in
    errors = _rejected(run_intake(bundle))
    # Then IN-REQUIRED names the encounter's subject and SBR
    assert [(f.rule_id, f.fhir_path, f.x12_location) for f in errors] == [
        ("IN-REQUIRED", "Bundle.entry[4].resource(Encounter/enc-1).subject", "2000B SBR")
    ]


def test_encounter_bills_the_active_coverage_with_the_lowest_order() -> None:
    # Given two active Coverages: COMM-A with order 2 (listed first) and Medicare with order 1
    bundle = encounter_bundle()
    by_id(bundle, "Coverage", "cov-1")["order"] = 2
    add(bundle, payer_organization("payer-mcr", "05302"), MCR_URL)
    add(bundle, coverage("cov-2", MCR_URL, order=1, subscriberId="1EG4TE5MK73"), urn(23))
    # When it is taken in
    result = run_intake(bundle)
    claim = _claim(result)
    # Then Medicare (order 1) is billed as primary, with a warning that there were two
    assert (claim.payer.key, claim.payer_responsibility, claim.subscriber.member_id) == ("MCR", "P", "1EG4TE5MK73")
    assert [f.x12_location for f in result.claims[0].findings] == ["2000B SBR01"]


def test_encounter_ignores_coverages_not_active_on_the_date_of_service() -> None:
    # Given COMM-A ended before the visit, a cancelled Medicaid coverage, and Medicare starting before it
    bundle = encounter_bundle()
    by_id(bundle, "Coverage", "cov-1")["period"] = {"start": "2025-01-01", "end": "2026-03-01"}
    add(bundle, payer_organization("payer-mcd", "MCDO1"), MCD_ORIG_URL)
    add(bundle, coverage("cov-3", MCD_ORIG_URL, status="cancelled"), urn(24))
    add(bundle, payer_organization("payer-mcr", "05302"), MCR_URL)
    add(bundle, coverage("cov-2", MCR_URL, period={"start": "2026-03-02"}), urn(23))
    # When it is taken in
    result = run_intake(bundle)
    # Then Medicare is the only candidate: billed, no warning about several coverages
    assert _claim(result).payer.key == "MCR"
    assert result.claims[0].findings == ()


# diagnoses -------------------------------------------------------------------------------------------------------
def test_encounter_diagnoses_follow_rank_not_list_order() -> None:
    # Given Encounter.diagnosis listing F41.1 with rank 2 before F32.1 with rank 1
    bundle = encounter_bundle()
    add(bundle, condition("cond-2", "F32.1"), urn(25))
    _encounter(bundle)["diagnosis"] = [
        {"condition": ref(urn(5)), "rank": 2},
        {"condition": ref(urn(25)), "rank": 1},
    ]
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then HI lists them by rank, and the line points at both
    assert claim.diagnoses == ("F321", "F411")
    assert claim.lines[0].diagnosis_pointers == (1, 2)


def test_encounter_without_diagnosis_uses_its_encounter_diagnosis_conditions_with_a_warning() -> None:
    # Given no Encounter.diagnosis, and three Conditions of the encounter: two encounter-diagnosis, one problem-list
    bundle = encounter_bundle()
    del _encounter(bundle)["diagnosis"]
    category = [coding(CONDITION_CATEGORY, "encounter-diagnosis")]
    by_id(bundle, "Condition", "cond-1").update(encounter=ref(ENCOUNTER_URL), category=category)
    add(
        bundle,
        condition(
            "cond-2", "F32.1", encounter=ref(ENCOUNTER_URL), category=[coding(CONDITION_CATEGORY, "problem-list-item")]
        ),
        urn(25),
    )
    add(bundle, condition("cond-3", "Z63.0", encounter=ref(ENCOUNTER_URL), category=category), urn(26))
    # When it is taken in
    result = run_intake(bundle)
    claim = _claim(result)
    # Then the encounter-diagnosis Conditions are used in submission order, with a warning
    assert claim.diagnoses == ("F411", "Z630")
    assert [(f.severity, f.fhir_path) for f in result.claims[0].findings] == [
        (Severity.WARNING, "Bundle.entry[5].resource(Encounter/enc-1).diagnosis")
    ]


def test_encounter_snomed_only_condition_is_rejected_in_code() -> None:
    # Given the ranked Condition coded only in SNOMED CT (as Synthea writes them)
    bundle = encounter_bundle()
    by_id(bundle, "Condition", "cond-1")["code"] = coding(SNOMED, "35489007")
    # When it is taken in
    errors = _rejected(run_intake(bundle))
    # Then IN-CODE names the Condition's code and the ICD-10-CM system
    assert [(f.rule_id, f.fhir_path) for f in errors] == [
        ("IN-CODE", "Bundle.entry[4].resource(Condition/cond-1).code")
    ]
    assert ICD in errors[0].message


def test_encounter_without_any_diagnosis_is_rejected() -> None:
    # Given no Encounter.diagnosis and no encounter-diagnosis Condition
    bundle = encounter_bundle()
    del _encounter(bundle)["diagnosis"]
    # When it is taken in / Then a diagnosis is required
    errors = _rejected(run_intake(bundle))
    assert [(f.rule_id, f.x12_location) for f in errors] == [("IN-REQUIRED", "2300 HI")]


# telehealth, POS and modifiers -----------------------------------------------------------------------------------
def test_encounter_video_visit_from_home_gets_pos_10_and_the_payer_modifier_95() -> None:
    # Given a virtual (VR) audio-video encounter from the patient's home, billed to COMM-A (95, POS 02/10)
    bundle = encounter_bundle()
    _virtual(bundle, "audio-video")
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then POS 10 and modifier 95 are derived, and the facts travel with the line
    (line,) = claim.lines
    assert (claim.place_of_service, line.place_of_service, line.modifiers) == ("10", "10", ("95",))
    assert line.telehealth.model_dump() == {"virtual": True, "modality": "audio-video", "patient_at_home": True}


def test_encounter_video_visit_not_from_home_gets_pos_02() -> None:
    # Given the video visit with the patient elsewhere
    bundle = encounter_bundle()
    _virtual(bundle, "audio-video", home=False)
    # When it is taken in / Then POS 02
    assert _claim(run_intake(bundle)).place_of_service == "02"


def test_encounter_audio_only_visit_gets_93() -> None:
    # Given an audio-only visit from home, COMM-A (audio-only allowed with 93 by default)
    bundle = encounter_bundle()
    _virtual(bundle, "audio-only")
    # When it is taken in / Then 93, not 95
    (line,) = _claim(run_intake(bundle)).lines
    assert (line.modifiers, line.place_of_service) == (("93",), "10")


def test_encounter_virtual_without_modality_warns_and_uses_the_telehealth_modifier() -> None:
    # Given a VR encounter without the modality extension
    bundle = encounter_bundle()
    _virtual(bundle, None)
    # When it is taken in
    result = run_intake(bundle)
    # Then the modality is unknown (warning) and the payer's telehealth modifier applies
    line = _claim(result).lines[0]
    assert (line.telehealth.modality, line.modifiers) == ("unknown", ("95",))
    assert [f.fhir_path for f in result.claims[0].findings] == ["Bundle.entry[5].resource(Encounter/enc-1).extension"]


def test_encounter_licensure_modifier_comes_from_the_payer_profile_map() -> None:
    # Given a video visit billed to MCD-ORIG (licensure map 1041C0700X -> AJ, 95, original POS)
    bundle = encounter_bundle()
    _virtual(bundle, "audio-video")
    _bill_to(bundle, MCD_ORIG_URL, "payer-mcd", "MCDO1")
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then the LCSW's AJ comes first, then 95, and POS stays the original (the tenant default 11)
    (line,) = claim.lines
    assert claim.payer.key == "MCD-ORIG"
    assert (line.modifiers, line.place_of_service) == (("AJ", "95"), "11")


def test_encounter_audio_only_for_a_payer_that_refuses_it_gets_no_audio_modifier() -> None:
    # Given an audio-only visit billed to MCD-ORIG (audio_only.allowed false)
    bundle = encounter_bundle()
    _virtual(bundle, "audio-only")
    _bill_to(bundle, MCD_ORIG_URL, "payer-mcd", "MCDO1")
    # When it is taken in / Then only the licensure modifier is derived (the scrubber judges the rest)
    assert _claim(run_intake(bundle)).lines[0].modifiers == ("AJ",)


def test_encounter_in_office_takes_the_pos_of_its_location() -> None:
    # Given an in-person encounter at a Location typed POS 53 (community mental health center)
    bundle = encounter_bundle()
    pos = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
    add(bundle, {"resourceType": "Location", "id": "loc-1", "type": [coding(pos, "53")]}, urn(27))
    _encounter(bundle)["location"] = [{"location": ref(urn(27))}]
    # When it is taken in / Then POS 53
    assert _claim(run_intake(bundle)).place_of_service == "53"


def test_encounter_location_that_does_not_resolve_is_a_warning() -> None:
    # Given an encounter naming a Location that is not in the submission
    bundle = encounter_bundle()
    _encounter(bundle)["location"] = [{"location": {"reference": "Location/nowhere"}}]
    # When it is taken in
    result = run_intake(bundle)
    # Then the claim is built at the default POS, with an IN-REF warning at the location reference
    assert _claim(result).place_of_service == "11"
    assert [(f.rule_id, f.severity, f.fhir_path) for f in result.claims[0].findings] == [
        ("IN-REF", Severity.WARNING, "Bundle.entry[5].resource(Encounter/enc-1).location[0].location")
    ]


def test_encounter_location_that_is_not_valid_r4_rejects_the_claim_without_crashing_intake() -> None:
    # Given an encounter whose Location is not valid R4 (type must be a list), next to a clean Claim submission
    bundle = encounter_bundle()
    add(bundle, {"resourceType": "Location", "id": "loc-bad", "type": {"text": "office"}}, urn(27))
    _encounter(bundle)["location"] = [{"location": ref(urn(27))}]
    # When it is taken in
    result = run_intake(bundle)
    # Then only this claim is rejected, IN-FORMAT at the Location
    errors = _rejected(result)
    assert [(f.rule_id, f.fhir_path) for f in errors] == [
        ("IN-FORMAT", "Bundle.entry[8].resource(Location/loc-bad).type")
    ]


# clinicians ------------------------------------------------------------------------------------------------------
def test_encounter_rendering_comes_from_the_pprf_participant() -> None:
    # Given a Procedure without performer; the encounter's PPRF participant is RIVERA
    bundle = encounter_bundle()
    del _procedure(bundle)["performer"]
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then RIVERA renders the claim and no line overrides it
    assert claim.rendering is not None and claim.rendering.npi == RIVERA_NPI
    assert claim.lines[0].rendering_override is None


def test_encounter_referring_comes_from_the_ref_participant() -> None:
    # Given CHEN as the encounter's REF participant
    bundle = encounter_bundle()
    _add_chen(bundle)
    _encounter(bundle)["participant"].append(participant("REF", CHEN_URL))
    # When it is taken in / Then CHEN is the referring provider
    claim = _claim(run_intake(bundle))
    assert claim.referring is not None and claim.referring.npi == CHEN_NPI
    assert claim.rendering is not None and claim.rendering.npi == RIVERA_NPI


def test_encounter_procedure_performed_by_another_clinician_gets_2420a() -> None:
    # Given RIVERA as PPRF but CHEN performing the Procedure
    bundle = encounter_bundle()
    _add_chen(bundle)
    _procedure(bundle)["performer"] = [{"actor": ref(CHEN_URL)}]
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then the claim is rendered by RIVERA and the line by CHEN (2420A)
    assert claim.rendering is not None and claim.rendering.npi == RIVERA_NPI
    override = claim.lines[0].rendering_override
    assert override is not None and (override.npi, override.taxonomy) == (CHEN_NPI, "363LP0808X")


def test_encounter_without_pprf_is_rendered_by_the_procedure_performer() -> None:
    # Given no participant at all and CHEN performing the Procedure
    bundle = encounter_bundle()
    _add_chen(bundle)
    del _encounter(bundle)["participant"]
    _procedure(bundle)["performer"] = [{"actor": ref(CHEN_URL)}]
    # When it is taken in
    claim = _claim(run_intake(bundle))
    # Then CHEN renders the claim, without a redundant 2420A
    assert claim.rendering is not None and claim.rendering.npi == CHEN_NPI
    assert claim.lines[0].rendering_override is None


def test_encounter_without_any_clinician_is_held_for_rendering() -> None:
    # Given neither a participant nor a performer, while the tenant bills as an organization
    bundle = encounter_bundle()
    del _encounter(bundle)["participant"]
    del _procedure(bundle)["performer"]
    # When it is taken in
    result = run_intake(bundle)
    # Then the claim is built but held: 2310B needs a rendering clinician
    assert _claim(result).rendering is None
    assert result.claims[0].held
    assert [(f.rule_id, f.x12_location) for f in result.claims[0].findings] == [("IN-REQUIRED", "2310B")]


def test_encounter_participant_with_a_failing_npi_is_rejected() -> None:
    # Given the PPRF Practitioner carries a Synthea-style NPI that fails the check digit
    bundle = encounter_bundle()
    resource(bundle, "Practitioner")["identifier"][0]["value"] = "9999974493"
    # When it is taken in / Then BH-NPI-01
    assert "BH-NPI-01" in [f.rule_id for f in _rejected(run_intake(bundle))]


# versions --------------------------------------------------------------------------------------------------------
def test_encounter_version_is_a_content_hash_even_with_meta_version_id() -> None:
    # Given the Encounter carries meta.versionId
    bundle = encounter_bundle()
    _encounter(bundle)["meta"] = {"versionId": "7", "lastUpdated": "2026-03-02T16:00:00Z"}
    # When it is taken in twice, the second time with only lastUpdated changed
    first = _claim(run_intake(bundle)).source.version
    _encounter(bundle)["meta"]["lastUpdated"] = "2026-03-03T09:00:00Z"
    second = _claim(run_intake(bundle)).source.version
    # Then the version is a sha256 hash (the lines live in other resources) that a server touch does not change
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    assert second == first


@pytest.mark.parametrize(
    "change",
    [
        lambda b: _procedure(b)["performedPeriod"].update(end="2026-03-02T15:54:00-06:00"),
        lambda b: by_id(b, "ChargeItem", "chg-1")["priceOverride"].update(value=Decimal("181.00")),
        lambda b: by_id(b, "Condition", "cond-1")["code"]["coding"][0].update(code="F41.9"),
        lambda b: by_id(b, "Coverage", "cov-1").update(subscriberId="W999"),
        lambda b: add(b, procedure("proc-2", code=coding(CPT, "96127")), urn(9)),
    ],
    ids=["procedure", "charge-item", "condition", "coverage", "added-procedure"],
)
def test_encounter_version_changes_when_a_linked_resource_changes(change: object) -> None:
    # Given the encounter bundle taken in once
    bundle = encounter_bundle()
    before = _claim(run_intake(bundle)).source.version
    # When a resource the claim read (not the Encounter itself) changes
    assert callable(change)
    change(bundle)
    after = _claim(run_intake(bundle)).source.version
    # Then the version changes
    assert after != before


def test_encounter_findings_carry_no_phi() -> None:
    # Given an encounter that fails in several ways at once (no coverage, SNOMED condition)
    bundle = encounter_bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Coverage"]
    by_id(bundle, "Condition", "cond-1")["code"] = coding(SNOMED, "35489007")
    # When it is taken in
    result = run_intake(bundle)
    # Then no finding quotes the fake patient's data
    text = findings_text(result)
    assert text and not any(value in text for value in PHI_VALUES)


# X12 and NDJSON --------------------------------------------------------------------------------------------------
def test_encounter_anchored_claim_writes_a_clean_837p() -> None:
    # Given an Encounter-anchored telehealth claim with a 2420A line and a referring provider
    bundle = encounter_bundle()
    _virtual(bundle, "audio-video")
    _add_chen(bundle)
    _encounter(bundle)["participant"].append(participant("REF", CHEN_URL))
    add(bundle, procedure("proc-2", code=coding(SNOMED, "715252007"), performer_url=CHEN_URL), urn(9))
    claim = _claim(run_intake(bundle))
    # When it is written as an 837P
    text = writer.write_837p([claim], tenant=demo_tenant(), control=CONTROL, created=CREATED)
    # Then pyx12 finds nothing wrong, and the lines carry the derived codes and modifiers
    assert validate_837p(text) == []
    assert "SV1*HC:90837:95*180*UN*1***1~" in text
    assert "SV1*HC:96127:95*15*UN*1***1~" in text
    assert f"NM1*DN*1*CHEN*MORGAN****XX*{CHEN_NPI}~" in text


def test_intake_bundle_maps_an_encounter_sent_as_ndjson() -> None:
    # Given the encounter submission as one NDJSON file (references as Type/id), plus a broken line
    raw = to_ndjson(relative_resources(encounter_bundle())) + b"{oops\n"
    # When it is taken in through intake_bundle by its file name
    result = intake_bundle(raw, file_name="x.ndjson", tenant=demo_tenant())
    # Then the encounter becomes the same claim as from the Bundle, paths name file:line, the bad line is IN-FORMAT
    claim = _claim(result)
    assert claim.source.fhir_path == "x.ndjson:6(Encounter/enc-1)"
    assert (claim.lines[0].procedure_code, claim.lines[0].charge) == ("90837", Decimal("180.00"))
    assert [(f.rule_id, f.fhir_path) for f in result.line_errors] == [("IN-FORMAT", "x.ndjson:9")]
    assert claim.source.version.startswith("sha256:")
    assert claim.claim_id == _claim(run_intake(encounter_bundle())).claim_id  # same source key, same claim id


def test_intake_bundle_reads_gzip_ndjson_of_an_encounter() -> None:
    # Given the same NDJSON gzip-compressed
    raw = gzip.compress(to_ndjson(relative_resources(encounter_bundle())))
    # When it is taken in / Then one claim
    assert _claim(intake_bundle(raw, file_name="x.ndjson.gz", tenant=demo_tenant())).source.key == "Encounter/enc-1"


def test_encounter_coverage_of_an_unconfigured_payer_is_rejected_in_payer() -> None:
    # Given the patient's Coverage names a payer Organization the tenant does not configure
    bundle = encounter_bundle()
    by_id(bundle, "Organization", "payer-a")["identifier"] = [{"system": "urn:claimbridge:payer-id", "value": "NOPE1"}]
    # When it is taken in / Then IN-PAYER
    assert "IN-PAYER" in [f.rule_id for f in _rejected(run_intake(bundle))]


# intake: anchors and fan-out chunks ------------------------------------------------------------------------------
def test_anchor_rows_lists_claims_and_encounter_anchors_and_counts_the_rest() -> None:
    # Given the contract example (Claim billing enc-1) plus an Encounter anchor and an unfinished encounter
    bundle = example()
    add(bundle, encounter("enc-7") | {"subject": ref(EXAMPLE_PATIENT_URL)}, urn(50))
    add(bundle, procedure("proc-7", encounter_url=urn(50), performer_url=None), urn(51))
    add(bundle, encounter("enc-8", status="planned"), urn(52))
    with read_submission(to_bytes(bundle), file_name="b.json") as index:
        # When the anchors are listed
        rows, skipped = anchor_rows(index, demo_tenant())
        # Then the Claim and enc-7 are anchors in submission order, enc-8 is skipped, enc-1 belongs to the Claim
        assert [index.label(row) for row in rows] == ["Claim/clm-1", "Encounter/enc-7"]
        assert skipped == 1


def test_intake_submission_maps_only_the_rows_of_a_fan_out_chunk() -> None:
    # Given two encounter anchors in one submission
    bundle = encounter_bundle()
    add(bundle, by_id(encounter_bundle(), "Encounter", "enc-1") | {"id": "enc-2"}, urn(40))
    add(bundle, procedure("proc-9", code=coding(CPT, "90832"), encounter_url=urn(40)), urn(41))
    with read_submission(to_bytes(bundle), file_name="b.json") as index:
        rows, _ = anchor_rows(index, demo_tenant())
        # When only the second anchor's row is mapped (one chunk of a fan-out)
        result = intake_submission(index, tenant=demo_tenant(), rows=rows[1:])
    # Then only that claim is built, and the chunk does not count skips
    assert [c.claim.source.key for c in result.claims] == ["Encounter/enc-2"]
    assert result.skipped == 0


@pytest.mark.parametrize(
    ("with_procedure", "element"),
    [(True, "Procedure/proc-1).performedDateTime"), (False, "ChargeItem/chg-1).occurrenceDateTime")],
    ids=["procedure", "charge-item"],
)
def test_encounter_line_without_any_date_names_the_sources_date_element(with_procedure: bool, element: str) -> None:
    # Given a line source without its own date, in an encounter without period.start
    bundle = encounter_bundle(with_procedure=with_procedure)
    if with_procedure:
        del _procedure(bundle)["performedPeriod"]
    _encounter(bundle)["period"] = {"end": "2026-03-02T15:55:00-06:00"}
    # When it is taken in
    errors = _rejected(run_intake(bundle))
    # Then IN-REQUIRED names the date element of that resource (performed[x] / occurrence[x])
    assert [(f.rule_id, f.x12_location) for f in errors] == [("IN-REQUIRED", "DTP*472")]
    assert errors[0].fhir_path.endswith(element)


def test_encounter_diagnosis_naming_a_procedure_is_skipped_with_a_warning() -> None:
    # Given an Encounter whose first diagnosis entry names its Procedure (R4 allows Condition | Procedure)
    bundle = encounter_bundle()
    encounter = _encounter(bundle)
    encounter["diagnosis"] = [{"condition": {"reference": "Procedure/proc-1"}, "rank": 1}, *encounter["diagnosis"]]
    encounter["diagnosis"][1]["rank"] = 2
    # When it is taken in
    result = run_intake(bundle)
    # Then the claim is built from the Condition, and the Procedure entry is a warning naming its path
    claim = _claim(result)
    assert claim.diagnoses == ("F411",)
    (warning,) = [f for f in result.claims[0].findings if f.fhir_path.endswith("diagnosis[0].condition")]
    assert (warning.rule_id, warning.severity) == ("IN-REF", "warning")
