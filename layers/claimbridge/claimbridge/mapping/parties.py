"""People and places: names, US addresses (contract section 15), demographics and clinicians (section 5)."""

from __future__ import annotations

import re
from datetime import date

from claimbridge.claim import Address, Clinician, Gender, PersonName
from claimbridge.fhir import JsonObject, Located, UnresolvedReference, identifier_pairs
from claimbridge.mapping.codes import NPI_SYSTEM, NUCC_SYSTEM, usps_state
from claimbridge.mapping.limits import checked_text
from claimbridge.mapping.scope import ClaimScope, problem
from claimbridge.mapping.values import first_code, full_date, items, obj, text
from claimbridge.tenants.models import RosterProvider
from claimbridge.validators import npi_is_valid

_TAXONOMY = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")
_GENDERS = {"male": Gender.MALE, "female": Gender.FEMALE}
_NAME_PREFERENCE = ("official", "usual", None)


def person_name(located: Located, *, scope: ClaimScope | None = None) -> PersonName:
    """The official (else usual, else first current) HumanName; no family name is ``IN-REQUIRED``.

    The parts are checked against NM103/NM104/NM105 (60/35/25 X12 characters): a family name with no usable
    character is ``IN-CODE``, a part the 837P would cut or drop a warning on ``scope``.
    """
    names = [(index, name) for index, name in enumerate(items(located.resource.get("name"))) if isinstance(name, dict)]
    current = [(index, name) for index, name in names if name.get("use") not in {"old", "anonymous"}] or names
    for use in _NAME_PREFERENCE:
        chosen = next(((i, n) for i, n in current if use is None or n.get("use") == use), None)
        if chosen is not None:
            break
    if chosen is None:
        raise problem("IN-REQUIRED", located.at("name"), "name is required", x12_location="NM103")
    index, name = chosen
    family = text(name.get("family"))
    if family is None:
        where = located.at(f"name[{index}].family")
        raise problem("IN-REQUIRED", where, "family name is required", x12_location="NM103")
    name_path = located.at(f"name[{index}]")
    checked_text(scope, family, fhir_path=f"{name_path}.family", x12_location="NM103", max_length=60)
    given = [(i, g.strip()) for i, g in enumerate(items(name.get("given"))) if text(g)]
    for (i, part), (location, limit) in zip(given, (("NM104", 35), ("NM105", 25)), strict=False):
        checked_text(
            scope, part, fhir_path=f"{name_path}.given[{i}]", x12_location=location, max_length=limit, min_length=0
        )
    return PersonName(
        last=family.strip(), first=given[0][1] if given else "", middle=given[1][1] if len(given) > 1 else ""
    )


def us_address(
    address: JsonObject, path: str, *, nine_digit_zip: bool = False, scope: ClaimScope | None = None
) -> Address:
    """A FHIR Address as N3/N4: USPS state (full names converted), ZIP 5 or 9 digits without the hyphen.

    Street lines (N301, further lines joined into N302: 55 X12 characters each) and city (N401, 2-30) with nothing
    usable are ``IN-CODE``; what the 837P would cut is a warning on ``scope``.
    """
    lines = [line.strip() for line in items(address.get("line")) if text(line)]
    if not lines:
        raise problem("IN-REQUIRED", f"{path}.line", "street line is required", x12_location="N301")
    city = text(address.get("city"))
    if city is None:
        raise problem("IN-REQUIRED", f"{path}.city", "city is required", x12_location="N401")
    second = " ".join(lines[1:])
    checked_text(None, f"{lines[0]} {second}", fhir_path=f"{path}.line", x12_location="N301", max_length=55)
    checked_text(scope, lines[0], fhir_path=f"{path}.line[0]", x12_location="N301", max_length=55, min_length=0)
    if second:
        where = f"{path}.line[1]" if len(lines) == 2 else f"{path}.line"
        checked_text(scope, second, fhir_path=where, x12_location="N302", max_length=55, min_length=0)
    checked_text(scope, city, fhir_path=f"{path}.city", x12_location="N401", max_length=30, min_length=2)
    raw_state = text(address.get("state"))
    state = usps_state(raw_state) if raw_state else None
    if state is None:
        raise problem(
            "IN-CODE", f"{path}.state", "state must be a USPS code or a US state or territory name", x12_location="N402"
        )
    zip_code = (text(address.get("postalCode")) or "").replace("-", "").replace(" ", "")
    if not zip_code.isdigit() or len(zip_code) not in (5, 9):
        raise problem("IN-CODE", f"{path}.postalCode", "postal code must have 5 or 9 digits", x12_location="N403")
    if nine_digit_zip and len(zip_code) != 9:
        raise problem(
            "IN-CODE", f"{path}.postalCode", "billing provider ZIP must have 9 digits", x12_location="2010AA N403"
        )
    street = (lines[0], second) if second else (lines[0],)
    return Address(lines=street, city=city.strip(), state=state, postal_code=zip_code)


def first_address(located: Located, *, nine_digit_zip: bool = False, scope: ClaimScope | None = None) -> Address | None:
    """The first current address of a resource, converted; ``None`` when it has none."""
    for index, address in enumerate(items(located.resource.get("address"))):
        if isinstance(address, dict) and address.get("use") != "old":
            where = located.at(f"address[{index}]")
            return us_address(address, where, nine_digit_zip=nine_digit_zip, scope=scope)
    return None


