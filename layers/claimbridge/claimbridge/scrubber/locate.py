"""Where a finding points: the FHIR path of the fact and the 837P location, built the same way by every rule."""

from __future__ import annotations

from claimbridge.claim import ProfessionalClaim, ServiceLine
from claimbridge.findings import Finding, Severity


def claim_path(claim: ProfessionalClaim, element: str = "") -> str:
    """``Claim/<id>`` (or the Bundle entry path mapping recorded), plus ``.element`` when given."""
    base = claim.source.fhir_path or claim.source.key
    return f"{base}.{element}" if element else base


def line_path(claim: ProfessionalClaim, line: ServiceLine, element: str = "") -> str:
    """The FHIR path of the line's source (``Claim.item[n]``, ``Procedure``, ``ChargeItem`` …), plus ``.element``."""
    base = line.fhir_path or f"{claim_path(claim)}.item[{line.sequence - 1}]"
    return f"{base}.{element}" if element else base


def line_x12(line: ServiceLine, element: str) -> str:
    """``2400 LX*3 SV101-2``: the 837P service line by its LX number, and the element."""
    return f"2400 LX*{line.sequence} {element}"


def finding(
    rule_id: str,
    severity: Severity | str,
    *,
    fhir_path: str,
    x12_location: str,
    message: str,
    fix: str,
) -> Finding:
    """A finding; messages name codes, counts and dates of service only, never a person's data."""
    return Finding(
        rule_id=rule_id,
        severity=Severity(severity),
        fhir_path=fhir_path,
        x12_location=x12_location,
        message=message,
        fix=fix,
    )
