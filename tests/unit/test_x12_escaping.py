"""claimbridge.x12.escaping: text is made safe and short, identifiers are kept exact or refused."""

from __future__ import annotations

import pytest

from claimbridge.errors import ClaimsError
from claimbridge.x12.escaping import DELIMITER_CHARACTERS, X12WriteError, x12_id, x12_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'BRIEN~JR*SMITH:^", "O'BRIEN JR SMITH"),
        ("Zoë Müller-Ñúñez", "ZOE MULLER-NUNEZ"),
        ("Straße Ærøskøbing", "STRASSE AEROSKOBING"),
        ("Łukasz Đorđević", "LUKASZ DORDEVIC"),
        ("  45\tElm   St\r\nApt 2 ", "45 ELM ST APT 2"),
        ("Ren\u00e9e \u201cRay\u201d O\u2019Neil", 'RENEE "RAY" O\'NEIL'),
        ("ﬁnch №5", "FINCH NO5"),
        ("Dr. Smith & Sons, P.C. #3", "DR. SMITH & SONS, P.C. #3"),
        ("a|b<c>d\\e{f}g`h", "A B C D E F G H"),
        ("café 🙂 latte", "CAFE LATTE"),
    ],
)
def test_x12_text_transliterates_and_removes_delimiters(raw: str, expected: str) -> None:
    # Given free text with accents, delimiters and odd whitespace
    # When it is cleaned for an element
    cleaned = x12_text(raw, max_length=60, location="2010BA NM103")
    # Then it is upper-case X12 text without delimiters
    assert cleaned == expected


def test_x12_text_never_emits_a_delimiter_or_control_character() -> None:
    # Given every character of the Basic Multilingual Plane's first 12k code points, embedded in text
    for code_point in range(0x3000):
        raw = f"A{chr(code_point)}B"
        # When it is cleaned
        cleaned = x12_text(raw, max_length=60, location="2010BA NM103")
        # Then no delimiter, control character or lower-case letter comes out
        assert not DELIMITER_CHARACTERS & set(cleaned), hex(code_point)
        assert cleaned.isprintable(), hex(code_point)
        assert cleaned == cleaned.upper(), hex(code_point)


@pytest.mark.parametrize(("max_length", "expected"), [(60, "A" * 10 + " " + "A" * 49), (10, "A" * 10), (11, "A" * 10)])
def test_x12_text_truncates_to_element_length(max_length: int, expected: str) -> None:
    # Given text longer than the element (the 11th character is a space)
    raw = "A" * 10 + " " + "A" * 69
    # When it is cleaned with the TR3 maximum
    cleaned = x12_text(raw, max_length=max_length, location="2010AA NM103")
    # Then it is cut to at most the limit, without a trailing space
    assert cleaned == expected


@pytest.mark.parametrize("raw", ["", "   ", "~*:^", "李小龍"])
def test_x12_text_refuses_text_with_nothing_usable(raw: str) -> None:
    # Given text that cleans to nothing
    # When it is cleaned for a required element
    with pytest.raises(X12WriteError) as caught:
        x12_text(raw, max_length=60, location="2010CA NM103")
    # Then the error names the location only
    assert caught.value.x12_location == "2010CA NM103"
    assert isinstance(caught.value, ClaimsError)


def test_x12_text_allows_empty_optional_element() -> None:
    # Given an empty middle name
    # When it is cleaned for an optional element
    # Then the result is empty, not an error
    assert x12_text("", max_length=25, min_length=0, location="2010BA NM105") == ""


@pytest.mark.parametrize("identifier", ["W123456789", "abc-12.34", "AUTH 2026/7"])
def test_x12_id_keeps_identifier_exactly(identifier: str) -> None:
    # Given an identifier within the X12 character set
    # When it is checked for REF02
    # Then it is written unchanged
    assert x12_id(identifier, max_length=50, location="2300 REF02") == identifier


@pytest.mark.parametrize(
    ("identifier", "max_length"),
    [("A" * 51, 50), ("W1234*5", 50), ("W1234~5", 50), ("W1:2", 50), ("W^2", 50), ("MÜLLER1", 50), ("", 50)],
)
def test_x12_id_refuses_identifier_that_would_change(identifier: str, max_length: int) -> None:
    # Given an identifier that is too long or holds a delimiter / non-X12 character
    # When it is checked
    with pytest.raises(X12WriteError) as caught:
        x12_id(identifier, max_length=max_length, location="2010BA NM109")
    # Then the error names the location and rule, never the value
    assert caught.value.x12_location == "2010BA NM109"
    if identifier:
        assert identifier not in str(caught.value)


def test_x12_write_error_names_claim_and_location() -> None:
    # Given a write error for a claim
    error = X12WriteError("2300 REF*F8", "required for frequency 7", claim_id="CLM1")
    # Then the message names the claim id and location
    assert str(error) == "claim CLM1 2300 REF*F8: required for frequency 7"
    assert error.claim_id == "CLM1"
