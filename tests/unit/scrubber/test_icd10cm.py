"""ICD-10-CM lookup: billability from the packaged code list, agreement with the library, editions by fiscal year."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from datetime import date
from types import ModuleType

import pytest

from claimbridge.scrubber.icd10cm import (
    EDITIONS_TABLE,
    IcdCodeSet,
    dotted,
    edition_for,
    editions,
    fiscal_year,
    load_code_set,
)
from claimbridge.scrubber.tables import CodeTables, TableError, parse_table

PACKAGE, RESOURCE = "simple_icd_10_cm", "data/code-list-April-2026.txt"


@pytest.fixture(scope="module")
def fy2026() -> IcdCodeSet:
    return load_code_set(PACKAGE, RESOURCE)


@pytest.fixture(scope="module")
def library() -> ModuleType:
    """The library itself (importing it parses the tabular XML: a few seconds, once for this module)."""
    with warnings.catch_warnings():  # its loader uses deprecated importlib.resources calls
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("simple_icd_10_cm")


@pytest.mark.parametrize(
    ("code", "valid", "billable"),
    [
        pytest.param("F328", True, False, id="F32.8-header-since-FY2021"),
        pytest.param("F3281", True, True, id="F32.81-leaf"),
        pytest.param("F32A", True, True, id="F32.A-leaf"),
        pytest.param("F411", True, True, id="F41.1-leaf"),
        pytest.param("F41", True, False, id="F41-category"),
        pytest.param("F99", True, True, id="F99-three-character-leaf"),
        pytest.param("F999", False, False, id="F99.9-not-a-code"),
        pytest.param("Z630", True, True, id="Z63.0-leaf"),
        pytest.param("Z00", True, False, id="Z00-category"),
        pytest.param("Z006", True, True, id="Z00.6-leaf"),
        pytest.param("T360X1", True, False, id="T36.0X1-needs-7th-character"),
        pytest.param("T360X1A", True, True, id="T36.0X1A-7th-character-leaf"),
        pytest.param("QA00142", True, True, id="QA0-letter-second-character"),
        pytest.param("A00-A09", False, False, id="block-is-not-a-code"),
        pytest.param("5", False, False, id="chapter-is-not-a-code"),
    ],
)
def test_icd10cm_code_list_answers_match_the_library(
    fy2026: IcdCodeSet, library: ModuleType, code: str, valid: bool, billable: bool
) -> None:
    # Given the code list read as a file, and the library's own tree
    # When both judge the code
    mine = (fy2026.is_valid(code), fy2026.is_billable(code))
    # Then they agree with each other and with the expectation
    assert mine == (valid, billable)
    if valid:
        assert library.is_valid_item(code) and library.is_leaf(code) == billable


def test_icd10cm_chapter_5_and_21_billability_matches_the_library(fy2026: IcdCodeSet, library: ModuleType) -> None:
    every = library.get_all_codes(with_dots=False)
    codes = [c for c in every if c[:1] in ("F", "Z") and c[1:2].isdigit() and c.isalnum()]
    assert len(codes) > 2000
    disagree = [c for c in codes if fy2026.is_billable(c) != library.is_leaf(c) or not fy2026.is_valid(c)]
    assert disagree == []


def test_icd10cm_loading_the_code_list_does_not_import_the_library() -> None:
    # Given a fresh interpreter
    script = (
        "import sys\n"
        "from claimbridge.scrubber.icd10cm import load_code_set\n"
        f"assert load_code_set({PACKAGE!r}, {RESOURCE!r}).is_billable('F411')\n"
        "print('simple_icd_10_cm' in sys.modules)\n"
    )
    # When it loads the code set
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    # Then the library (whose import parses the XML) was never imported
    assert done.stdout.strip() == "False"


def test_icd10cm_code_set_from_a_small_list() -> None:
    codes = IcdCodeSet(["5\r", "F30-F39", "F32", "F328", "F3281", "F3289", "F32A", "", "f329"])
    assert [codes.is_billable(c) for c in ("F32", "F328", "F3281", "F32A", "F329")] == [False, False, True, True, True]
    assert codes.billable_descendants("F328") == ("F3281", "F3289")
    assert codes.billable_descendants("F32") == ("F3281", "F3289", "F329", "F32A")
    assert codes.billable_descendants("F3281") == ()
    assert codes.nearest_listed_ancestor("F32811") == "F3281"
    assert codes.nearest_listed_ancestor("G4700") is None


def test_icd10cm_header_fix_suggestions(fy2026: IcdCodeSet) -> None:
    assert fy2026.billable_descendants("F328") == ("F3281", "F3289")
    assert fy2026.nearest_listed_ancestor("F999") == "F99"


@pytest.mark.parametrize(
    ("day", "year"),
    [
        pytest.param(date(2025, 9, 30), 2025, id="2025-09-30"),
        pytest.param(date(2025, 10, 1), 2026, id="2025-10-01"),
        pytest.param(date(2026, 9, 30), 2026, id="2026-09-30"),
        pytest.param(date(2026, 10, 1), 2027, id="2026-10-01"),
    ],
)
def test_icd10cm_fiscal_year_starts_1_october(day: date, year: int) -> None:
    assert fiscal_year(day) == year


@pytest.mark.parametrize(
    ("day", "loaded", "year"),
    [
        pytest.param(date(2025, 9, 30), False, 2025, id="2025-09-30-before-FY2026"),
        pytest.param(date(2025, 10, 1), True, 2026, id="2025-10-01-first-day"),
        pytest.param(date(2026, 9, 30), True, 2026, id="2026-09-30-last-day"),
        pytest.param(date(2026, 10, 1), False, 2027, id="2026-10-01-after-FY2026"),
    ],
)
def test_icd10cm_packaged_edition_governs_fy2026_only(day: date, loaded: bool, year: int) -> None:
    # When the packaged editions table is asked for a date of service
    choice = edition_for(CodeTables(), day)
    # Then FY2026 answers, as the governing edition or only as the nearest one
    assert (choice.edition.edition, choice.loaded, choice.fiscal_year) == ("FY2026", loaded, year)
    assert choice.edition.code_set().is_billable("F32A")


def _editions_table(*years: int) -> CodeTables:
    document = {
        "table": EDITIONS_TABLE,
        "source": ["test"],
        "versions": [
            {
                "effective_from": f"{y - 1}-10-01",
                "effective_to": f"{y}-09-30",
                "rows": [
                    {"edition": f"FY{y}", "fiscal_year": y, "update": "", "package": PACKAGE, "resource": RESOURCE}
                ],
            }
            for y in years
        ],
    }
    return CodeTables({EDITIONS_TABLE: parse_table(document)})


@pytest.mark.parametrize(
    ("day", "edition", "loaded"),
    [
        pytest.param(date(2024, 9, 30), "FY2025", False, id="before-all-nearest-oldest"),
        pytest.param(date(2025, 9, 30), "FY2025", True, id="last-day-FY2025"),
        pytest.param(date(2025, 10, 1), "FY2026", True, id="first-day-FY2026"),
        pytest.param(date(2027, 6, 1), "FY2026", False, id="after-all-nearest-newest"),
    ],
)
def test_icd10cm_edition_for_picks_the_governing_else_nearest_edition(day: date, edition: str, loaded: bool) -> None:
    choice = edition_for(_editions_table(2025, 2026), day)
    assert (choice.edition.edition, choice.loaded) == (edition, loaded)


def test_icd10cm_gap_between_editions_picks_the_nearer_one() -> None:
    tables = _editions_table(2024, 2026)  # FY2025 missing
    assert edition_for(tables, date(2024, 10, 2)).edition.edition == "FY2024"
    assert edition_for(tables, date(2025, 9, 29)).edition.edition == "FY2026"
    assert [e.edition for e in editions(tables)] == ["FY2024", "FY2026"]


@pytest.mark.parametrize(
    ("package", "resource", "match"),
    [
        pytest.param("no_such_icd_package", RESOURCE, "not installed", id="missing-package"),
        pytest.param("simple_icd_10_cm.data", "code-list-April-2026.txt", "top-level", id="dotted-package"),
    ],
)
def test_icd10cm_bad_code_list_locations_are_refused(package: str, resource: str, match: str) -> None:
    with pytest.raises(TableError, match=match):
        load_code_set(package, resource)


@pytest.mark.parametrize(
    ("code", "shown"),
    [("F411", "F41.1"), ("F99", "F99"), ("T360X1A", "T36.0X1A")],
)
def test_icd10cm_dotted(code: str, shown: str) -> None:
    assert dotted(code) == shown
