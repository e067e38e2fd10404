"""FHIR -> ProfessionalClaim mapping (contract sections 2-7 and 13)."""

from claimbridge.mapping.claim_mapper import MappingResult, is_billable_claim, map_claim, source_key_of, source_version
from claimbridge.mapping.ids import claim_id_for
from claimbridge.mapping.scope import ValidationCache

__all__ = [
    "MappingResult",
    "ValidationCache",
    "claim_id_for",
    "is_billable_claim",
    "map_claim",
    "source_key_of",
    "source_version",
]
