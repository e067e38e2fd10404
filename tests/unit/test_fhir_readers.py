"""claimbridge.fhir.readers: NDJSON lines, gzip, non-seekable streams, Bulk Data manifests and Bundle envelopes.

Every reader streams into a ``SubmissionIndex``; only a file that cannot be read at all raises ``FileFormatError``
(IN-FORMAT, contract sections 1 and 10). NDJSON lines that are not resources become line errors naming ``file:line``.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from claimbridge.errors import FileFormatError
from claimbridge.fhir import (
    Resolver,
    SubmissionIndex,
    is_ndjson,
    load_bundle,
    parse_manifest,
    read_bulk_set,
    read_bundle,
    read_ndjson,
    read_submission,
    readers,
)
from claimbridge.fhir.index import dump_json, load_json
from claimbridge.intake import intake_submission
from tests.unit.fhir_builders import (
    PHI_VALUES,
    Json,
    demo_tenant,
    encounter_bundle,
    example,
    relative_resources,
    to_bytes,
    to_ndjson,
)

pytestmark = pytest.mark.unit

PATIENT: Json = {"resourceType": "Patient", "id": "p1", "name": [{"family": "TESTPATIENT"}]}
CLAIM: Json = {"resourceType": "Claim", "id": "c1", "patient": {"reference": "Patient/p1"}}


class ReadOnlyStream:
    """Like botocore's StreamingBody: only ``read(n)``, no seek/tell/peek; at most ``chunk`` bytes per call."""

    def __init__(self, data: bytes, chunk: int = 1024) -> None:
        self._data = io.BytesIO(data)
        self._chunk = chunk
        self.closed = False

    def read(self, amount: int = -1) -> bytes:
        size = self._chunk if amount is None or amount < 0 else min(amount, self._chunk)
        return self._data.read(size)

    def close(self) -> None:
        self.closed = True


def _ndjson(*lines: str) -> bytes:
    return "\n".join(lines).encode()


# NDJSON ---------------------------------------------------------------------------------------------------------
def test_read_ndjson_skips_blank_lines_and_records_bad_lines_by_file_and_line() -> None:
    # Given an NDJSON file with a blank line, a non-JSON line, two JSON lines that are not resources and a CRLF end
    raw = _ndjson(
        json.dumps(PATIENT),
        "",
        '{"resourceType": "Patient", "name": [{"family": "TESTPATIENT"',
        "[1, 2]",
        '{"id": "no-type"}',
        "   ",
        json.dumps(CLAIM) + "\r",
    )
    # When it is read
    with read_submission(raw, file_name="Patient.000.ndjson") as index:
        # Then the bad lines are line errors naming file:line, blank lines are not errors, and the rest is indexed
        assert [(e.path, e.message) for e in index.line_errors] == [
            ("Patient.000.ndjson:3", "line is not valid JSON"),
            ("Patient.000.ndjson:4", "line is not a FHIR resource"),
            ("Patient.000.ndjson:5", "line is not a FHIR resource"),
        ]
        assert index.line_error_count == 3
        assert [e.path for e in index.entries()] == [
            "Patient.000.ndjson:1(Patient/p1)",
            "Patient.000.ndjson:7(Claim/c1)",
        ]
        assert index.meta("kind") == "ndjson"


def test_read_ndjson_rejects_json_constants_that_are_not_json() -> None:
    # Given a line with NaN, which Python's json module would accept but JSON (and the Bundle reader) does not
    raw = _ndjson(json.dumps(PATIENT), '{"resourceType": "Claim", "id": "c1", "total": {"value": NaN}}')
    # When it is read
    with read_submission(raw, file_name="x.ndjson") as index:
        # Then the line is an IN-FORMAT line error, not a resource with a float in it
        assert [e.path for e in index.line_errors] == ["x.ndjson:2"]
        assert index.count("Claim") == 0


