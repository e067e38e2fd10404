"""claimbridge.x12.reader: delimiters come from each ISA; real-file quirks are tolerated; a bad ISA is refused."""

from __future__ import annotations

import pytest

from claimbridge.errors import X12SyntaxError
from claimbridge.x12.reader import Delimiters, read_delimiters, read_segments

pytestmark = pytest.mark.unit

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260303*0905*^*00501*000000001*0*T*:~"
BODY = "GS*FA*S*R*20260303*0905*1*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HC*1~SE*3*0001~GE*1*1~IEA*1*000000001~"


def test_read_delimiters_takes_them_from_fixed_isa_positions() -> None:
    # Given a standard ISA / When its delimiters are read / Then they are ISA char 4, ISA11, ISA16 and the next char
    assert read_delimiters(ISA) == Delimiters(element="*", component=":", repetition="^", segment="~")


def test_read_segments_splits_elements_and_components() -> None:
    # Given an interchange with a composite element
    text = ISA + "GS*HC*S*R*20260303*0905*1*X*005010X222A1~SV1*HC:90834:95*140~IEA*1*000000001~"
    # When it is tokenized
    segments = read_segments(text)
    # Then tags, 1-based elements and components are addressable, and positions count from ISA = 1
    sv1 = segments[2]
    assert [s.tag for s in segments] == ["ISA", "GS", "SV1", "IEA"]
    assert (sv1.position, sv1.element(2), sv1.components(1), sv1.component(1, 3)) == (
        3,
        "140",
        ("HC", "90834", "95"),
        "95",
    )
    assert (sv1.element(9), sv1.component(1, 9), sv1.components(9)) == ("", "", ())
    assert segments[0].element(6) == "SENDER         "  # ISA keeps its fixed-width padding


@pytest.mark.parametrize(
    "decorate",
    [
        pytest.param(lambda text: "\ufeff" + text, id="byte-order mark"),
        pytest.param(lambda text: text.replace("~", "~\r\n"), id="CRLF after each terminator"),
        pytest.param(lambda text: text.replace("~", "~\n    "), id="indented segments"),
        pytest.param(lambda text: "\n\n" + text + "\n", id="blank lines around"),
    ],
)
def test_read_segments_tolerates_real_file_layouts(decorate: object) -> None:
    # Given the same interchange laid out as real files are
    assert callable(decorate)
    text = decorate(ISA + BODY)
    # When it is tokenized
    tags = [segment.tag for segment in read_segments(text)]
    # Then the segments are the same
    assert tags == ["ISA", "GS", "ST", "AK1", "SE", "GE", "IEA"]


def test_read_segments_switches_delimiters_at_each_isa() -> None:
    # Given two interchanges, the second with "|" elements, ">" components and "!" terminators
    second = (ISA + BODY).replace("*", "|").replace("~", "!").replace("|:!", "|>!")
    # When both are tokenized from one file
    segments = read_segments(ISA + BODY + second)
    # Then the second interchange is split with its own delimiters
    assert [s.tag for s in segments].count("ISA") == 2
    assert segments[-1].tag == "IEA"
    assert segments[-1].delimiters == Delimiters(element="|", component=">", repetition="^", segment="!")
    assert segments[-5].element(1) == "999"


def test_read_segments_yields_a_truncated_file() -> None:
    # Given an interchange cut off after ST (no SE/GE/IEA, no final terminator)
    # When it is tokenized / Then what is there comes out
    assert [s.tag for s in read_segments(ISA + "GS*FA*S*R*20260303*0905*1*X*005010X231A1~ST*999*0001")] == [
        "ISA",
        "GS",
        "ST",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("GS*HC*S*R~", "does not start with an ISA"),
        (ISA[:60], "shorter"),
        (ISA.replace("*00501", "*0501") + BODY, "16 elements"),
        (ISA.replace("ISA*", "ISAA"), "element separator"),
        (ISA[:-2] + "~~" + BODY, "clashing"),
        (ISA + BODY + "XYZ*garbage~", "does not start with an ISA"),
    ],
)
def test_read_segments_refuses_unreadable_isa(text: str, message: str) -> None:
    # Given text without a readable ISA where one must be
    # When it is tokenized
    with pytest.raises(X12SyntaxError) as raised:
        read_segments(text)
    # Then the error names the ISA and says why, without echoing the data
    assert raised.value.x12_location == "ISA"
    assert message in str(raised.value)
    assert "SENDER" not in str(raised.value)
