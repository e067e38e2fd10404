"""Dated code tables: project data files with their source and effective dates (never tenant configuration).

Each table is a JSON file in ``scrubber/data/``::

    {"table": "bh_codes", "title": "...", "source": ["S1 Novitas ...", ...],
     "versions": [{"effective_from": "2024-01-01", "effective_to": null, "rows": [{...}, ...]}]}

``rows_on(day)`` picks the version in effect on a date of service; versions of one table never overlap (checked on
load). Rule modules read rows into their own typed models through ``CodeTables.rows``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, cast

DATA_PACKAGE = "claimbridge.scrubber.data"


class TableError(ValueError):
    """A data file that is malformed, or a date no version of the table covers."""


@dataclass(frozen=True)
class TableVersion:
    effective_from: date
    effective_to: date | None  # inclusive; None = still in effect
    rows: tuple[dict[str, Any], ...]

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class DatedTable:
    """One code table with every version it has had."""

    name: str
    title: str
    sources: tuple[str, ...]
    versions: tuple[TableVersion, ...]

    def version_on(self, day: date) -> TableVersion | None:
        return next((v for v in self.versions if v.covers(day)), None)

    def rows_on(self, day: date) -> tuple[dict[str, Any], ...]:
        """The rows in effect on ``day``; before the first version there are none (the rule decides what that means)."""
        version = self.version_on(day)
        return version.rows if version is not None else ()


def parse_table(document: dict[str, Any]) -> DatedTable:
    """Validate and build a table from its JSON document."""
    try:
        name = str(document["table"])
        versions = tuple(
            sorted(
                (
                    TableVersion(
                        effective_from=date.fromisoformat(v["effective_from"]),
                        effective_to=date.fromisoformat(v["effective_to"]) if v.get("effective_to") else None,
                        rows=tuple(cast(list[dict[str, Any]], v["rows"])),
                    )
                    for v in document["versions"]
                ),
                key=lambda v: v.effective_from,
            )
        )
        sources = tuple(str(s) for s in document["source"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TableError(f"code table {document.get('table', '?')} is malformed ({type(exc).__name__})") from None
    for earlier, later in itertools.pairwise(versions):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            raise TableError(f"code table {name}: versions overlap at {later.effective_from.isoformat()}")
    if not sources:
        raise TableError(f"code table {name} names no source")
    return DatedTable(name=name, title=str(document.get("title", name)), sources=sources, versions=versions)


@cache
def load_table(name: str) -> DatedTable:
    """The packaged table ``scrubber/data/<name>.json`` (read once per process)."""
    text = resources.files(DATA_PACKAGE).joinpath(f"{name}.json").read_text(encoding="utf-8")
    table = parse_table(json.loads(text))
    if table.name != name:
        raise TableError(f"code table file {name}.json declares table {table.name}")
    return table


def packaged_table_names() -> list[str]:
    """Every table shipped in ``scrubber/data``."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in resources.files(DATA_PACKAGE).iterdir()
        if entry.name.endswith(".json")
    )


class CodeTables:
    """The tables a scrub reads; tests pass their own to pin a case to an edition."""

    def __init__(self, overrides: dict[str, DatedTable] | None = None) -> None:
        self._overrides = overrides or {}

    def table(self, name: str) -> DatedTable:
        return self._overrides.get(name) or load_table(name)

    def rows(self, name: str, day: date) -> tuple[dict[str, Any], ...]:
        return self.table(name).rows_on(day)


@cache
def default_tables() -> CodeTables:
    return CodeTables()
