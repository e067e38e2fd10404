"""A finished Encounter that no Claim bills becomes a claim (contract section 2, "Encounter-only lines").

Lines come from the encounter's completed Procedures (CPT/HCPCS, or SNOMED CT through the tenant crosswalk) and its
billable ChargeItems; only when neither exists, from an ``Encounter.type`` crosswalk row. Diagnoses come from
``Encounter.diagnosis`` by rank, else the encounter's ``encounter-diagnosis`` Conditions. The payer is the patient's
Coverage active on the date of service with the lowest ``order``; billing is the tenant's. Without a Claim, POS and
telehealth/licensure modifiers are derived from the documented facts and the payer profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError

from claimbridge.claim import (
    ClaimFrequency,
    Clinician,
    EntityType,
    PayerResponsibility,
    ProfessionalClaim,
    ServiceLine,
    SourceRef,
    TelehealthFacts,
)
from claimbridge.fhir import JsonObject, Located, Resolver
from claimbridge.findings import Finding
from claimbridge.mapping.claim_mapper import (
    Attempt,
    MappingResult,
    _pay_to,
    _payer,
    _subscriber,
    _tenant_billing,
    is_billable_claim,
    run_mapping,
)
from claimbridge.mapping.codes import (
    CLAIM_TYPE_SYSTEM,
    ICD10CM_SYSTEM,
    PROCEDURE_SYSTEMS,
    SNOMED_SYSTEM,
    TIME_BASED_CODES,
    UCUM_SYSTEM,
    is_evaluation_and_management,
)
from claimbridge.mapping.ids import patient_key_for, patient_reference
from claimbridge.mapping.lines import (
    crosswalk_row,
    crosswalk_rows,
    encounter_locations,
    location_pos,
    telehealth_facts,
)
from claimbridge.mapping.parties import clinician
from claimbridge.mapping.scope import ClaimScope, ValidationCache, invalid_value_findings, problem
from claimbridge.mapping.values import first_code, full_date, has_code, items, number, obj, whole_minutes
from claimbridge.tenants import TenantConfig
from claimbridge.tenants.models import CrosswalkRow, PayerProfile

PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
MAX_LINES = 50
_DIAGNOSIS_TYPES = ("Condition", "Procedure")  # R4 Encounter.diagnosis.condition
MAX_DIAGNOSES = 12
VOID_CHARGE_STATUSES = frozenset({"entered-in-error", "aborted"})  # never a price (a corrected ChargeItem may follow)
_CENT = Decimal("0.01")
_DATE_ELEMENTS = {"Procedure": "performedDateTime", "ChargeItem": "occurrenceDateTime"}  # else Encounter.period


@dataclass
class _Line:
    """One Encounter-only line while the rest of the encounter is read."""

    source: Located
    element: str  # the coding element of the source, for findings
    code: str | None
    crosswalk: list[CrosswalkRow] = field(default_factory=list)
    units: Decimal = Decimal(1)
    service_date: date | None = None
    charge: Decimal | None = None
    minutes: int | None = None
    performer: object = None

    @property
    def time_based(self) -> bool:
        if self.code is not None:
            return self.code in TIME_BASED_CODES
        return any(row.min_minutes is not None or row.max_minutes is not None for row in self.crosswalk)


def billed_by_claim(anchor: Located, resolver: Resolver) -> bool:
    """True when a professional Claim of the submission names this Encounter: the Claim decides what is billed.

    Any status but ``draft`` counts: an active Claim bills the encounter, a cancelled or entered-in-error one
    withdraws or voids it (contract sections 2 and 7); billing the encounter on its own would undo that.
    """
    return any(_decides_billing(claim.resource) for claim in resolver.referrers(anchor, "Claim.item.encounter"))


def _decides_billing(resource: JsonObject) -> bool:
    return is_billable_claim(resource) or (
        resource.get("use") == "claim"
        and has_code(resource.get("type"), CLAIM_TYPE_SYSTEM, "professional")
        and resource.get("status") in ("cancelled", "entered-in-error")
    )


def is_encounter_anchor(anchor: Located, resolver: Resolver, tenant: TenantConfig) -> bool:
    """Finished, not billed by a professional Claim of the submission, and with at least one line source."""
    if anchor.resource_type != "Encounter" or anchor.resource.get("status") != "finished":
        return False
    if billed_by_claim(anchor, resolver):
        return False
    procedures = _procedures(anchor, resolver)
    if any(_may_bill(procedure, tenant) for procedure in procedures) or _charge_items(anchor, resolver):
        return True
    if procedures:
        return False  # only procedures the crosswalk marks not billable (cpt null): nothing to bill
    row = _encounter_type_row(anchor, tenant)
    return row is not None and row.cpt is not None


def _may_bill(procedure: Located, tenant: TenantConfig) -> bool:
    """A line source unless every crosswalk row of its SNOMED CT code says ``cpt: null`` (not billable).

    A code without any row still counts: the claim is then held with IN-XWALK so the practice decides.
    """
    concept = procedure.resource.get("code")
    if first_code(concept, PROCEDURE_SYSTEMS) is not None:
        return True
    snomed = first_code(concept, [SNOMED_SYSTEM])
    if snomed is None:
        return True
    rows = [r for r in tenant.crosswalks.snomed_to_cpt if r.snomed == snomed and r.applies_to == "procedure"]
    return not rows or any(row.cpt is not None for row in rows)


def _procedures(anchor: Located, resolver: Resolver) -> list[Located]:
    return [p for p in resolver.referrers(anchor, "Procedure.encounter") if p.resource.get("status") == "completed"]


def _charge_items(anchor: Located, resolver: Resolver) -> list[Located]:
    return [c for c in resolver.referrers(anchor, "ChargeItem.context") if c.resource.get("status") == "billable"]


def _encounter_type_row(anchor: Located, tenant: TenantConfig) -> CrosswalkRow | None:
    for concept in items(anchor.resource.get("type")):
        snomed = first_code(concept, [SNOMED_SYSTEM])
        if snomed is None:
            continue
        for row in tenant.crosswalks.snomed_to_cpt:
            if row.snomed == snomed and row.applies_to == "encounter_type":
                return row
    return None


def map_encounter(
    anchor: Located, *, resolver: Resolver, tenant: TenantConfig, validation: ValidationCache
) -> MappingResult:
    """Map one Encounter anchor; never raises for bad input. Its version is always the content hash (section 8)."""
    return run_mapping(anchor, resolver=resolver, tenant=tenant, validation=validation, build=_build, content_hash=True)


def _build(
    scope: ClaimScope,
    claim_id: str,
    source_key: str,
    errors: list[Finding],
    attempt: Attempt,
) -> ProfessionalClaim | None:
    anchor = scope.anchor
    patient = attempt(
        lambda: scope.resolve(anchor.resource.get("subject"), source=anchor, element="subject", types=("Patient",))
    )
    drafts = attempt(lambda: _drafts(scope))
    start = full_date((obj(anchor.resource.get("period")) or {}).get("start"))
    first_date = next((d.service_date for d in drafts or [] if d.service_date), start)
    coverage = attempt(lambda: _coverage(scope, patient, first_date)) if patient is not None else None
    diagnoses = attempt(lambda: _diagnoses(scope))
    rendering = attempt(lambda: _participant(scope, "PPRF"))
    referring = attempt(lambda: _participant(scope, "REF"))
    # an invalid Location is IN-FORMAT like any resource the claim reads: a finding, not an exception
    locations: list[Located] = attempt(lambda: encounter_locations(scope, anchor)) or []
    facts = telehealth_facts(scope, anchor, locations)
    profile = _profile(scope, coverage)
    lines = None
    if drafts is not None and diagnoses is not None:
        lines = attempt(
            lambda: _lines(
                scope,
                claim_id=claim_id,
                drafts=drafts,
                diagnosis_count=len(diagnoses),
                rendering=rendering,
                facts=facts,
                locations=locations,
                profile=profile,
            )
        )
    if errors or coverage is None or diagnoses is None or lines is None:
        return None
    if rendering is None:
        rendering = next((line.rendering_override for line in lines if line.rendering_override), None)
        lines = tuple(
            line.model_copy(update={"rendering_override": None})
            if rendering is not None and line.rendering_override and line.rendering_override.npi == rendering.npi
            else line
            for line in lines
        )
    billing = _tenant_billing(scope)
    if rendering is None and billing.entity == EntityType.ORGANIZATION:
        scope.hold(
            "IN-REQUIRED",
            anchor.at("participant"),
            "no rendering clinician (Procedure.performer or participant typed PPRF) while an organization bills",
            x12_location="2310B",
            fix="add the clinician as Encounter.participant with type PPRF",
        )
    payer, subscriber, patient_model = coverage
    try:
        return ProfessionalClaim(
            claim_id=claim_id,
            tenant_id=scope.tenant.tenant_id,
            source=SourceRef(
                resource_type="Encounter",
                resource_id=source_key.split("/", 1)[1],
                version="pending",
                fhir_path=anchor.path,
                patient_reference=patient_reference(patient),
            ),
            patient_key=patient_key_for(scope.tenant.tenant_id, patient.resource) if patient is not None else None,
            payer=payer,
            payer_responsibility=PayerResponsibility.PRIMARY,
            billing_provider=billing,
            pay_to_address=_pay_to(scope),
            subscriber=subscriber,
            patient=patient_model,
            place_of_service=lines[0].place_of_service or scope.tenant.defaults.place_of_service,
            frequency=ClaimFrequency.ORIGINAL,
            diagnoses=diagnoses,
            rendering=rendering,
            referring=referring,
            lines=lines,
        )
    except ValidationError as exc:
        errors.extend(invalid_value_findings(exc, anchor.path))
        return None


def _profile(scope: ClaimScope, coverage: tuple[Any, ...] | None) -> PayerProfile:
    if coverage is not None:
        configured = next((p for p in scope.tenant.payers if p.key == coverage[0].key), None)
        if configured is not None:
            return configured.profile
    return PayerProfile()


# coverage ---------------------------------------------------------------------------------------------------------
def _coverage(scope: ClaimScope, patient: Located, service_date: date | None) -> tuple[Any, Any, Any]:
    """The patient's Coverage active on the date of service with the lowest ``order`` (contract section 2)."""
    anchor = scope.anchor
    candidates: list[tuple[int, int, Located]] = []
    for coverage in scope.resolver.referrers(patient, "Coverage.beneficiary"):
        if coverage.resource.get("status") not in (None, "active"):
            continue
        period = obj(coverage.resource.get("period")) or {}
        begins, ends = full_date(period.get("start")), full_date(period.get("end"))
        if service_date is not None and (
            (begins is not None and service_date < begins) or (ends is not None and service_date > ends)
        ):
            continue
        order = coverage.resource.get("order")
        candidates.append((order if isinstance(order, int) else 1_000_000, coverage.entry_index, coverage))
    if not candidates:
        raise problem(
            "IN-REQUIRED",
            anchor.at("subject"),
            "no active Coverage of the patient on the date of service",
            x12_location="2000B SBR",
            fix="send the patient's Coverage (beneficiary = the patient) in the same submission",
        )
    candidates.sort(key=lambda found: (found[0], found[1]))
    coverage = scope.touch(candidates[0][2])
    if len(candidates) > 1:
        scope.warn(
            "IN-REQUIRED",
            anchor.at("subject"),
            f"{len(candidates)} active Coverages; the one with the lowest order is billed as primary",
            x12_location="2000B SBR01",
        )
    payer = _payer(scope, coverage)
    subscriber, patient_model = _subscriber(scope, coverage, patient)
    return payer, subscriber, patient_model


