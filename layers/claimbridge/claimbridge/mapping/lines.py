"""Service lines (2400) from ``Claim.item`` (contract section 7): code, modifiers, units, charge, DOS, POS, pointers,
line authorization, documented minutes and telehealth facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from claimbridge.claim import Clinician, ServiceLine, TelehealthFacts
from claimbridge.fhir import JsonObject, Located
from claimbridge.mapping.codes import (
    ACT_CODE_SYSTEM,
    PAS_AUTHORIZATION_NUMBER_URL,
    POS_SYSTEMS,
    PROCEDURE_SYSTEMS,
    ROLE_CODE_SYSTEM,
    SNOMED_SYSTEM,
    TELEHEALTH_MODALITY_URL,
    TIME_BASED_CODES,
    UCUM_SYSTEM,
    is_evaluation_and_management,
)
from claimbridge.mapping.limits import checked_identifier
from claimbridge.mapping.scope import ClaimScope, problem
from claimbridge.mapping.values import codings, first_code, full_date, has_code, items, number, obj, text, whole_minutes
from claimbridge.tenants.models import CrosswalkRow

MAX_LINES = 50
MAX_MODIFIERS = 4
MAX_POINTERS = 4
_CENT = Decimal("0.01")
_MODALITIES = {"audio-video", "audio-only"}


@dataclass
class _Draft:
    """One item while the claim's other lines are still being read (minutes may come from the encounter)."""

    index: int
    sequence: int
    item: JsonObject
    path: str
    code: str | None
    crosswalk: list[CrosswalkRow] = field(default_factory=list)
    units: Decimal = Decimal(1)
    minutes: int | None = None
    encounter: Located | None = None
    locations: list[Located] | None = None

    @property
    def time_based(self) -> bool:
        if self.code is not None:
            return self.code in TIME_BASED_CODES
        return any(row.min_minutes is not None or row.max_minutes is not None for row in self.crosswalk)


def pos_code(concept: object) -> str | None:
    """A CMS place-of-service code from a concept in one of the accepted POS systems (contract section 4)."""
    for coding in codings(concept):
        system = coding.get("system")
        code = text(coding.get("code"))
        if code and isinstance(system, str) and (system in POS_SYSTEMS or system.lower() in POS_SYSTEMS):
            code = code.strip()
            if code.isdigit() and len(code) <= 2:
                return code.zfill(2)
    return None


def location_pos(location: Located | None) -> str | None:
    if location is None:
        return None
    for concept in items(location.resource.get("type")):
        code = pos_code(concept)
        if code:
            return code
    return None


def map_lines(
    scope: ClaimScope,
    *,
    claim_id: str,
    diagnosis_positions: dict[int, int],
    rendering: Clinician | None,
    care_team: dict[int, Clinician],
    supervising: Clinician | None = None,
    supervisors: dict[int, Clinician] | None = None,
) -> tuple[ServiceLine, ...]:
    """Every ``Claim.item`` by ``sequence``; a line that cannot be built raises a ``MappingProblem``.

    ``care_team`` and ``supervisors`` are the rendering and supervising careTeam members items name by
    ``careTeamSequence``; one other than the claim's ``rendering`` / ``supervising`` becomes 2420A / 2420D.
    """
    claim = scope.anchor
    raw_items = [(i, item) for i, item in enumerate(items(claim.resource.get("item"))) if isinstance(item, dict)]
    if not raw_items:
        raise problem("IN-REQUIRED", claim.at("item"), "at least one item is required", x12_location="2400")
    if len(raw_items) > MAX_LINES:
        raise problem("IN-REQUIRED", claim.at("item"), "more than 50 items (837P allows 50 lines per claim)")
    raw_items.sort(key=lambda pair: (pair[1].get("sequence") or 0, pair[0]))
    drafts = [_draft(scope, index, item) for index, item in raw_items]
    _encounter_minutes(scope, drafts)
    facility = scope.resolve_optional(
        claim.resource.get("facility"), source=claim, element="facility", types=("Location",)
    )
    lines: list[ServiceLine] = []
    for draft in drafts:
        code, units = _final_code(scope, draft)
        if code is None:
            continue
        lines.append(
            ServiceLine(
                sequence=draft.sequence,
                procedure_code=code,
                modifiers=_modifiers(draft),
                charge=_charge(draft),
                units=units,
                place_of_service=_line_pos(scope, draft, facility),
                diagnosis_pointers=_pointers(scope, draft, diagnosis_positions),
                service_date=_service_dates(draft)[0],
                service_date_end=_service_dates(draft)[1],
                line_control_number=f"{claim_id}-{draft.sequence}",
                prior_authorization=_line_authorization(draft),
                rendering_override=_line_rendering(draft, rendering, care_team),
                supervising_override=_line_rendering(draft, supervising, supervisors or {}),
                documented_minutes=draft.minutes,
                telehealth=_telehealth(scope, draft),
                fhir_path=draft.path,
            )
        )
    if not lines:
        raise problem("IN-REQUIRED", claim.at("item"), "no billable item (every code is marked not billable)")
    return tuple(lines)


