"""accept_submitted_event: tenants from the real store (moto), objects in a recording fake that knows bucket owners.

The fake object store plays the sender's S3: it refuses a read whose expected owner is not the bucket's owner
(what S3 does with ``ExpectedBucketOwner``, which moto ignores) and records every call, so the order of the copies
and the owner named on each read can be asserted.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from claimbridge.events import (
    MAX_INLINE_BUNDLE_BYTES,
    BusEventDetail,
    FhirBundleSubmittedEvent,
    FhirSubmissionRejected,
)
from claimbridge.pipeline.ports import CountingMetrics, ObjectForbidden, ObjectMissing, PipelineDeps
from claimbridge.pipeline.submitted import accept_submitted_event
from claimbridge.tenants import TenantConfig
from claimbridge.tenants.models import EventSource, Inbound
from tests.integration.conftest import Infra

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
SENDER = "111122223333"
SOURCE = "com.example-ehr.demo-practice"
OUTBOX = "example-ehr-outbox"
INBOUND = "inbound-test"
ARCHIVE = "archive-test"
EVENT_ID = "0f4e9d3c-2a1b-4c5d-8e7f-6a5b4c3d2e1f"


@dataclass(frozen=True)
class Call:
    """One object-store call as the fake saw it."""

    op: str
    bucket: str
    key: str
    target: str = ""
    owner: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] | None = None


@dataclass
class FakeS3:
    """``ObjectStorePort`` over dicts; buckets have owners and reads naming another owner are refused."""

    owners: dict[str, str] = field(default_factory=dict)
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)

    def _check(self, bucket: str, key: str, owner: str | None) -> bytes:
        if bucket not in self.owners:
            raise ObjectMissing(f"s3://{bucket} does not exist")
        if owner is not None and self.owners[bucket] != owner:
            raise ObjectForbidden(f"s3://{bucket}: AccessDenied")
        if (bucket, key) not in self.objects:
            raise ObjectMissing(f"s3://{bucket}/{key} does not exist")
        return self.objects[(bucket, key)]

    def get(self, bucket: str, key: str, *, expected_owner: str | None = None) -> bytes:
        self.calls.append(Call("get", bucket, key, owner=expected_owner))
        return self._check(bucket, key, expected_owner)

    def put(
        self, bucket: str, key: str, body: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        self.calls.append(Call("put", bucket, key, content_type=content_type, metadata=metadata))
        self.objects[(bucket, key)] = body
        self.writes.append((bucket, key))

    def copy(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        expected_source_owner: str | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.calls.append(
            Call(
                "copy",
                source_bucket,
                source_key,
                target=f"{bucket}/{key}",
                owner=expected_source_owner,
                content_type=content_type,
                metadata=metadata,
            )
        )
        self.objects[(bucket, key)] = self._check(source_bucket, source_key, expected_source_owner)
        self.writes.append((bucket, key))

    def metadata(self, bucket: str, key: str) -> dict[str, str]:
        self._check(bucket, key, None)
        return {}

    def open(self, bucket: str, key: str) -> Any:
        return io.BytesIO(self.get(bucket, key))

    def upload_file(self, path: Path, bucket: str, key: str) -> None:
        self.put(bucket, key, path.read_bytes(), content_type="application/octet-stream")

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(key for (name, key) in self.objects if name == bucket and key.startswith(prefix))

    def download_file(self, bucket: str, key: str, path: Path) -> None:
        path.write_bytes(self.get(bucket, key))

    def written(self, bucket: str) -> dict[str, bytes]:
        """What the code wrote into ``bucket`` (key -> body), in first-write order."""
        return {key: self.objects[(target, key)] for target, key in self.writes if target == bucket}


@dataclass
class RecordingPublisher:
    """``EventPublisherPort`` that keeps what was published."""

    published: list[BusEventDetail] = field(default_factory=list)

    def publish(self, details: Sequence[BusEventDetail]) -> None:
        self.published.extend(details)


@dataclass
class World:
    s3: FakeS3
    bus: RecordingPublisher
    metrics: CountingMetrics
    deps: PipelineDeps

    def rejected(self) -> list[FhirSubmissionRejected]:
        return [event for event in self.bus.published if isinstance(event, FhirSubmissionRejected)]


def _no_clearinghouse(tenant: TenantConfig) -> Any:
    raise AssertionError("accepting an event never talks to a clearinghouse")


@pytest.fixture
def world(infra: Infra, demo_tenant: TenantConfig) -> World:
    s3 = FakeS3(owners={OUTBOX: SENDER, "someone-elses-outbox": "444455556666", INBOUND: "123456789012"})
    s3.owners[ARCHIVE] = "123456789012"
    bus = RecordingPublisher()
    metrics = CountingMetrics()
    deps = PipelineDeps(
        store=infra.store,
        objects=s3,
        events=bus,
        metrics=metrics,
        clearinghouse_for=_no_clearinghouse,
        archive_bucket=ARCHIVE,
    )
    return World(s3=s3, bus=bus, metrics=metrics, deps=deps)


def bundle(name: str = "telehealth-90837-home.json") -> dict[str, Any]:
    document: dict[str, Any] = json.loads((BUNDLES / name).read_text(encoding="utf-8"))
    return document


def event(
    detail: dict[str, Any], *, account: str = SENDER, source: str = SOURCE, event_id: str = EVENT_ID
) -> FhirBundleSubmittedEvent:
    return FhirBundleSubmittedEvent.model_validate(
        {
            "version": "0",
            "id": event_id,
            "detail-type": "FHIR Bundle Submitted",
            "source": source,
            "account": account,
            "time": "2026-03-02T21:05:12Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def accept(world: World, submitted: FhirBundleSubmittedEvent) -> Any:
    return accept_submitted_event(submitted, world.deps, inbound_bucket=INBOUND)


# ------------------------------------------------------------------------------------------------ accepted


def test_accept_submitted_event_inline_bundle_is_written_under_the_senders_tenant(world: World) -> None:
    # Given the demo tenant's registered sender submitting a Bundle inline
    document = bundle()

    # When the event is accepted
    outcome = accept(world, event({"submission_id": "sub-0001", "bundle": document}))

    # Then the Bundle is in the inbound bucket under <tenant>/events/<event-id>/bundle.json, for ingest to take
    key = f"{TENANT}/events/{EVENT_ID}/bundle.json"
    assert list(world.s3.written(INBOUND)) == [key]
    assert json.loads(world.s3.objects[(INBOUND, key)]) == document
    (put,) = [call for call in world.s3.calls if call.op == "put"]
    assert put.content_type == "application/fhir+json"
    assert put.metadata == {"claimbridge-submission-id": "sub-0001", "claimbridge-event-id": EVENT_ID}
    assert outcome.model_dump() == {
        "tenant_id": TENANT,
        "submission_id": "sub-0001",
        "event_id": EVENT_ID,
        "kind": "bundle",
        "copied": 1,
        "quarantined": False,
        "error_codes": (),
    }
    assert world.bus.published == []
    assert world.metrics.totals["SubmissionEventsAccepted"] == 1


def test_accept_submitted_event_tenant_comes_from_account_and_source_never_from_the_payload(
    world: World, infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a second tenant registering another source of the same account, and a Bundle that names the demo tenant
    other = Inbound(event_sources=[EventSource(account=SENDER, source="com.example-ehr.other-practice")])
    infra.store.put_tenant_config(demo_tenant.model_copy(update={"tenant_id": "other-practice", "inbound": other}))
    document = bundle()
    document["meta"] = {"tag": [{"system": "urn:claimbridge:tenant", "code": TENANT}]}
    document["identifier"] = {"system": "urn:claimbridge:tenant", "value": TENANT}

    # When that other source sends it
    outcome = accept(world, event({"bundle": document}, source="com.example-ehr.other-practice"))

    # Then it belongs to the other tenant, whatever the Bundle says; without a submission id the event id stands in
    assert outcome.tenant_id == "other-practice"
    assert outcome.submission_id == f"ev-{EVENT_ID}"
    assert list(world.s3.written(INBOUND)) == [f"other-practice/events/{EVENT_ID}/bundle.json"]


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("2026/03/02/b1.json", "application/fhir+json"),
        ("exports/Claim.000.ndjson", "application/fhir+ndjson"),
        ("b2.json.gz", "application/gzip"),
    ],
)
def test_accept_submitted_event_s3_pointer_is_copied_reading_with_the_sender_as_expected_owner(
    world: World, key: str, content_type: str
) -> None:
    # Given a file in the sender's own bucket
    world.s3.objects[(OUTBOX, key)] = b'{"resourceType":"Bundle"}'

    # When an event points at it
    outcome = accept(world, event({"submission_id": "sub-0002", "s3": {"bucket": OUTBOX, "key": key}}))

    # Then it is copied under its own name, the read naming the event's account as the bucket owner
    name = key.rsplit("/", 1)[-1]
    (copy,) = world.s3.calls
    assert copy == Call(
        "copy",
        OUTBOX,
        key,
        target=f"{INBOUND}/{TENANT}/events/{EVENT_ID}/{name}",
        owner=SENDER,
        content_type=content_type,
        metadata={"claimbridge-submission-id": "sub-0002", "claimbridge-event-id": EVENT_ID},
    )
    assert (outcome.kind, outcome.copied, outcome.quarantined) == ("object", 1, False)


def manifest(outputs: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "transactionTime": "2026-03-02T21:00:00Z",
            "request": "https://ehr.example/fhir/$export?_type=Claim,Patient,Coverage",
            "requiresAccessToken": False,
            "output": outputs,
            "error": [],
        }
    ).encode()


def test_accept_submitted_event_manifest_copies_every_listed_file_first_and_the_rewritten_manifest_last(
    world: World,
) -> None:
    # Given a Bulk Data export in the sender's bucket: three NDJSON files (one in a subfolder) and a file not listed
    folder = "exports/job-7"
    for name in ("Claim.000.ndjson", "Patient.000.ndjson", "part2/Coverage.000.ndjson", "Unlisted.000.ndjson"):
        world.s3.objects[(OUTBOX, f"{folder}/{name}")] = f'{{"resourceType":"{name.split(".")[0]}"}}\n'.encode()
    world.s3.objects[(OUTBOX, f"{folder}/manifest.json")] = manifest(
        [
            {"type": "Claim", "url": "Claim.000.ndjson", "count": 1},
            {"type": "Patient", "url": "./Patient.000.ndjson"},
            {"type": "Coverage", "url": "part2/Coverage.000.ndjson"},
        ]
    )

    # When an event points at the manifest
    outcome = accept(world, event({"s3": {"bucket": OUTBOX, "key": f"{folder}/manifest.json"}}))

    # Then the manifest is read as the sender's, each listed file is copied into bulk/, and the manifest comes last
    bulk = f"{TENANT}/events/{EVENT_ID}/bulk"
    assert [(call.op, call.key, call.target, call.owner) for call in world.s3.calls] == [
        ("get", f"{folder}/manifest.json", "", SENDER),
        ("copy", f"{folder}/Claim.000.ndjson", f"{INBOUND}/{bulk}/Claim.000.ndjson", SENDER),
        ("copy", f"{folder}/Patient.000.ndjson", f"{INBOUND}/{bulk}/Patient.000.ndjson", SENDER),
        ("copy", f"{folder}/part2/Coverage.000.ndjson", f"{INBOUND}/{bulk}/Coverage.000.ndjson", SENDER),
        ("put", f"{bulk}/manifest.json", "", None),
    ]
    # ... with its urls rewritten to the copies' names and everything else kept as sent
    rewritten = json.loads(world.s3.objects[(INBOUND, f"{bulk}/manifest.json")])
    assert rewritten["output"] == [
        {"type": "Claim", "url": "Claim.000.ndjson", "count": 1},
        {"type": "Patient", "url": "Patient.000.ndjson"},
        {"type": "Coverage", "url": "Coverage.000.ndjson"},
    ]
    assert rewritten["transactionTime"] == "2026-03-02T21:00:00Z"
    assert rewritten["requiresAccessToken"] is False
    assert (outcome.kind, outcome.copied) == ("bulk", 4)


def test_accept_submitted_event_same_event_twice_writes_the_same_objects(world: World) -> None:
    # Given an inline event and a manifest event
    world.s3.objects[(OUTBOX, "x/Claim.ndjson")] = b"{}\n"
    world.s3.objects[(OUTBOX, "x/manifest.json")] = manifest([{"type": "Claim", "url": "Claim.ndjson"}])
    inline = event({"submission_id": "sub-1", "bundle": bundle()}, event_id="aaaaaaaa-0000-4000-8000-000000000001")
    bulk = event({"s3": {"bucket": OUTBOX, "key": "x/manifest.json"}}, event_id="aaaaaaaa-0000-4000-8000-000000000002")

    # When each is delivered twice (SQS is at-least-once)
    writes = []
    for _ in range(2):
        world.s3.calls.clear()
        accept(world, inline)
        accept(world, bulk)
        writes.append([(c.op, c.key, c.target) for c in world.s3.calls] + sorted(world.s3.written(INBOUND).items()))

    # Then the second delivery overwrites the same keys with the same bytes (ingest then counts duplicates)
    assert writes[0] == writes[1]
    assert len(world.s3.written(INBOUND)) == 3


# ------------------------------------------------------------------------------------------------ rejected


@dataclass(frozen=True)
class Rejection:
    """A rejected event: what is sent, who owns the rejection, which code, and at which path."""

    detail: Callable[[], dict[str, Any]]
    code: str
    path: str
    owner: str = TENANT
    source: str = SOURCE
    account: str = SENDER
    prepare: Callable[[Infra, TenantConfig], None] = lambda infra, tenant: None
    submission_id: str = f"ev-{EVENT_ID}"  # what the OperationOutcome is named: the sender's id only when valid


def _big_bundle() -> dict[str, Any]:
    document = bundle()
    document["entry"] = document["entry"] * 50  # ~220 KB serialized: over the limit, under EventBridge's 256 KB
    return document


def _disable(infra: Infra, tenant: TenantConfig) -> None:
    infra.store.put_tenant_config(tenant.model_copy(update={"enabled": False}))


def _twin(infra: Infra, tenant: TenantConfig) -> None:
    infra.store.put_tenant_config(tenant.model_copy(update={"tenant_id": "twin-practice"}))


REJECTIONS = {
    "unregistered source": Rejection(
        lambda: {"bundle": bundle()}, "IN-TENANT", "event.source", owner="", source="com.example-ehr.unknown"
    ),
    "unregistered account": Rejection(
        lambda: {"bundle": bundle()}, "IN-TENANT", "event.source", owner="", account="999988887777"
    ),
    "sender registered twice": Rejection(lambda: {"bundle": bundle()}, "IN-TENANT", "event.source", "", prepare=_twin),
    "disabled tenant": Rejection(lambda: {"bundle": bundle()}, "IN-TENANT", "tenant", prepare=_disable),
    "bucket of another account": Rejection(
        lambda: {"s3": {"bucket": "someone-elses-outbox", "key": "b1.json"}}, "IN-TENANT", "detail.s3"
    ),
    "Claimbridge's own bucket": Rejection(
        lambda: {"s3": {"bucket": INBOUND, "key": "other-tenant/b.json"}}, "IN-TENANT", "detail.s3.bucket"
    ),
    "missing object": Rejection(lambda: {"s3": {"bucket": OUTBOX, "key": "gone.json"}}, "IN-FORMAT", "detail.s3.key"),
    "not a FHIR file name": Rejection(
        lambda: {"s3": {"bucket": OUTBOX, "key": "b1.xml"}}, "IN-FORMAT", "detail.s3.key"
    ),
    "file name too long for a copy": Rejection(
        lambda: {"s3": {"bucket": OUTBOX, "key": "a" * 1000 + ".json"}}, "IN-FORMAT", "detail.s3.key"
    ),
    "inline bundle too large": Rejection(lambda: {"bundle": _big_bundle()}, "IN-FORMAT", "detail.bundle"),
    "inline resource not a Bundle": Rejection(
        lambda: {"bundle": {"resourceType": "Patient", "id": "p1"}}, "IN-FORMAT", "detail.bundle.resourceType"
    ),
    "bundle and s3 both": Rejection(
        lambda: {"bundle": bundle(), "s3": {"bucket": OUTBOX, "key": "b1.json"}}, "IN-FORMAT", "detail"
    ),
    "neither bundle nor s3": Rejection(
        lambda: {"submission_id": "sub-9"}, "IN-FORMAT", "detail", submission_id="sub-9"
    ),
    "s3 without key": Rejection(lambda: {"s3": {"bucket": OUTBOX}}, "IN-FORMAT", "detail.s3.key"),
    "submission id with bad characters": Rejection(
        lambda: {"submission_id": "sub/../0001", "bundle": bundle()}, "IN-FORMAT", "detail.submission_id"
    ),
    "submission id too long": Rejection(
        lambda: {"submission_id": "s" * 65, "bundle": bundle()}, "IN-FORMAT", "detail.submission_id"
    ),
    "unknown detail field": Rejection(lambda: {"bundle": bundle(), "tenant": TENANT}, "IN-FORMAT", "detail.tenant"),
}


@pytest.mark.parametrize("case", REJECTIONS.values(), ids=REJECTIONS.keys())
def test_accept_submitted_event_rejection_is_quarantined_with_report_outcome_and_event(
    world: World, infra: Infra, demo_tenant: TenantConfig, case: Rejection
) -> None:
    # Given the scenario's store and an event
    case.prepare(infra, demo_tenant)
    detail = case.detail()
    submitted = event(detail, account=case.account, source=case.source)

    # When it is handled
    outcome = accept(world, submitted)

    # Then nothing reached the inbound bucket
    assert world.s3.written(INBOUND) == {}
    assert (outcome.quarantined, outcome.error_codes, outcome.tenant_id) == (True, (case.code,), case.owner)
    # ... the event is kept in quarantine as received, beside an error report naming the code and the place
    owner = case.owner or "_no-tenant"
    kept = f"quarantine/{owner}/events/{EVENT_ID}/event.json"
    archive = world.s3.written(ARCHIVE)
    assert json.loads(archive[kept])["detail"] == detail
    report = json.loads(archive[f"{kept}.error.json"])
    issue = report["operation_outcome"]["issue"][0]
    assert issue["details"]["coding"][0]["code"] == case.code
    assert issue["expression"] == [case.path]
    assert report["source"]["event_id"] == EVENT_ID
    assert (report["source"]["account"], report["source"]["source"]) == (case.account, case.source)
    # ... the EHR gets an OperationOutcome named by its submission id (or the event's) and a Rejected event
    submission_id = case.submission_id
    assert outcome.submission_id == submission_id
    outcome_key = f"outbound/{owner}/OperationOutcome/{submission_id}.json"
    assert json.loads(archive[outcome_key])["id"] == submission_id
    (rejected,) = world.rejected()
    assert rejected.event_id == EVENT_ID
    assert (rejected.tenant_id, rejected.quarantine_key, rejected.operation_outcome_key) == (owner, kept, outcome_key)
    assert rejected.error_codes == (case.code,)
    assert world.metrics.totals["InputQuarantined"] == 1
    assert world.metrics.totals["SubmissionEventsAccepted"] == 0


@pytest.mark.parametrize(("size", "accepted"), [(MAX_INLINE_BUNDLE_BYTES - 1, True), (MAX_INLINE_BUNDLE_BYTES, False)])
def test_accept_submitted_event_inline_bundle_limit_is_under_200_kb_serialized(
    world: World, size: int, accepted: bool
) -> None:
    # Given an inline Bundle padded to exactly ``size`` bytes of compact JSON
    document = bundle()
    document["id"] = ""
    document["id"] = "a" * (size - len(json.dumps(document, separators=(",", ":"))))
    assert len(json.dumps(document, separators=(",", ":")).encode()) == size

    # When / Then one byte under 200 KB is accepted, 200 KB is not
    outcome = accept(world, event({"bundle": document}))
    assert (outcome.quarantined, outcome.error_codes) == (not accepted, () if accepted else ("IN-FORMAT",))


def test_accept_submitted_event_rejection_never_echoes_the_bundle_outside_the_quarantined_copy(world: World) -> None:
    # Given an oversized inline bundle whose patient has a distinctive name
    document = _big_bundle()
    document["entry"][0]["resource"]["name"] = [{"family": "ZQXWPHIFAMILY"}]

    # When it is rejected
    accept(world, event({"submission_id": "sub-big", "bundle": document}))

    # Then the name is only in the quarantined event, not in the report, the OperationOutcome or the bus event
    texts = {key: body.decode() for key, body in world.s3.written(ARCHIVE).items()}
    holders = sorted(key for key, text in texts.items() if "ZQXWPHIFAMILY" in text)
    assert holders == [f"quarantine/{TENANT}/events/{EVENT_ID}/event.json"]
    assert "ZQXWPHIFAMILY" not in json.dumps([e.model_dump(mode="json") for e in world.bus.published])


def test_accept_submitted_event_pointer_rejection_names_the_object_in_the_event(world: World) -> None:
    # Given a pointer at a missing object
    # When it is rejected
    accept(world, event({"submission_id": "sub-7", "s3": {"bucket": OUTBOX, "key": "gone.json"}}))

    # Then the Rejected event names the object the EHR pointed at, and the OperationOutcome echoes its id
    (rejected,) = world.rejected()
    assert (rejected.source_bucket, rejected.source_key, rejected.submission_id) == (OUTBOX, "gone.json", "sub-7")


MANIFEST_REJECTIONS = {
    "url outside the folder": ([{"type": "Claim", "url": "../other/Claim.ndjson"}], "manifest.json:output[0].url"),
    "absolute url": (
        [{"type": "Claim", "url": "https://ehr.example/files/Claim.ndjson"}],
        "manifest.json:output[0].url",
    ),
    "rooted url": ([{"type": "Claim", "url": "/x/Claim.ndjson"}], "manifest.json:output[0].url"),
    "not ndjson": (
        [{"type": "Claim", "url": "Claim.ndjson"}, {"type": "Patient", "url": "Patient.json"}],
        "manifest.json:output[1].url",
    ),
    "same name twice": (
        [{"type": "Claim", "url": "a/Claim.ndjson"}, {"type": "Claim", "url": "b/Claim.ndjson"}],
        "manifest.json:output[1].url",
    ),
    "listed file missing": (
        [{"type": "Claim", "url": "Claim.ndjson"}, {"type": "Claim", "url": "Gone.ndjson"}],
        "manifest.json:output[1].url",
    ),
    "entry without url": ([{"type": "Claim"}], "manifest.json:output[0]"),
}


@pytest.mark.parametrize(("outputs", "path"), MANIFEST_REJECTIONS.values(), ids=MANIFEST_REJECTIONS.keys())
def test_accept_submitted_event_bad_manifest_is_in_format_and_no_manifest_reaches_the_inbound_bucket(
    world: World, outputs: list[dict[str, Any]], path: str
) -> None:
    # Given a manifest with one bad output entry (Claim.ndjson exists, the rest does not)
    world.s3.objects[(OUTBOX, "job/Claim.ndjson")] = b"{}\n"
    world.s3.objects[(OUTBOX, "job/manifest.json")] = manifest(outputs)

    # When an event points at it
    outcome = accept(world, event({"s3": {"bucket": OUTBOX, "key": "job/manifest.json"}}))

    # Then it is IN-FORMAT at the entry, and no manifest was written (copies already made stay inert without one)
    assert outcome.error_codes == ("IN-FORMAT",)
    report = json.loads(world.s3.written(ARCHIVE)[f"quarantine/{TENANT}/events/{EVENT_ID}/event.json.error.json"])
    assert report["operation_outcome"]["issue"][0]["expression"] == [path]
    assert not [key for key in world.s3.written(INBOUND) if key.endswith("manifest.json")]


@pytest.mark.parametrize(
    ("content", "path"),
    [(b"not json", "manifest.json"), (b"[]", "manifest.json"), (b"{}", "manifest.json")],
)
def test_accept_submitted_event_unreadable_manifest_is_in_format(world: World, content: bytes, path: str) -> None:
    # Given a manifest.json that is not a complete-status body
    world.s3.objects[(OUTBOX, "manifest.json")] = content

    # When / Then the event is rejected IN-FORMAT naming the manifest (or its first missing field)
    outcome = accept(world, event({"s3": {"bucket": OUTBOX, "key": "manifest.json"}}))
    assert outcome.error_codes == ("IN-FORMAT",)
    report = json.loads(world.s3.written(ARCHIVE)[f"quarantine/{TENANT}/events/{EVENT_ID}/event.json.error.json"])
    assert report["operation_outcome"]["issue"][0]["expression"] == [path]