def gender(located: Located) -> Gender:
    return _GENDERS.get(str(located.resource.get("gender")), Gender.UNKNOWN)


def birth_date(scope: ClaimScope, located: Located) -> date | None:
    """``birthDate`` when complete; a partial date is dropped with a warning (DMG02 needs CCYYMMDD)."""
    raw = located.resource.get("birthDate")
    if raw is None:
        return None
    value = full_date(raw)
    if value is None:
        message = "birth date is not a full date; not sent"
        scope.warn("IN-REQUIRED", located.at("birthDate"), message, x12_location="DMG02")
    return value


def npi_of(resource: JsonObject) -> str | None:
    return next((value.strip() for system, value in identifier_pairs(resource) if system == NPI_SYSTEM), None)


def npi_in_reference(reference: object) -> str | None:
    """The NPI a reference carries itself (``Reference.identifier`` or ``Practitioner?identifier=...``)."""
    ref = obj(reference)
    if ref is None:
        return None
    ident = obj(ref.get("identifier"))
    if ident is not None and ident.get("system") == NPI_SYSTEM:
        return text(ident.get("value"))
    literal = text(ref.get("reference")) or ""
    prefix = f"Practitioner?identifier={NPI_SYSTEM}|"
    if literal.startswith(prefix):
        return literal[len(prefix) :] or None
    return None


def roster_clinician(provider: RosterProvider, *, taxonomy: str | None, fhir_path: str) -> Clinician:
    """A clinician completed from the tenant's provider roster (NPI referenced but no Practitioner sent)."""
    return Clinician(
        npi=provider.npi,
        name=PersonName(last=provider.name.last, first=provider.name.first, middle=""),
        taxonomy=taxonomy or provider.taxonomy,
        fhir_path=fhir_path,
    )


def clinician(
    scope: ClaimScope, reference: object, *, source: Located, element: str, qualification: object = None
) -> Clinician:
    """A Practitioner or PractitionerRole reference as a Clinician (NPI, name, taxonomy).

    Taxonomy precedence (contract section 5): ``careTeam.qualification`` > ``PractitionerRole.specialty``
    (referenced, else the submission's one for this Practitioner) > the tenant roster's taxonomy.
    """
    path = source.at(element)
    taxonomy = first_code(qualification, [NUCC_SYSTEM])
    if taxonomy is not None and not _TAXONOMY.match(taxonomy):
        raise problem(
            "IN-CODE",
            path.rsplit(".", 1)[0] + ".qualification",
            "NUCC taxonomy code is malformed (10 characters, ending in X)",
            x12_location="PRV03",
            fix="send the clinician's NUCC provider taxonomy code",
        )
    referenced_npi = npi_in_reference(reference)
    if referenced_npi is not None and scope.tenant.roster_provider(referenced_npi) is not None:
        try:
            located = scope.resolver.resolve(reference, source=source, path=path, types=("Practitioner",))
        except UnresolvedReference:  # not sent: the contract completes it from the roster
            roster = scope.tenant.roster_provider(referenced_npi)
            assert roster is not None  # noqa: S101 - checked just above
            return roster_clinician(roster, taxonomy=taxonomy, fhir_path=path)
        scope.touch(located)
    else:
        located = scope.resolve(reference, source=source, element=element, types=("Practitioner", "PractitionerRole"))
    role: Located | None = None
    if located.resource_type == "PractitionerRole":
        role = located
        located = scope.resolve(
            role.resource.get("practitioner"), source=role, element="practitioner", types=("Practitioner",)
        )
    npi = npi_of(located.resource)
    if npi is None:
        raise problem(
            "IN-REQUIRED", located.at("identifier"), f"clinician NPI ({NPI_SYSTEM}) is required", x12_location="NM109"
        )
    if not npi_is_valid(npi):
        raise problem(
            "BH-NPI-01",
            located.at("identifier"),
            "clinician NPI fails the NPI check (10 digits, first digit 1 or 2, Luhn check digit)",
            x12_location="NM109",
            fix="correct the clinician's NPI (NPPES registry)",
        )
    if taxonomy is None:
        taxonomy = _role_taxonomy(scope, role, located)
    if taxonomy is None:
        roster = scope.tenant.roster_provider(npi)
        taxonomy = roster.taxonomy if roster is not None else None
    return Clinician(npi=npi, name=person_name(located, scope=scope), taxonomy=taxonomy, fhir_path=path)


def _role_taxonomy(scope: ClaimScope, role: Located | None, practitioner: Located) -> str | None:
    """NUCC specialty of the referenced PractitionerRole, else of the submission's single role for this clinician."""
    if role is not None:
        return _specialty(role.resource)
    roles = [
        candidate
        for candidate in scope.resolver.referrers(practitioner, "PractitionerRole.practitioner")
        if _specialty(candidate.resource)
    ]
    if len(roles) == 1:
        scope.touch(roles[0])
        return _specialty(roles[0].resource)
    return None


def _specialty(resource: JsonObject) -> str | None:
    for concept in items(resource.get("specialty")):
        code = first_code(concept, [NUCC_SYSTEM])
        if code:
            return code
    return None
