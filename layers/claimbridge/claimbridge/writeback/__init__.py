"""FHIR write-back for the EHR (contract §11): ClaimResponse on every state change, ExplanationOfBenefit per 835."""

from claimbridge.writeback.claim_response import (
    CLAIM_ID_SYSTEM,
    OUTCOME_BY_STATE,
    SOURCE_SYSTEM,
    build_claim_response,
    claim_response_key,
    fhir_instant,
)
from claimbridge.writeback.eob import build_eob, eob_key

__all__ = [
    "CLAIM_ID_SYSTEM",
    "OUTCOME_BY_STATE",
    "SOURCE_SYSTEM",
    "build_claim_response",
    "build_eob",
    "claim_response_key",
    "eob_key",
    "fhir_instant",
]
