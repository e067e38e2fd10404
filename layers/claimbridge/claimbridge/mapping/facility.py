"""2310C service facility from ``Claim.facility`` (contract section 13: a Location whose address is not the billing
provider's).

The TR3 wants 2310C only where the service was rendered away from the 2010AA address, and then with the place's
street address and, when it has one, its NPI. Telehealth to the patient's home (POS 10) has no service facility: the
patient's address is already in 2010BA/2010CA, so neither POS 10 nor a Location typed ``PTRES`` yields one.
"""

from __future__ import annotations

import re

from claimbridge.claim import Address, BillingProvider, ServiceFacility
from claimbridge.fhir import Located
from claimbridge.mapping.codes import ROLE_CODE_SYSTEM
from claimbridge.mapping.limits import checked_text
from claimbridge.mapping.parties import npi_in_reference, npi_of, us_address
from claimbridge.mapping.scope import ClaimScope, problem
from claimbridge.mapping.values import has_code, items, obj, text
from claimbridge.validators import npi_is_valid

__all__ = ["TELEHEALTH_HOME_POS", "same_place", "service_facility"]

TELEHEALTH_HOME_POS = "10"
"""CMS POS 10, telehealth provided in the patient's home: no 2310C."""

_NOT_ALPHANUMERIC = re.compile(r"[^A-Z0-9]+")


def service_facility(scope: ClaimScope, *, billing: BillingProvider, place_of_service: str) -> ServiceFacility | None:
    """The 2310C of a claim, or ``None`` when there is none to send.

    Parameters
    ----------
    scope:
        The claim's mapping scope (``Claim.facility`` is read from its anchor; warnings go to it).
    billing:
        The 2010AA billing provider: a facility at its address is not sent.
    place_of_service:
        CLM05-1; POS 10 (telehealth at the patient's home) has no service facility.

    Returns
    -------
    ServiceFacility | None
        Name (``Location.name``, else the managing Organization's), street address and NPI (``Location.identifier``,
        else the managing Organization's) of a Location with a physical address other than the billing address.

    Raises
    ------
    MappingProblem
        ``IN-REQUIRED`` without a name, ``IN-CODE`` for a ZIP without 9 digits or an unusable address, ``BH-NPI-01``
        for an NPI that fails the check digit.
    """
    anchor = scope.anchor
    if place_of_service == TELEHEALTH_HOME_POS:
        return None
    location = scope.resolve_optional(
        anchor.resource.get("facility"), source=anchor, element="facility", types=("Location",)
    )
    if location is None or _is_patient_home(location):
        return None
    raw = obj(location.resource.get("address"))
    if raw is None:
        return None  # a Location that only says what kind of place it is (its POS)
    path = location.at("address")
    if raw.get("type") == "postal" or not any(text(line) for line in items(raw.get("line"))):
        scope.warn(
            "IN-REQUIRED",
            path,
            "facility Location has no physical street address; no service facility is sent",
            x12_location="2310C N301",
        )
        return None
    address = us_address(raw, path, scope=scope)
    if same_place(address, billing.address):
        return None
    if len(address.postal_code) != 9:
        raise problem(
            "IN-CODE",
            f"{path}.postalCode",
            "service facility ZIP must have 9 digits",
            x12_location="2310C N403",
            fix="send the facility's ZIP+4",
        )
    name, npi = _name_and_npi(scope, location)
    return ServiceFacility(name=name, npi=npi, address=address, fhir_path=location.path)


def same_place(first: Address, second: Address) -> bool:
    """The same street, city and state and the same 5-digit ZIP, ignoring case, punctuation and spacing."""

    def key(address: Address) -> tuple[str, str, str, str]:
        street = _NOT_ALPHANUMERIC.sub(" ", " ".join(address.lines).upper()).strip()
        city = _NOT_ALPHANUMERIC.sub(" ", address.city.upper()).strip()
        return street, city, address.state, address.postal_code[:5]

    return key(first) == key(second)


def _is_patient_home(location: Located) -> bool:
    return any(has_code(concept, ROLE_CODE_SYSTEM, "PTRES") for concept in items(location.resource.get("type")))


def _name_and_npi(scope: ClaimScope, location: Located) -> tuple[str, str | None]:
    """NM103 and NM109: the Location's own, else those of its ``managingOrganization``."""
    managing = location.resource.get("managingOrganization")
    name = text(location.resource.get("name"))
    name_path = location.at("name")
    npi = npi_of(location.resource)
    npi_path = location.at("identifier")
    if npi is None and managing is not None:
        npi = npi_in_reference(managing)
        npi_path = location.at("managingOrganization.identifier")
    organization = None
    if managing is not None and (name is None or npi is None):
        organization = scope.resolve_optional(
            managing, source=location, element="managingOrganization", types=("Organization",)
        )
    if organization is not None:
        if name is None:
            name, name_path = text(organization.resource.get("name")), organization.at("name")
        if npi is None:
            npi, npi_path = npi_of(organization.resource), organization.at("identifier")
    if name is None:
        raise problem(
            "IN-REQUIRED",
            name_path,
            "service facility name is required (Location.name or its managingOrganization's name)",
            x12_location="2310C NM103",
            fix="name the facility Location",
        )
    checked_text(scope, name, fhir_path=name_path, x12_location="2310C NM103", max_length=60)
    if npi is not None and not npi_is_valid(npi.strip()):
        raise problem(
            "BH-NPI-01",
            npi_path,
            "service facility NPI fails the NPI check (10 digits, first digit 1 or 2, Luhn check digit)",
            x12_location="2310C NM109",
            fix="correct the facility's NPI (NPPES registry), or leave it out",
        )
    return name.strip(), npi.strip() if npi else None
