"""Synthetic FHIR Bundles for the intake/mapping tests: the contract section 12 example, changed one fact at a time."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from claimbridge.intake import IntakeResult, intake_bundle
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, load_tenant_config

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLES = REPO_ROOT / "events" / "bundles"

# The fake PHI of the example bundles: it must never appear in a finding or an error message.
PHI_VALUES = (
    "TESTPATIENT", "ALEX", "W123456789", "1990-04-02", "45 ELM ST", "SAMPLEPATIENT", "KIDTEST", "7QX4RT2NN18",
    "COBPATIENT", "CMX55501234", "MCD00987654", "88 OAK AVE", "1985-07-19",
)  # fmt: skip

CPT = "http://www.ama-assn.org/go/cpt"
NPI = "http://hl7.org/fhir/sid/us-npi"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"

Json = dict[str, Any]


@cache
def demo_tenant() -> TenantConfig:
    return load_tenant_config(DEMO_TENANT_FILE)


def example(name: str = "telehealth-90837-home.json") -> Json:
    """A fresh copy of an example bundle from events/bundles."""
    return copy.deepcopy(_load(name))


@cache
def _load(name: str) -> Json:
    data: Json = json.loads((BUNDLES / name).read_text(encoding="utf-8"))
    return data


def entries(bundle: Json, resource_type: str) -> Iterator[Json]:
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == resource_type:
            yield entry


def resource(bundle: Json, resource_type: str, index: int = 0) -> Json:
    """The ``index``-th resource of that type (mutable: change it in place)."""
    found: Json = list(entries(bundle, resource_type))[index]["resource"]
    return found


def claim(bundle: Json) -> Json:
    return resource(bundle, "Claim")


def item(bundle: Json, index: int = 0) -> Json:
    found: Json = claim(bundle)["item"][index]
    return found


def drop(bundle: Json, resource_type: str) -> None:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != resource_type]


def add(bundle: Json, res: Json, full_url: str | None = None) -> None:
    entry: Json = {"resource": res}
    if full_url is not None:
        entry["fullUrl"] = full_url
    bundle["entry"].append(entry)


def coding(system: str, code: str) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def to_bytes(bundle: Json) -> bytes:
    return json.dumps(bundle).encode()


def run_intake(bundle: Json, tenant: TenantConfig | None = None) -> IntakeResult:
    return intake_bundle(to_bytes(bundle), file_name="test-bundle.json", tenant=tenant or demo_tenant())


def findings_text(result: IntakeResult) -> str:
    """Every finding of a result as one string, for PHI assertions."""
    findings = [f for c in result.claims for f in c.findings] + [f for r in result.rejected for f in r.findings]
    return "\n".join(f.model_dump_json() for f in findings)
