"""Rule modules, one per family of the domain reference; importing this package registers every rule."""

from claimbridge.scrubber.rules import (
    authorization,
    claim_level,
    diagnoses,
    pairs,
    providers,
    telehealth,
    timing,
)

__all__ = ["authorization", "claim_level", "diagnoses", "pairs", "providers", "telehealth", "timing"]