def _draft(scope: ClaimScope, index: int, item: JsonObject) -> _Draft:
    claim = scope.anchor
    path = claim.at(f"item[{index}]")
    sequence = item.get("sequence")
    if not isinstance(sequence, int) or not 1 <= sequence <= MAX_LINES:
        raise problem("IN-REQUIRED", f"{path}.sequence", "item sequence must be 1 to 50", x12_location="LX01")
    concept = item.get("productOrService")
    code = first_code(concept, PROCEDURE_SYSTEMS)
    draft = _Draft(index=index, sequence=sequence, item=item, path=path, code=code.upper() if code else None)
    if draft.code is None:
        snomed = first_code(concept, [SNOMED_SYSTEM])
        if snomed is None:
            raise problem(
                "IN-CODE",
                f"{path}.productOrService",
                "no CPT/HCPCS coding (http://www.ama-assn.org/go/cpt or the HCPCS system) and no SNOMED CT coding",
                x12_location="SV101-2",
            )
        draft.crosswalk = crosswalk_rows(scope, snomed, "procedure")
        if not draft.crosswalk:
            raise problem(
                "IN-XWALK",
                f"{path}.productOrService",
                "SNOMED CT code has no row in the tenant crosswalk",
                x12_location="SV101-2",
                fix="add a crosswalks.snomed_to_cpt row for this code, or send a CPT/HCPCS coding",
            )
    elif len(draft.code) != 5 or not draft.code.isalnum():
        raise problem(
            "IN-CODE", f"{path}.productOrService", "CPT/HCPCS code must have 5 characters", x12_location="SV101-2"
        )
    quantity = number((obj(item.get("quantity")) or {}).get("value"))
    if quantity is not None:
        if quantity <= 0:
            raise problem("IN-REQUIRED", f"{path}.quantity.value", "quantity must be positive", x12_location="SV104")
        draft.units = quantity
    draft.encounter = _line_encounter(scope, draft)
    draft.minutes = _direct_minutes(scope, draft)
    return draft


def _line_encounter(scope: ClaimScope, draft: _Draft) -> Located | None:
    encounters = items(draft.item.get("encounter"))
    if not encounters:
        return None
    return scope.resolve(
        encounters[0], source=scope.anchor, element=f"item[{draft.index}].encounter[0]", types=("Encounter",)
    )


def _direct_minutes(scope: ClaimScope, draft: _Draft) -> int | None:
    """Minutes (1) ``item.servicedPeriod``, else (2) the linked Procedure's ``performedPeriod``."""
    period = obj(draft.item.get("servicedPeriod"))
    if period is not None:
        minutes = whole_minutes(period.get("start"), period.get("end"))
        if minutes is not None:
            return minutes
    for sequence in items(draft.item.get("procedureSequence"))[:1]:
        for index, entry in enumerate(items(scope.anchor.resource.get("procedure"))):
            if isinstance(entry, dict) and entry.get("sequence") == sequence and "procedureReference" in entry:
                procedure = scope.resolve(
                    entry["procedureReference"],
                    source=scope.anchor,
                    element=f"procedure[{index}].procedureReference",
                    types=("Procedure",),
                )
                performed = obj(procedure.resource.get("performedPeriod")) or {}
                return whole_minutes(performed.get("start"), performed.get("end"))
    return None


def _encounter_minutes(scope: ClaimScope, drafts: list[_Draft]) -> None:
    """Minutes (3) ``Encounter.length`` and (4) ``Encounter.period``: only for a claim's single time-based line,
    and never with an E/M on the claim (E/M + add-on needs line or procedure times, BH-TIME-03)."""
    timed = [draft for draft in drafts if draft.time_based]
    if len(timed) != 1 or any(d.code and is_evaluation_and_management(d.code) for d in drafts):
        return
    draft = timed[0]
    if draft.minutes is not None or draft.encounter is None:
        return
    encounter = draft.encounter.resource
    length = obj(encounter.get("length"))
    if length is not None and length.get("system") == UCUM_SYSTEM:
        value = number(length.get("value"))
        factor = {"min": 1, "h": 60}.get(str(length.get("code")))
        if value is not None and factor is not None and value >= 0:
            draft.minutes = int(value * factor)
            return
    period = obj(encounter.get("period")) or {}
    draft.minutes = whole_minutes(period.get("start"), period.get("end"))


