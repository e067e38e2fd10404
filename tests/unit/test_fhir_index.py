"""claimbridge.fhir.SubmissionIndex and Resolver over it: lookups, reverse links (``referrers``), the LRU cache.

``referrers`` proposes candidates from the reverse-link table by the literal forms that could name a target and
confirms each by resolving it forward (contract section 3), so reverse and forward answers must always agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claimbridge.fhir import Located, Resolver, SubmissionIndex, read_bulk_set, read_submission
from tests.unit.fhir_builders import Json, to_bytes, to_ndjson

pytestmark = pytest.mark.unit

BASE = "https://ehr.example/fhir/"


def _index(*entries: tuple[str | None, Json], cache_size: int = 256) -> SubmissionIndex:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": res} | ({"fullUrl": url} if url else {}) for url, res in entries],
    }
    index = SubmissionIndex("b.json", cache_size=cache_size)
    return load_bundle_into(to_bytes(bundle), index)


def load_bundle_into(raw: bytes, index: SubmissionIndex) -> SubmissionIndex:
    return read_submission(raw, file_name="b.json", index=index)


def _encounter(eid: str | None, **extra: Any) -> Json:
    found: Json = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, **extra}
    if eid is not None:
        found["id"] = eid
    return found


def _procedure(pid: str, encounter: Json) -> Json:
    return {
        "resourceType": "Procedure",
        "id": pid,
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "encounter": encounter,
    }


def _by_id(index: SubmissionIndex, resource_type: str, rid: str) -> Located:
    return next(e for e in index.entries() if e.resource_type == resource_type and e.id == rid)


def _ids(found: list[Located]) -> list[str | None]:
    return [located.id for located in found]


# reverse links ---------------------------------------------------------------------------------------------------
def test_referrers_confirms_relative_references_against_absolute_full_urls() -> None:
    # Given RESTful fullUrls, two encounters and Procedures pointing at them relatively (one with /_history)
    index = _index(
        (f"{BASE}Encounter/e1", _encounter("e1")),
        (f"{BASE}Encounter/e2", _encounter("e2")),
        (f"{BASE}Procedure/pr1", _procedure("pr1", {"reference": "Encounter/e1"})),
        (f"{BASE}Procedure/pr2", _procedure("pr2", {"reference": "Encounter/e2"})),
        (f"{BASE}Procedure/pr3", _procedure("pr3", {"reference": "Encounter/e1/_history/4"})),
        (f"{BASE}Procedure/pr4", _procedure("pr4", {"reference": f"{BASE}Encounter/e1"})),
    )
    resolver = Resolver(index)
    # When the Procedures of e1 are asked for
    found = resolver.referrers(_by_id(index, "Encounter", "e1"), "Procedure.encounter")
    # Then those naming e1 (in any form) are returned in submission order, not the one naming e2
    assert _ids(found) == ["pr1", "pr3", "pr4"]
    assert _ids(resolver.referrers(_by_id(index, "Encounter", "e2"), "Procedure.encounter")) == ["pr2"]


def test_referrers_does_not_return_a_same_id_resource_on_another_server() -> None:
    # Given Encounter/e1 on two servers and a Procedure on server B naming Encounter/e1 relatively
    other = "https://other.example/fhir/"
    index = _index(
        (f"{BASE}Encounter/e1", _encounter("e1")),
        (f"{other}Encounter/e1", _encounter("e1")),
        (f"{other}Procedure/pr1", _procedure("pr1", {"reference": "Encounter/e1"})),
    )
    resolver = Resolver(index)
    first, second = (e for e in index.entries() if e.resource_type == "Encounter")
    # When each encounter's Procedures are asked for
    # Then the literal match is confirmed by forward resolution: only server B's encounter has it
    assert resolver.referrers(first, "Procedure.encounter") == []
    assert _ids(resolver.referrers(second, "Procedure.encounter")) == ["pr1"]


def test_referrers_finds_urn_references() -> None:
    # Given urn:uuid fullUrls
    index = _index(
        ("urn:uuid:e1", _encounter("e1")),
        ("urn:uuid:p1", _procedure("pr1", {"reference": "urn:uuid:e1"})),
        ("urn:uuid:p2", _procedure("pr2", {"reference": "urn:uuid:e2"})),
    )
    # When the encounter's Procedures are asked for / Then the one naming its fullUrl is found
    assert _ids(Resolver(index).referrers(_by_id(index, "Encounter", "e1"), "Procedure.encounter")) == ["pr1"]


def test_referrers_finds_references_by_identifier_alone_and_by_search() -> None:
    # Given an Encounter with an identifier and Procedures naming it by Reference.identifier and by a search URL
    ident = {"system": "urn:ehr:encounter", "value": "V-1"}
    index = _index(
        ("urn:uuid:e1", _encounter("e1", identifier=[ident])),
        ("urn:uuid:e2", _encounter("e2", identifier=[{"system": "urn:ehr:encounter", "value": "V-2"}])),
        ("urn:uuid:p1", _procedure("pr1", {"identifier": ident, "type": "Encounter"})),
        ("urn:uuid:p2", _procedure("pr2", {"reference": "Encounter?identifier=urn:ehr:encounter|V-1"})),
        ("urn:uuid:p3", _procedure("pr3", {"identifier": {"system": "urn:ehr:encounter", "value": "V-2"}})),
    )
    resolver = Resolver(index)
    encounter = _by_id(index, "Encounter", "e1")
    # When the encounter's Procedures are asked for
    found = resolver.referrers(encounter, "Procedure.encounter")
    # Then both forms are found, as forward resolution finds the encounter from each of them
    assert _ids(found) == ["pr1", "pr2"]
    for procedure in found:
        forward = resolver.resolve(procedure.resource["encounter"], source=procedure, path="p", types=("Encounter",))
        assert forward.key == encounter.key


def test_referrers_finds_an_encounter_without_id_by_its_restful_full_url() -> None:
    # Given an Encounter sent without id under a RESTful fullUrl, and a Procedure naming it relatively
    index = _index(
        (f"{BASE}Encounter/e9", _encounter(None)),
        (f"{BASE}Procedure/pr1", _procedure("pr1", {"reference": "Encounter/e9"})),
    )
    resolver = Resolver(index)
    encounter = next(e for e in index.entries() if e.resource_type == "Encounter")
    procedure = _by_id(index, "Procedure", "pr1")
    # When the reference is resolved both ways
    forward = resolver.resolve({"reference": "Encounter/e9"}, source=procedure, path="p")
    backward = resolver.referrers(encounter, "Procedure.encounter")
    # Then they agree
    assert forward.key == encounter.key
    assert _ids(backward) == ["pr1"]


def test_referrers_walks_lists_for_claim_item_encounter() -> None:
    # Given a Claim whose second item names the encounter (a list inside a list)
    claim = {
        "resourceType": "Claim",
        "id": "c1",
        "item": [
            {"sequence": 1, "encounter": [{"reference": "Encounter/e2"}]},
            {"sequence": 2, "encounter": [{"reference": "Encounter/e2"}, {"reference": "Encounter/e1"}]},
        ],
    }
    index = _index((None, _encounter("e1")), (None, _encounter("e2")), (None, claim))
    # When the Claims of e1 are asked for / Then the Claim is found once
    assert _ids(Resolver(index).referrers(_by_id(index, "Encounter", "e1"), "Claim.item.encounter")) == ["c1"]


def test_referrers_across_the_files_of_a_bulk_set() -> None:
    # Given a bulk set: an Encounter file and a Procedure file naming it as Type/id
    files = {
        "Encounter.000.ndjson": to_ndjson([_encounter("e1")]),
        "Procedure.000.ndjson": to_ndjson([_procedure("pr1", {"reference": "Encounter/e1"})]),
    }
    manifest = json.dumps(
        {"transactionTime": "2026-03-02T00:00:00Z", "output": [{"type": t.split(".")[0], "url": t} for t in files]}
    ).encode()

    def open_file(path: str) -> bytes:
        return files[path]

    with read_bulk_set(manifest, file_name="manifest.json", open_file=open_file) as index:
        # When the encounter's Procedures are asked for
        found = Resolver(index).referrers(_by_id(index, "Encounter", "e1"), "Procedure.encounter")
        # Then the Procedure in the other file is found with its file:line path
        assert [p.path for p in found] == ["Procedure.000.ndjson:1(Procedure/pr1)"]


# forward resolution through the index ---------------------------------------------------------------------------
def test_resolver_resolves_a_contained_reference_from_a_contained_resource() -> None:
    # Given an Encounter whose contained Location names a contained Organization by '#org'
    encounter = _encounter(
        "e1",
        contained=[
            {"resourceType": "Location", "id": "home", "managingOrganization": {"reference": "#org"}},
            {"resourceType": "Organization", "id": "org"},
        ],
    )
    index = _index(("urn:uuid:e1", encounter))
    resolver = Resolver(index)
    container = _by_id(index, "Encounter", "e1")
    location = resolver.resolve({"reference": "#home"}, source=container, path="p")
    # When the Location's reference is resolved
    organization = resolver.resolve(location.resource["managingOrganization"], source=location, path="p")
    # Then the sibling contained resource is found, with a path inside the container
    assert organization.path == "Bundle.entry[0].resource(Encounter/e1).contained[1](Organization/org)"
    assert organization.key != location.key
    # And '#' alone names the container itself
    assert resolver.resolve({"reference": "#"}, source=location, path="p").key == container.key


def test_resolver_strips_history_from_absolute_references() -> None:
    # Given a Procedure naming its encounter by a version-specific absolute URL
    index = _index(
        (f"{BASE}Encounter/e1", _encounter("e1")),
        (f"{BASE}Procedure/pr1", _procedure("pr1", {"reference": f"{BASE}Encounter/e1/_history/2"})),
    )
    procedure = _by_id(index, "Procedure", "pr1")
    # When it is resolved
    found = Resolver(index).resolve(procedure.resource["encounter"], source=procedure, path="p")
    # Then the version is ignored as for relative references (FHIR R4 Bundle resolution), matching referrers
    assert found.id == "e1"


def test_index_looks_up_by_full_url_type_id_and_identifier() -> None:
    # Given three resources, two sharing an identifier value under different systems
    index = _index(
        ("urn:uuid:a", {"resourceType": "Patient", "id": "p1", "identifier": [{"system": "s1", "value": "V"}]}),
        ("urn:uuid:b", {"resourceType": "Patient", "id": "p2", "identifier": [{"system": "s2", "value": "V"}]}),
        (None, {"resourceType": "Coverage", "id": "p1"}),
    )
    # When it is queried / Then rows come back in submission order
    assert index.rows_by_full_url("urn:uuid:b") == [1]
    assert index.rows_by_type_id("Patient", "p1") == [0]
    assert index.rows_by_identifier("V") == [0, 1]
    assert index.count("Patient") == 2
    assert list(index.rows_of_type("Coverage", "Patient")) == [0, 1, 2]
    assert index.label(2) == "Coverage/p1"


# the LRU cache ---------------------------------------------------------------------------------------------------
def test_index_cache_eviction_keeps_identity_by_key() -> None:
    # Given an index that caches only two parsed resources, 20 Procedures of one encounter and a Claim on it
    procedures = [(f"urn:uuid:p{n}", _procedure(f"pr{n}", {"reference": "urn:uuid:e1"})) for n in range(20)]
    index = _index(("urn:uuid:e1", _encounter("e1")), *procedures, cache_size=2)
    resolver = Resolver(index)
    encounter = index.located(0)
    # When each Procedure's encounter is resolved, two other reads in between evicting the encounter each time
    resolved: list[Located] = []
    for row in range(1, 21):
        procedure = index.located(row)
        resolved.append(resolver.resolve(procedure.resource["encounter"], source=procedure, path="p"))
        index.located(row % 20 + 1)
        index.located((row + 1) % 20 + 1)
    found = resolver.referrers(encounter, "Procedure.encounter")
    # Then the re-parsed objects differ but every one has the encounter's key, and all 20 referrers are confirmed
    assert len({id(located) for located in resolved}) == 20
    assert {located.key for located in resolved} == {encounter.key}
    assert len(found) == 20
    assert index.located(0) is not encounter
    assert index.located(0).key == encounter.key and index.located(0).resource == encounter.resource


def test_index_cache_keeps_the_most_recently_used() -> None:
    # Given a two-resource cache
    index = _index((None, _encounter("e1")), (None, _encounter("e2")), (None, _encounter("e3")), cache_size=2)
    first = index.located(0)
    index.located(1)
    # When the first is used again, then a third is read
    assert index.located(0) is first
    index.located(2)
    # Then the first is still cached (the second was the least recently used)
    assert index.located(0) is first


# on disk ---------------------------------------------------------------------------------------------------------
def test_index_open_reads_a_finished_index_from_its_file(tmp_path: Path) -> None:
    # Given an NDJSON submission indexed into a file the caller owns
    path = tmp_path / "index.sqlite"
    written = SubmissionIndex("x.ndjson", path=path)
    read_submission(
        to_ndjson([_encounter("e1"), _procedure("pr1", {"reference": "Encounter/e1"})]),
        file_name="x.ndjson",
        index=written,
    )
    written.close()
    # When another worker opens it
    with SubmissionIndex.open(path, file_name="x.ndjson") as index:
        # Then the resources, the reverse links, the next row and the submission kind are all there
        encounter = _by_id(index, "Encounter", "e1")
        assert _ids(Resolver(index).referrers(encounter, "Procedure.encounter")) == ["pr1"]
        assert index.next_row == 2
        assert (index.kind, index.meta("kind")) == ("ndjson", "ndjson")
    # And the caller's file is left in place
    assert path.exists()


def test_index_close_removes_its_temporary_file() -> None:
    # Given an index on a temporary file
    index = _index((None, _encounter("e1")))
    path = index.path
    assert path.exists()
    # When it is closed / Then the file is gone
    index.close()
    assert not path.exists()
