"""Claim-level rules: balancing (BH-CLM-02), frequency and payer claim number (BH-CLM-01), timely filing (BH-TF-01)."""

from __future__ import annotations

from collections.abc import Iterator

from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.locate import claim_path, finding


@rule("BH-CLM-02", title="CLM02 equals the sum of the line charges", reads=[Fact.CHARGES])
def claim_balances(context: ScrubContext) -> Iterator[Finding]:
    """CLM02 is computed from the lines, so this only fires if a line charge is zero (payers reject $0 lines)."""
    for line in context.lines:
        if line.charge <= 0:
            yield finding(
                "BH-CLM-02",
                Severity.ERROR,
                fhir_path=claim_path(context.claim, f"item[{line.sequence - 1}].net"),
                x12_location=f"2400 LX*{line.sequence} SV102",
                message=f"line {line.sequence} ({line.procedure_code}) has no charge",
                fix="send the line's charge (Claim.item.net) or add the code to the tenant fee schedule",
            )
