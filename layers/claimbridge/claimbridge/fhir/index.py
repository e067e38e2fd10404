"""A submission's resources indexed on disk, so ingesting a file needs the same memory whatever its size.

Readers (``claimbridge.fhir.readers``: Bundle streams, NDJSON lines, bulk manifests) add each resource once. Only the
resource types a claim can read (``CLAIM_RESOURCE_TYPES``) are kept; the rest are counted and dropped without
validation (a Synthea bundle is mostly Observations). The index answers what reference resolution asks: by
``fullUrl``, by type and id, by identifier value, and the reverse links the Encounter mapping needs (the Procedures
and ChargeItems of an encounter, the Coverages of a patient). Parsed resources are kept in a small LRU cache; a
resource's identity is its ``row`` (the position it was added at), never the Python object.

The index is a SQLite file: stdlib, page-cached with a fixed budget, and a file the fan-out can hand to other
Lambda invocations (``SubmissionIndex.open``). Bodies are stored as exact JSON (decimals keep their digits).
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from claimbridge.fhir.bundle import JsonObject, Located, resource_label

# Everything a claim anchor can reach (contract sections 2-7); other types are never read.
CLAIM_RESOURCE_TYPES = frozenset(
    {
        "Claim",
        "ClaimResponse",
        "ChargeItem",
        "Condition",
        "Coverage",
        "Encounter",
        "ExplanationOfBenefit",
        "Location",
        "Organization",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Procedure",
        "RelatedPerson",
        "ServiceRequest",
    }
)
ANCHOR_TYPES = ("Claim", "Encounter")

# Reverse links: for these (type, element path) the references are indexed, so "which Procedures point at this
# Encounter" is a lookup instead of a scan. Paths walk lists; the last part is a Reference (or a list of them).
LINKED_ELEMENTS: dict[str, tuple[str, ...]] = {
    "Procedure": ("encounter",),
    "ChargeItem": ("context", "service"),
    "Condition": ("encounter",),
    "Coverage": ("beneficiary",),
    "Encounter": ("subject",),
    "PractitionerRole": ("practitioner",),
    "Claim": ("item.encounter",),
}
_HISTORY = re.compile(r"/_history/[^/]+$")
_RESTFUL_TAIL = re.compile(r"/([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})$")
_DECIMAL_MARK = "\x00D:"
_DECIMAL_TOKEN = re.compile(r'"\\u0000D:(-?[0-9.Ee+-]+)"')


def dump_json(resource: JsonObject) -> str:
    """JSON text of a parsed resource with every ``Decimal`` written as the number it was (``180.00`` stays so).

    ``json.dumps`` cannot write a Decimal as a bare number; each is first replaced by a marked string (FHIR strings
    never contain U+0000, which JSON escapes as ``\\u0000``), then the marks are turned back into numbers.
    """

    def mark(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        if isinstance(value, Decimal):
            return f"{_DECIMAL_MARK}{value}"
        return value

    return _DECIMAL_TOKEN.sub(r"\1", json.dumps(mark(resource), ensure_ascii=False, separators=(",", ":")))


def load_json(text: str | bytes) -> Any:
    """The inverse of ``dump_json`` (and of any FHIR JSON): decimals as ``Decimal``.

    ``NaN`` and ``Infinity`` are not JSON (the streaming Bundle reader refuses them too): ``ValueError``.
    """
    return json.loads(text, parse_float=Decimal, parse_constant=_not_json)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def references_at(resource: JsonObject, element: str) -> Iterator[JsonObject]:
    """The Reference objects at a dotted element path (lists walked)."""
    values: list[Any] = [resource]
    for part in element.split("."):
        found: list[Any] = []
        for value in values:
            child = value.get(part) if isinstance(value, dict) else None
            found.extend(child if isinstance(child, list) else [child] if child is not None else [])
        values = found
    for value in values:
        if isinstance(value, dict):
            yield value


def reference_targets(resource: JsonObject, element: str) -> Iterator[str]:
    """The link keys of the references at an element: the literal reference with ``/_history/n`` removed, or
    ``?identifier=<value>`` for a ``Reference.identifier`` alone (contract section 3 resolves both)."""
    for reference in references_at(resource, element):
        literal = reference.get("reference")
        if isinstance(literal, str) and literal:
            yield _HISTORY.sub("", literal)
            continue
        ident = reference.get("identifier")
        value = ident.get("value") if isinstance(ident, dict) else None
        if isinstance(value, str) and value:
            yield f"?identifier={value}"


def reference_aliases(located: Located) -> set[str]:
    """The link keys that may point at a top-level resource (candidates; forward resolution confirms)."""
    aliases: set[str] = set()
    if located.full_url:
        aliases.add(located.full_url)
        tail = _RESTFUL_TAIL.search(located.full_url)
        if tail and located.full_url.startswith(("http://", "https://")):
            aliases.add(tail.group(1))  # a relative Type/id resolves against the fullUrl even without an id
    if located.id:
        aliases.add(f"{located.resource_type}/{located.id}")
    for ident in located.resource.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            system = ident.get("system")
            aliases.add(f"{located.resource_type}?identifier={system}|{ident['value']}" if system else "")
            aliases.add(f"{located.resource_type}?identifier={ident['value']}")
            aliases.add(f"?identifier={ident['value']}")
    aliases.discard("")
    return aliases


@dataclass(frozen=True)
class LineError:
    """An NDJSON line that was skipped (not JSON, not a resource); the rest of the submission goes on."""

    path: str
    message: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    row INTEGER PRIMARY KEY, type TEXT NOT NULL, rid TEXT, full_url TEXT, path TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identifiers (value TEXT NOT NULL, row INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS links (kind TEXT NOT NULL, target TEXT NOT NULL, row INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS anchors (row INTEGER PRIMARY KEY, type TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS by_type_id ON resources (type, rid);
CREATE INDEX IF NOT EXISTS by_full_url ON resources (full_url);
CREATE INDEX IF NOT EXISTS by_identifier ON identifiers (value);
CREATE INDEX IF NOT EXISTS by_link ON links (kind, target);
"""
_BATCH = 500


