"""Corrected (frequency 7) and void (frequency 8) claims built from the state store.

A biller corrects a claim the payer already adjudicated or voids it; the EHR does not have to resend FHIR for that.
The payer matches the new claim to the old one by REF*F8 = the payer claim control number it assigned (277CA REF*1K
or 835 CLP07, recorded on the stored claim), so without that number nothing can be built (BH-CLM-01). A replacement
repeats the whole claim with every line (NUBC frequency 7); a void repeats the claim as it was sent (frequency 8).
The CLM01 patient control number stays the claim's own, so the payer's responses keep matching it.
"""

from __future__ import annotations

from claimbridge.claim import ClaimFrequency, ProfessionalClaim
from claimbridge.errors import ClaimsError
from claimbridge.state.models import ClaimState, StoredClaim

CORRECTABLE_STATES = frozenset({ClaimState.REJECTED, ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED})
"""States with an edge to CORRECTED in the lifecycle (the payer has seen the claim): a replacement or a void."""


class CorrectionError(ClaimsError):
    """A correction or void that cannot be built; ``rule_id`` says why (never PHI)."""

    code = "BH-CLM-01"

    def __init__(self, message: str, *, rule_id: str = "BH-CLM-01") -> None:
        super().__init__(message)
        self.rule_id = rule_id


def correction_for(
    stored: StoredClaim,
    frequency: ClaimFrequency,
    *,
    corrected: ProfessionalClaim | None = None,
    payer_claim_control_number: str | None = None,
) -> ProfessionalClaim:
    """The frequency-7 or -8 claim for ``stored``.

    ``corrected`` is the fixed content of a replacement (default: the stored claim as it is); a void always repeats
    the stored claim. ``payer_claim_control_number`` overrides the recorded number (a biller reading it off an EOB).
    """
    if frequency == ClaimFrequency.ORIGINAL:
        raise CorrectionError("a correction is frequency 7 (replacement) or 8 (void)")
    if stored.state not in CORRECTABLE_STATES:
        raise CorrectionError(
            f"claim {stored.claim_id} is {stored.state.value}: only a claim the payer answered can be corrected",
            rule_id="CB-LIFECYCLE",
        )
    if stored.claim is None:
        raise CorrectionError(f"claim {stored.claim_id} has no claim content to correct", rule_id="CB-LIFECYCLE")
    number = payer_claim_control_number or stored.payer_claim_control_number
    if not number:
        raise CorrectionError(
            f"claim {stored.claim_id} has no payer claim control number (277CA REF*1K or 835 CLP07) for REF*F8"
        )
    base = stored.claim if frequency == ClaimFrequency.VOID or corrected is None else corrected
    if base.claim_id != stored.claim_id or base.tenant_id != stored.tenant_id:
        raise CorrectionError("the corrected content belongs to another claim", rule_id="CB-LIFECYCLE")
    return base.model_copy(update={"frequency": frequency, "payer_claim_control_number": number})