# diagnoses --------------------------------------------------------------------------------------------------------
def _diagnoses(scope: ClaimScope) -> tuple[str, ...]:
    """``Encounter.diagnosis`` by rank, else the encounter's ``encounter-diagnosis`` Conditions (with a warning)."""
    anchor = scope.anchor
    entries = [(i, e) for i, e in enumerate(items(anchor.resource.get("diagnosis"))) if isinstance(e, dict)]
    conditions: list[tuple[Located, str]] = []
    if entries:
        entries.sort(key=lambda pair: (pair[1].get("rank") if isinstance(pair[1].get("rank"), int) else 1_000, pair[0]))
        for index, entry in entries:
            element = f"diagnosis[{index}].condition"
            condition = scope.resolve(entry.get("condition"), source=anchor, element=element, types=_DIAGNOSIS_TYPES)
            if condition.resource_type != "Condition":
                scope.warn(
                    "IN-REF", anchor.at(element), "diagnosis names a Procedure (R4 allows it); not an ICD-10 code"
                )
                continue
            conditions.append((condition, condition.at("code")))
    else:
        for condition in scope.resolver.referrers(anchor, "Condition.encounter"):
            if any(
                has_code(concept, CONDITION_CATEGORY_SYSTEM, "encounter-diagnosis")
                for concept in items(condition.resource.get("category"))
            ):
                conditions.append((scope.touch(condition), condition.at("code")))
        if conditions:
            scope.warn(
                "IN-REQUIRED",
                anchor.at("diagnosis"),
                "no Encounter.diagnosis; the encounter's encounter-diagnosis Conditions are used in submission order",
                x12_location="2300 HI",
            )
    if not conditions:
        raise problem(
            "IN-REQUIRED",
            anchor.at("diagnosis"),
            "at least one diagnosis is required (Encounter.diagnosis or an encounter-diagnosis Condition)",
            x12_location="2300 HI",
        )
    codes: list[str] = []
    for condition, path in conditions:
        raw = first_code(condition.resource.get("code"), [ICD10CM_SYSTEM])
        if raw is None:
            raise problem("IN-CODE", path, f"no ICD-10-CM coding ({ICD10CM_SYSTEM})", x12_location="2300 HI")
        code = raw.replace(".", "").strip().upper()
        if not (3 <= len(code) <= 7 and code[0].isalpha() and code.isascii() and code.isalnum()):
            raise problem(
                "BH-DX-01",
                path,
                "ICD-10-CM code is malformed (3-7 letters or digits, a letter first)",
                x12_location="2300 HI",
                fix="send the ICD-10-CM code as published, e.g. F41.1",
            )
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_DIAGNOSES:
        scope.warn("IN-REQUIRED", anchor.at("diagnosis"), "more than 12 diagnoses; the first 12 are sent")
    return tuple(codes[:MAX_DIAGNOSES])


