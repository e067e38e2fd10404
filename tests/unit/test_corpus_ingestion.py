"""Every Claim and Encounter anchor of the third-party corpus through the domain core (issue 3, item 8).

Submissions, as an EHR would send them:
* each IG folder of ../shared/corpus/fhir (HL7 R4 core, US Core, CARIN BB, Da Vinci PAS): its single-resource files
  as one NDJSON export (references resolve across them), and each Bundle file on its own;
* each Synthea patient Bundle, and the Synthea bulk export (NDJSON per type) as one bulk set with a manifest.

Synthea data is then sent a second time "as a practice's EHR would have it" (contract section 9 says tests must add
what Synthea lacks): a Coverage per patient for the demo payer, ICD-10-CM codings beside the SNOMED CT ones for the
conditions in ``ICD10_FOR_SNOMED``, the roster NPI for its (check-digit-failing) practitioners, crosswalk rows for
its screening procedures and fees for the crosswalked codes.

Counted per corpus: anchors, pyx12-clean 837P claims, held claims with their rule ids, rejected sources with theirs,
skipped resources. Asserted: no crash, no generic error (every error names a specific IN-*/BH-* rule and a FHIR
path), every READY claim written into a pyx12-clean 837P, and the augmented Synthea data produces clean claims.
The test skips when ../shared/corpus is absent.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from claimbridge.fhir import SubmissionIndex, read_bulk_set, read_submission
from claimbridge.intake import IntakeResult, intake_submission
from claimbridge.tenants import TenantConfig
from claimbridge.validators import npi_is_valid
from claimbridge.x12.validate import validate_837p
from claimbridge.x12.writer import InterchangeControl, write_837p
from tests.support.ndjson import manifest, ndjson
from tests.unit.fhir_builders import demo_tenant, tenant_with

pytestmark = pytest.mark.unit

Json = dict[str, Any]
SPECIFIC_RULE = re.compile(r"^(IN-[A-Z]+|BH-[A-Z]+-[0-9]{2})$")
GENERIC_MESSAGES = ("mapped value does not fit",)
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
# ICD-10-CM codes a practice's EHR would have sent beside Synthea's SNOMED CT conditions (common ones only).
ICD10_FOR_SNOMED = {
    "73595000": "Z73.3",  # stress
    "422650009": "Z60.2",  # social isolation (problems related to living alone)
    "423315002": "Z60.4",  # limited social contact (social exclusion)
    "706893006": "Z69.11",  # victim of intimate partner abuse
    "195662009": "J02.9",  # acute viral pharyngitis
    "444814009": "J01.90",  # viral sinusitis
    "10509002": "J20.9",  # acute bronchitis
    "15777000": "R73.03",  # prediabetes
    "59621000": "I10",  # essential hypertension
    "271737000": "D64.9",  # anemia
    "55822004": "E78.5",  # hyperlipidemia
    "35489007": "F32.A",  # depressive disorder
    "370143000": "F32.9",  # major depressive disorder
}
SCREENING_CROSSWALK = [
    {"snomed": "171207006", "cpt": "96127"},  # depression screening
    {"snomed": "454711000124102", "cpt": "96127"},  # PHQ-2
    {"snomed": "868187001", "cpt": "96127"},  # CRAFFT
    {"snomed": "428211000124100", "cpt": "H0049"},  # assessment of substance use
    {"snomed": "713106006", "cpt": "H0049"},  # screening for drug abuse
    {"snomed": "763302001", "cpt": "H0049"},  # AUDIT-C
]


@dataclass
class Tally:
    """Counts for one corpus."""

    submissions: int = 0
    anchors: int = 0
    clean_claims: int = 0
    held: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    unreadable: Counter[str] = field(default_factory=Counter)

    withdrawn: int = 0

    def row(self, name: str) -> str:
        return (
            f"{name:<34} {self.submissions:>4} {self.anchors:>7} {self.clean_claims:>6} {self.held['_claims']:>5} "
            f"{self.rejected['_claims']:>8} {self.skipped:>7}  "
            f"held by: {_top(self.held)}  rejected by: {_top(self.rejected)}"
        )


def _top(counter: Counter[str]) -> str:
    return ", ".join(f"{rule} {count}" for rule, count in counter.most_common() if rule != "_claims") or "-"


def _check_and_count(result: IntakeResult, tally: Tally, tenant: TenantConfig) -> None:
    """Assert no generic error, then write every READY claim into one 837P per payer and validate it with pyx12."""
    tally.submissions += 1
    tally.skipped += result.skipped
    tally.anchors += len(result.claims) + len(result.rejected) + len(result.withdrawn)
    tally.withdrawn += len(result.withdrawn)
    for rejected in result.rejected:
        errors = [f for f in rejected.findings if f.severity == "error"]
        assert errors, rejected.source_key
        _assert_specific(errors)
        tally.rejected["_claims"] += 1
        tally.rejected.update({f.rule_id for f in errors})
    ready = []
    for mapped in result.claims:
        if mapped.held:
            errors = [f for f in mapped.findings if f.severity == "error"]
            _assert_specific(errors)
            tally.held["_claims"] += 1
            tally.held.update({f.rule_id for f in errors})
        else:
            ready.append(mapped.claim)
    by_payer: dict[str, list[Any]] = {}
    for claim in ready:
        by_payer.setdefault(claim.payer.key, []).append(claim)
    for number, claims in enumerate(by_payer.values(), start=1):
        control = InterchangeControl(interchange_number=number, group_number=number)
        interchange = write_837p(claims, tenant=tenant, control=control, created=datetime(2026, 3, 10, tzinfo=UTC))
        assert validate_837p(interchange) == []
        tally.clean_claims += len(claims)


def _assert_specific(errors: list[Any]) -> None:
    for finding in errors:
        assert SPECIFIC_RULE.match(finding.rule_id), finding.rule_id
        assert finding.fhir_path, finding.rule_id
        assert not finding.message.startswith(GENERIC_MESSAGES), (finding.rule_id, finding.fhir_path)


def _run(index: SubmissionIndex, tally: Tally, tenant: TenantConfig) -> None:
    with index:
        _check_and_count(intake_submission(index, tenant=tenant), tally, tenant)


def _fhir_submissions(folder: Path, tmp: Path) -> Iterator[tuple[str, SubmissionIndex]]:
    """The IG folder's Bundles one by one, and its single resources as one NDJSON export."""
    resources: list[Json] = []
    for path in sorted(folder.rglob("*.json")):
        if path.name == "package.json":
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("resourceType") == "Bundle":
            with path.open("rb") as stream:
                yield path.name, read_submission(stream, file_name=path.name)
        elif isinstance(document.get("resourceType"), str):
            resources.append(document)
    export = tmp / f"{folder.name}.ndjson"
    export.write_bytes(ndjson(resources))
    with export.open("rb") as stream:
        yield export.name, read_submission(stream, file_name=export.name)