def test_intake_submission_reports_ndjson_line_errors_as_in_format_findings_without_content() -> None:
    # Given an NDJSON file whose second line is broken JSON carrying (fake) PHI
    raw = _ndjson(json.dumps(PATIENT), '{"resourceType": "Patient", "name": "TESTPATIENT" ALEX}')
    with read_submission(raw, file_name="Patient.000.ndjson") as index:
        # When the submission is taken in
        result = intake_submission(index, tenant=demo_tenant())
    # Then the line is one IN-FORMAT error naming file:line and nothing of the line's content
    assert [(f.rule_id, f.severity, f.fhir_path) for f in result.line_errors] == [
        ("IN-FORMAT", "error", "Patient.000.ndjson:2")
    ]
    assert not any(value in result.model_dump_json() for value in PHI_VALUES)


def test_intake_submission_summarises_line_errors_beyond_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a cap of two kept line errors and five bad lines
    monkeypatch.setattr(readers, "MAX_LINE_ERRORS", 2)
    raw = _ndjson(*(["not json"] * 5))
    with read_submission(raw, file_name="x.ndjson") as index:
        # When the submission is taken in
        result = intake_submission(index, tenant=demo_tenant())
    # Then two lines are named and one finding counts the rest
    assert [f.fhir_path for f in result.line_errors] == ["x.ndjson:1", "x.ndjson:2", "x.ndjson"]
    assert "3 more lines" in result.line_errors[-1].message


@pytest.mark.parametrize(("name", "expected"), [("a.ndjson", True), ("a.ndjson.gz", True), ("a.json", False)])
def test_is_ndjson_goes_by_the_file_name(name: str, expected: bool) -> None:
    # Given a file name / When it is classified / Then NDJSON is recognised by its extension
    assert is_ndjson(name) is expected


# gzip and streams -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("file_name", ["x.ndjson.gz", "x.ndjson"])
def test_read_submission_reads_gzip_ndjson_by_its_magic(file_name: str) -> None:
    # Given a gzip-compressed NDJSON file (named .gz or not: the content decides)
    raw = gzip.compress(_ndjson(json.dumps(PATIENT), json.dumps(CLAIM)))
    # When it is read
    with read_submission(raw, file_name=file_name) as index:
        # Then both resources are indexed
        assert [e.resource_type for e in index.entries()] == ["Patient", "Claim"]


def test_read_submission_reads_a_gzip_bundle() -> None:
    # Given a gzip-compressed Bundle
    raw = gzip.compress(to_bytes(example()))
    # When it is read
    with read_submission(raw, file_name="b.json.gz") as index:
        # Then it reads like the plain file
        assert index.count() == 8
        assert index.meta("bundle_type") == "collection"


@pytest.mark.parametrize("chunk", [1, 7, 65536])
@pytest.mark.parametrize("compress", [False, True])
def test_read_bundle_streams_from_an_object_with_only_read(chunk: int, compress: bool) -> None:
    # Given a Bundle behind an object that only has read(n) and may return short reads (an S3 StreamingBody)
    raw = to_bytes(example())
    stream = ReadOnlyStream(gzip.compress(raw) if compress else raw, chunk=chunk)
    # When it is read
    with read_bundle(stream, file_name="b.json") as index:
        # Then every entry is indexed
        assert index.count() == 8
        assert [e.resource_type for e in index.entries()][-1] == "Claim"


@pytest.mark.parametrize("chunk", [1, 4096])
@pytest.mark.parametrize("compress", [False, True])
def test_read_ndjson_streams_from_an_object_with_only_read(chunk: int, compress: bool) -> None:
    # Given NDJSON behind a read(n)-only object
    raw = _ndjson(json.dumps(PATIENT), json.dumps(CLAIM))
    stream = ReadOnlyStream(gzip.compress(raw) if compress else raw, chunk=chunk)
    # When it is read
    with read_submission(stream, file_name="x.ndjson") as index:
        # Then both lines are resources
        assert index.count() == 2


def test_read_submission_closes_its_index_when_an_ndjson_file_is_unreadable() -> None:
    # Given a truncated gzip NDJSON file and an index to read it into
    raw = gzip.compress(_ndjson(json.dumps(PATIENT), json.dumps(CLAIM)))[:-12]
    index = SubmissionIndex("x.ndjson.gz")
    # When it is read
    with pytest.raises(FileFormatError) as caught:
        read_submission(raw, file_name="x.ndjson.gz", index=index)
    # Then the error names the file and the index's temporary file is gone
    assert caught.value.fhir_path == "x.ndjson.gz"
    assert "gzip" in caught.value.message
    assert not index.path.exists()


