"""Code systems, accepted URI aliases and small code tables the mapping reads (contract section 4)."""

from __future__ import annotations

import re

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED_SYSTEM = "http://snomed.info/sct"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
CARE_TEAM_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
C4BB_CARE_TEAM_ROLE_SYSTEM = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole"
C4BB_IDENTIFIER_TYPE_SYSTEM = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType"
V2_0203_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
SUBSCRIBER_RELATIONSHIP_SYSTEM = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-class"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
UCUM_SYSTEM = "http://unitsofmeasure.org"
RELATED_CLAIM_SYSTEMS = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship",
        "http://terminology.hl7.org/CodeSystem/related-claim-relationship",
    }
)
TELEHEALTH_MODALITY_URL = "https://claimbridge.dev/fhir/StructureDefinition/telehealth-modality"
PAS_AUTHORIZATION_NUMBER_URL = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-authorizationNumber"

PROCEDURE_SYSTEMS = frozenset(
    {
        "http://www.ama-assn.org/go/cpt",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets/Alpha-Numeric-HCPCS.html",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets/Alpha-Numeric-HCPCS.html",
    }
)
POS_SYSTEMS = frozenset(
    {
        "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
        "https://www.cms.gov/medicare/coding/place-of-service-codes/place_of_service_code_set.html",
        "http://terminology.hl7.org/CodeSystem/ex-serviceplace",
    }
)

# PAT01 (2000C) by Coverage.relationship (contract section 6).
PATIENT_RELATIONSHIP: dict[str, str] = {
    "spouse": "01",
    "common": "01",
    "child": "19",
    "parent": "G8",
    "other": "G8",
    "injured": "G8",
}

# Codes billed by documented time (domain section 1.1): Encounter.length / period count only for these.
TIME_BASED_CODES = frozenset(
    {
        "90832", "90833", "90834", "90836", "90837", "90838", "90839", "90840", "90846", "90847",
        "96130", "96131", "96136", "96137", "96138", "96139", "99484", "99492", "99493", "99494",
        "G0017", "G0018", "G2214", "H0004", "H2011", "H2019",
    }
)  # fmt: skip
_EVALUATION_AND_MANAGEMENT = re.compile(r"^99[2-4][0-9]{2}$")


def is_evaluation_and_management(code: str) -> bool:
    """E/M codes (99202-99499): with one on the claim, encounter-level time never counts (BH-TIME-03)."""
    return bool(_EVALUATION_AND_MANAGEMENT.match(code)) and code not in TIME_BASED_CODES


US_STATE_CODES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY",
    "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN",
    "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH",
    "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND",
    "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI",
    "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT",
    "VIRGINIA": "VA", "WASHINGTON": "WA", "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY",
    "AMERICAN SAMOA": "AS", "GUAM": "GU", "NORTHERN MARIANA ISLANDS": "MP", "PUERTO RICO": "PR",
    "VIRGIN ISLANDS": "VI", "U.S. VIRGIN ISLANDS": "VI", "UNITED STATES MINOR OUTLYING ISLANDS": "UM",
    "FEDERATED STATES OF MICRONESIA": "FM", "MARSHALL ISLANDS": "MH", "PALAU": "PW",
    "ARMED FORCES AMERICAS": "AA", "ARMED FORCES EUROPE": "AE", "ARMED FORCES PACIFIC": "AP",
}  # fmt: skip
USPS_CODES = frozenset(US_STATE_CODES.values())


def usps_state(value: str) -> str | None:
    """A USPS two-letter code for a code or a full state/territory name; ``None`` when it is neither."""
    cleaned = " ".join(value.strip().upper().split())
    if cleaned in USPS_CODES:
        return cleaned
    return US_STATE_CODES.get(cleaned)
