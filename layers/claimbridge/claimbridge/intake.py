"""Intake: one FHIR submission (a Bundle's bytes) becomes mapped claims, rejected sources and a skip count.

The Lambda handler and the offline CLI both call ``intake_bundle``; it raises only for a file that cannot be read at
all (``FileFormatError``, IN-FORMAT), otherwise every Claim is mapped on its own and a bad one never blocks the rest.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ProfessionalClaim
from claimbridge.fhir import Resolver, load_bundle
from claimbridge.findings import Finding, Severity
from claimbridge.mapping import ValidationCache, is_billable_claim, map_claim
from claimbridge.tenants import TenantConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MappedClaim(BaseModel):
    """A claim that could be built; ``findings`` are warnings/errors that travel with it (errors -> HELD)."""

    model_config = _FROZEN
    claim: ProfessionalClaim
    findings: tuple[Finding, ...] = ()

    @property
    def held(self) -> bool:
        """True when an intake error (e.g. IN-CONFLICT) must hold the claim whatever the scrubber says."""
        return any(finding.severity == Severity.ERROR for finding in self.findings)


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
    """Parse a Bundle and map every professional Claim in it; raise ``FileFormatError`` for an unreadable file.

    Parameters
    ----------
    raw
        The object's bytes: a JSON Bundle, possibly gzip-compressed.
    file_name
        Named in file-level errors (an S3 key or a local path; never PHI by contract).
    tenant
        The tenant the channel selected (contract section 1); nothing in the payload selects it.
    """
    submission = load_bundle(raw, file_name=file_name)
    resolver = Resolver(submission)
    validation = ValidationCache()
    claims: list[MappedClaim] = []
    rejected: list[RejectedSource] = []
    skipped = 0
    for anchor in submission.entries:
        if anchor.resource_type != "Claim":
            continue
        if not is_billable_claim(anchor.resource):
            skipped += 1
            continue
        result = map_claim(anchor, resolver=resolver, tenant=tenant, validation=validation)
        if result.claim is not None:
            claims.append(MappedClaim(claim=result.claim, findings=result.findings))
        else:
            rejected.append(
                RejectedSource(source_key=result.source_key, version=result.version, findings=result.findings)
            )
    return IntakeResult(claims=tuple(claims), rejected=tuple(rejected), skipped=skipped)
