"""Intake: one FHIR submission (an indexed Bundle, NDJSON file or bulk set) becomes mapped claims, rejected
sources, NDJSON line errors and a skip count.

The Lambda handlers and the offline CLI share ``intake_submission``; reading raises only for a file that cannot be
read at all (``FileFormatError``, IN-FORMAT), otherwise every anchor is mapped on its own and a bad one never blocks
the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ProfessionalClaim
from claimbridge.fhir import Resolver, SubmissionIndex, read_submission
from claimbridge.findings import Finding, Severity
from claimbridge.mapping import ValidationCache, is_billable_claim, is_encounter_anchor, map_claim, map_encounter
from claimbridge.mapping.encounter_mapper import billed_by_claim
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
    """What one submission (or one chunk of its anchors) produced."""

    model_config = _FROZEN
    claims: tuple[MappedClaim, ...] = ()
    rejected: tuple[RejectedSource, ...] = ()
    skipped: int = 0
    line_errors: tuple[Finding, ...] = ()


def anchor_rows(index: SubmissionIndex, tenant: TenantConfig) -> tuple[list[int], int]:
    """The rows that become claims (contract section 2) and how many anchor candidates were skipped.

    Professional Claims (``use`` claim, ``status`` active or a cancelled correction) and finished Encounters that no
    non-draft professional Claim names and that have a line source. Other Claims and Encounters are counted as
    skipped; an Encounter a Claim names is part of that Claim, not skipped.
    """
    resolver = Resolver(index)
    anchors: list[int] = []
    skipped = 0
    for row in index.rows_of_type("Claim", "Encounter"):
        located = index.located(row)
        if located.resource_type == "Claim":
            billable = is_billable_claim(located.resource)
        elif billed_by_claim(located, resolver):
            continue  # part of the Claim that bills it, not a skipped anchor
        else:
            billable = is_encounter_anchor(located, resolver, tenant)
        if billable:
            anchors.append(row)
        else:
            skipped += 1
    return anchors, skipped


def line_error_findings(index: SubmissionIndex) -> tuple[Finding, ...]:
    """NDJSON lines that were not resources, as IN-FORMAT errors naming ``file:line`` (no content)."""
    findings = [
        Finding(rule_id="IN-FORMAT", severity=Severity.ERROR, fhir_path=error.path, message=error.message)
        for error in index.line_errors
    ]
    hidden = index.line_error_count - len(index.line_errors)
    if hidden > 0:
        findings.append(
            Finding(
                rule_id="IN-FORMAT",
                severity=Severity.ERROR,
                fhir_path=index.file_name,
                message=f"{hidden} more lines were not FHIR resources",
            )
        )
    return tuple(findings)


def intake_submission(
    index: SubmissionIndex, *, tenant: TenantConfig, rows: Sequence[int] | None = None
) -> IntakeResult:
    """Map every claim anchor of an indexed submission (or only ``rows``, one fan-out chunk of them).

    Each anchor is mapped on its own: a bad one never blocks the rest. Memory stays flat whatever the submission's
    size, because resources are read from the index as each claim needs them.
    """
    resolver = Resolver(index)
    validation = ValidationCache()
    skipped = 0
    if rows is None:
        rows, skipped = anchor_rows(index, tenant)
    claims: list[MappedClaim] = []
    rejected: list[RejectedSource] = []
    for row in rows:
        anchor = index.located(row)
        if anchor.resource_type == "Encounter":
            result = map_encounter(anchor, resolver=resolver, tenant=tenant, validation=validation)
        else:
            result = map_claim(anchor, resolver=resolver, tenant=tenant, validation=validation)
        if result.claim is not None:
            claims.append(MappedClaim(claim=result.claim, findings=result.findings))
        else:
            rejected.append(
                RejectedSource(source_key=result.source_key, version=result.version, findings=result.findings)
            )
    return IntakeResult(
        claims=tuple(claims), rejected=tuple(rejected), skipped=skipped, line_errors=line_error_findings(index)
    )


def intake_bundle(raw: bytes, *, file_name: str, tenant: TenantConfig) -> IntakeResult:
    """Read one object held in memory (a Bundle, or NDJSON by its name) and map every claim anchor in it.

    Raises ``FileFormatError`` (IN-FORMAT) only when the file cannot be read at all.
    """
    with read_submission(raw, file_name=file_name) as index:
        return intake_submission(index, tenant=tenant)
