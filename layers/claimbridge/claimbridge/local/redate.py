"""Example bundles re-dated to this week, so the demo and the tests see claims a practice would send now.

The examples carry fixed 2026 dates; timely filing (BH-TF-01) and effective-dated tables judge a claim against
today, so an old example would be held for being late. Every FHIR ``date``/``dateTime``/``instant`` value is moved by
the same number of days (relations such as coverage periods, adjudication after service, keep), so that the newest
date falls ``days_before`` days before ``today``. Files that are not JSON Bundles are returned unchanged (the bad
examples must reach the pipeline exactly as written).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")
DEFAULT_DAYS_BEFORE = 14


def _dates(value: Any) -> list[date]:
    if isinstance(value, dict):
        return [d for item in value.values() for d in _dates(item)]
    if isinstance(value, list):
        return [d for item in value for d in _dates(item)]
    if isinstance(value, str) and (match := _DATE.match(value)):
        try:
            return [date.fromisoformat(match.group(1))]
        except ValueError:
            return []
    return []


def _shift(value: Any, delta: timedelta) -> Any:
    if isinstance(value, dict):
        return {key: _shift(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, delta) for item in value]
    if isinstance(value, str) and (match := _DATE.match(value)):
        try:
            moved = date.fromisoformat(match.group(1)) + delta
        except ValueError:
            return value
        return moved.isoformat() + (match.group(2) or "")
    return value


def redate_bundle(raw: bytes, *, today: date | None = None, days_before: int = DEFAULT_DAYS_BEFORE) -> bytes:
    """``raw`` with every date moved so the newest is ``days_before`` days before ``today`` (default: UTC today)."""
    try:
        document = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return raw
    found = _dates(document)
    if not found:
        return raw
    target = (today or datetime.now().astimezone().date()) - timedelta(days=days_before)
    return json.dumps(_shift(document, target - max(found)), indent=1).encode("utf-8")
