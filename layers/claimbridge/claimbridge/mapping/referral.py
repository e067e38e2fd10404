"""2300 REF*9F referral number from ``Claim.referral`` -> ServiceRequest ``identifier``.

A payer that manages referrals matches REF*9F against the number it issued, so it is an identifier: sent unchanged
or not at all. The contract names no identifier type for it, so the first identifier with a value is taken; a
ServiceRequest with several says so in a warning. There is no line-level source in R4 (``Claim.item`` has no
referral), so 2400 REF*9F (only "when different from the claim's") is never sent.
"""

from __future__ import annotations

from claimbridge.mapping.limits import checked_identifier
from claimbridge.mapping.scope import ClaimScope
from claimbridge.mapping.values import items, text

__all__ = ["referral_number"]


def referral_number(scope: ClaimScope) -> str | None:
    """REF*9F REF02 (1-50), or ``None`` without a referral or without an identifier on it.

    Raises
    ------
    MappingProblem
        ``IN-CODE`` when the number is longer than 50 characters or holds a character X12 cannot carry.
    """
    anchor = scope.anchor
    referral = scope.resolve_optional(
        anchor.resource.get("referral"), source=anchor, element="referral", types=("ServiceRequest",)
    )
    if referral is None:
        return None
    identifiers = [
        (index, entry)
        for index, entry in enumerate(items(referral.resource.get("identifier")))
        if isinstance(entry, dict) and text(entry.get("value"))
    ]
    if not identifiers:
        return None
    if len(identifiers) > 1:
        scope.warn(
            "IN-REQUIRED",
            referral.at("identifier"),
            "more than one ServiceRequest identifier; the first is sent as the referral number",
            x12_location="2300 REF*9F",
        )
    index, first = identifiers[0]
    return checked_identifier(
        str(first["value"]),
        fhir_path=referral.at(f"identifier[{index}].value"),
        x12_location="2300 REF*9F REF02",
        max_length=50,
    )
