"""A small X12 tokenizer: interchanges -> segments -> elements, with the delimiters each ISA declares.

The 999, 277CA and 835 readers (and the sandbox clearinghouse) need segments, not a validated tree: pyx12 is the
validator, this is the fast path that tolerates what real files do (a byte-order mark, a newline or indentation after
each segment terminator, several ISA envelopes with different delimiters in one file, a truncated trailer). Only a
missing or malformed ISA stops it; an odd segment identifier is the validator's finding (999 IK304=1), not a crash.
Errors name the X12 location (``ISA``, ``segment 12``) and never echo the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from claimbridge.errors import X12SyntaxError

ISA_LENGTH = 106
"""ISA is fixed-width: 105 characters up to and including ISA16, then the segment terminator."""

_ISA_ELEMENT_COUNT = 16
_SKIPPED_BETWEEN_SEGMENTS = " \t\r\n\ufeff"


@dataclass(frozen=True)
class Delimiters:
    """The four separators an interchange declares in its ISA."""

    element: str
    component: str
    repetition: str
    segment: str


@dataclass(frozen=True)
class Segment:
    """One segment: ``tag`` plus its elements; ``position`` counts segments from 1 across the whole file."""

    tag: str
    elements: tuple[str, ...]
    position: int
    delimiters: Delimiters

    def element(self, index: int) -> str:
        """Element ``index`` (1-based, as in ``CLM01``); empty when absent."""
        return self.elements[index - 1] if 0 < index <= len(self.elements) else ""

    def components(self, index: int) -> tuple[str, ...]:
        """Element ``index`` split at the component separator (``SV101`` -> ``("HC", "90834", "95")``)."""
        value = self.element(index)
        return tuple(value.split(self.delimiters.component)) if value else ()

    def component(self, index: int, sub: int) -> str:
        """Component ``sub`` (1-based) of element ``index``; empty when absent."""
        parts = self.components(index)
        return parts[sub - 1] if 0 < sub <= len(parts) else ""


def read_delimiters(text: str, start: int = 0) -> Delimiters:
    """The delimiters of the ISA beginning at ``start``; raise X12SyntaxError when it is not a 106-character ISA."""
    header = text[start : start + ISA_LENGTH]
    if not header.startswith("ISA"):
        raise X12SyntaxError("ISA", "the interchange does not start with an ISA segment")
    if len(header) < ISA_LENGTH:
        raise X12SyntaxError("ISA", f"ISA is shorter than its fixed {ISA_LENGTH} characters")
    element = header[3]
    if element.isalnum() or element.isspace():
        raise X12SyntaxError("ISA", "ISA04 position does not hold an element separator")
    separators = [index for index, char in enumerate(header[: ISA_LENGTH - 1]) if char == element]
    if len(separators) != _ISA_ELEMENT_COUNT or separators[-1] != ISA_LENGTH - 3:
        raise X12SyntaxError("ISA", f"ISA does not have 16 elements in its fixed {ISA_LENGTH} characters")
    component = header[ISA_LENGTH - 2]
    segment = header[ISA_LENGTH - 1]
    isa11 = header.split(element)[11]
    repetition = isa11 if len(isa11) == 1 and not isa11.isalnum() else ""  # 4010 used ISA11 for a code, not a delimiter
    if len({element, component, segment}) != 3 or segment.isalnum():
        raise X12SyntaxError("ISA", "ISA declares clashing or alphanumeric delimiters")
    return Delimiters(element=element, component=component, repetition=repetition, segment=segment)


def _skip_filler(text: str, index: int) -> int:
    while index < len(text) and text[index] in _SKIPPED_BETWEEN_SEGMENTS:
        index += 1
    return index


def iter_segments(text: str) -> Iterator[Segment]:
    """Every segment of every interchange in ``text``, in order.

    Each ISA sets the delimiters up to its IEA; text after an IEA must be another ISA. A file cut short (no IEA)
    yields what it has: checking envelope completeness is the validator's job.
    """
    index = _skip_filler(text, 0)
    if index >= len(text):
        raise X12SyntaxError("ISA", "the document is empty")
    position = 0
    while index < len(text):
        delimiters = read_delimiters(text, index)
        position += 1
        isa_body = text[index : index + ISA_LENGTH - 1]
        yield Segment("ISA", tuple(isa_body.split(delimiters.element)[1:]), position, delimiters)
        index = _skip_filler(text, index + ISA_LENGTH)
        while index < len(text):
            end = text.find(delimiters.segment, index)
            raw = text[index:] if end < 0 else text[index:end]
            index = len(text) if end < 0 else end + 1
            raw = raw.strip(_SKIPPED_BETWEEN_SEGMENTS)
            if raw:
                position += 1
                tag, *elements = raw.split(delimiters.element)
                yield Segment(tag, tuple(elements), position, delimiters)
                if tag == "IEA":
                    break
            index = _skip_filler(text, index)
        index = _skip_filler(text, index)


def read_segments(text: str) -> list[Segment]:
    """All segments of ``text`` (see ``iter_segments``)."""
    return list(iter_segments(text))
