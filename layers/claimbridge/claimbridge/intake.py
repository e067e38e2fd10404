"""Intake: one FHIR submission (an indexed Bundle, NDJSON file or bulk set) becomes mapped claims, rejected
sources, NDJSON line errors and a skip count.

The Lambda handlers and the offline CLI share ``intake_submission``; reading raises only for a file that cannot be
read at all (``FileFormatError``, IN-FORMAT), otherwise every anchor is mapped on its own and a bad one never blocks
the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ProfessionalClaim
from claimbridge.fhir import Located, Resolver, SubmissionIndex, read_submission
from claimbridge.findings import Finding, Severity
from claimbridge.mapping import (
    ValidationCache,
    is_billable_claim,
    is_encounter_anchor,
    is_withdrawal,
    map_claim,
    map_encounter,
    source_key_of,
    source_stamp,
    source_version,
)
from claimbridge.mapping.encounter_mapper import billed_by_claim
from claimbridge.mapping.scope import ClaimScope
from claimbridge.tenants import TenantConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MappedClaim(BaseModel):
    """A claim that could be built; ``findings`` are warnings/errors that travel with it (errors -> HELD)."""

    model_config = _FROZEN
    claim: ProfessionalClaim
    findings: tuple[Finding, ...] = ()
    stamp: str | None = None  # newest meta.lastUpdated it was built from (orders late deliveries)

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
    stamp: str | None = None


class Withdrawal(BaseModel):
    """A Claim version that withdraws the claim (``entered-in-error``, or ``cancelled`` without a prior claim):
    before submission the stored claim is closed; after it, a void is needed (``IN-VERSION``)."""

    model_config = _FROZEN
    source_key: str
    version: str
    status: str
    fhir_path: str
    stamp: str | None = None


IntakeOutcome = MappedClaim | RejectedSource | Withdrawal


class IntakeResult(BaseModel):
    """What one submission (or one chunk of its anchors) produced."""

    model_config = _FROZEN
    claims: tuple[MappedClaim, ...] = ()
    rejected: tuple[RejectedSource, ...] = ()
    skipped: int = 0
    line_errors: tuple[Finding, ...] = ()
    withdrawn: tuple[Withdrawal, ...] = ()


class AnchorScan:
    """The rows that become claims (contract section 2), yielded in submission order, and how many were skipped.

    Professional Claims (``use`` claim, ``status`` active or a cancelled correction) and finished Encounters that no
    such Claim bills and that have a line source. Other Claims and Encounters are counted in ``skipped``; an
    Encounter a Claim bills is part of that claim and not counted. Rows are yielded lazily (flat memory).
    """

    def __init__(self, index: SubmissionIndex, tenant: TenantConfig) -> None:
        self.index = index
        self.tenant = tenant
        self.skipped = 0

    def __iter__(self) -> Iterator[int]:
        resolver = Resolver(self.index)
        for row in self.index.rows_of_type("Claim", "Encounter"):
            located = self.index.located(row)
            if located.resource_type == "Claim":
                billable = is_billable_claim(located.resource) or is_withdrawal(located.resource)
            elif billed_by_claim(located, resolver):
                continue
            else:
                billable = is_encounter_anchor(located, resolver, self.tenant)
            if billable:
                yield row
            else:
                self.skipped += 1


def anchor_rows(index: SubmissionIndex, tenant: TenantConfig) -> tuple[list[int], int]:
    """Every anchor row and the skip count (for callers that want the whole list, e.g. to fan out)."""
    scan = AnchorScan(index, tenant)
    rows = list(scan)
    return rows, scan.skipped


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


def iter_intake(index: SubmissionIndex, *, tenant: TenantConfig, rows: Iterable[int]) -> Iterator[IntakeOutcome]:
    """Map each anchor row on its own, yielding as it goes: a bad one never blocks the rest, and a caller that
    stores each result at once keeps memory flat whatever the submission's size."""
    resolver = Resolver(index)
    validation = ValidationCache()
    for row in rows:
        anchor = index.located(row)
        if is_withdrawal(anchor.resource):
            yield _withdrawal(anchor, resolver, tenant, validation)
            continue
        if anchor.resource_type == "Encounter":
            result = map_encounter(anchor, resolver=resolver, tenant=tenant, validation=validation)
        else:
            result = map_claim(anchor, resolver=resolver, tenant=tenant, validation=validation)
        if result.claim is not None:
            yield MappedClaim(claim=result.claim, findings=result.findings, stamp=result.stamp)
        else:
            yield RejectedSource(
                source_key=result.source_key, version=result.version, findings=result.findings, stamp=result.stamp
            )


def _withdrawal(anchor: Located, resolver: Resolver, tenant: TenantConfig, validation: ValidationCache) -> Withdrawal:
    scope = ClaimScope(anchor=anchor, resolver=resolver, tenant=tenant, validation=validation)
    return Withdrawal(
        source_key=source_key_of(anchor),
        version=source_version(scope),
        status=str(anchor.resource.get("status")),
        fhir_path=anchor.path,
        stamp=source_stamp(scope),
    )


def intake_submission(
    index: SubmissionIndex, *, tenant: TenantConfig, rows: Sequence[int] | None = None
) -> IntakeResult:
    """Map every claim anchor of an indexed submission (or only ``rows``) and collect the results."""
    scan = AnchorScan(index, tenant)
    claims: list[MappedClaim] = []
    rejected: list[RejectedSource] = []
    withdrawn: list[Withdrawal] = []
    for outcome in iter_intake(index, tenant=tenant, rows=scan if rows is None else rows):
        if isinstance(outcome, MappedClaim):
            claims.append(outcome)
        elif isinstance(outcome, Withdrawal):
            withdrawn.append(outcome)
        else:
            rejected.append(outcome)
    return IntakeResult(
        claims=tuple(claims),
        rejected=tuple(rejected),
        skipped=scan.skipped,
        line_errors=line_error_findings(index),
        withdrawn=tuple(withdrawn),
    )


def intake_bundle(raw: bytes, *, file_name: str, tenant: TenantConfig) -> IntakeResult:
    """Read one object held in memory (a Bundle, or NDJSON by its name) and map every claim anchor in it.

    Raises ``FileFormatError`` (IN-FORMAT) only when the file cannot be read at all.
    """
    with read_submission(raw, file_name=file_name) as index:
        return intake_submission(index, tenant=tenant)
