"""claimbridge convert on NDJSON files and bulk-export folders: the same intake as the pipeline, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claimbridge.cli import main
from claimbridge.x12.validate import validate_837p
from tests.support.ndjson import bulk_files, bundle_resources, manifest, ndjson
from tests.unit.fhir_builders import PHI_VALUES, example

pytestmark = pytest.mark.unit


def _convert(tmp_path: Path, *paths: Path) -> tuple[int, dict[str, Any], Path]:
    out = tmp_path / "out"
    code = main(
        [
            "convert",
            *map(str, paths),
            "--out",
            str(out),
            "--state-dir",
            str(tmp_path / "state"),
            "--as-of",
            "2026-03-10",
        ]
    )
    return code, json.loads((out / "findings.json").read_text()), out


def test_cli_convert_bulk_folder_resolves_references_across_its_files(tmp_path: Path) -> None:
    # Given the example exported as one NDJSON file per type plus the manifest, in one folder
    folder = tmp_path / "export"
    folder.mkdir()
    files = bulk_files(bundle_resources(example()))
    for name, body in files.items():
        (folder / name).write_bytes(body)
    (folder / "manifest.json").write_bytes(manifest(files))

    # When the folder is converted
    code, findings, out = _convert(tmp_path, folder)

    # Then the claim is READY and written into a pyx12-clean interchange
    assert code == 0
    assert findings["summary"]["ready"] == 1
    (interchange,) = out.glob("*.x12")
    assert validate_837p(interchange.read_text(encoding="ascii")) == []


def test_cli_convert_ndjson_with_a_bad_line_writes_the_claim_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an NDJSON file whose second line is not JSON
    lines = ndjson(bundle_resources(example())).decode().splitlines()
    lines.insert(1, "{broken TESTPATIENT")
    path = tmp_path / "visit.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # When it is converted
    code, findings, out = _convert(tmp_path, path)

    # Then the claim is still written, the line is reported by file:line without its content, and the exit is 1
    assert code == 1
    assert findings["summary"]["ready"] == 1
    assert findings["summary"]["lines_rejected"] == 1
    (entry,) = findings["files"]
    assert entry["line_errors"][0]["fhir_path"] == f"{path}:2"
    assert entry["line_errors"][0]["rule_id"] == "IN-FORMAT"
    assert len(list(out.glob("*.x12"))) == 1
    captured = capsys.readouterr()
    for value in PHI_VALUES:
        assert value not in captured.err + json.dumps(findings["files"])


def test_cli_convert_bulk_folder_without_a_listed_file_is_unreadable(tmp_path: Path) -> None:
    # Given a manifest listing a Patient file that is not in the folder
    folder = tmp_path / "export"
    folder.mkdir()
    files = bulk_files(bundle_resources(example()))
    for name, body in files.items():
        if not name.startswith("Patient"):
            (folder / name).write_bytes(body)
    (folder / "manifest.json").write_bytes(manifest(files))

    # When it is converted
    code, findings, _ = _convert(tmp_path, folder)

    # Then the whole set is unreadable (exit 2), naming the manifest entry
    assert code == 2
    (entry,) = findings["files"]
    assert entry["error"]["rule_id"] == "IN-FORMAT"
    assert "manifest.json:output[" in entry["error"]["fhir_path"]