# --- Synthea, as a practice's EHR would have sent it ------------------------------------------------------------
_SYNTHEA_NPI = re.compile(r"\b9999[0-9]{6}\b")
# Synthea links no Condition to most visits; the practice's EHR would send the visit's diagnosis: Z00.x for check-ups,
# else "screening for other mental health and behavioral disorders" (the visits that bill here are BH screenings).
SCREENING_DIAGNOSIS = "Z13.39"
_CHECKUP_TYPES = {"162673000": "Z00.00", "185349003": "Z00.00", "410620009": "Z00.129"}  # exam, check up, well child


def valid_npi(synthea_npi: str) -> str:
    """A distinct NPI that passes the check digit (BH-NPI-01) for a Synthea ``9999…`` one: ``1`` + its digits 2-9."""
    base = "1" + synthea_npi[1:9]
    total = 24  # Luhn contribution of the 80840 prefix
    for position, char in enumerate(reversed(base)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return base + str((10 - total % 10) % 10)


def _augment(resource: Json) -> list[Json]:
    """The resource as a practice's EHR would have sent it, plus a Coverage after each Patient and an encounter
    diagnosis for each visit."""
    resource = json.loads(_SYNTHEA_NPI.sub(lambda match: valid_npi(match.group(0)), json.dumps(resource)))
    kind = resource.get("resourceType")
    if kind == "Practitioner":  # older Synthea bundles carry NPIs like "460"
        for ident in resource.get("identifier", []):
            if ident.get("system") == "http://hl7.org/fhir/sid/us-npi" and not npi_is_valid(ident.get("value", "")):
                ident["value"] = valid_npi("9" + ident["value"].zfill(9)[-9:])
    if kind == "Condition":
        snomed = next((c["code"] for c in resource.get("code", {}).get("coding", []) if c.get("system") == SNOMED), "")
        if snomed in ICD10_FOR_SNOMED:
            resource["code"]["coding"].append({"system": ICD10, "code": ICD10_FOR_SNOMED[snomed]})
    if kind == "Encounter":
        codes = [c.get("code") for t in resource.get("type", []) for c in t.get("coding", [])]
        icd10 = next((_CHECKUP_TYPES[code] for code in codes if code in _CHECKUP_TYPES), SCREENING_DIAGNOSIS)
        if icd10:
            diagnosis = {
                "resourceType": "Condition",
                "id": f"dx-{resource['id']}",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": "encounter-diagnosis",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": ICD10, "code": icd10}]},
                "subject": resource["subject"],
                "encounter": {"reference": f"Encounter/{resource['id']}"},
            }
            return [resource, diagnosis]
    if kind == "Patient":
        coverage = {
            "resourceType": "Coverage",
            "id": f"cov-{resource['id']}",
            "status": "active",
            "subscriberId": "M" + resource["id"].replace("-", "")[:12].upper(),
            "beneficiary": {"reference": f"Patient/{resource['id']}"},
            "relationship": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self"}]
            },
            "payor": [{"reference": "Organization/augmented-payer-comm-a"}],
        }
        return [resource, coverage]
    return [resource]