class SubmissionIndex:
    """The resources of one submission (a Bundle, an NDJSON file or a bulk set), on disk.

    Use as a context manager; ``close`` removes the temporary file. ``add`` everything, then ``finish``.
    """

    def __init__(self, file_name: str, *, path: Path | None = None, cache_size: int = 256) -> None:
        self.file_name = file_name
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="claimbridge-index-")
            path = Path(self._tmp.name) / "index.sqlite"
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4096;")
        self._db.executescript(_SCHEMA)
        self._cache: OrderedDict[int, Located] = OrderedDict()
        self._cache_size = cache_size
        self._pending: list[tuple[int, str, str | None, str | None, str, str]] = []
        self._pending_identifiers: list[tuple[str, int]] = []
        self._pending_links: list[tuple[str, str, int]] = []
        self._pending_anchors: list[tuple[int, str]] = []
        self.next_row = 0
        self.skipped_types: Counter[str] = Counter()
        self.kind = "bundle"
        self.line_errors: list[LineError] = []
        self.line_error_count = 0

    @classmethod
    def open(cls, path: Path, *, file_name: str) -> SubmissionIndex:
        """An index a reader finished earlier (e.g. downloaded by a fan-out worker); the caller owns the file."""
        index = cls(file_name, path=path)
        row = index._db.execute("SELECT MAX(row) FROM resources").fetchone()
        index.next_row = (row[0] + 1) if row and row[0] is not None else 0
        index.kind = index.meta("kind") or index.kind
        return index

    def __enter__(self) -> SubmissionIndex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # writing -----------------------------------------------------------------------------------------------------
    def add(self, resource: JsonObject, *, path: str, full_url: str | None = None, body: str | None = None) -> None:
        """Keep ``resource`` if a claim can read its type (``body``: its exact JSON text, when the reader has it)."""
        row = self.next_row
        self.next_row += 1
        resource_type = str(resource.get("resourceType", ""))
        if resource_type not in CLAIM_RESOURCE_TYPES:
            self.skipped_types[resource_type] += 1
            return
        rid = resource.get("id")
        self._pending.append(
            (
                row,
                resource_type,
                rid if isinstance(rid, str) and rid else None,
                full_url,
                path,
                body if body is not None else dump_json(resource),
            )
        )
        if resource_type in ANCHOR_TYPES:
            self._pending_anchors.append((row, resource_type))
        for ident in resource.get("identifier") or []:
            if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                self._pending_identifiers.append((ident["value"], row))
        for element in LINKED_ELEMENTS.get(resource_type, ()):
            for target in reference_targets(resource, element):
                self._pending_links.append((f"{resource_type}.{element}", target, row))
        if len(self._pending) >= _BATCH:
            self._flush()

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(found[0]) if found else None

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?)", self._pending)
        self._db.executemany("INSERT INTO identifiers VALUES (?, ?)", self._pending_identifiers)
        self._db.executemany("INSERT INTO links VALUES (?, ?, ?)", self._pending_links)
        self._db.executemany("INSERT INTO anchors VALUES (?, ?)", self._pending_anchors)
        self._pending_anchors.clear()
        self._pending.clear()
        self._pending_identifiers.clear()
        self._pending_links.clear()

    def finish(self) -> SubmissionIndex:
        """Write what is pending and build the lookup indexes; returns ``self``."""
        self._flush()
        self.set_meta("kind", self.kind)
        self._db.executescript(_INDEXES)
        self._db.commit()
        return self

    # reading -----------------------------------------------------------------------------------------------------
    def located(self, row: int) -> Located:
        """The resource at ``row`` (parsed on first use, then cached)."""
        cached = self._cache.get(row)
        if cached is not None:
            self._cache.move_to_end(row)
            return cached
        found = self._db.execute("SELECT full_url, path, body FROM resources WHERE row = ?", (row,)).fetchone()
        if found is None:
            raise KeyError(row)
        resource = load_json(found[2])
        located = Located(resource=resource, path=found[1], entry_index=row, full_url=found[0], root=resource)
        self._cache[row] = located
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return located

    def _rows(self, sql: str, params: Iterable[object]) -> list[int]:
        return [int(found[0]) for found in self._db.execute(sql, tuple(params))]

    def rows_by_full_url(self, full_url: str) -> list[int]:
        return self._rows("SELECT row FROM resources WHERE full_url = ? ORDER BY row", (full_url,))

    def rows_by_type_id(self, resource_type: str, rid: str) -> list[int]:
        return self._rows("SELECT row FROM resources WHERE type = ? AND rid = ? ORDER BY row", (resource_type, rid))

    def rows_by_identifier(self, value: str) -> list[int]:
        return self._rows("SELECT DISTINCT row FROM identifiers WHERE value = ? ORDER BY row", (value,))

    def rows_linked(self, kind: str, targets: Iterable[str]) -> list[int]:
        """Rows whose ``kind`` element (e.g. ``Procedure.encounter``) holds one of ``targets`` literally."""
        wanted = sorted(set(targets))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        return self._rows(
            f"SELECT DISTINCT row FROM links WHERE kind = ? AND target IN ({marks}) ORDER BY row",  # noqa: S608 - marks only
            (kind, *wanted),
        )

    def rows_of_type(self, *types: str) -> Iterator[int]:
        """Rows of the given resource types in submission order (streamed, not materialised).

        Claim and Encounter rows come from the small ``anchors`` table in its key order: no sort, whatever the size.
        """
        marks = ",".join("?" * len(types))
        table = "anchors" if set(types) <= set(ANCHOR_TYPES) else "resources"
        cursor = self._db.cursor()
        cursor.execute(f"SELECT row FROM {table} WHERE type IN ({marks}) ORDER BY row", types)  # noqa: S608
        for found in cursor:
            yield int(found[0])

    def entries(self) -> Iterator[Located]:
        """Every kept resource in submission order."""
        cursor = self._db.cursor()
        cursor.execute("SELECT row FROM resources ORDER BY row")
        for found in cursor:
            yield self.located(int(found[0]))

    def count(self, resource_type: str | None = None) -> int:
        if resource_type is None:
            found = self._db.execute("SELECT COUNT(*) FROM resources").fetchone()
        else:
            found = self._db.execute("SELECT COUNT(*) FROM resources WHERE type = ?", (resource_type,)).fetchone()
        return int(found[0])

    def label(self, row: int) -> str:
        return resource_label(self.located(row).resource)
