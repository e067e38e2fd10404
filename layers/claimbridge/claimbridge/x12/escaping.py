"""Make data safe for an X12 element: no delimiter, nothing outside the character set, within the TR3 length.

Names and addresses are *text*: they are transliterated (``Zoë Müller-Ñúñez`` -> ``ZOE MULLER-NUNEZ``), upper-cased,
stripped of anything outside the X12 basic character set and the few extended characters payers accept, and cut to
the element's maximum length, because a shortened street name still reaches the patient. Identifiers (NPI, member
id, claim and authorization numbers) are *ids*: changing a single character changes what they point at, so an id
that does not fit is refused with ``X12WriteError`` naming the X12 location, never the value.
"""

from __future__ import annotations

import re
import unicodedata

from claimbridge.errors import ClaimsError

__all__ = ["DELIMITER_CHARACTERS", "X12WriteError", "x12_id", "x12_text"]

DELIMITER_CHARACTERS = frozenset("*:^~")
"""Element, component, repetition and segment separators written by ``claimbridge.x12.writer``."""

# X12 basic character set (upper-case letters, digits, space and these specials) plus '@', '#', '%', '_' from the
# extended set, which e-mail addresses and street numbers need; '*' and ':' are basic but are our delimiters.
_TEXT_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"&'()+,-./;?=@#%_")
_ID_CHARACTERS = _TEXT_CHARACTERS | frozenset("abcdefghijklmnopqrstuvwxyz")
# Letters that Unicode does not decompose into a base letter plus marks.
_TRANSLITERATIONS = str.maketrans(
    {
        "\u00df": "SS",  # sharp s
        "\u00c6": "AE",
        "\u00e6": "AE",
        "\u0152": "OE",
        "\u0153": "OE",
        "\u00d8": "O",
        "\u00f8": "O",
        "\u0141": "L",
        "\u0142": "L",
        "\u0110": "D",
        "\u0111": "D",
        "\u00d0": "D",
        "\u00f0": "D",
        "\u00de": "TH",
        "\u00fe": "TH",
        "\u0131": "I",  # dotless i
        "\u2018": "'",  # typographic quotes and dashes
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
    }
)
_SPACES = re.compile(r"\s+")


class X12WriteError(ClaimsError):
    """The claim cannot be written as a valid 837P; ``x12_location`` names the loop and element, never the value."""

    code = "X12-WRITE"

    def __init__(self, x12_location: str, reason: str, *, claim_id: str | None = None) -> None:
        where = f"claim {claim_id} {x12_location}" if claim_id else x12_location
        super().__init__(f"{where}: {reason}")
        self.x12_location = x12_location
        self.reason = reason
        self.claim_id = claim_id


def x12_text(value: str, *, max_length: int, location: str, min_length: int = 1) -> str:
    """Free text (names, addresses, contact names) as upper-case X12 characters, cut to ``max_length``.

    Parameters
    ----------
    value:
        Any Unicode text.
    max_length, min_length:
        The TR3 element length limits (e.g. NM103 1-60, N401 2-30).
    location:
        ``2010BA NM103``-style, for the error raised when nothing usable is left.

    Returns
    -------
    str
        Transliterated, upper-cased text in which every character outside the allowed set (delimiters included)
        became a space, runs of spaces collapsed, trimmed, then truncated at ``max_length``.
    """
    decomposed = unicodedata.normalize("NFKD", value.translate(_TRANSLITERATIONS))
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    upper = without_marks.upper()
    kept = "".join(ch if ch in _TEXT_CHARACTERS else " " for ch in upper)
    cleaned = _SPACES.sub(" ", kept).strip()[:max_length].rstrip()
    if len(cleaned) < min_length:
        raise X12WriteError(location, f"no usable text left (needs at least {min_length} X12 characters)")
    return cleaned


def x12_id(value: str, *, max_length: int, location: str, min_length: int = 1) -> str:
    """An identifier, written exactly as given or refused: never truncated, transliterated or re-cased.

    Raises
    ------
    X12WriteError
        When the identifier is shorter than ``min_length``, longer than ``max_length`` or holds a delimiter or a
        character outside the X12 character set (the message names ``location`` and the rule, not the value).
    """
    identifier = value.strip()
    if not min_length <= len(identifier) <= max_length:
        raise X12WriteError(location, f"identifier length must be {min_length}-{max_length}")
    if any(ch not in _ID_CHARACTERS for ch in identifier):
        raise X12WriteError(location, "identifier holds a delimiter or a character outside the X12 character set")
    return identifier
