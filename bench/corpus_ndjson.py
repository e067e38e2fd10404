"""A large NDJSON submission built from the Synthea bulk-export corpus, for the ingestion benchmarks.

The corpus (``../shared/corpus/synthea/bulk-ndjson-10-patients``, 13 patients, about 4 MiB) is repeated until the file
reaches the size asked for. Its resources fall in two groups:

* the directory (Organization, Location, Practitioner, PractitionerRole): written once. Synthea references them only by
  identifier search (``Practitioner?identifier=...|<npi>``, ``Location?identifier=...``), which may stay as is only if
  each identifier exists once in the submission;
* per patient (Patient, Encounter, Condition, Procedure): repeated per copy. Every id of the patient's resources gets a
  copy suffix (``-c0007``) wherever it occurs: the ``id``, the references to it (``Patient/<id>``,
  ``Encounter/<id>``, ``Condition/<id>``, ``urn:uuid:<id>``) and identifier values equal to it (Synthea's and the MRN),
  so each copy is a distinct set of patients and encounters whose references resolve within the copy.

Synthea sends no Coverage; each Patient copy gets one (``relationship`` self, payor = a payer Organization with
``urn:claimbridge:payer-id|CMA01``, COMM-A in the demo tenant), so Encounter anchors get past payer selection.

The file is written as it is generated (one patient of one copy at a time); only the 4 MiB corpus is held in memory.
Run ``python -m bench.corpus_ndjson --size-mb 10 --out FILE`` to write one by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_ROOT = REPO_ROOT.parent / "shared" / "corpus"
BULK_EXPORT = "synthea/bulk-ndjson-10-patients"
MIB = 1024 * 1024

DIRECTORY_TYPES = ("Organization", "Location", "Practitioner", "PractitionerRole")
PATIENT_TYPES = ("Patient", "Encounter", "Condition", "Procedure")
PAYER_SYSTEM = "urn:claimbridge:payer-id"
PAYER_VALUE = "CMA01"  # demo-practice.json: payer COMM-A
PAYER_ORGANIZATION_ID = "bench-payer-cma01"
RELATIONSHIP_SYSTEM = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"

# JSON text never holds a raw U+0000 (it must be escaped), so it can mark where a copy's suffix goes.
_MARK = "\x00"
_MARK_BYTES = _MARK.encode("ascii")
_ID_TOKEN = re.compile(r"[A-Za-z0-9.\-]+")


class CorpusMissing(Exception):
    """The shared corpus is not on this machine (benchmarks and tests skip)."""


@dataclass(frozen=True)
class PatientGroup:
    """One corpus patient's resources as NDJSON text with ``_MARK`` after every id to rewrite per copy."""

    patient_id: str
    template: bytes  # UTF-8 lines, each ending in "\n"
    resources: int

    def text(self, copy: int) -> bytes:
        """This patient's NDJSON lines in copy ``copy``."""
        return self.template.replace(_MARK_BYTES, copy_suffix(copy).encode("ascii"))


@dataclass(frozen=True)
class Corpus:
    """The bulk export, split into what is written once and what is repeated per copy."""

    directory: bytes  # NDJSON lines, written once
    directory_resources: int
    patients: tuple[PatientGroup, ...]


@dataclass(frozen=True)
class GeneratedSubmission:
    """What ``write_submission`` wrote."""

    path: Path
    size_bytes: int
    copies: int  # copies started (the last one may stop at a patient boundary)
    patients: int  # Patient resources written
    resources: int  # NDJSON lines written


def corpus_export_dir(corpus_root: Path = CORPUS_ROOT) -> Path:
    """The Synthea bulk export folder; ``CorpusMissing`` when the shared corpus is absent."""
    folder = corpus_root / BULK_EXPORT
    if not folder.is_dir():
        raise CorpusMissing(f"{folder} is not present")
    return folder