# clinicians -------------------------------------------------------------------------------------------------------
def _participant(scope: ClaimScope, participation: str) -> Clinician | None:
    """The first ``Encounter.participant`` typed ``participation`` (v3 ParticipationType) as a clinician.

    For the performer (PPRF) only: an encounter whose single participant carries no type at all (R4 allows it;
    Synthea writes it so) names its performer, taken with a warning.
    """
    anchor = scope.anchor
    entries = [(i, e) for i, e in enumerate(items(anchor.resource.get("participant"))) if isinstance(e, dict)]
    for index, entry in entries:
        if any(has_code(concept, PARTICIPATION_TYPE_SYSTEM, participation) for concept in items(entry.get("type"))):
            return clinician(scope, entry.get("individual"), source=anchor, element=f"participant[{index}].individual")
    if participation == "PPRF" and len(entries) == 1 and not entries[0][1].get("type"):
        index, entry = entries[0]
        element = f"participant[{index}].individual"
        scope.warn(
            "IN-REQUIRED",
            anchor.at(f"participant[{index}].type"),
            "the only participant has no type; taken as the rendering clinician (PPRF)",
            x12_location="2310B",
        )
        return clinician(scope, entry.get("individual"), source=anchor, element=element)
    return None


# lines ------------------------------------------------------------------------------------------------------------
def _drafts(scope: ClaimScope) -> list[_Line]:
    anchor = scope.anchor
    encounter_start = full_date((obj(anchor.resource.get("period")) or {}).get("start"))
    drafts: list[_Line] = []
    tied: set[tuple[int, str]] = set()
    for procedure in _procedures(anchor, scope.resolver):
        scope.touch(procedure)
        draft = _coded(scope, procedure, "code", procedure.resource.get("code"))
        performed = obj(procedure.resource.get("performedPeriod")) or {}
        draft.service_date = (
            full_date(procedure.resource.get("performedDateTime"))
            or full_date(performed.get("start"))
            or encounter_start
        )
        draft.minutes = whole_minutes(performed.get("start"), performed.get("end"))
        performers = [p for p in items(procedure.resource.get("performer")) if isinstance(p, dict)]
        draft.performer = performers[0].get("actor") if performers else None
        linked = scope.resolver.referrers(procedure, "ChargeItem.service")
        tied.update(charge.key for charge in linked)  # every one prices this line, none is a line of its own
        usable = [c for c in linked if c.resource.get("status") not in VOID_CHARGE_STATUSES]
        charge = next((c for c in usable if c.resource.get("status") == "billable"), usable[0] if usable else None)
        if charge is not None:
            scope.touch(charge)
            draft.charge = _price(charge)
            quantity = number((obj(charge.resource.get("quantity")) or {}).get("value"))
            if quantity is not None and quantity > 0:
                draft.units = quantity
        drafts.append(draft)
    for charge in _charge_items(anchor, scope.resolver):
        if charge.key in tied:
            continue
        scope.touch(charge)
        draft = _coded(scope, charge, "code", charge.resource.get("code"), snomed_allowed=False)
        quantity = number((obj(charge.resource.get("quantity")) or {}).get("value"))
        if quantity is not None and quantity > 0:
            draft.units = quantity
        period = obj(charge.resource.get("occurrencePeriod")) or {}
        draft.service_date = (
            full_date(charge.resource.get("occurrenceDateTime")) or full_date(period.get("start")) or encounter_start
        )
        draft.charge = _price(charge)
        drafts.append(draft)
    if not drafts:
        row = _encounter_type_row(anchor, scope.tenant)
        if row is None:
            raise problem(
                "IN-REQUIRED", anchor.at("type"), "the encounter has no billable line source", x12_location="2400"
            )
        drafts.append(_Line(source=anchor, element="type", code=None, crosswalk=[row], service_date=encounter_start))
    if len(drafts) > MAX_LINES:
        raise problem("IN-REQUIRED", anchor.path, "more than 50 lines (837P allows 50 lines per claim)")
    _encounter_minutes(scope, drafts)
    return drafts