def _final_code(scope: ClaimScope, draft: _Draft) -> tuple[str | None, Decimal]:
    """The billed code; a SNOMED CT item goes through the tenant crosswalk (contract section 9)."""
    if draft.code is not None:
        return draft.code, draft.units
    row = crosswalk_row(draft.crosswalk, draft.minutes, f"{draft.path}.productOrService")
    if row.cpt is None:
        scope.warn("IN-XWALK", f"{draft.path}.productOrService", "crosswalk marks this code not billable; item skipped")
        return None, draft.units
    return row.cpt, Decimal(row.units)


def crosswalk_rows(scope: ClaimScope, snomed: str, applies_to: str) -> list[CrosswalkRow]:
    return [
        row for row in scope.tenant.crosswalks.snomed_to_cpt if row.snomed == snomed and row.applies_to == applies_to
    ]


def crosswalk_row(rows: list[CrosswalkRow], minutes: int | None, where: str) -> CrosswalkRow:
    """The row of a SNOMED CT code that applies: the only one, or the minute band the documented time falls in."""
    banded = [row for row in rows if row.min_minutes is not None or row.max_minutes is not None]
    if not banded:
        return rows[0]
    if minutes is None:
        raise problem(
            "BH-TIME-02", where, "time-based SNOMED CT item without documented minutes", x12_location="SV101-2"
        )
    found = next(
        (
            row
            for row in banded
            if (row.min_minutes is None or minutes >= row.min_minutes)
            and (row.max_minutes is None or minutes <= row.max_minutes)
        ),
        None,
    )
    if found is None:
        raise problem(
            "BH-TIME-01", where, "documented minutes fall outside every crosswalk band", x12_location="SV101-2"
        )
    return found


def _modifiers(draft: _Draft) -> tuple[str, ...]:
    found: list[str] = []
    for index, concept in enumerate(items(draft.item.get("modifier"))):
        code = first_code(concept, PROCEDURE_SYSTEMS)
        if code is None:
            continue
        code = code.strip().upper()
        if len(code) != 2 or not code.isalnum():
            raise problem(
                "IN-CODE", f"{draft.path}.modifier[{index}]", "modifier must have 2 characters", x12_location="SV101-3"
            )
        found.append(code)
    if len(found) > MAX_MODIFIERS:
        raise problem("IN-CODE", f"{draft.path}.modifier", "more than four CPT/HCPCS modifiers", x12_location="SV101-3")
    return tuple(found)


def _charge(draft: _Draft) -> Decimal:
    """``net``, else ``unitPrice`` x quantity x ``factor`` (contract section 7), in cents."""
    net = number((obj(draft.item.get("net")) or {}).get("value"))
    if net is None:
        unit_price = number((obj(draft.item.get("unitPrice")) or {}).get("value"))
        if unit_price is None:
            raise problem(
                "IN-REQUIRED", f"{draft.path}.net", "line charge (net or unitPrice) is required", x12_location="SV102"
            )
        quantity = number((obj(draft.item.get("quantity")) or {}).get("value"))
        factor = number(draft.item.get("factor"))
        net = (
            unit_price
            * (quantity if quantity is not None else Decimal(1))
            * (factor if factor is not None else Decimal(1))
        )
    if net < 0:
        raise problem("IN-REQUIRED", f"{draft.path}.net", "line charge must not be negative", x12_location="SV102")
    return net.quantize(_CENT, rounding=ROUND_HALF_UP)


def _service_dates(draft: _Draft) -> tuple[date, date | None]:
    """DOS as written (no time-zone shift): ``servicedDate`` or ``servicedPeriod`` start (and a later end date)."""
    serviced = full_date(draft.item.get("servicedDate"))
    if serviced is not None:
        return serviced, None
    period = obj(draft.item.get("servicedPeriod")) or {}
    start, end = full_date(period.get("start")), full_date(period.get("end"))
    if start is None:
        raise problem(
            "IN-REQUIRED",
            f"{draft.path}.servicedDate",
            "a full service date (servicedDate or servicedPeriod.start) is required",
            x12_location="DTP*472",
        )
    return start, end if end is not None and end > start else None


def _line_pos(scope: ClaimScope, draft: _Draft, facility: Located | None) -> str:
    """POS: item.locationCodeableConcept, item.locationReference, Claim.facility, the encounter's locations, default."""
    code = pos_code(draft.item.get("locationCodeableConcept"))
    if code:
        return code
    reference = draft.item.get("locationReference")
    if reference is not None:
        code = location_pos(
            scope.resolve_optional(reference, source=scope.anchor, element=f"item[{draft.index}].locationReference")
        )
        if code:
            return code
    code = location_pos(facility)
    if code:
        return code
    for location in _encounter_locations(scope, draft):
        code = location_pos(location)
        if code:
            return code
    return scope.tenant.defaults.place_of_service


