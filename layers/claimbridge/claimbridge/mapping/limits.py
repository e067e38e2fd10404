"""TR3 element limits checked while mapping, so the biller hears of them with the FHIR path (contract section 10).

The 837P writer cleans every value (``claimbridge.x12.escaping``): it would refuse an identifier it cannot carry
unchanged and cut text to the element's length. Refusing at write time would stop a whole interchange, and cutting
text there would be silent, so the mapping applies the same rules first:

- an identifier (member id, group, authorization, referral or payer claim number) longer than its element, or holding
  a delimiter or a character outside the X12 set, is an ``IN-CODE`` error: changing one character changes what it
  points at, so it is never truncated or rewritten;
- text (names, addresses) that would be cut is an ``IN-CODE`` warning naming the element and its limit (a cut street
  name or surname still reaches the person); text with nothing usable left where the element is required is an error.
"""

from __future__ import annotations

import sys

from claimbridge.mapping.scope import ClaimScope, problem
from claimbridge.x12.escaping import X12WriteError, x12_id, x12_text

__all__ = ["checked_identifier", "checked_text"]

_ID_FIX = "send the identifier exactly as issued: within the element's length, letters, digits, spaces and - . / only"


def checked_identifier(value: str, *, fhir_path: str, x12_location: str, max_length: int, min_length: int = 1) -> str:
    """``value`` stripped, when the 837P element can carry it unchanged.

    Parameters
    ----------
    value:
        The identifier as sent.
    fhir_path, x12_location:
        Where it comes from and goes to (``...(Coverage/cov-1).subscriberId``, ``2010BA NM109``).
    max_length, min_length:
        The element's TR3 length limits (REF02 1-50, NM109 2-80, SBR03 1-50).

    Raises
    ------
    MappingProblem
        ``IN-CODE`` naming both places and the rule broken, never the value.
    """
    try:
        return x12_id(value, max_length=max_length, min_length=min_length, location=x12_location)
    except X12WriteError as exc:
        raise problem("IN-CODE", fhir_path, exc.reason, x12_location=x12_location, fix=_ID_FIX) from None


def checked_text(
    scope: ClaimScope | None,
    value: str,
    *,
    fhir_path: str,
    x12_location: str,
    max_length: int,
    min_length: int = 1,
) -> None:
    """Report text the writer would cut (warning) or could not write at all (error).

    Parameters
    ----------
    scope:
        Receives the warnings; ``None`` checks for errors only.
    value:
        The text as sent (the writer transliterates, upper-cases and drops what the X12 set lacks).
    fhir_path, x12_location:
        Where it comes from and goes to.
    max_length, min_length:
        The element's TR3 length limits; ``min_length`` 0 for an optional element.

    Raises
    ------
    MappingProblem
        ``IN-CODE`` when fewer than ``min_length`` X12 characters are left.
    """
    cleaned = x12_text(value, max_length=sys.maxsize, min_length=0, location=x12_location)
    if len(cleaned) < min_length:
        raise problem(
            "IN-CODE",
            fhir_path,
            f"text has fewer than {min_length} usable X12 characters (letters, digits, basic punctuation)",
            x12_location=x12_location,
            fix="send the text with Latin letters or digits",
        )
    if scope is None:
        return
    if value.strip() and not cleaned:
        scope.warn(
            "IN-CODE",
            fhir_path,
            "text has no usable X12 characters; the element is left empty",
            x12_location=x12_location,
        )
    elif len(cleaned) > max_length:
        scope.warn(
            "IN-CODE",
            fhir_path,
            f"text is longer than the element's {max_length} characters; the 837P carries the first {max_length}",
            x12_location=x12_location,
        )
