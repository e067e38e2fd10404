"""One professional ``Claim`` (and what it references) to a ``ProfessionalClaim`` (contract sections 2-7, 13).

Parts that fail raise ``MappingProblem``; independent parts are still tried so the biller sees every problem at once.
A claim with such errors is rejected; errors that leave a sound claim (conflicts) hold it instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from claimbridge.claim import (
    Address,
    BillingProvider,
    ClaimFrequency,
    Clinician,
    EntityType,
    Patient,
    Payer,
    PayerResponsibility,
    PersonName,
    ProfessionalClaim,
    SourceRef,
    Subscriber,
)
from claimbridge.fhir import JsonObject, Located, Resolver, UnresolvedReference, identifier_pairs
from claimbridge.findings import Finding
from claimbridge.mapping.cob import OtherCoverage, map_other_payers, other_coverages
from claimbridge.mapping.codes import (
    C4BB_CARE_TEAM_ROLE_SYSTEM,
    C4BB_IDENTIFIER_TYPE_SYSTEM,
    CARE_TEAM_ROLE_SYSTEM,
    CLAIM_TYPE_SYSTEM,
    COVERAGE_CLASS_SYSTEM,
    ICD10CM_SYSTEM,
    NPI_SYSTEM,
    PATIENT_RELATIONSHIP,
    RELATED_CLAIM_SYSTEMS,
    SUBSCRIBER_RELATIONSHIP_SYSTEM,
    TIN_SYSTEM,
    V2_0203_SYSTEM,
)
from claimbridge.mapping.facility import service_facility
from claimbridge.mapping.ids import claim_id_for, patient_key_for, patient_reference
from claimbridge.mapping.limits import checked_identifier, checked_text
from claimbridge.mapping.lines import map_lines
from claimbridge.mapping.parties import birth_date, clinician, first_address, gender, npi_of, person_name
from claimbridge.mapping.referral import referral_number
from claimbridge.mapping.scope import ClaimScope, MappingProblem, ValidationCache, invalid_value_findings, problem
from claimbridge.mapping.values import first_code, has_code, instant, items, obj, text
from claimbridge.tenants import TenantConfig, TenantPayer

MAX_DIAGNOSES = 12
_RESPONSIBILITY = (PayerResponsibility.PRIMARY, PayerResponsibility.SECONDARY, PayerResponsibility.TERTIARY)
_T = TypeVar("_T")


@dataclass(frozen=True)
class MappingResult:
    """A claim (possibly with findings), or only findings when it could not be built."""

    source_key: str
    version: str
    claim: ProfessionalClaim | None
    findings: tuple[Finding, ...]
    stamp: str | None = None


def is_billable_claim(resource: JsonObject) -> bool:
    """Contract section 2: ``use`` claim, ``type`` professional, ``status`` active (or cancelled with a prior claim)."""
    if resource.get("resourceType") != "Claim" or resource.get("use") != "claim":
        return False
    if not has_code(resource.get("type"), CLAIM_TYPE_SYSTEM, "professional"):
        return False
    status = resource.get("status")
    return status == "active" or (status == "cancelled" and _prior_claim(resource) is not None)


def is_withdrawal(resource: JsonObject) -> bool:
    """A professional Claim that withdraws its earlier versions: ``entered-in-error``, or ``cancelled`` with no
    prior claim (a cancelled claim naming a prior one is a void, frequency 8: a claim of its own)."""
    if resource.get("resourceType") != "Claim" or resource.get("use") != "claim":
        return False
    if not has_code(resource.get("type"), CLAIM_TYPE_SYSTEM, "professional"):
        return False
    status = resource.get("status")
    return status == "entered-in-error" or (status == "cancelled" and _prior_claim(resource) is None)


def source_key_of(anchor: Located) -> str:
    """``Claim/<id>``; a ``urn:uuid`` fullUrl stands in for a missing id (contract section 8)."""
    if anchor.id:
        return f"{anchor.resource_type}/{anchor.id}"
    if anchor.full_url and anchor.full_url.startswith("urn:uuid:"):
        return f"{anchor.resource_type}/{anchor.full_url}"
    return f"{anchor.resource_type}/entry-{anchor.entry_index}"


def _canonical(resource: JsonObject) -> str:
    """Sorted-key JSON without ``meta.lastUpdated`` (a server touching a resource is not a new version)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            cleaned: dict[str, Any] = {}
            for key, item in value.items():
                if key == "meta" and isinstance(item, dict):
                    meta = {k: strip(v) for k, v in item.items() if k != "lastUpdated"}
                    if meta:
                        cleaned[key] = meta
                else:
                    cleaned[key] = strip(item)
            return cleaned
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return json.dumps(strip(resource), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def source_version(scope: ClaimScope, *, content_hash: bool = False) -> str:
    """``meta.versionId``, else ``sha256:`` of the canonical JSON of the anchor plus every resource it resolved.

    Encounter anchors always use the hash (``content_hash``): their lines live in other resources (section 8).
    """
    meta = obj(scope.anchor.resource.get("meta")) or {}
    version_id = text(meta.get("versionId"))
    if version_id and not content_hash:
        return version_id.strip()
    parts = sorted(
        {_canonical(scope.anchor.resource), *(_canonical(located.resource) for located in scope.touched.values())}
    )
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def source_stamp(scope: ClaimScope) -> str | None:
    """The newest ``meta.lastUpdated`` of the anchor and what it resolved, in UTC: orders versions that arrive late.

    A version whose stamp is older than the stored one is stale (out-of-order delivery) and changes nothing.
    """
    newest: datetime | None = None
    for located in (scope.anchor, *scope.touched.values()):
        meta = obj(located.root.get("meta")) or {}
        updated = instant(meta.get("lastUpdated"))
        if updated is not None and (newest is None or updated > newest):
            newest = updated
    return newest.astimezone(UTC).isoformat(timespec="microseconds") if newest else None


Attempt = Callable[[Callable[[], Any]], Any]
Builder = Callable[[ClaimScope, str, str, list[Finding], Attempt], ProfessionalClaim | None]


def run_mapping(
    anchor: Located,
    *,
    resolver: Resolver,
    tenant: TenantConfig,
    validation: ValidationCache,
    build: Builder,
    content_hash: bool = False,
) -> MappingResult:
    """Map one anchor with ``build``; never raises for bad input (problems become findings).

    ``build`` gets the scope, claim id, source key, the error list and ``attempt``, which runs one part of the claim
    and turns its ``MappingProblem`` (or a value the claim model refuses) into an error, so independent parts are
    still tried. The source version and stamp are taken after building, over everything the claim touched.
    """
    scope = ClaimScope(anchor=anchor, resolver=resolver, tenant=tenant, validation=validation)
    source_key = source_key_of(anchor)
    claim_id = claim_id_for(tenant.tenant_id, source_key)
    errors: list[Finding] = []

    def attempt(part: Callable[[], _T]) -> _T | None:
        try:
            return part()
        except MappingProblem as exc:
            errors.append(exc.finding)
            return None
        except ValidationError as exc:  # a mapped value that does not fit a claim field: a finding, never a crash
            errors.extend(invalid_value_findings(exc, anchor.path))
            return None

    claim: ProfessionalClaim | None = None
    if attempt(lambda: scope.touch(anchor)) is not None:
        claim = build(scope, claim_id, source_key, errors, attempt)
    version = source_version(scope, content_hash=content_hash)
    stamp = source_stamp(scope)
    if claim is not None and not errors:
        claim = claim.model_copy(update={"source": claim.source.model_copy(update={"version": version})})
        return MappingResult(source_key, version, claim, (*scope.holds, *scope.warnings), stamp)
    return MappingResult(source_key, version, None, (*errors, *scope.holds, *scope.warnings), stamp)


def map_claim(
    anchor: Located, *, resolver: Resolver, tenant: TenantConfig, validation: ValidationCache
) -> MappingResult:
    """Map one professional Claim; never raises for bad input (problems become findings)."""
    return run_mapping(anchor, resolver=resolver, tenant=tenant, validation=validation, build=_build)


def _build(
    scope: ClaimScope,
    claim_id: str,
    source_key: str,
    errors: list[Finding],
    attempt: Attempt,
) -> ProfessionalClaim | None:
    anchor = scope.anchor
    patient = attempt(
        lambda: scope.resolve(anchor.resource.get("patient"), source=anchor, element="patient", types=("Patient",))
    )
    billing = attempt(lambda: _billing_provider(scope))
    coverage = attempt(lambda: _coverage(scope, patient)) if patient is not None else None
    diagnoses = attempt(lambda: _diagnoses(scope))
    team = attempt(lambda: _care_team(scope, billing))
    lines = None
    if diagnoses is not None and team is not None:
        lines = attempt(
            lambda: map_lines(
                scope,
                claim_id=claim_id,
                diagnosis_positions=diagnoses[1],
                rendering=team[0],
                care_team=team[3],
                supervising=team[1],
                supervisors=team[4],
            )
        )
    _compare_total(scope, lines)
    frequency_and_number = attempt(lambda: _frequency(scope))
    referral = attempt(lambda: referral_number(scope))
    if errors or billing is None or coverage is None or diagnoses is None or team is None or lines is None:
        return None
    if frequency_and_number is None:  # only with an error recorded; the check narrows the type
        return None
    payer, responsibility, subscriber, patient_model, prior_auth, others = coverage
    frequency, payer_claim_number = frequency_and_number
    place_of_service = lines[0].place_of_service or scope.tenant.defaults.place_of_service
    facility = attempt(lambda: service_facility(scope, billing=billing, place_of_service=place_of_service))
    if errors:
        return None
    try:
        return ProfessionalClaim(
            claim_id=claim_id,
            tenant_id=scope.tenant.tenant_id,
            source=SourceRef(
                resource_type="Claim",
                resource_id=source_key.split("/", 1)[1],
                version="pending",
                fhir_path=anchor.path,
                patient_reference=patient_reference(patient),
            ),
            patient_key=patient_key_for(scope.tenant.tenant_id, patient.resource) if patient is not None else None,
            payer=payer,
            payer_responsibility=responsibility,
            billing_provider=billing,
            pay_to_address=_pay_to(scope),
            subscriber=subscriber,
            patient=patient_model,
            place_of_service=place_of_service,
            frequency=frequency,
            payer_claim_control_number=payer_claim_number,
            prior_authorization=prior_auth,
            referral_number=referral,
            diagnoses=diagnoses[0],
            rendering=team[0],
            supervising=team[1],
            referring=team[2],
            service_facility=facility,
            lines=lines,
            other_payers=map_other_payers(scope, others, lines),
        )
    except ValidationError as exc:
        errors.extend(invalid_value_findings(exc, anchor.path))
        return None


def _tenant_billing(scope: ClaimScope) -> BillingProvider:
    configured = scope.tenant.billing_provider
    organization = configured.entity == "organization"
    return BillingProvider(
        entity=EntityType.ORGANIZATION if organization else EntityType.PERSON,
        npi=configured.npi,
        organization_name=configured.name if organization else "",
        person_name=None if organization else PersonName(last=configured.name, first="", middle=""),
        tin=configured.tin,
        tin_type=configured.tin_type,
        taxonomy=configured.taxonomy,
        address=_tenant_address(scope),
    )


def _tenant_address(scope: ClaimScope) -> Address:
    address = scope.tenant.billing_provider.address
    return Address(lines=(address.street,), city=address.city, state=address.state, postal_code=address.zip)


def _pay_to(scope: ClaimScope) -> Address | None:
    pay_to = scope.tenant.pay_to
    if pay_to is None:
        return None
    address = pay_to.address
    return Address(lines=(address.street,), city=address.city, state=address.state, postal_code=address.zip)


def _billing_provider(scope: ClaimScope) -> BillingProvider:
    """2010AA: ``Claim.provider`` (Organization or Practitioner) or the tenant's billing provider (section 5)."""
    anchor = scope.anchor
    configured = _tenant_billing(scope)
    reference = anchor.resource.get("provider")
    if reference is None:
        return configured
    located = scope.resolve(
        reference, source=anchor, element="provider", types=("Organization", "Practitioner", "PractitionerRole")
    )
    if located.resource_type == "PractitionerRole":
        located = scope.resolve(
            located.resource.get("practitioner"), source=located, element="practitioner", types=("Practitioner",)
        )
    npi = npi_of(located.resource)
    if npi is None:
        scope.warn(
            "IN-REQUIRED",
            located.at("identifier"),
            f"billing provider has no NPI ({NPI_SYSTEM}); the tenant's billing NPI is used",
        )
    elif npi != configured.npi:
        scope.hold(
            "IN-CONFLICT",
            anchor.at("provider"),
            "billing provider NPI differs from the tenant's billing provider NPI (one billing entity per tenant)",
            x12_location="2010AA NM109",
            fix="bill with the practice's billing NPI, or configure the tenant with this billing provider",
        )
        return configured
    if located.resource_type == "Practitioner":
        return configured.model_copy(
            update={
                "entity": EntityType.PERSON,
                "organization_name": "",
                "person_name": person_name(located, scope=scope),
            }
        )
    tin = configured.tin
    tin_type = configured.tin_type
    for system, value in identifier_pairs(located.resource):
        if system == TIN_SYSTEM:
            digits = value.replace("-", "").strip()
            if len(digits) != 9 or not digits.isdigit():
                raise problem(
                    "IN-CODE", located.at("identifier"), "TIN must have 9 digits", x12_location="2010AA REF02"
                )
            tin, tin_type = digits, "EI"
            break
    address = first_address(located, nine_digit_zip=True, scope=scope) or configured.address
    name = text(located.resource.get("name"))
    if name:
        checked_text(scope, name, fhir_path=located.at("name"), x12_location="2010AA NM103", max_length=60)
    return configured.model_copy(
        update={
            "entity": EntityType.ORGANIZATION,
            "organization_name": name.strip() if name else configured.organization_name,
            "person_name": None,
            "tin": tin,
            "tin_type": tin_type,
            "address": address,
        }
    )


def _focal_insurance(scope: ClaimScope) -> tuple[int, int, JsonObject, list[tuple[int, int, JsonObject]]]:
    """(array index, position by sequence, entry) of the one ``focal`` insurance (section 6), and (position, index,
    entry) of every other one (2320)."""
    anchor = scope.anchor
    entries = [(i, e) for i, e in enumerate(items(anchor.resource.get("insurance"))) if isinstance(e, dict)]
    entries.sort(key=lambda pair: (pair[1].get("sequence") or 0, pair[0]))
    focal = [(position, index, entry) for position, (index, entry) in enumerate(entries) if entry.get("focal") is True]
    if len(focal) != 1:
        raise problem(
            "IN-REQUIRED",
            anchor.at("insurance"),
            "exactly one insurance must have focal = true",
            x12_location="2000B SBR01",
            fix="mark the coverage billed on this claim with focal = true",
        )
    position, index, entry = focal[0]
    if position >= len(_RESPONSIBILITY):
        raise problem("IN-REQUIRED", anchor.at(f"insurance[{index}]"), "focal insurance beyond the third position")
    others = [(p, i, e) for p, (i, e) in enumerate(entries) if p != position]
    return index, position, entry, others


def _coverage(
    scope: ClaimScope, patient: Located
) -> tuple[Payer, PayerResponsibility, Subscriber, Patient | None, str | None, tuple[OtherCoverage, ...]]:
    anchor = scope.anchor
    index, position, insurance, non_focal = _focal_insurance(scope)
    coverage = scope.resolve(
        insurance.get("coverage"), source=anchor, element=f"insurance[{index}].coverage", types=("Coverage",)
    )
    beneficiary = scope.resolve(
        coverage.resource.get("beneficiary"), source=coverage, element="beneficiary", types=("Patient",)
    )
    if beneficiary.key != patient.key:
        scope.hold(
            "IN-CONFLICT",
            coverage.at("beneficiary"),
            "Coverage.beneficiary is not Claim.patient",
            fix="reference the claim's patient as the coverage beneficiary",
        )
    payer = _payer(scope, coverage)
    subscriber, patient_model = _subscriber(scope, coverage, patient)
    auth_numbers = [(i, value) for i, value in enumerate(items(insurance.get("preAuthRef"))) if text(value)]
    if len(auth_numbers) > 1:
        scope.warn(
            "IN-REQUIRED",
            anchor.at(f"insurance[{index}].preAuthRef"),
            "more than one prior authorization number; the first is sent",
            x12_location="2300 REF*G1",
        )
    prior_auth = (
        checked_identifier(
            auth_numbers[0][1],
            fhir_path=anchor.at(f"insurance[{index}].preAuthRef[{auth_numbers[0][0]}]"),
            x12_location="2300 REF*G1 REF02",
            max_length=50,
        )
        if auth_numbers
        else None
    )
    others = other_coverages(
        scope, patient, non_focal, focal_position=position, payer_of=_payer, subscriber_of=_subscriber
    )
    return payer, _RESPONSIBILITY[position], subscriber, patient_model, prior_auth, others


def _payer(scope: ClaimScope, coverage: Located) -> Payer:
    """The tenant payer whose ``fhir_identifiers`` (or C4BB ``payerid`` = ``payer_id``) match the payor (section 4)."""
    payors = items(coverage.resource.get("payor"))
    reference = payors[0] if payors else None
    path = coverage.at("payor[0]")
    identifiers: list[tuple[str | None, str, bool]] = []
    try:
        located = scope.resolver.resolve(reference, source=coverage, path=path, types=("Organization",))
    except UnresolvedReference as exc:
        ident = obj((obj(reference) or {}).get("identifier"))
        if ident is None or text(ident.get("value")) is None:
            raise problem("IN-REF", path, f"required reference {exc.problem.value}") from None
        system = ident.get("system")
        identifiers.append((system if isinstance(system, str) else None, str(ident["value"]), False))
    else:
        scope.touch(located)
        for raw in items(located.resource.get("identifier")):
            if isinstance(raw, dict) and text(raw.get("value")):
                is_payer_id = has_code(raw.get("type"), C4BB_IDENTIFIER_TYPE_SYSTEM, "payerid")
                system = raw.get("system")
                identifiers.append((system if isinstance(system, str) else None, str(raw["value"]), is_payer_id))
    match = _match_payer(scope.tenant, identifiers)
    if match is None:
        raise problem(
            "IN-PAYER",
            path,
            "payer Organization matches no configured payer of the tenant",
            x12_location="2010BB NM109",
            fix="add the payer's identifier (system and value) to a tenant payer's fhir_identifiers",
        )
    return Payer(
        key=match.key, payer_id=match.payer_id, name=match.name, claim_filing_indicator=match.claim_filing_indicator
    )


def _match_payer(tenant: TenantConfig, identifiers: list[tuple[str | None, str, bool]]) -> TenantPayer | None:
    for system, value, is_payer_id in identifiers:
        configured = tenant.payer_for_identifier(system, value)
        if configured is not None:
            return configured
        if is_payer_id:
            by_id = next((p for p in tenant.payers if p.payer_id == value.strip()), None)
            if by_id is not None:
                return by_id
    return None


def _member_ids(coverage: Located) -> tuple[str | None, str | None, dict[str, str]]:
    """(identifier typed MB, subscriberId, the FHIR path of each value found)."""
    member = None
    paths: dict[str, str] = {}
    for index, raw in enumerate(items(coverage.resource.get("identifier"))):
        if isinstance(raw, dict) and has_code(raw.get("type"), V2_0203_SYSTEM, "MB") and text(raw.get("value")):
            member = str(raw["value"]).strip()
            paths[member] = coverage.at(f"identifier[{index}].value")
            break
    subscriber_id = text(coverage.resource.get("subscriberId"))
    if subscriber_id:
        paths.setdefault(subscriber_id.strip(), coverage.at("subscriberId"))
    return member, subscriber_id.strip() if subscriber_id else None, paths


def _group_number(coverage: Located) -> str | None:
    """SBR03 from the Coverage ``class`` typed ``group``: an identifier, so it must fit unchanged (1-50)."""
    for index, entry in enumerate(items(coverage.resource.get("class"))):
        if isinstance(entry, dict) and has_code(entry.get("type"), COVERAGE_CLASS_SYSTEM, "group"):
            value = text(entry.get("value"))
            if value is None:
                return None
            where = coverage.at(f"class[{index}].value")
            return checked_identifier(value, fhir_path=where, x12_location="2000B SBR03", max_length=50)
    return None


def _subscriber(scope: ClaimScope, coverage: Located, patient: Located) -> tuple[Subscriber, Patient | None]:
    """2010BA and 2000C/2010CA by ``Coverage.relationship`` (contract section 6)."""
    relationship = first_code(coverage.resource.get("relationship"), [SUBSCRIBER_RELATIONSHIP_SYSTEM])
    member, subscriber_id, id_paths = _member_ids(coverage)
    group = _group_number(coverage)
    subscriber_ref = coverage.resource.get("subscriber")
    if relationship is None and coverage.resource.get("relationship") is not None:
        raise problem(
            "IN-CODE", coverage.at("relationship"), f"relationship has no coding in {SUBSCRIBER_RELATIONSHIP_SYSTEM}"
        )
    if relationship is None and subscriber_ref is not None:
        target = scope.resolve(
            subscriber_ref, source=coverage, element="subscriber", types=("Patient", "RelatedPerson")
        )
        if target.key != patient.key:
            raise problem(
                "IN-REQUIRED",
                coverage.at("relationship"),
                "relationship is required when the subscriber is not the patient",
            )
    own_member_id = member is not None and subscriber_id is not None and member != subscriber_id
    if relationship in (None, "self") or own_member_id:
        member_id = member or subscriber_id
        if member_id is None:
            raise problem(
                "IN-REQUIRED",
                coverage.at("subscriberId"),
                "member id (subscriberId or identifier typed MB) is required",
                x12_location="2010BA NM109",
            )
        member_id = _checked_member_id(member_id, id_paths)
        return _as_subscriber(scope, patient, member_id, group), None
    if relationship not in PATIENT_RELATIONSHIP:
        raise problem("IN-CODE", coverage.at("relationship"), "relationship code is not one of the R4 subscriber codes")
    if subscriber_id is None:
        raise problem(
            "IN-REQUIRED",
            coverage.at("subscriberId"),
            "subscriberId is required when the patient is not the subscriber",
            x12_location="2010BA NM109",
        )
    subscriber_id = _checked_member_id(subscriber_id, id_paths)
    holder = scope.resolve(subscriber_ref, source=coverage, element="subscriber", types=("Patient", "RelatedPerson"))
    patient_model = Patient(
        name=person_name(patient, scope=scope),
        relationship=PATIENT_RELATIONSHIP[relationship],  # type: ignore[arg-type]
        birth_date=birth_date(scope, patient),
        gender=gender(patient),
        address=first_address(patient, scope=scope),
    )
    return _as_subscriber(scope, holder, subscriber_id, group), patient_model


def _checked_member_id(member_id: str, paths: dict[str, str]) -> str:
    """NM109 (2-80): a member id the payer would not recognise once changed is never cut or rewritten."""
    return checked_identifier(
        member_id, fhir_path=paths[member_id], x12_location="2010BA NM109", max_length=80, min_length=2
    )


def _as_subscriber(scope: ClaimScope, person: Located, member_id: str, group: str | None) -> Subscriber:
    return Subscriber(
        name=person_name(person, scope=scope),
        member_id=member_id,
        birth_date=birth_date(scope, person),
        gender=gender(person),
        address=first_address(person, scope=scope),
        group_number=group,
    )


def _diagnoses(scope: ClaimScope) -> tuple[tuple[str, ...], dict[int, int]]:
    """HI codes by ``sequence`` (ICD-10-CM, upper-case, no dot) and each sequence's HI position (1-12)."""
    anchor = scope.anchor
    entries = [(i, e) for i, e in enumerate(items(anchor.resource.get("diagnosis"))) if isinstance(e, dict)]
    if not entries:
        raise problem(
            "IN-REQUIRED", anchor.at("diagnosis"), "at least one diagnosis is required", x12_location="2300 HI"
        )
    entries.sort(key=lambda pair: (pair[1].get("sequence") or 0, pair[0]))
    if len(entries) > MAX_DIAGNOSES:
        scope.warn(
            "BH-DX-03",
            anchor.at("diagnosis"),
            "more than 12 diagnoses; the first 12 are sent",
            x12_location="2300 HI",
            fix="send at most 12 diagnoses, the ones the lines point at first",
        )
        entries = entries[:MAX_DIAGNOSES]
    codes: list[str] = []
    positions: dict[int, int] = {}
    for index, entry in entries:
        element = f"diagnosis[{index}]"
        concept = entry.get("diagnosisCodeableConcept")
        concept_path = anchor.at(f"{element}.diagnosisCodeableConcept")
        if concept is None:
            condition = scope.resolve(
                entry.get("diagnosisReference"),
                source=anchor,
                element=f"{element}.diagnosisReference",
                types=("Condition",),
            )
            concept, concept_path = condition.resource.get("code"), condition.at("code")
        raw = first_code(concept, [ICD10CM_SYSTEM])
        if raw is None:
            raise problem("IN-CODE", concept_path, f"no ICD-10-CM coding ({ICD10CM_SYSTEM})", x12_location="2300 HI")
        code = raw.replace(".", "").strip().upper()
        if not (3 <= len(code) <= 7 and code[0].isalpha() and code.isascii() and code.isalnum()):
            raise problem(
                "BH-DX-01",
                concept_path,
                "ICD-10-CM code is malformed (3-7 letters or digits, a letter first)",
                x12_location="2300 HI",
                fix="send the ICD-10-CM code as published, e.g. F41.1",
            )
        if code not in codes:
            codes.append(code)
        sequence = entry.get("sequence")
        if isinstance(sequence, int):
            positions[sequence] = codes.index(code) + 1
    return tuple(codes), positions


_RENDERING_ROLES = ((CARE_TEAM_ROLE_SYSTEM, "primary"), (C4BB_CARE_TEAM_ROLE_SYSTEM, "rendering"))
_SUPERVISOR_ROLES = ((CARE_TEAM_ROLE_SYSTEM, "supervisor"), (C4BB_CARE_TEAM_ROLE_SYSTEM, "supervisor"))
_REFERRING_ROLES = ((C4BB_CARE_TEAM_ROLE_SYSTEM, "referring"),)


def _has_role(entry: JsonObject, roles: tuple[tuple[str, str], ...]) -> bool:
    return any(has_code(entry.get("role"), system, code) for system, code in roles)


def _care_team(
    scope: ClaimScope, billing: BillingProvider | None
) -> tuple[Clinician | None, Clinician | None, Clinician | None, dict[int, Clinician], dict[int, Clinician]]:
    """(rendering, supervising, referring, line clinicians and line supervisors by careTeam sequence) from
    ``Claim.careTeam``: a line naming a supervisor other than the claim's gets 2420D (contract section 5)."""
    anchor = scope.anchor
    team = [(i, e) for i, e in enumerate(items(anchor.resource.get("careTeam"))) if isinstance(e, dict)]
    team.sort(key=lambda pair: (pair[1].get("sequence") or 0, pair[0]))
    cache: dict[int, Clinician] = {}

    def member(index: int, entry: JsonObject) -> Clinician:
        if index not in cache:
            cache[index] = clinician(
                scope,
                entry.get("provider"),
                source=anchor,
                element=f"careTeam[{index}].provider",
                qualification=entry.get("qualification"),
            )
        return cache[index]

    def first_with(roles: tuple[tuple[str, str], ...]) -> Clinician | None:
        chosen = next(((i, e) for i, e in team if _has_role(e, roles)), None)
        return member(*chosen) if chosen else None

    rendering = first_with(_RENDERING_ROLES)
    supervising = first_with(_SUPERVISOR_ROLES)
    referring = first_with(_REFERRING_ROLES) or _referral_requester(scope)
    if rendering is None and (billing is None or billing.entity == EntityType.ORGANIZATION):
        scope.hold(
            "IN-REQUIRED",
            anchor.at("careTeam"),
            "no careTeam member with role primary or rendering while an organization bills",
            x12_location="2310B",
            fix="add the rendering clinician to Claim.careTeam with role primary",
        )
    named = {
        s
        for item in items(anchor.resource.get("item"))
        if isinstance(item, dict)
        for s in items(item.get("careTeamSequence"))
    }
    by_sequence: dict[int, Clinician] = {}
    supervisors: dict[int, Clinician] = {}
    for index, entry in team:
        sequence = entry.get("sequence")
        if not isinstance(sequence, int) or sequence not in named:
            continue
        if entry.get("role") is None or _has_role(entry, _RENDERING_ROLES):
            by_sequence[sequence] = member(index, entry)
        elif _has_role(entry, _SUPERVISOR_ROLES):
            supervisors[sequence] = member(index, entry)
    return rendering, supervising, referring, by_sequence, supervisors


def _referral_requester(scope: ClaimScope) -> Clinician | None:
    """2310A from ``Claim.referral`` -> ServiceRequest.requester, when no careTeam member is ``referring``."""
    anchor = scope.anchor
    referral = scope.resolve_optional(
        anchor.resource.get("referral"), source=anchor, element="referral", types=("ServiceRequest",)
    )
    if referral is None:
        return None
    requester = scope.resolve_optional(
        referral.resource.get("requester"),
        source=referral,
        element="requester",
        types=("Practitioner", "PractitionerRole", "Organization", "Patient", "RelatedPerson", "Device"),
    )
    if requester is None or requester.resource_type not in {"Practitioner", "PractitionerRole"}:
        return None
    return clinician(scope, referral.resource.get("requester"), source=referral, element="requester")


def _prior_claim(resource: JsonObject) -> JsonObject | None:
    for related in items(resource.get("related")):
        if isinstance(related, dict) and any(
            coding.get("code") == "prior" and coding.get("system") in RELATED_CLAIM_SYSTEMS
            for coding in items((obj(related.get("relationship")) or {}).get("coding"))
            if isinstance(coding, dict)
        ):
            return related
    return None


def _frequency(scope: ClaimScope) -> tuple[ClaimFrequency, str | None]:
    """CLM05-3 and REF*F8 (section 7); without ``related.reference`` the state layer supplies the payer's number."""
    related = _prior_claim(scope.anchor.resource)
    if related is None:
        return ClaimFrequency.ORIGINAL, None
    number = text((obj(related.get("reference")) or {}).get("value"))
    frequency = (
        ClaimFrequency.VOID if scope.anchor.resource.get("status") == "cancelled" else ClaimFrequency.REPLACEMENT
    )
    if number is None:
        # Contract section 7 also allows the CLP07 Claimbridge recorded for ``related.claim``; until an 835 has
        # recorded one, the payer's number is unknown and the claim cannot be sent (BH-CLM-01).
        index = items(scope.anchor.resource.get("related")).index(related)
        scope.hold(
            "BH-CLM-01",
            scope.anchor.at(f"related[{index}].reference"),
            "corrected or void claim without the payer claim control number of the claim it replaces",
            x12_location="2300 REF*F8",
            fix="send Claim.related.reference.value = the payer claim control number (835 CLP07)",
        )
        return frequency, None
    index = items(scope.anchor.resource.get("related")).index(related)
    where = scope.anchor.at(f"related[{index}].reference.value")
    return frequency, checked_identifier(number, fhir_path=where, x12_location="2300 REF*F8 REF02", max_length=50)


def _compare_total(scope: ClaimScope, lines: tuple[Any, ...] | None) -> None:
    """``Claim.total`` is only compared with the sum of the lines (CLM02 is always that sum, BH-CLM-02)."""
    total = obj(scope.anchor.resource.get("total"))
    value = total.get("value") if total else None
    if lines is None or not isinstance(value, int | Decimal) or isinstance(value, bool):
        return
    if Decimal(value) != sum((line.charge for line in lines), Decimal(0)):
        scope.warn(
            "IN-CONFLICT",
            scope.anchor.at("total"),
            "Claim.total differs from the sum of the line charges",
            x12_location="CLM02",
        )