def _resource_lines(folder: Path, resource_type: str) -> Iterator[tuple[str, dict[str, object]]]:
    for path in sorted(folder.glob(f"{resource_type}.*.ndjson")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                text = line.strip()
                if text:
                    yield text, json.loads(text)


def _owner(resource: dict[str, object]) -> str:
    """The patient id a per-patient resource belongs to (its ``subject``, or itself for a Patient)."""
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        raise ValueError(f"{resource['resourceType']}/{resource.get('id')}: subject is not a Patient/<id> reference")
    return reference.removeprefix("Patient/")


def load_corpus(folder: Path) -> Corpus:
    """Read the bulk export (``log.ndjson`` and types not listed above are ignored) and prepare the templates."""
    directory = [text for resource_type in DIRECTORY_TYPES for text, _ in _resource_lines(folder, resource_type)]
    directory.append(
        json.dumps(
            {
                "resourceType": "Organization",
                "id": PAYER_ORGANIZATION_ID,
                "active": True,
                "name": "COMMERCIAL PLAN A",
                "identifier": [{"system": PAYER_SYSTEM, "value": PAYER_VALUE}],
            },
            separators=(",", ":"),
        )
    )
    grouped: dict[str, list[str]] = {}
    ids: dict[str, set[str]] = {}
    for resource_type in PATIENT_TYPES:
        for text, resource in _resource_lines(folder, resource_type):
            owner = _owner(resource)
            grouped.setdefault(owner, []).append(text)
            ids.setdefault(owner, set()).add(str(resource["id"]))
    patients = []
    for owner, lines in grouped.items():
        own_ids = ids[owner]

        def mark(found: re.Match[str], own_ids: set[str] = own_ids) -> str:
            token = found.group(0)
            return token + _MARK if token in own_ids else token

        marked = [_ID_TOKEN.sub(mark, line) for line in lines]
        marked.insert(1, _coverage_template(owner))  # after the Patient
        template = "".join(f"{line}\n" for line in marked).encode("utf-8")
        patients.append(PatientGroup(patient_id=owner, template=template, resources=len(marked)))
    return Corpus(
        directory="".join(f"{line}\n" for line in directory).encode("utf-8"),
        directory_resources=len(directory),
        patients=tuple(patients),
    )


def _coverage_template(patient_id: str) -> str:
    """A Coverage of the patient (ids marked for the copy suffix; the member id is per copy too)."""
    coverage = {
        "resourceType": "Coverage",
        "id": f"bench-cov-{patient_id}",
        "status": "active",
        "subscriberId": "BENCH",
        "beneficiary": {"reference": f"Patient/{patient_id}"},
        "relationship": {"coding": [{"system": RELATIONSHIP_SYSTEM, "code": "self"}]},
        "payor": [{"reference": f"Organization/{PAYER_ORGANIZATION_ID}"}],
    }
    return (
        json.dumps(coverage, separators=(",", ":"))
        .replace(f"{patient_id}", f"{patient_id}{_MARK}")
        .replace('"BENCH"', f'"BENCH{_MARK}"')
    )


def copy_suffix(copy: int) -> str:
    """The suffix every per-patient id gets in copy ``copy`` (``-c0007``)."""
    return f"-c{copy:04d}"


def write_submission(
    path: Path,
    corpus: Corpus,
    *,
    target_bytes: int | None = None,
    copies: int | None = None,
    patients_per_copy: int | None = None,
) -> GeneratedSubmission:
    """Write an NDJSON submission of about ``target_bytes`` (or exactly ``copies`` copies) to ``path``.

    Parameters
    ----------
    path
        The file to write (overwritten).
    corpus
        From ``load_corpus``.
    target_bytes
        Stop at the first patient boundary at or past this size.
    copies
        Write this many whole copies (with ``target_bytes``: whichever comes first).
    patients_per_copy
        Use only the smallest N corpus patients per copy (tiny submissions for tests); all 13 by default.

    Returns
    -------
    GeneratedSubmission
        Its size and what it holds.
    """
    if target_bytes is None and copies is None:
        raise ValueError("give target_bytes or copies")
    # Smallest patients first: the last copy then stops close to the target.
    groups = sorted(corpus.patients, key=lambda group: len(group.template))[:patients_per_copy]
    written = patients = resources = copy = 0
    with path.open("wb") as out:
        written += out.write(corpus.directory)
        resources += corpus.directory_resources
        while (copies is None or copy < copies) and (target_bytes is None or written < target_bytes):
            for group in groups:
                written += out.write(group.text(copy))
                patients += 1
                resources += group.resources
                if target_bytes is not None and written >= target_bytes:
                    break
            copy += 1
    return GeneratedSubmission(
        path=path, size_bytes=path.stat().st_size, copies=copy, patients=patients, resources=resources
    )


def main(argv: list[str] | None = None) -> int:
    """Write one submission by hand; exit 0 with a message when the corpus is absent."""
    parser = argparse.ArgumentParser(prog="python -m bench.corpus_ndjson", description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, required=True, help="target size in MiB")
    parser.add_argument("--out", type=Path, required=True, help="the NDJSON file to write")
    args = parser.parse_args(argv)
    try:
        folder = corpus_export_dir()
    except CorpusMissing as exc:
        print(f"skipped: the Synthea corpus is absent ({exc})")
        return 0
    made = write_submission(args.out, load_corpus(folder), target_bytes=int(args.size_mb * MIB))
    print(
        f"{made.path}: {made.size_bytes / MIB:.1f} MiB, {made.resources} resources, "
        f"{made.patients} patients in {made.copies} copies"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