PAYER = {
    "resourceType": "Organization",
    "id": "augmented-payer-comm-a",
    "name": "COMMERCIAL PLAN A",
    "identifier": [{"system": "urn:claimbridge:payer-id", "value": "CMA01"}],
}


def _augmented_tenant(not_billable: set[str]) -> TenantConfig:
    """The demo tenant with the screening crosswalk, fees, and ``cpt: null`` rows for Synthea's other procedures."""

    def change(document: Json) -> None:
        document["crosswalks"]["snomed_to_cpt"].extend(SCREENING_CROSSWALK)
        known = {row["snomed"] for row in document["crosswalks"]["snomed_to_cpt"]}
        document["crosswalks"]["snomed_to_cpt"].extend(
            {"snomed": code, "cpt": None}
            for code in sorted(not_billable)
            if code not in known and re.fullmatch(r"[0-9]{6,18}", code)
        )
        document["defaults"].setdefault("fee_schedule", {}).update({"96127": 25.00, "H0049": 30.00})

    return tenant_with(change)


def _synthea_procedure_codes(corpus: Path) -> set[str]:
    """Every non-screening SNOMED CT procedure code in the corpus: billable elsewhere, not by this practice."""
    screening = {row["snomed"] for row in SCREENING_CROSSWALK}
    codes: set[str] = set()
    for path in corpus.glob("synthea/bulk-ndjson-10-patients/Procedure.*.ndjson"):
        for line in path.read_text(encoding="utf-8").splitlines():
            for coding in json.loads(line).get("code", {}).get("coding", []):
                if coding.get("system") == SNOMED and coding["code"] not in screening:
                    codes.add(coding["code"])
    for path in corpus.glob("synthea/bundles/*.json"):
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Procedure":
                for coding in resource.get("code", {}).get("coding", []):
                    if coding.get("system") == SNOMED and coding["code"] not in screening:
                        codes.add(coding["code"])
    return codes


