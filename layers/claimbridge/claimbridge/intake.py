"""Intake: one FHIR submission (a Bundle's bytes) becomes mapped claims, rejected sources and a skip count.

INTERFACE STUB: owned by the fhir/mapping work; keep these names and signatures.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding
from claimbridge.tenants import TenantConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MappedClaim(BaseModel):
    """A claim that could be built; ``findings`` are warnings/errors that travel with it (errors -> HELD)."""

    model_config = _FROZEN
    claim: ProfessionalClaim
    findings: tuple[Finding, ...] = ()


class RejectedSource(BaseModel):
    """A claim anchor that could not become a claim (``IN-*`` findings name the FHIR path)."""

    model_config = _FROZEN
    source_key: str  # "Claim/<id>"
    version: str
    findings: Annotated[tuple[Finding, ...], Field(min_length=1)]


class IntakeResult(BaseModel):
    """What one submission produced."""

    model_config = _FROZEN
    claims: tuple[MappedClaim, ...] = ()
    rejected: tuple[RejectedSource, ...] = ()
    skipped: int = 0


def intake_bundle(raw: bytes, *, file_name: str, tenant: TenantConfig) -> IntakeResult:
    """Parse a Bundle and map every professional Claim in it; raise ``FileFormatError`` for an unreadable file."""
    raise NotImplementedError
