"""bench.corpus_ndjson: the benchmark's NDJSON submissions repeat the Synthea corpus as distinct, resolvable copies.

Only what the file holds is checked here; how fast or how lean ingesting it is, ``make bench`` prints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.corpus_ndjson import (
    PAYER_ORGANIZATION_ID,
    Corpus,
    copy_suffix,
    corpus_export_dir,
    load_corpus,
    write_submission,
)
from claimbridge.fhir import Resolver, read_submission
from claimbridge.intake import AnchorScan
from tests.unit.fhir_builders import demo_tenant

pytestmark = pytest.mark.unit

_LITERAL_REFERENCE = re.compile(r'"reference":"(Patient|Encounter|Condition)/([^"]+)"')


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path) -> Corpus:
    return load_corpus(corpus_export_dir(corpus_dir))


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_write_submission_gives_every_copy_its_own_ids(corpus: Corpus, tmp_path: Path) -> None:
    # Given two copies of the smallest corpus patient
    path = tmp_path / "export.ndjson"
    # When the submission is written
    made = write_submission(path, corpus, copies=2, patients_per_copy=1)
    # Then no (type, id) repeats, each copy has its own Patient with a Coverage, and the directory is there once
    resources = _lines(path)
    keys = [(str(resource["resourceType"]), str(resource["id"])) for resource in resources]
    assert len(keys) == len(set(keys)) == made.resources
    assert (made.copies, made.patients, made.size_bytes) == (2, 2, path.stat().st_size)
    patients = [rid for kind, rid in keys if kind == "Patient"]
    assert [rid[-6:] for rid in patients] == [copy_suffix(0), copy_suffix(1)]
    assert patients[0].removesuffix(copy_suffix(0)) == patients[1].removesuffix(copy_suffix(1))
    beneficiaries = [
        resource["beneficiary"] for resource in resources if resource["resourceType"] == "Coverage"
    ]  # fmt: skip
    assert beneficiaries == [{"reference": f"Patient/{rid}"} for rid in patients]
    assert keys.count(("Organization", PAYER_ORGANIZATION_ID)) == 1


def test_write_submission_keeps_every_literal_reference_inside_its_copy(corpus: Corpus, tmp_path: Path) -> None:
    # Given two copies of the two smallest patients
    path = tmp_path / "export.ndjson"
    write_submission(path, corpus, copies=2, patients_per_copy=2)
    # When the literal references of each per-patient line are read
    ids = {(str(r["resourceType"]), str(r["id"])) for r in _lines(path)}
    checked = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        own = re.search(r"-c\d{4}\"", line)
        for kind, rid in _LITERAL_REFERENCE.findall(line):
            # Then each names a resource of the file, of the same copy as the line
            assert (kind, rid) in ids
            assert own is not None and rid.endswith(own.group(0)[:-1])
            checked += 1
    assert checked > 0


def test_write_submission_stops_at_the_first_patient_past_the_target(corpus: Corpus, tmp_path: Path) -> None:
    # Given a target just past the directory and the first patient
    path = tmp_path / "export.ndjson"
    target = len(corpus.directory) + 1
    largest = max(len(group.text(0)) for group in corpus.patients)
    # When it is written
    made = write_submission(path, corpus, target_bytes=target)
    # Then it is at least that big, and less than one more patient bigger
    assert target <= made.size_bytes < target + largest
    assert made.patients == 1


def test_read_submission_finds_the_anchors_of_both_copies(corpus: Corpus, tmp_path: Path) -> None:
    # Given two copies of the smallest corpus patient, ingested as one NDJSON submission
    path = tmp_path / "export.ndjson"
    write_submission(path, corpus, copies=2, patients_per_copy=1)
    tenant = demo_tenant()
    with path.open("rb") as stream, read_submission(stream, file_name="export.ndjson") as index:
        # When the anchors are scanned
        rows = list(AnchorScan(index, tenant))
        anchors = [index.located(row) for row in rows]
        subjects = [
            Resolver(index).resolve(anchor.resource["subject"], source=anchor, path=anchor.at("subject"))
            for anchor in anchors
        ]
    # Then both copies give the same Encounter anchors, each about its own copy's Patient
    by_copy = {
        copy: sorted(a.id.removesuffix(copy_suffix(copy)) for a in anchors if a.id and a.id.endswith(copy_suffix(copy)))
        for copy in (0, 1)
    }
    assert by_copy[0]
    assert by_copy[0] == by_copy[1]
    assert len(anchors) == 2 * len(by_copy[0])
    assert {anchor.resource_type for anchor in anchors} == {"Encounter"}
    for anchor, subject in zip(anchors, subjects, strict=True):
        assert subject.resource_type == "Patient"
        assert subject.id is not None and anchor.id is not None
        assert subject.id[-6:] == anchor.id[-6:]
