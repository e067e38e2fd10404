"""Typed reads from FHIR JSON: the mapping works on the JSON as sent (after R4B validation), these keep it tidy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from claimbridge.fhir import JsonObject

_FULL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def obj(value: object) -> JsonObject | None:
    return value if isinstance(value, dict) else None


def items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def number(value: object) -> Decimal | None:
    """A FHIR decimal/integer as ``Decimal`` (floats were parsed as ``Decimal`` already)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    return None


def codings(concept: object) -> Iterator[JsonObject]:
    """The codings of a CodeableConcept (or a bare Coding)."""
    concept_obj = obj(concept)
    if concept_obj is None:
        return
    if "coding" not in concept_obj and "code" in concept_obj:
        yield concept_obj
        return
    for coding in items(concept_obj.get("coding")):
        if isinstance(coding, dict):
            yield coding


def first_code(concept: object, systems: Iterable[str]) -> str | None:
    """The code of the first coding whose system is one of ``systems``."""
    wanted = frozenset(systems)
    for coding in codings(concept):
        code = text(coding.get("code"))
        if code and coding.get("system") in wanted:
            return code.strip()
    return None


def has_code(concept: object, system: str, code: str) -> bool:
    return any(c.get("system") == system and c.get("code") == code for c in codings(concept))


def full_date(value: object) -> date | None:
    """The calendar date a FHIR date/dateTime was written with (no time-zone shift); ``None`` if partial."""
    raw = text(value)
    if raw is None:
        return None
    match = _FULL_DATE.match(raw)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def instant(value: object) -> datetime | None:
    """A FHIR dateTime that carries a time (R4 then requires a zone), else ``None``."""
    raw = text(value)
    if raw is None or "T" not in raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def whole_minutes(start: object, end: object) -> int | None:
    """Whole minutes between two FHIR dateTimes, rounded down; ``None`` without both times or if negative."""
    begin, finish = instant(start), instant(end)
    if begin is None or finish is None or finish < begin:
        return None
    return int((finish - begin).total_seconds() // 60)