def _coded(scope: ClaimScope, source: Located, element: str, concept: object, *, snomed_allowed: bool = True) -> _Line:
    code = first_code(concept, PROCEDURE_SYSTEMS)
    if code is not None:
        code = code.upper()
        if len(code) != 5 or not code.isalnum():
            raise problem(
                "IN-CODE", source.at(element), "CPT/HCPCS code must have 5 characters", x12_location="SV101-2"
            )
        return _Line(source=source, element=element, code=code)
    snomed = first_code(concept, [SNOMED_SYSTEM]) if snomed_allowed else None
    if snomed is None:
        raise problem(
            "IN-CODE",
            source.at(element),
            "no CPT/HCPCS coding" + (" and no SNOMED CT coding" if snomed_allowed else ""),
            x12_location="SV101-2",
        )
    rows = crosswalk_rows(scope, snomed, "procedure")
    if not rows:
        raise problem(
            "IN-XWALK",
            source.at(element),
            f"SNOMED CT code ({SNOMED_SYSTEM}) has no row in the tenant crosswalk",
            x12_location="SV101-2",
            fix=f"add a crosswalks.snomed_to_cpt row for SNOMED CT {snomed}, or send a CPT/HCPCS coding",
        )
    return _Line(source=source, element=element, code=None, crosswalk=rows)