def _synthea_bundle(path: Path, *, augmented: bool) -> bytes:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    if augmented:
        entries = []
        for entry in bundle["entry"]:
            for position, resource in enumerate(_augment(entry["resource"])):
                full_url = entry["fullUrl"] if position == 0 else f"urn:uuid:{resource['id']}"
                entries.append({**entry, "fullUrl": full_url, "resource": resource})
        entries.append({"fullUrl": "urn:uuid:augmented-payer-comm-a", "resource": PAYER})
        bundle["entry"] = entries
    return json.dumps(bundle).encode()


def _synthea_bulk(corpus: Path, tmp: Path, *, augmented: bool) -> SubmissionIndex:
    folder = tmp / ("bulk-augmented" if augmented else "bulk")
    folder.mkdir()
    files: dict[str, bytes] = {}
    for path in sorted((corpus / "synthea/bulk-ndjson-10-patients").glob("*.ndjson")):
        if path.name == "log.ndjson":
            continue
        if augmented:
            resources = [
                r for line in path.read_text(encoding="utf-8").splitlines() for r in _augment(json.loads(line))
            ]
            if path.name.startswith("Organization"):
                resources.append(PAYER)
            body = ndjson(resources)
        else:
            body = path.read_bytes()
        (folder / path.name).write_bytes(body)
        files[path.name] = body
    (folder / "manifest.json").write_bytes(manifest(files))
    return read_bulk_set(
        (folder / "manifest.json").read_bytes(),
        file_name="manifest.json",
        open_file=lambda relative: (folder / relative).open("rb"),
    )


def test_corpus_every_anchor_becomes_a_clean_837p_or_a_specific_finding(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the demo tenant, and the augmented tenant for Synthea as a practice would send it
    tenant = demo_tenant()
    augmented_tenant = _augmented_tenant(_synthea_procedure_codes(corpus_dir))
    tallies: dict[str, Tally] = {}

    # When every corpus submission goes through intake, and READY claims through the 837P writer and pyx12
    for folder in sorted(p for p in (corpus_dir / "fhir").iterdir() if p.is_dir()):
        tally = tallies.setdefault(f"fhir/{folder.name}", Tally())
        for _name, index in _fhir_submissions(folder, tmp_path):
            _run(index, tally, tenant)
    for augmented in (False, True):
        label = "synthea/bundles" + (" (augmented)" if augmented else "")
        tally = tallies.setdefault(label, Tally())
        use = augmented_tenant if augmented else tenant
        for path in sorted((corpus_dir / "synthea/bundles").glob("*.json")):
            _run(read_submission(_synthea_bundle(path, augmented=augmented), file_name=path.name), tally, use)
        label = "synthea/bulk-ndjson" + (" (augmented)" if augmented else "")
        _run(_synthea_bulk(corpus_dir, tmp_path, augmented=augmented), tallies.setdefault(label, Tally()), use)

    # Then the counts are printed, nothing crashed, every error was specific, every 837P was pyx12-clean
    with capsys.disabled():
        sys.stdout.write(
            "\n\ncorpus                             subm anchors  clean  held rejected skipped\n"
            + "\n".join(tally.row(name) for name, tally in tallies.items())
            + "\n"
        )
    assert sum(t.anchors for t in tallies.values()) > 1000
    assert tallies["synthea/bundles (augmented)"].clean_claims > 0
    assert tallies["synthea/bulk-ndjson (augmented)"].clean_claims > 0
    assert all(
        tally.anchors == tally.clean_claims + tally.held["_claims"] + tally.rejected["_claims"] + tally.withdrawn
        for tally in tallies.values()
    )
