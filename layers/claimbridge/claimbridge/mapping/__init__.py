"""FHIR -> ProfessionalClaim mapping (contract sections 2-7 and 13)."""

from claimbridge.mapping.claim_mapper import (
    MappingResult,
    is_billable_claim,
    is_withdrawal,
    map_claim,
    source_key_of,
    source_stamp,
    source_version,
)
from claimbridge.mapping.encounter_mapper import is_encounter_anchor, map_encounter
from claimbridge.mapping.ids import claim_id_for
from claimbridge.mapping.scope import ValidationCache

__all__ = [
    "MappingResult",
    "ValidationCache",
    "claim_id_for",
    "is_billable_claim",
    "is_encounter_anchor",
    "is_withdrawal",
    "map_claim",
    "map_encounter",
    "source_key_of",
    "source_stamp",
    "source_version",
]