def _price(charge: Located) -> Decimal | None:
    """R4 ``ChargeItem.priceOverride``: the total price of the charge."""
    return number((obj(charge.resource.get("priceOverride")) or {}).get("value"))


def _encounter_minutes(scope: ClaimScope, drafts: list[_Line]) -> None:
    """Minutes (3) ``Encounter.length``, (4) ``Encounter.period``: only for a single time-based line without E/M."""
    timed = [d for d in drafts if d.time_based]
    if len(timed) != 1 or any(d.code and is_evaluation_and_management(d.code) for d in drafts):
        return
    draft = timed[0]
    if draft.minutes is not None:
        return
    encounter = scope.anchor.resource
    length = obj(encounter.get("length"))
    if length is not None and length.get("system") == UCUM_SYSTEM:
        value = number(length.get("value"))
        factor = {"min": 1, "h": 60}.get(str(length.get("code")))
        if value is not None and factor is not None and value >= 0:
            draft.minutes = int(value * factor)
            return
    period = obj(encounter.get("period")) or {}
    draft.minutes = whole_minutes(period.get("start"), period.get("end"))


def _lines(
    scope: ClaimScope,
    *,
    claim_id: str,
    drafts: list[_Line],
    diagnosis_count: int,
    rendering: Clinician | None,
    facts: TelehealthFacts,
    locations: list[Located],
    profile: PayerProfile,
) -> tuple[ServiceLine, ...]:
    pos = _derived_pos(scope, facts, locations, profile)
    pointers = tuple(range(1, min(diagnosis_count, 4) + 1))
    lines: list[ServiceLine] = []
    for draft in drafts:
        where = draft.source.at(draft.element)
        code, units = draft.code, draft.units
        if code is None:
            row = crosswalk_row(draft.crosswalk, draft.minutes, where)
            if row.cpt is None:
                scope.warn("IN-XWALK", where, "crosswalk marks this code not billable; line skipped")
                continue
            code, units = row.cpt, Decimal(row.units)
        if draft.service_date is None:
            raise problem(
                "IN-REQUIRED",
                draft.source.at(_DATE_ELEMENTS.get(draft.source.resource_type, "period")),
                "a full date of service is required",
                x12_location="DTP*472",
            )
        performer = None
        if draft.performer is not None:
            performer = clinician(scope, draft.performer, source=draft.source, element="performer[0].actor")
        sequence = len(lines) + 1
        lines.append(
            ServiceLine(
                sequence=sequence,
                procedure_code=code,
                modifiers=_derived_modifiers(scope, facts, profile, performer or rendering),
                charge=_line_charge(scope, draft, code, units),
                units=units,
                place_of_service=pos,
                diagnosis_pointers=pointers,
                service_date=draft.service_date,
                line_control_number=f"{claim_id}-{sequence}",
                rendering_override=performer
                if performer and (rendering is None or performer.npi != rendering.npi)
                else None,
                documented_minutes=draft.minutes,
                telehealth=facts,
                fhir_path=draft.source.path,
            )
        )
    if not lines:
        raise problem("IN-REQUIRED", scope.anchor.path, "no billable line (every code is marked not billable)")
    return tuple(lines)


