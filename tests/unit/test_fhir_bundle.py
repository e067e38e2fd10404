"""claimbridge.fhir.load_bundle: readable Bundles become located entries; anything else is IN-FORMAT naming the file."""

from __future__ import annotations

import gzip
import json

import pytest

from claimbridge.errors import FileFormatError
from claimbridge.fhir import load_bundle, validation_problems
from tests.unit.fhir_builders import example, to_bytes

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("bundle_type", ["collection", "transaction", "batch", "searchset", "document"])
def test_load_bundle_accepts_every_supported_type(bundle_type: str) -> None:
    # Given the example bundle relabelled with a supported type
    bundle = example()
    bundle["type"] = bundle_type
    # When it is loaded
    submission = load_bundle(to_bytes(bundle), file_name="b.json")
    # Then every entry is indexed with its path
    assert submission.meta("bundle_type") == bundle_type
    assert len(list(submission.entries())) == 8
    assert list(submission.entries())[7].path == "Bundle.entry[7].resource(Claim/clm-1)"


def test_load_bundle_reads_gzip() -> None:
    # Given a gzip-compressed bundle
    raw = gzip.compress(to_bytes(example()))
    # When it is loaded
    submission = load_bundle(raw, file_name="b.json.gz")
    # Then it reads like the plain file
    assert [e.resource_type for e in submission.entries()][-1] == "Claim"


@pytest.mark.parametrize(
    ("raw", "path_part", "message_part"),
    [
        (b"{not json", "in.json", "not valid JSON"),
        (b"\x1f\x8b\x08garbage", "in.json", "gzip"),
        (json.dumps({"resourceType": "Patient", "id": "p"}).encode(), "in.json", "found a Patient resource"),
        (b"[1, 2]", "in.json", "not a FHIR resource"),
        (json.dumps({"resourceType": "Bundle", "type": "history"}).encode(), "in.json:Bundle.type", "Bundle.type"),
        (json.dumps({"resourceType": "Bundle"}).encode(), "in.json:Bundle.type", "Bundle.type"),
        (
            json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": 5}]}).encode(),
            "in.json:Bundle.entry[0].fullUrl",
            "envelope",
        ),
        (
            json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]}).encode(),
            "in.json:Bundle.entry[0].resource",
            "not a FHIR resource",
        ),
    ],
)
def test_load_bundle_rejects_unreadable_files_with_in_format(raw: bytes, path_part: str, message_part: str) -> None:
    # Given a file that is not a readable Bundle
    # When it is loaded
    with pytest.raises(FileFormatError) as caught:
        load_bundle(raw, file_name="in.json")
    # Then the error is IN-FORMAT, names the file and says why
    assert caught.value.in_code == "IN-FORMAT"
    assert caught.value.fhir_path.startswith(path_part)
    assert message_part in caught.value.message


def test_load_bundle_skips_entries_without_resource_and_search_outcomes() -> None:
    # Given a searchset with a resource-less entry and an OperationOutcome in search mode outcome
    bundle = example()
    bundle["type"] = "searchset"
    bundle["entry"].insert(0, {"fullUrl": "urn:uuid:0b6b1c1e-0000-4000-8000-0000000000aa"})
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "warning", "code": "informational"}],
            },
            "search": {"mode": "outcome"},
        }
    )
    # When it is loaded
    submission = load_bundle(to_bytes(bundle), file_name="b.json")
    # Then only the eight real resources remain, keeping their original entry index in the path
    assert len(list(submission.entries())) == 8
    assert next(iter(submission.entries())).path == "Bundle.entry[1].resource(Patient/pat-1)"


def test_validation_problems_ignores_missing_mandatory_elements_but_reports_bad_values() -> None:
    # Given a Claim without priority (R4-mandatory, unused) and with a malformed decimal and date
    claim = example()["entry"][7]["resource"]
    del claim["priority"]
    claim["item"][0]["net"]["value"] = "lots"
    claim["item"][0]["servicedDate"] = "2026-13-45"
    # When it is validated against the R4B model
    problems = validation_problems(claim, "X(Claim/clm-1)")
    # Then the missing element is tolerated and both bad values are reported by path, without the values
    paths = sorted(path for path, _kind in problems)
    assert paths == ["X(Claim/clm-1).item[0].net.value", "X(Claim/clm-1).item[0].servicedDate"]
    assert all("lots" not in kind for _path, kind in problems)
