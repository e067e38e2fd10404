"""claimbridge.fhir.Resolver: every reference form of contract section 3, and IN-REF-worthy failures."""

from __future__ import annotations

from typing import Any

import pytest

from claimbridge.fhir import Located, ReferenceProblem, Resolver, UnresolvedReference, load_bundle
from tests.unit.fhir_builders import to_bytes

pytestmark = pytest.mark.unit


def _bundle(*entries: tuple[str | None, dict[str, Any]]) -> Resolver:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": res} | ({"fullUrl": url} if url else {}) for url, res in entries],
    }
    return Resolver(load_bundle(to_bytes(bundle), file_name="refs.json"))


def _patient(pid: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, **extra}


def _source(resolver: Resolver, index: int = 0) -> Located:
    return list(resolver.index.entries())[index]


CLAIM = {"resourceType": "Claim", "id": "c1"}


@pytest.mark.parametrize(
    ("entries", "reference", "expected_id"),
    [
        # urn:uuid fullUrl
        ([("urn:uuid:1", CLAIM), ("urn:uuid:2", _patient("p1"))], {"reference": "urn:uuid:2"}, "p1"),
        # urn:oid fullUrl
        ([("urn:uuid:1", CLAIM), ("urn:oid:1.2.3", _patient("p1"))], {"reference": "urn:oid:1.2.3"}, "p1"),
        # absolute URL
        (
            [("urn:uuid:1", CLAIM), ("https://ehr.example/fhir/Patient/p1", _patient("p1"))],
            {"reference": "https://ehr.example/fhir/Patient/p1"},
            "p1",
        ),
        # relative, resolved against the base of the referencing entry's fullUrl
        (
            [
                ("https://a.example/fhir/Claim/c1", CLAIM),
                ("https://b.example/fhir/Patient/p1", _patient("p1", gender="male")),
                ("https://a.example/fhir/Patient/p1", _patient("p1", gender="female")),
            ],
            {"reference": "Patient/p1"},
            "p1",
        ),
        # relative with a /_history suffix, no fullUrl base: the single Patient/p1
        ([(None, CLAIM), (None, _patient("p1"))], {"reference": "Patient/p1/_history/7"}, "p1"),
        # conditional reference by identifier (Synthea bulk style)
        (
            [(None, CLAIM), (None, _patient("p1", identifier=[{"system": "urn:mrn", "value": "M1"}]))],
            {"reference": "Patient?identifier=urn:mrn|M1"},
            "p1",
        ),
        # Reference.identifier alone
        (
            [(None, CLAIM), (None, _patient("p1", identifier=[{"system": "urn:mrn", "value": "M1"}]))],
            {"identifier": {"system": "urn:mrn", "value": "M1"}, "type": "Patient"},
            "p1",
        ),
    ],
)
def test_resolver_resolves_every_reference_form(
    entries: list[tuple[str | None, dict[str, Any]]], reference: dict[str, Any], expected_id: str
) -> None:
    # Given a submission and a reference from its first resource
    resolver = _bundle(*entries)
    # When the reference is resolved
    found = resolver.resolve(reference, source=_source(resolver), path="Claim.patient", types=("Patient",))
    # Then it names the expected resource
    assert found.id == expected_id


def test_resolver_prefers_the_referencing_entrys_base() -> None:
    # Given two Patient/p1 on different servers
    resolver = _bundle(
        ("https://a.example/fhir/Claim/c1", CLAIM),
        ("https://b.example/fhir/Patient/p1", _patient("p1", gender="male")),
        ("https://a.example/fhir/Patient/p1", _patient("p1", gender="female")),
    )
    # When the claim's relative reference is resolved
    found = resolver.resolve({"reference": "Patient/p1"}, source=_source(resolver), path="p")
    # Then the one on the claim's own server wins
    assert found.resource["gender"] == "female"
    assert found.path == "Bundle.entry[2].resource(Patient/p1)"


def test_resolver_finds_contained_resources() -> None:
    # Given an Encounter with a contained Location
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "contained": [{"resourceType": "Location", "id": "home"}],
    }
    resolver = _bundle(("urn:uuid:1", encounter))
    # When '#home' is resolved from the Encounter
    found = resolver.resolve({"reference": "#home"}, source=_source(resolver), path="Encounter.location[0]")
    # Then the contained Location is found, with a path inside its container
    assert found.resource_type == "Location"
    assert found.path == "Bundle.entry[0].resource(Encounter/e1).contained[0](Location/home)"
    assert found.root["id"] == "e1"


@pytest.mark.parametrize(
    ("entries", "reference", "types", "problem"),
    [
        ([(None, CLAIM)], None, None, ReferenceProblem.ABSENT),
        ([(None, CLAIM)], {"display": "someone"}, None, ReferenceProblem.ABSENT),
        ([(None, CLAIM)], {"reference": "urn:uuid:nope"}, None, ReferenceProblem.NOT_FOUND),
        ([(None, CLAIM)], {"reference": "#nope"}, None, ReferenceProblem.NOT_FOUND),
        ([(None, CLAIM), (None, _patient("p1"))], {"reference": "Patient/p2"}, None, ReferenceProblem.NOT_FOUND),
        (
            [(None, CLAIM), ("urn:uuid:a", _patient("p1")), ("urn:uuid:b", _patient("p1"))],
            {"reference": "Patient/p1"},
            None,
            ReferenceProblem.AMBIGUOUS,
        ),
        (
            [
                (None, CLAIM),
                (None, _patient("p1", identifier=[{"system": "s", "value": "v"}])),
                (None, _patient("p2", identifier=[{"system": "s", "value": "v"}])),
            ],
            {"identifier": {"system": "s", "value": "v"}},
            ("Patient",),
            ReferenceProblem.AMBIGUOUS,
        ),
        (
            [(None, CLAIM), (None, _patient("p1"))],
            {"reference": "Patient/p1"},
            ("Coverage",),
            ReferenceProblem.WRONG_TYPE,
        ),
        ([(None, CLAIM)], {"reference": "Patient?name=x"}, None, ReferenceProblem.UNSUPPORTED),
    ],
)
def test_resolver_reports_absent_missing_ambiguous_and_wrong_type(
    entries: list[tuple[str | None, dict[str, Any]]],
    reference: object,
    types: tuple[str, ...] | None,
    problem: ReferenceProblem,
) -> None:
    # Given a reference that does not give exactly one resource of the right type
    resolver = _bundle(*entries)
    # When it is resolved
    with pytest.raises(UnresolvedReference) as caught:
        resolver.resolve(
            reference, source=_source(resolver), path="Bundle.entry[0].resource(Claim/c1).patient", types=types
        )
    # Then the problem and the referencing path are named
    assert caught.value.problem == problem
    assert caught.value.path == "Bundle.entry[0].resource(Claim/c1).patient"