def _override(performer: Clinician | None, rendering: Clinician | None) -> Clinician | None:
    """2420A only for a line performed by someone other than the claim's rendering clinician."""
    if performer is None or (rendering is not None and performer.npi == rendering.npi):
        return None
    return performer


def _line_charge(scope: ClaimScope, draft: _Line, code: str, units: Decimal) -> Decimal:
    """The ChargeItem's price, else the tenant fee schedule x units, else 0.00 and the claim is held."""
    if draft.charge is not None and draft.charge >= 0:
        return draft.charge.quantize(_CENT, rounding=ROUND_HALF_UP)
    fee = scope.tenant.defaults.fee_schedule.get(code)
    if fee is not None:
        return (fee * units).quantize(_CENT, rounding=ROUND_HALF_UP)
    scope.hold(
        "IN-REQUIRED",
        draft.source.at(draft.element),
        "no charge: no ChargeItem for this service and no tenant fee_schedule entry for the billed code",
        x12_location="SV102",
        fix="send a ChargeItem with priceOverride, or add the code to defaults.fee_schedule",
    )
    return Decimal("0.00")


def _derived_pos(scope: ClaimScope, facts: TelehealthFacts, locations: list[Located], profile: PayerProfile) -> str:
    """POS from documented facts: telehealth per ``telehealth.pos_style``, else the location's, else the default."""
    documented = next((code for code in (location_pos(loc) for loc in locations) if code), None)
    if facts.virtual and profile.telehealth.pos_style == "02_10":
        return "10" if facts.patient_at_home else "02"
    return documented or scope.tenant.defaults.place_of_service


def _derived_modifiers(
    scope: ClaimScope, facts: TelehealthFacts, profile: PayerProfile, rendering: Clinician | None
) -> tuple[str, ...]:
    """Licensure modifier (profile map by taxonomy, else the roster's) and the telehealth modifier the profile asks."""
    found: list[str] = []
    if profile.licensure_modifiers and rendering is not None:
        roster = scope.tenant.roster_provider(rendering.npi)
        expected = profile.licensure_modifiers.get(rendering.taxonomy or "") or (
            roster.licensure_modifier if roster is not None else None
        )
        if expected:
            found.append(expected)
    if facts.virtual:
        if facts.modality == "audio-only" and profile.audio_only.allowed:
            found.append(profile.audio_only.modifier)
        elif facts.modality != "audio-only" and profile.telehealth.modifier != "none":
            found.append(profile.telehealth.modifier)
    return tuple(dict.fromkeys(found))
