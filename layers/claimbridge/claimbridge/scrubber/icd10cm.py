"""ICD-10-CM lookup for the diagnosis rules (BH-DX-01, BH-DX-02): which codes an edition lists and which are billable.

The code sets come from the pinned ``simple-icd-10-cm`` package, but not through its API: importing it parses a 10 MB
XML (~3.4 s, too slow for a Lambda cold start). Its packaged plain list (``data/code-list-April-2026.txt``, read as a
file located with ``find_spec``, so the package is never imported: chapters, blocks, categories, subcategories and
7th-character extensions, one per line, no dots) is enough: a code is valid when
it is listed, and billable (a leaf) when no other listed code extends it. Because ICD-10-CM is hierarchical by prefix,
every code that extends ``c`` sorts right after ``c``, so one sorted pass finds the leaves. The test suite checks these
answers against the library's own ``is_valid_item``/``is_leaf``.

Which edition governs a date of service is the dated table ``icd10cm_editions`` (the ICD-10-CM year starts 1 October).
A date outside every loaded edition is still checked, against the nearest edition, and the caller says so in a warning.
"""

from __future__ import annotations

import bisect
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from claimbridge.scrubber.tables import CodeTables, TableError

EDITIONS_TABLE = "icd10cm_editions"

_LISTED_CODE = re.compile(r"^[A-Z][0-9A-Z]{2,6}$")
"""A listed code (not a chapter number or an ``A00-A09`` block). Char 2 may be a letter: FY2026 lists ``QA0``."""

FISCAL_YEAR_START_MONTH = 10
"""The ICD-10-CM year FY N runs 1 October N-1 to 30 September N (domain doc section 3, BH-DX-02)."""


class EditionRow(BaseModel):
    """One row of ``icd10cm_editions``: where the code list of the edition in effect is packaged."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    edition: str
    fiscal_year: int
    update: str
    package: str
    resource: str


@dataclass(frozen=True)
class IcdEdition:
    """An ICD-10-CM edition and the dates of service it governs (``effective_to`` inclusive)."""

    edition: str
    fiscal_year: int
    update: str
    package: str
    resource: str
    effective_from: date
    effective_to: date | None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def distance(self, day: date) -> int:
        """Days from ``day`` to the nearest day this edition governs (0 when it covers it)."""
        if day < self.effective_from:
            return (self.effective_from - day).days
        if self.effective_to is not None and day > self.effective_to:
            return (day - self.effective_to).days
        return 0

    def code_set(self) -> IcdCodeSet:
        return load_code_set(self.package, self.resource)


@dataclass(frozen=True)
class EditionChoice:
    """The edition a date of service is checked against; ``loaded`` is False when it is only the nearest one."""

    edition: IcdEdition
    loaded: bool
    fiscal_year: int


class IcdCodeSet:
    """The codes of one ICD-10-CM edition (no dots), with billability derived from the hierarchy."""

    def __init__(self, items: Iterable[str]) -> None:
        codes = sorted({item.strip().upper() for item in items if _LISTED_CODE.match(item.strip().upper())})
        self._codes: tuple[str, ...] = tuple(codes)
        self._listed: frozenset[str] = frozenset(codes)
        self._leaves: frozenset[str] = frozenset(
            code for index, code in enumerate(codes) if index + 1 == len(codes) or not codes[index + 1].startswith(code)
        )

    def __len__(self) -> int:
        return len(self._codes)

    def is_valid(self, code: str) -> bool:
        """Listed in the edition at any level (category, subcategory or full code)."""
        return code in self._listed

    def is_billable(self, code: str) -> bool:
        """Listed and no listed code extends it (a leaf: the only codes a claim may carry)."""
        return code in self._leaves

    def billable_descendants(self, code: str) -> tuple[str, ...]:
        """The billable codes that extend ``code``, in code order (empty for a leaf or an unlisted code)."""
        start = bisect.bisect_right(self._codes, code)
        found: list[str] = []
        for candidate in self._codes[start:]:
            if not candidate.startswith(code):
                break
            if candidate in self._leaves:
                found.append(candidate)
        return tuple(found)

    def nearest_listed_ancestor(self, code: str) -> str | None:
        """The longest listed code (3 characters or more) that ``code`` extends, if any."""
        for length in range(len(code) - 1, 2, -1):
            if code[:length] in self._listed:
                return code[:length]
        return None


def package_file(package: str, resource: str) -> Path:
    """``resource`` (a ``/`` path) inside the installed top-level ``package``, found without importing it.

    ``importlib.resources.files("simple_icd_10_cm.data")`` would import ``simple_icd_10_cm``, whose ``__init__``
    parses the 10 MB tabular XML (~3.5 s); ``find_spec`` of a top-level name only locates it.
    """
    if "." in package:
        raise TableError(f"ICD-10-CM code list package {package} must be a top-level package")
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise TableError(f"ICD-10-CM code list package {package} is not installed")
    return Path(locations[0]).joinpath(*resource.split("/"))


@cache
def load_code_set(package: str, resource: str) -> IcdCodeSet:
    """The code list ``resource`` packaged in ``package`` (parsed once per process, ~0.1 s)."""
    text = package_file(package, resource).read_text(encoding="utf-8")
    code_set = IcdCodeSet(text.splitlines())
    if not len(code_set):
        raise TableError(f"ICD-10-CM code list {resource} lists no codes")
    return code_set


def fiscal_year(day: date) -> int:
    """The ICD-10-CM fiscal year of a date: 2025-10-01 .. 2026-09-30 is FY2026."""
    return day.year + 1 if day.month >= FISCAL_YEAR_START_MONTH else day.year


def editions(tables: CodeTables) -> tuple[IcdEdition, ...]:
    """Every loaded edition, oldest first (one row per version of ``icd10cm_editions``)."""
    found: list[IcdEdition] = []
    for version in tables.table(EDITIONS_TABLE).versions:
        for raw in version.rows:
            row = EditionRow.model_validate(raw)
            found.append(
                IcdEdition(
                    edition=row.edition,
                    fiscal_year=row.fiscal_year,
                    update=row.update,
                    package=row.package,
                    resource=row.resource,
                    effective_from=version.effective_from,
                    effective_to=version.effective_to,
                )
            )
    if not found:
        raise TableError(f"code table {EDITIONS_TABLE} loads no edition")
    return tuple(found)


def edition_for(tables: CodeTables, day: date) -> EditionChoice:
    """The edition governing ``day``, else the nearest loaded one (``loaded=False``: the caller must warn)."""
    loaded = editions(tables)
    covering = next((e for e in loaded if e.covers(day)), None)
    if covering is not None:
        return EditionChoice(edition=covering, loaded=True, fiscal_year=fiscal_year(day))
    nearest = min(loaded, key=lambda e: (e.distance(day), -e.effective_from.toordinal()))
    return EditionChoice(edition=nearest, loaded=False, fiscal_year=fiscal_year(day))


def dotted(code: str) -> str:
    """``F411`` -> ``F41.1`` (how billers read codes; X12 carries them without the dot)."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code
