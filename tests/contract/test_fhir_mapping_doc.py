"""docs/fhir-mapping.md stays complete: every rule id ingestion raises and every accepted code system is documented.

EHR integrators read the errors table to fix their data; a code added to intake or mapping without a row there, or
a code-system URI accepted without being listed, fails this test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "claimbridge" / "claimbridge"
DOC = ROOT / "docs" / "fhir-mapping.md"
ERRORS_HEADING = "## 9. Errors and findings"

# A rule id written as a string literal: "IN-REF", 'BH-TIME-02'.
_RULE_ID_LITERAL = re.compile(r"""["']((?:IN|BH)-[A-Z0-9]+(?:-[A-Z0-9]+)*)["']""")
_BACKTICKED_CODE = re.compile(r"`([A-Z0-9]+-[A-Z0-9]+(?:-[A-Z0-9]+)*)`")
_URI_CONSTANT = re.compile(r"^[A-Z0-9_]+_(SYSTEM|SYSTEMS|URL)$")


def ingestion_sources(package: Path) -> list[Path]:
    """The modules whose findings reach the EHR at ingestion: readers, mapping, intake, ingest and the input errors."""
    files = [
        *sorted((package / "fhir").rglob("*.py")),
        *sorted((package / "mapping").rglob("*.py")),
        package / "intake.py",
        package / "pipeline" / "ingest.py",
        package / "errors.py",
    ]
    return [path for path in files if path.is_file()]


def rule_ids_in_sources(files: Iterable[Path]) -> set[str]:
    """Every ``IN-*`` / ``BH-*`` rule id that appears as a string literal in ``files``."""
    found: set[str] = set()
    for path in files:
        found.update(_RULE_ID_LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next level-2 heading."""
    start = markdown.index(heading)
    following = markdown.find("\n## ", start + len(heading))
    return markdown[start : following if following >= 0 else len(markdown)]


def documented_codes(markdown: str) -> set[str]:
    """The codes in the first column of the table rows of the errors section."""
    codes: set[str] = set()
    for line in section(markdown, ERRORS_HEADING).splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            codes.update(_BACKTICKED_CODE.findall(cells[1]))
    return codes


def uri_constants(files: Iterable[Path]) -> dict[str, set[str]]:
    """Module-level ``*_SYSTEM`` / ``*_SYSTEMS`` / ``*_URL`` constants (strings or frozensets of strings)."""
    constants: dict[str, set[str]] = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            for target in targets:
                if isinstance(target, ast.Name) and _URI_CONSTANT.match(target.id) and value is not None:
                    constants[f"{path.name}:{target.id}"] = {
                        item.value
                        for item in ast.walk(value)
                        if isinstance(item, ast.Constant) and isinstance(item.value, str)
                    }
    return constants


def test_fhir_mapping_doc_documents_every_rule_id_ingestion_raises() -> None:
    # Given the rule ids raised by the readers, mapping, intake and ingest, and the doc's errors table
    raised = rule_ids_in_sources(ingestion_sources(PACKAGE))
    documented = documented_codes(DOC.read_text(encoding="utf-8"))

    # Then the scan found the contract's input codes (it is not vacuous) and each raised id has a row
    assert {"IN-FORMAT", "IN-TENANT", "IN-REF", "IN-REQUIRED", "IN-CODE", "IN-XWALK", "IN-VERSION"} <= raised
    assert sorted(raised - documented) == [], "add these rule ids to the errors table of docs/fhir-mapping.md"


def test_fhir_mapping_doc_errors_table_lists_no_stale_rule_id() -> None:
    # Given the doc's errors table and the rule ids the code raises
    documented = documented_codes(DOC.read_text(encoding="utf-8"))
    raised = rule_ids_in_sources(ingestion_sources(PACKAGE))

    # Then every IN-*/BH-* row names a code that ingestion can still produce
    stale = {code for code in documented if code.startswith(("IN-", "BH-"))} - raised
    assert sorted(stale) == [], "these rule ids are documented but no longer raised"


def test_fhir_mapping_doc_lists_every_code_system_uri() -> None:
    # Given the code-system URI constants of the mapping (codes.py and module-level ones beside it)
    constants = uri_constants(sorted((PACKAGE / "mapping").rglob("*.py")))
    doc = DOC.read_text(encoding="utf-8")

    # Then codes.py's systems were found and every URI appears in the doc
    assert {"codes.py:NPI_SYSTEM", "codes.py:PROCEDURE_SYSTEMS", "codes.py:POS_SYSTEMS"} <= constants.keys()
    missing = sorted(f"{name} {uri}" for name, uris in constants.items() for uri in uris if uri not in doc)
    assert missing == [], "list these code-system URIs in docs/fhir-mapping.md section 4"


def test_fhir_mapping_doc_check_catches_an_undocumented_code(tmp_path: Path) -> None:
    # Given a source raising a new rule id and a doc whose errors table lacks it
    source = tmp_path / "new_rule.py"
    source.write_text('problem("IN-NEWCODE", path, "x")\nwarn(\'BH-NEW-01\', path, "y")\n', encoding="utf-8")
    doc = "\n".join(
        [ERRORS_HEADING, "| Code | Meaning |", "|---|---|", "| `IN-NEWCODE` | new |", "## 10. Next", "| `BH-NEW-01` |"]
    )

    # When the check compares them
    missing = rule_ids_in_sources([source]) - documented_codes(doc)

    # Then the id documented only outside the errors table is reported
    assert missing == {"BH-NEW-01"}


def test_fhir_mapping_doc_check_reads_frozenset_and_string_constants(tmp_path: Path) -> None:
    # Given a codes module with a string system, a frozenset of systems and an unrelated constant
    module = tmp_path / "codes.py"
    module.write_text(
        'A_SYSTEM = "urn:a"\nB_SYSTEMS = frozenset({"urn:b1", "urn:b2"})\nMAX_LINES = 50\n', encoding="utf-8"
    )

    # When the constants are read
    constants = uri_constants([module])

    # Then both URI constants are found with every value, and nothing else
    assert constants == {"codes.py:A_SYSTEM": {"urn:a"}, "codes.py:B_SYSTEMS": {"urn:b1", "urn:b2"}}