def _encounter_locations(scope: ClaimScope, draft: _Draft) -> list[Located]:
    if draft.encounter is None:
        return []
    if draft.locations is None:
        draft.locations = encounter_locations(scope, draft.encounter)
    return draft.locations


def encounter_locations(scope: ClaimScope, encounter: Located) -> list[Located]:
    """The Locations an Encounter names (unresolvable ones are warnings: location is never required)."""
    found: list[Located] = []
    for index, entry in enumerate(items(encounter.resource.get("location"))):
        if isinstance(entry, dict):
            location = scope.resolve_optional(
                entry.get("location"),
                source=encounter,
                element=f"location[{index}].location",
                types=("Location",),
            )
            if location is not None:
                found.append(location)
    return found


def _pointers(scope: ClaimScope, draft: _Draft, positions: dict[int, int]) -> tuple[int, ...]:
    """SV107 from ``item.diagnosisSequence`` (1-4), as positions in the claim's HI list."""
    sequences = items(draft.item.get("diagnosisSequence"))
    if not sequences:
        scope.warn(
            "IN-REQUIRED", f"{draft.path}.diagnosisSequence", "no diagnosis pointer; the first diagnosis is used"
        )
        return (1,)
    pointers: list[int] = []
    for index, sequence in enumerate(sequences):
        position = positions.get(sequence) if isinstance(sequence, int) else None
        if position is None:
            raise problem(
                "BH-DX-04",
                f"{draft.path}.diagnosisSequence[{index}]",
                "diagnosisSequence names no Claim.diagnosis",
                x12_location="SV107",
                fix="point the line at a Claim.diagnosis.sequence that exists",
            )
        if position not in pointers:
            pointers.append(position)
    if len(pointers) > MAX_POINTERS:
        scope.warn(
            "BH-DX-04",
            f"{draft.path}.diagnosisSequence",
            "more than four pointers; the first four are sent",
            x12_location="SV107",
            fix="point each line at its four most relevant diagnoses, the primary first",
        )
    return tuple(pointers[:MAX_POINTERS])


def _line_authorization(draft: _Draft) -> str | None:
    """2400 REF*G1 from the Da Vinci PAS extension: an identifier, so it must fit REF02 (1-50) unchanged."""
    for index, extension in enumerate(items(draft.item.get("extension"))):
        if isinstance(extension, dict) and extension.get("url") == PAS_AUTHORIZATION_NUMBER_URL:
            number = text(extension.get("valueString"))
            if number is None:
                return None
            where = f"{draft.path}.extension[{index}].valueString"
            return checked_identifier(number, fhir_path=where, x12_location="2400 REF*G1 REF02", max_length=50)
    return None


def _line_rendering(draft: _Draft, rendering: Clinician | None, care_team: dict[int, Clinician]) -> Clinician | None:
    """2420A (2420D): the first clinician ``careTeamSequence`` names who is not the claim's rendering (supervising)
    clinician, among the careTeam members of that role."""
    for sequence in items(draft.item.get("careTeamSequence")):
        member = care_team.get(sequence) if isinstance(sequence, int) else None
        if member is not None and (rendering is None or member.npi != rendering.npi):
            return member
    return None


def _telehealth(scope: ClaimScope, draft: _Draft) -> TelehealthFacts:
    if draft.encounter is None:
        return TelehealthFacts()
    return telehealth_facts(scope, draft.encounter, _encounter_locations(scope, draft))


def telehealth_facts(scope: ClaimScope, encounter: Located, locations: list[Located]) -> TelehealthFacts:
    """Documented telehealth facts of an encounter (contract section 7)."""
    klass = obj(encounter.resource.get("class")) or {}
    virtual = klass.get("code") == "VR" and klass.get("system") in {ACT_CODE_SYSTEM, None}
    modality: str | None = None
    if virtual:
        for extension in items(encounter.resource.get("extension")):
            if isinstance(extension, dict) and extension.get("url") == TELEHEALTH_MODALITY_URL:
                modality = text(extension.get("valueCode"))
        if modality not in _MODALITIES:
            scope.warn(
                "IN-REQUIRED",
                encounter.at("extension"),
                f"virtual encounter without a valid telehealth modality extension ({TELEHEALTH_MODALITY_URL})",
            )
            modality = "unknown"
    at_home = any(
        has_code(concept, ROLE_CODE_SYSTEM, "PTRES")
        for location in locations
        for concept in items(location.resource.get("type"))
    )
    return TelehealthFacts.model_validate({"virtual": virtual, "modality": modality, "patient_at_home": at_home})
