"""Synthetic FHIR Bundles for the intake/mapping tests: the contract section 12 example, changed one fact at a time."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from claimbridge.fhir.index import dump_json, load_json
from claimbridge.intake import IntakeResult, intake_bundle
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, load_tenant_config, parse_tenant_config

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
    """JSON bytes; ``Decimal`` values are written as numbers with their digits (``180.00``)."""
    return dump_json(bundle).encode()


def run_intake(bundle: Json, tenant: TenantConfig | None = None) -> IntakeResult:
    return intake_bundle(to_bytes(bundle), file_name="test-bundle.json", tenant=tenant or demo_tenant())


def findings_text(result: IntakeResult) -> str:
    """Every finding of a result as one string, for PHI assertions."""
    findings = [f for c in result.claims for f in c.findings] + [f for r in result.rejected for f in r.findings]
    return "\n".join(f.model_dump_json() for f in findings)


# Encounter-anchored submissions (contract section 2) -------------------------------------------------------------
SNOMED = "http://snomed.info/sct"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
MODALITY_URL = "https://claimbridge.dev/fhir/StructureDefinition/telehealth-modality"
PAYER_ID = "urn:claimbridge:payer-id"
# The demo tenant's clinicians (examples/tenants/demo-practice.json): LCSW, PMHNP.
RIVERA_NPI = "1111111112"
CHEN_NPI = "1987654328"


def urn(n: int) -> str:
    """``urn:uuid`` of the n-th resource of an encounter bundle (fixed, so tests can reference them)."""
    return f"urn:uuid:0b6b1c1e-0000-4000-8000-{n:012d}"


PATIENT_URL, PAYER_URL, COVERAGE_URL, PRACTITIONER_URL, CONDITION_URL, ENCOUNTER_URL = (urn(n) for n in range(1, 7))
PROCEDURE_URL, CHARGE_URL = urn(7), urn(8)


def ref(url: str) -> Json:
    return {"reference": url}


def practitioner(pid: str, npi: str, family: str, given: str = "JORDAN") -> Json:
    return {
        "resourceType": "Practitioner",
        "id": pid,
        "name": [{"family": family, "given": [given]}],
        "identifier": [{"system": NPI, "value": npi}],
    }


def participant(type_code: str, url: str) -> Json:
    return {"type": [coding(PARTICIPATION, type_code)], "individual": ref(url)}


def payer_organization(oid: str = "payer-a", payer_id: str = "CMA01") -> Json:
    return {
        "resourceType": "Organization",
        "id": oid,
        "name": "SOME PAYER",
        "identifier": [{"system": PAYER_ID, "value": payer_id}],
    }


def coverage(cid: str = "cov-1", payer_url: str = PAYER_URL, **extra: Any) -> Json:
    return {
        "resourceType": "Coverage",
        "id": cid,
        "status": "active",
        "subscriberId": "W123456789",
        "beneficiary": ref(PATIENT_URL),
        "payor": [ref(payer_url)],
        "relationship": coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"),
        **extra,
    }


def condition(cid: str = "cond-1", code: str = "F41.1", *, system: str = ICD, **extra: Any) -> Json:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": ref(PATIENT_URL),
        "code": coding(system, code),
        **extra,
    }


def procedure(
    pid: str = "proc-1",
    *,
    code: Json | None = None,
    start: str | None = "2026-03-02T15:00:00-06:00",
    end: str | None = "2026-03-02T15:53:00-06:00",
    performer_url: str | None = PRACTITIONER_URL,
    encounter_url: str = ENCOUNTER_URL,
    status: str = "completed",
) -> Json:
    """A Procedure of the encounter: CPT 90837 performed 53 minutes by RIVERA unless told otherwise."""
    found: Json = {
        "resourceType": "Procedure",
        "id": pid,
        "status": status,
        "subject": ref(PATIENT_URL),
        "encounter": ref(encounter_url),
        "code": code if code is not None else coding(CPT, "90837"),
    }
    if start is not None:
        found["performedPeriod"] = {"start": start} | ({"end": end} if end else {})
    if performer_url is not None:
        found["performer"] = [{"actor": ref(performer_url)}]
    return found


def charge_item(
    cid: str = "chg-1",
    *,
    code: str = "90837",
    price: str = "180.00",
    quantity: int | None = 1,
    service_url: str | None = PROCEDURE_URL,
    context_url: str | None = ENCOUNTER_URL,
    **extra: Any,
) -> Json:
    """A billable ChargeItem; ``price`` is written as a JSON number with exactly those digits (see ``to_bytes``)."""
    found: Json = {
        "resourceType": "ChargeItem",
        "id": cid,
        "status": "billable",
        "code": coding(CPT, code),
        "subject": ref(PATIENT_URL),
        "priceOverride": {"value": Decimal(price), "currency": "USD"},
        **extra,
    }
    if quantity is not None:
        found["quantity"] = {"value": quantity}
    if service_url is not None:
        found["service"] = [ref(service_url)]
    if context_url is not None:
        found["context"] = ref(context_url)
    return found


def encounter(eid: str = "enc-1", **extra: Any) -> Json:
    """A finished in-office encounter of 55 minutes, RIVERA as primary performer, F41.1 ranked first."""
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB"},
        "subject": ref(PATIENT_URL),
        "period": {"start": "2026-03-02T15:00:00-06:00", "end": "2026-03-02T15:55:00-06:00"},
        "participant": [participant("PPRF", PRACTITIONER_URL)],
        "diagnosis": [{"condition": ref(CONDITION_URL), "rank": 1}],
        **extra,
    }


def encounter_bundle(*, with_procedure: bool = True, with_charge: bool = True) -> Json:
    """A Bundle with no Claim: a finished Encounter, its CPT 90837 Procedure and ChargeItem, COMM-A Coverage."""
    patient = resource(example(), "Patient")
    bundle: Json = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": PATIENT_URL, "resource": patient},
            {"fullUrl": PAYER_URL, "resource": payer_organization()},
            {"fullUrl": COVERAGE_URL, "resource": coverage()},
            {"fullUrl": PRACTITIONER_URL, "resource": practitioner("prac-lcsw", RIVERA_NPI, "RIVERA")},
            {"fullUrl": CONDITION_URL, "resource": condition()},
            {"fullUrl": ENCOUNTER_URL, "resource": encounter()},
        ],
    }
    if with_procedure:
        add(bundle, procedure(), PROCEDURE_URL)
    if with_charge:
        add(bundle, charge_item(service_url=PROCEDURE_URL if with_procedure else None), CHARGE_URL)
    return bundle


def by_id(bundle: Json, resource_type: str, rid: str) -> Json:
    """The resource of that type and id (mutable: change it in place)."""
    found: Json = next(e["resource"] for e in entries(bundle, resource_type) if e["resource"].get("id") == rid)
    return found


def to_ndjson(resources: list[Json]) -> bytes:
    """One resource per line, decimals written with their digits."""
    return b"\n".join(dump_json(res).encode() for res in resources) + b"\n"


def relative_resources(bundle: Json) -> list[Json]:
    """The bundle's resources with every ``fullUrl`` reference rewritten as ``Type/id`` (NDJSON has no fullUrls)."""
    names = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in bundle["entry"]
        if "fullUrl" in entry
    }
    text = dump_json({"list": [entry["resource"] for entry in bundle["entry"]]})
    for url, name in names.items():
        text = text.replace(f'"{url}"', f'"{name}"')
    found: list[Json] = load_json(text)["list"]
    return found


def tenant_with(change: Callable[[Json], None]) -> TenantConfig:
    """A copy of the demo tenant with ``change`` applied to its JSON document (validated like any config)."""
    document: Json = json.loads(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    change(document)
    return parse_tenant_config(document)