# Bulk Data sets -------------------------------------------------------------------------------------------------
def _manifest(*urls: str, types: list[str] | None = None) -> bytes:
    outputs = [{"type": (types or [])[i] if types else "Patient", "url": url} for i, url in enumerate(urls)]
    return json.dumps(
        {
            "transactionTime": "2026-03-02T16:00:00Z",
            "request": "x/$export",
            "requiresAccessToken": True,
            "output": outputs,
        }
    ).encode()


class Folder:
    """The files of a bulk set folder; records what was opened and hands out read-only streams."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.opened: list[str] = []
        self.streams: list[ReadOnlyStream] = []

    def open(self, path: str) -> ReadOnlyStream:
        self.opened.append(path)
        if path not in self.files:
            raise FileNotFoundError(path)
        stream = ReadOnlyStream(self.files[path])
        self.streams.append(stream)
        return stream


def test_read_bulk_set_resolves_references_across_its_files() -> None:
    # Given a manifest listing a Claim file and a gzip Patient file in a subfolder, and a file it does not list
    folder = Folder(
        {
            "Claim.000.ndjson": _ndjson(json.dumps(CLAIM)),
            "pat/Patient.000.ndjson.gz": gzip.compress(_ndjson(json.dumps(PATIENT))),
            "Observation.000.ndjson": b"not even json",
        }
    )
    manifest = _manifest("Claim.000.ndjson", "./pat/Patient.000.ndjson.gz", types=["Claim", "Patient"])
    # When the set is read
    with read_bulk_set(manifest, file_name="manifest.json", open_file=folder.open) as index:
        claim = next(e for e in index.entries() if e.resource_type == "Claim")
        patient = Resolver(index).resolve(CLAIM["patient"], source=claim, path=claim.at("patient"))
        # Then the Claim in one file finds the Patient in the other, each path naming its own file and line
        assert claim.path == "Claim.000.ndjson:1(Claim/c1)"
        assert patient.path == "Patient.000.ndjson.gz:1(Patient/p1)"
        assert index.meta("kind") == "bulk"
        assert index.line_errors == []
    # And only the listed files were opened, and every stream was closed again
    assert folder.opened == ["Claim.000.ndjson", "pat/Patient.000.ndjson.gz"]
    assert all(stream.closed for stream in folder.streams)


def test_read_bulk_set_maps_an_encounter_split_into_files_per_type() -> None:
    # Given the Encounter-only submission exported as one NDJSON file per resource type
    # (references between files are relative Type/id, as Bulk Data exports write them)
    by_type: dict[str, list[Json]] = {}
    for res in relative_resources(encounter_bundle()):
        by_type.setdefault(res["resourceType"], []).append(res)
    files = {f"{kind}.000.ndjson": to_ndjson(resources) for kind, resources in by_type.items()}
    manifest = _manifest(*files, types=list(by_type))
    # When the set is read and taken in
    with read_bulk_set(manifest, file_name="manifest.json", open_file=Folder(files).open) as index:
        result = intake_submission(index, tenant=demo_tenant())
    # Then the encounter becomes one claim with its Procedure's code and its ChargeItem's price
    assert (len(result.claims), len(result.rejected)) == (1, 0)
    line = result.claims[0].claim.lines[0]
    assert (line.procedure_code, line.charge) == ("90837", Decimal("180.00"))
    assert line.fhir_path == "Procedure.000.ndjson:1(Procedure/proc-1)"


def test_read_bulk_set_names_a_missing_listed_file_by_its_manifest_entry() -> None:
    # Given a manifest whose second file is not in the folder
    folder = Folder({"Patient.000.ndjson": _ndjson(json.dumps(PATIENT))})
    manifest = _manifest("Patient.000.ndjson", "Claim.000.ndjson")
    index = SubmissionIndex("manifest.json")
    # When the set is read
    with pytest.raises(FileFormatError) as caught:
        read_bulk_set(manifest, file_name="manifest.json", open_file=folder.open, index=index)
    # Then the whole set is IN-FORMAT naming manifest.json:output[1].url, and nothing stays half-indexed
    assert (caught.value.in_code, caught.value.fhir_path) == ("IN-FORMAT", "manifest.json:output[1].url")
    assert not index.path.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/data/Patient.000.ndjson",
        "https://ehr.example/bulk/Patient.000.ndjson",
        "s3://bucket/Patient.000.ndjson",
        "../Patient.000.ndjson",
        "sub/../../Patient.000.ndjson",
        "Patient.000.json",
        "Patient.000.ndjson.zip",
        "",
    ],
)
def test_parse_manifest_rejects_urls_outside_the_folder_or_not_ndjson(url: str) -> None:
    # Given a manifest whose second output url is absolute, escapes the folder or is not NDJSON
    manifest = _manifest("Patient.000.ndjson", url)
    # When it is parsed
    with pytest.raises(FileFormatError) as caught:
        parse_manifest(manifest, file_name="manifest.json")
    # Then the error names that output's url
    assert caught.value.fhir_path == "manifest.json:output[1].url"


def test_parse_manifest_keeps_relative_paths_and_file_names() -> None:
    # Given a manifest with a plain and a nested relative url
    manifest = _manifest("Patient.000.ndjson", "./sub/Claim.000.ndjson.gz", types=["Patient", "Claim"])
    # When it is parsed
    outputs = parse_manifest(manifest, file_name="manifest.json")
    # Then each output keeps its type, its normalised path and its file name
    assert [(o.resource_type, o.path, o.name) for o in outputs] == [
        ("Patient", "Patient.000.ndjson", "Patient.000.ndjson"),
        ("Claim", "sub/Claim.000.ndjson.gz", "Claim.000.ndjson.gz"),
    ]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"{not json", "manifest.json"),
        (json.dumps({"output": [{"type": "Patient", "url": "p.ndjson"}]}).encode(), "manifest.json"),
        (json.dumps({"transactionTime": "2026-03-02T16:00:00Z", "output": {}}).encode(), "manifest.json"),
        (json.dumps([1]).encode(), "manifest.json"),
        (json.dumps({"transactionTime": "t", "output": [{"url": "p.ndjson"}]}).encode(), "manifest.json:output[0]"),
        (json.dumps({"transactionTime": "t", "output": ["p.ndjson"]}).encode(), "manifest.json:output[0]"),
        (json.dumps({"transactionTime": "t", "output": []}).encode(), "manifest.json:output"),
    ],
)
def test_parse_manifest_rejects_what_is_not_a_complete_status_body(raw: bytes, path: str) -> None:
    # Given a manifest that is not JSON, lacks transactionTime/output, or has malformed output entries
    # When it is parsed
    with pytest.raises(FileFormatError) as caught:
        parse_manifest(raw, file_name="manifest.json")
    # Then it is IN-FORMAT naming the manifest (and the entry, when one is at fault)
    assert (caught.value.in_code, caught.value.fhir_path) == ("IN-FORMAT", path)


def test_read_ndjson_into_a_shared_index_keeps_adding_rows() -> None:
    # Given two NDJSON files read into one index
    with SubmissionIndex("set") as index:
        read_ndjson(_ndjson(json.dumps(PATIENT)), index=index, file_name="a.ndjson")
        read_ndjson(_ndjson(json.dumps(CLAIM)), index=index, file_name="b.ndjson")
        index.finish()
        # When the entries are listed / Then both files' resources are there in reading order
        assert [e.path for e in index.entries()] == ["a.ndjson:1(Patient/p1)", "b.ndjson:1(Claim/c1)"]


# Bundles --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bundle_type", ["collection", "transaction", "batch", "searchset", "document"])
def test_read_bundle_accepts_every_contract_bundle_type_and_ignores_entry_request(bundle_type: str) -> None:
    # Given the example relabelled with an accepted type, its entries carrying request (as a transaction would)
    bundle = example()
    bundle["type"] = bundle_type
    for entry in bundle["entry"]:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    # When it is read
    with read_bundle(to_bytes(bundle), file_name="b.json") as index:
        # Then every resource is indexed and the type is recorded
        assert index.count() == 8
        assert index.meta("bundle_type") == bundle_type


@pytest.mark.parametrize("bundle_type", ["history", "message", "transaction-response", "batch-response", "x"])
def test_read_bundle_rejects_other_bundle_types(bundle_type: str) -> None:
    # Given a Bundle of a type the contract does not accept
    bundle = example()
    bundle["type"] = bundle_type
    # When it is read
    with pytest.raises(FileFormatError) as caught:
        read_bundle(to_bytes(bundle), file_name="b.json")
    # Then it is IN-FORMAT at Bundle.type
    assert caught.value.fhir_path == "b.json:Bundle.type"


def _bundle_bytes(**fields: Any) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "collection"} | fields).encode()


@pytest.mark.parametrize(
    ("raw", "path", "message_part"),
    [
        (b"", "b.json", "not valid JSON"),
        (b"   ", "b.json", "not valid JSON"),
        (to_bytes(example()) + b" {}", "b.json", "not valid JSON"),
        (b'{"resourceType": "Bundle", "type": "collection", "x": "\xff"}', "b.json", "not valid JSON"),
        (b"5", "b.json", "not a FHIR resource"),
        (json.dumps({"resourceType": 5}).encode(), "b.json", "not a FHIR resource"),
        (json.dumps({"type": "collection", "entry": []}).encode(), "b.json", "not a FHIR resource"),
        (_bundle_bytes(entry={}), "b.json:Bundle.entry", "must be a list"),
        (_bundle_bytes(entry=[5]), "b.json:Bundle.entry[0]", "envelope"),
        (_bundle_bytes(entry=[{"resource": PATIENT}, [1]]), "b.json:Bundle.entry[1]", "envelope"),
        (
            _bundle_bytes(entry=[{"resource": PATIENT}, {"resource": PATIENT, "search": {"score": "high"}}]),
            "b.json:Bundle.entry[1].search.score",
            "envelope",
        ),
        (_bundle_bytes(entry=[{"resource": "Patient/p1"}]), "b.json:Bundle.entry[0].resource", "not a FHIR resource"),
        (_bundle_bytes(timestamp="yesterday"), "b.json:Bundle.timestamp", "envelope"),
    ],
)
def test_read_bundle_names_envelope_errors(raw: bytes, path: str, message_part: str) -> None:
    # Given a file whose JSON or Bundle envelope is broken
    # When it is read
    with pytest.raises(FileFormatError) as caught:
        read_bundle(raw, file_name="b.json")
    # Then it is IN-FORMAT naming the file (and the envelope element) without quoting the input
    assert caught.value.in_code == "IN-FORMAT"
    assert caught.value.fhir_path == path
    assert message_part in caught.value.message
    assert "b'" not in caught.value.message and "\\x" not in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        b'{"resourceType": "Bundle", "type": "collection", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "x": '
        + b"[" * 5_000
        + b"]" * 5_000
        + b"}}]}",
    ],
    ids=["top-level", "in-an-entry"],
)
def test_read_bundle_refuses_json_nested_deeper_than_any_resource(raw: bytes) -> None:
    # Given a small file nested far deeper than FHIR ever is (it used to exhaust memory or recursion)
    # When it is read
    with pytest.raises(FileFormatError) as caught:
        read_bundle(raw, file_name="b.json")
    # Then it is IN-FORMAT naming the file
    assert (caught.value.fhir_path, caught.value.message) == ("b.json", "JSON is nested deeper than 128 levels")


def test_read_bundle_keeps_key_order_independence() -> None:
    # Given a Bundle whose entry list comes before resourceType and type
    raw = b'{"entry": [{"fullUrl": "urn:uuid:1", "resource": ' + json.dumps(PATIENT).encode() + b"}], "
    raw += b'"type": "batch", "resourceType": "Bundle"}'
    # When it is read
    with read_bundle(raw, file_name="b.json") as index:
        # Then the entry is indexed with its fullUrl
        (entry,) = index.entries()
        assert (entry.full_url, entry.path) == ("urn:uuid:1", "Bundle.entry[0].resource(Patient/p1)")


# decimals and kept types ----------------------------------------------------------------------------------------
DECIMAL_CLAIM: Json = {
    "resourceType": "Claim",
    "id": "c1",
    "item": [{"sequence": 1, "net": {"value": Decimal("180.00")}, "factor": Decimal("0.50"), "quantity": {"value": 2}}],
    "total": {"value": Decimal("1E+2")},
}


@pytest.mark.parametrize(
    "reader",
    [
        lambda: read_bundle(_bundle_bytes_decimal(), file_name="b.json"),
        lambda: read_submission(to_ndjson([DECIMAL_CLAIM]), file_name="c.ndjson"),
        lambda: read_submission(gzip.compress(to_ndjson([DECIMAL_CLAIM])), file_name="c.ndjson.gz"),
    ],
    ids=["bundle", "ndjson", "ndjson-gz"],
)
def test_readers_keep_decimals_exact_through_the_index(reader: Callable[[], SubmissionIndex]) -> None:
    # Given a Claim with net 180.00, factor 0.50, an integer quantity and an exponent total
    # When it is read into the index and read back (parsed from the stored text)
    with reader() as index:
        (claim,) = index.entries()
        item = claim.resource["item"][0]
        # Then the decimals keep their digits and the integer stays an integer
        assert str(item["net"]["value"]) == "180.00"
        assert item["net"]["value"] == Decimal("180.00")
        assert str(item["factor"]) == "0.50"
        assert item["quantity"]["value"] == 2 and isinstance(item["quantity"]["value"], int)
        assert str(claim.resource["total"]["value"]) == "1E+2"


def _bundle_bytes_decimal() -> bytes:
    return to_bytes({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": DECIMAL_CLAIM}]})


@pytest.mark.parametrize("text", ["180.00", "0.000", "-0.50", "1E+2", "12345678901234567890.123456789"])
def test_dump_json_and_load_json_round_trip_decimals(text: str) -> None:
    # Given a resource holding a decimal
    original = {"resourceType": "Claim", "total": {"value": Decimal(text)}, "note": [{"text": "180.00"}]}
    # When it is written and read back
    dumped = dump_json(original)
    loaded = load_json(dumped)
    # Then the number is written as a bare JSON number with its digits, and strings stay strings
    assert f'"value":{text}' in dumped
    assert str(loaded["total"]["value"]) == text
    assert loaded["note"][0]["text"] == "180.00"


def test_readers_count_but_do_not_keep_resource_types_a_claim_never_reads() -> None:
    # Given a Bundle with two Observations and a Claim
    observation = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": observation}, {"resource": observation | {"id": "o2"}}, {"resource": CLAIM}],
    }
    # When it is read
    with load_bundle(to_bytes(bundle), file_name="b.json") as index:
        # Then the Observations are counted as skipped, the Claim is kept with its original position
        assert dict(index.skipped_types) == {"Observation": 2}
        assert index.count() == 1
        assert [e.path for e in index.entries()] == ["Bundle.entry[2].resource(Claim/c1)"]


def test_read_submission_accepts_a_utf8_byte_order_mark_plain_and_gzipped() -> None:
    # Given the example Bundle written with a UTF-8 BOM (some EHR exports do), plain and gzip-compressed
    raw = b"\xef\xbb\xbf" + json.dumps(example()).encode()
    for body in (raw, gzip.compress(raw)):
        # When it is read
        with read_submission(body, file_name="bom.json") as index:
            # Then every resource is there
            assert index.count("Claim") == 1


def test_parse_manifest_listing_a_file_twice_is_in_format() -> None:
    # Given a manifest naming Claim.000.ndjson twice (every reference in it would become ambiguous)
    raw = json.dumps(
        {
            "transactionTime": "2026-03-02T21:00:00Z",
            "output": [{"type": "Claim", "url": "Claim.000.ndjson"}, {"type": "Claim", "url": "Claim.000.ndjson"}],
        }
    ).encode()
    # When it is parsed / Then it is rejected naming the second entry
    with pytest.raises(FileFormatError) as caught:
        parse_manifest(raw, file_name="manifest.json")
    assert caught.value.fhir_path == "manifest.json:output[1].url"
