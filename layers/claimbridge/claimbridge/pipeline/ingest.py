"""Ingest: one FHIR object in the inbound bucket becomes stored claims (READY or HELD) and bus events.

Shapes (contract section 1): a Bundle (``.json``/``.json.gz``), an NDJSON file (``.ndjson``/``.ndjson.gz``), or a
bulk set: NDJSON files under a ``bulk/`` folder wait for the ``manifest.json`` of their folder, which makes the
files it lists one submission. Objects are streamed into an on-disk index, never read whole; a submission with
more than ``CHUNK_ANCHORS`` claim anchors is fanned out: the index goes to the archive bucket and chunks of anchor
rows go to the IngestChunksQueue, so no invocation approaches its time limit (``ingest_chunk`` maps a chunk).

Idempotency and versions follow contract section 8: the same source version is a counted no-op; a new version
replaces a claim that was not sent yet; a new version of a sent claim becomes a new claim linked to it, held with
``IN-VERSION`` unless it is a corrected (7) or void (8) claim. A file that cannot be read at all is quarantined
with an error report and an OperationOutcome; nothing is raised for such permanent errors, so the rest of the SQS
batch goes on. Retryable errors (S3, DynamoDB, EventBridge) propagate for SQS to retry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, ConfigDict, Field, Json

from claimbridge.claim import ClaimFrequency, ProfessionalClaim
from claimbridge.errors import FileFormatError, InputError, StateConflict, TenantError
from claimbridge.events import SUBMISSION_ID_PATTERN, BusEventDetail
from claimbridge.fhir import BULK_MANIFEST_NAME, SubmissionIndex, is_ndjson, read_bulk_set, read_submission
from claimbridge.findings import Finding, Severity
from claimbridge.intake import AnchorScan, IntakeOutcome, MappedClaim, Withdrawal, iter_intake, line_error_findings
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline.announce import state_event
from claimbridge.pipeline.outcomes import (
    RejectedSubmission,
    operation_outcome,
    quarantine_submission,
    submission_id_for,
)
from claimbridge.pipeline.ports import ChunkQueuePort, ObjectMissing, ObjectStorePort, PipelineDeps
from claimbridge.pipeline.submitted import METADATA_SUBMISSION_ID
from claimbridge.scrubber import ServiceRecord, scrub
from claimbridge.state.models import REPLACEABLE_STATES, ClaimState, SourceIndex, StoredClaim, TenantRecord
from claimbridge.tenants import TenantConfig

_SOURCE_KEY = re.compile(r"^(Claim|Encounter)/[A-Za-z0-9\-.]{1,64}$")
CHUNK_ANCHORS = 100  # anchors per fan-out message: mapping + three DynamoDB writes each stays far below the timeout
ANNOUNCE_BATCH = 10  # events are put on the bus (and marked announced) as soon as a PutEvents batch is full
MAX_MANIFEST_BYTES = 1_000_000
_SUBMISSION_ID = re.compile(SUBMISSION_ID_PATTERN)


class IngestOutcome(BaseModel):
    """What one object produced (ids and counts only: safe to log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    submission_id: str
    ready: int = 0
    held: int = 0
    duplicates: int = 0
    resumed: int = 0
    reannounced: int = 0
    stale: int = 0
    withdrawn: int = 0
    skipped: int = 0
    reported_without_id: int = 0
    lines_rejected: int = 0
    waiting: bool = False
    chunks: int = 0
    quarantined: bool = False
    error_codes: tuple[str, ...] = ()


def derive_claim_id(tenant_id: str, source_key: str, version: str) -> str:
    """The CLM01 of a new version of a claim already sent (the original keeps ``claim_id_for(tenant, source)``).

    ``CB`` + 18 base32 characters over (tenant, source, version): stable across retries, unique per version.
    """
    digest = hashlib.sha256(f"{tenant_id}|{source_key}|{version}".encode()).digest()
    return "CB" + base64.b32encode(digest).decode().rstrip("=")[:18]


def with_claim_id(claim: ProfessionalClaim, claim_id: str) -> ProfessionalClaim:
    """The claim renumbered: CLM01 and the REF*6R line control numbers built from it."""
    if claim.claim_id == claim_id:
        return claim
    lines = tuple(
        line.model_copy(update={"line_control_number": f"{claim_id}-{line.sequence}"})
        if line.line_control_number.startswith(claim.claim_id)
        else line
        for line in claim.lines
    )
    return ProfessionalClaim.model_validate(
        {**claim.model_dump(exclude={"total_charge"}), "claim_id": claim_id, "lines": [ln.model_dump() for ln in lines]}
    )


def _tenant_segment(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


class SubmissionKind(StrEnum):
    """What an inbound object is, from its key (contract section 1)."""

    BUNDLE = "bundle"
    NDJSON = "ndjson"
    BULK_PART = "bulk-part"
    BULK_MANIFEST = "bulk-manifest"


def submission_kind(key: str) -> SubmissionKind:
    """``<tenant>/.../bulk/<id>/x.ndjson`` waits for its folder's ``manifest.json``; other NDJSON stands alone."""
    parts = key.split("/")
    name = parts[-1]
    in_bulk = "bulk" in parts[1:-1]
    if in_bulk and name == BULK_MANIFEST_NAME:
        return SubmissionKind.BULK_MANIFEST
    if is_ndjson(name):
        return SubmissionKind.BULK_PART if in_bulk else SubmissionKind.NDJSON
    return SubmissionKind.BUNDLE


def _submission_of(objects: ObjectStorePort, bucket: str, key: str, default: str) -> tuple[str, str]:
    """The object's real key and its submission id: the EHR's own ``submission_id`` for copies of an EventBridge
    submission (S3 metadata written by ``accept_submission``, echoed back in the OperationOutcome), else ``default``.
    """
    try:
        metadata = objects.metadata(bucket, key)
    except ObjectMissing:
        decoded = unquote_plus(key)
        if decoded == key:
            raise
        key, metadata = decoded, objects.metadata(bucket, decoded)
    sent = metadata.get(METADATA_SUBMISSION_ID, "")
    return key, sent if _SUBMISSION_ID.match(sent) else default


def _index_object(objects: ObjectStorePort, bucket: str, key: str, kind: SubmissionKind) -> SubmissionIndex:
    """Stream the object (a bulk set: every file its manifest lists) into an on-disk index.

    ``key`` is the real key already (``_submission_of`` resolved a URL-encoded one).
    """
    name = key.rsplit("/", 1)[-1]
    if kind == SubmissionKind.BULK_MANIFEST:
        folder = key.rsplit("/", 1)[0]
        with objects.open(bucket, key) as stream:
            manifest = stream.read(MAX_MANIFEST_BYTES + 1)
        if len(manifest) > MAX_MANIFEST_BYTES:
            raise FileFormatError(name, "manifest is larger than 1 MB")

        def open_file(relative: str) -> Any:
            try:
                return objects.open(bucket, f"{folder}/{relative}")
            except ObjectMissing:
                raise FileNotFoundError(relative) from None

        return read_bulk_set(manifest, file_name=name, open_file=open_file)
    stream = objects.open(bucket, key)
    try:
        return read_submission(stream, file_name=name)
    finally:
        stream.close()


def ingest_object(bucket: str, key: str, deps: PipelineDeps) -> IngestOutcome:
    """Read and map every claim of one inbound object, store each READY or HELD, announce it on the bus.

    Parameters
    ----------
    bucket, key
        The object an ``Object Created`` event announced; the tenant is the key's first segment.
    deps
        Ports and settings values.

    Returns
    -------
    IngestOutcome
        Counts; ``quarantined`` when the whole object was rejected (unknown tenant, unreadable file); ``waiting``
        for a bulk-set file (processed when its manifest arrives); ``chunks`` when it was fanned out.
    """
    tenant_id = _tenant_segment(key)
    submission_id = submission_id_for(bucket, key)
    kind = submission_kind(key)
    try:
        if not tenant_id:
            raise TenantError("object key", "the object key has no tenant segment")
        tenant = deps.store.get_tenant(tenant_id)
        key, submission_id = _submission_of(deps.objects, bucket, key, submission_id)
        if kind == SubmissionKind.BULK_PART:
            deps.metrics.count("BulkFilesReceived", tenant_id=tenant_id)
            return IngestOutcome(tenant_id=tenant_id, submission_id=submission_id, waiting=True)
        index = _index_object(deps.objects, bucket, key, kind)
    except ObjectMissing:
        deps.metrics.count("InputMissing", tenant_id=tenant_id or None)
        return IngestOutcome(tenant_id=tenant_id, submission_id=submission_id, error_codes=("CB-OBJECT-MISSING",))
    except InputError as exc:
        return _quarantine(bucket, key, tenant_id=tenant_id, submission_id=submission_id, exc=exc, deps=deps)

    with index:
        reported = list(line_error_findings(index))
        scan = AnchorScan(index, tenant.config)
        rows: Iterable[int] = scan
        if deps.chunks is not None:
            rows = list(scan)
            if len(rows) > CHUNK_ANCHORS:
                chunks = _fan_out(
                    index, rows, deps.chunks, bucket=bucket, key=key, submission_id=submission_id, deps=deps
                )
                _report(reported, tenant_id, submission_id, deps)
                deps.metrics.count("SubmissionsFannedOut", tenant_id=tenant_id)
                deps.metrics.count("SourcesSkipped", scan.skipped, tenant_id=tenant_id)
                deps.metrics.count("InputLinesRejected", index.line_error_count, tenant_id=tenant_id)
                return IngestOutcome(
                    tenant_id=tenant_id,
                    submission_id=submission_id,
                    skipped=scan.skipped,
                    chunks=chunks,
                    lines_rejected=index.line_error_count,
                )
        ingest = _Ingest(tenant, deps)
        without_id = ingest.store_all(iter_intake(index, tenant=tenant.config, rows=rows))
        ingest.publish()
        _report([*reported, *without_id], tenant_id, submission_id, deps)
        deps.metrics.count("SourcesSkipped", scan.skipped, tenant_id=tenant_id)
        deps.metrics.count("InputLinesRejected", index.line_error_count, tenant_id=tenant_id)
        return ingest.outcome(
            submission_id, skipped=scan.skipped, lines_rejected=index.line_error_count, reported=len(without_id)
        )


class IngestChunk(BaseModel):
    """One fan-out message: which anchors of an indexed submission to map and store (ids and row numbers only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    submission_id: str
    index_key: str
    file_name: str
    chunk: Annotated[int, Field(ge=1)]
    chunks: Annotated[int, Field(ge=1)]
    rows: Annotated[tuple[int, ...], Field(min_length=1, max_length=CHUNK_ANCHORS)]


class IngestChunkRecord(SqsRecordModel):
    """IngestChunksQueue record: the body is one ``IngestChunk``."""

    body: Json[IngestChunk]


def _fan_out(
    index: SubmissionIndex,
    rows: list[int],
    chunks: ChunkQueuePort,
    *,
    bucket: str,
    key: str,
    submission_id: str,
    deps: PipelineDeps,
) -> int:
    """Upload the index and enqueue its anchors in chunks; a retry overwrites the same keys (same chunks again)."""
    tenant_id = _tenant_segment(key)
    index_key = f"work/{tenant_id}/{submission_id}/index.sqlite"
    deps.objects.upload_file(index.path, deps.archive_bucket, index_key)
    total = (len(rows) + CHUNK_ANCHORS - 1) // CHUNK_ANCHORS
    bodies = [
        IngestChunk(
            tenant_id=tenant_id,
            submission_id=submission_id,
            index_key=index_key,
            file_name=index.file_name,
            chunk=number + 1,
            chunks=total,
            rows=tuple(rows[start : start + CHUNK_ANCHORS]),
        ).model_dump_json()
        for number, start in enumerate(range(0, len(rows), CHUNK_ANCHORS))
    ]
    chunks.send(bodies)
    return total


def ingest_chunk(chunk: IngestChunk, deps: PipelineDeps, *, work_dir: Path | None = None) -> IngestOutcome:
    """Map and store one fan-out chunk: the index is downloaded (once per warm container) and opened read-only.

    The tenant must still be known and enabled (``TenantError`` otherwise: the message is retried, then kept in
    the DLQ with an alarm, so nothing is lost while a tenant is being fixed).
    """
    tenant = deps.store.get_tenant(chunk.tenant_id)
    path = _cached_index(chunk.index_key, deps, work_dir)
    with SubmissionIndex.open(path, file_name=chunk.file_name) as index:
        ingest = _Ingest(tenant, deps)
        reported = ingest.store_all(iter_intake(index, tenant=tenant.config, rows=chunk.rows))
        ingest.publish()
    _report(reported, chunk.tenant_id, f"{chunk.submission_id}-{chunk.chunk}", deps)
    return ingest.outcome(chunk.submission_id, skipped=0, lines_rejected=0, reported=len(reported))


_INDEX_CACHE: dict[str, Path] = {}


def _cached_index(index_key: str, deps: PipelineDeps, work_dir: Path | None) -> Path:
    """The downloaded index of ``index_key``; only the latest one is kept on the function's /tmp."""
    cached = _INDEX_CACHE.get(index_key)
    if cached is not None and cached.exists():
        return cached
    for old in _INDEX_CACHE.values():
        old.unlink(missing_ok=True)
    _INDEX_CACHE.clear()
    folder = work_dir or Path(tempfile.gettempdir())
    path = folder / f"claimbridge-{hashlib.sha256(index_key.encode()).hexdigest()[:16]}.sqlite"
    deps.objects.download_file(deps.archive_bucket, index_key, path)
    _INDEX_CACHE[index_key] = path
    return path


def _report(reported: Sequence[Finding], tenant_id: str, submission_id: str, deps: PipelineDeps) -> None:
    """Errors that belong to no stored claim (NDJSON lines, anchors without an id) go back as an OperationOutcome."""
    if not reported:
        return
    deps.objects.put(
        deps.archive_bucket,
        f"outbound/{tenant_id}/OperationOutcome/{submission_id}.json",
        _json_bytes(operation_outcome(submission_id, reported)),
        content_type="application/fhir+json",
    )


def is_stale(incoming: str | None, stored: str | None) -> bool:
    """True when both versions carry a ``meta.lastUpdated`` stamp and the incoming one is older."""
    return incoming is not None and stored is not None and incoming < stored


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


class _StoreHistory:
    """The scrubber's view of the patient's stored claims (``ClaimHistory`` over the state store)."""

    def __init__(self, deps: PipelineDeps, tenant_id: str) -> None:
        self._deps = deps
        self._tenant_id = tenant_id

    def services(self, patient_key: str) -> Sequence[ServiceRecord]:
        return self._deps.store.patient_services(self._tenant_id, patient_key)


def _replaceable(current: StoredClaim) -> bool:
    """Whether a new source version may replace the stored claim: not sent yet (RECEIVED/HELD/READY in no
    interchange), and not a biller's replacement or void of a claim the payer has (held after the clearinghouse
    refused it): that one is fixed by a new correction, never silently turned back into an original claim."""
    correction_of_a_sent_claim = (
        current.claim is not None
        and current.claim.frequency != ClaimFrequency.ORIGINAL
        and current.submission_id is not None
    )
    return (
        current.state in REPLACEABLE_STATES and current.pending_submission_id is None and not correction_of_a_sent_claim
    )


def scrub_with_store(claim: ProfessionalClaim, tenant: TenantConfig, deps: PipelineDeps) -> tuple[Finding, ...]:
    """The scrubber as the pipeline runs it: the tenant's document, the pinned or current date, and the patient's
    other claims from the state store (ingest, and a biller's resubmit or correction, scrub alike)."""
    as_of = deps.scrub_as_of or deps.clock().date()
    return scrub(claim, tenant=tenant, as_of=as_of, history=_StoreHistory(deps, tenant.tenant_id)).findings


def _merged(first: Sequence[Finding], second: Sequence[Finding]) -> tuple[Finding, ...]:
    """Intake findings then scrubber findings, each once (a resumed claim is scrubbed again)."""
    return tuple(dict.fromkeys((*first, *second)))


class _Ingest:
    """Stores the claims of one submission (or chunk) one by one and announces them in small batches."""

    def __init__(self, tenant: TenantRecord, deps: PipelineDeps) -> None:
        self.tenant = tenant
        self.tenant_id = tenant.config.tenant_id
        self.deps = deps
        self.events: list[BusEventDetail] = []
        self.to_mark: list[StoredClaim] = []
        self.counts = {
            "received": 0,
            "ready": 0,
            "held": 0,
            "duplicates": 0,
            "stale": 0,
            "withdrawn": 0,
            "withdrawn_unknown": 0,
            "resumed": 0,
            "reannounced": 0,
        }
        self.held_by_rule: Counter[str] = Counter()
        """Claims held, per error rule that holds them (a claim held by two rules counts under both)."""

    def store_all(self, outcomes: Iterable[IntakeOutcome]) -> list[Finding]:
        """Store every intake outcome as it comes; returns findings of sources without an id (reported, not stored)."""
        reported: list[Finding] = []
        for outcome in outcomes:
            if isinstance(outcome, Withdrawal):
                self.withdraw(outcome)
            elif isinstance(outcome, MappedClaim):
                self.store_mapped(outcome.claim, outcome.findings, stamp=outcome.stamp)
            elif _SOURCE_KEY.match(outcome.source_key):
                self.store_rejected(outcome.source_key, outcome.version, outcome.findings, stamp=outcome.stamp)
            else:
                reported.extend(outcome.findings)
            if len(self.events) >= ANNOUNCE_BATCH:
                self.publish()
        return reported

    def outcome(self, submission_id: str, *, skipped: int, lines_rejected: int, reported: int) -> IngestOutcome:
        """Counts as metrics (per tenant) and as the outcome the handler logs."""
        counts = self.counts
        metrics, tenant_id = self.deps.metrics, self.tenant_id
        metrics.count("ClaimsReceived", counts["received"], tenant_id=tenant_id)
        metrics.count("ClaimsReady", counts["ready"], tenant_id=tenant_id)
        metrics.count("ClaimsHeld", counts["held"], tenant_id=tenant_id)
        for rule_id, held in sorted(self.held_by_rule.items()):
            metrics.count("ClaimsHeld", held, dimensions={"rule": rule_id})
        metrics.count("ClaimsDuplicate", counts["duplicates"], tenant_id=tenant_id)
        metrics.count("ClaimsStale", counts["stale"], tenant_id=tenant_id)
        metrics.count("ClaimsWithdrawn", counts["withdrawn"], tenant_id=tenant_id)
        metrics.count("ClaimsReannounced", counts["reannounced"], tenant_id=tenant_id)
        metrics.count("SourcesRejectedWithoutId", reported, tenant_id=tenant_id)
        return IngestOutcome(
            tenant_id=tenant_id,
            submission_id=submission_id,
            ready=counts["ready"],
            held=counts["held"],
            duplicates=counts["duplicates"],
            stale=counts["stale"],
            withdrawn=counts["withdrawn"] + counts["withdrawn_unknown"],
            resumed=counts["resumed"],
            reannounced=counts["reannounced"],
            skipped=skipped,
            reported_without_id=reported,
            lines_rejected=lines_rejected,
        )

    def publish(self) -> None:
        """Put the collected events on the bus, then record them as announced."""
        if self.events:
            self.deps.events.publish(self.events)
        for claim in self.to_mark:
            self.deps.store.mark_announced(claim)
        self.events = []
        self.to_mark = []

    def withdraw(self, withdrawal: Withdrawal) -> None:
        """``entered-in-error`` / ``cancelled`` without a prior claim (contract sections 2 and 8).

        Not stored: nothing to do (counted). HELD/READY and not part of a submission: closed, with the reason in the
        audit history. Already sent: the payer has it, so a void is needed: a held ``IN-VERSION`` record says so.
        """
        store = self.deps.store
        existing = store.lookup_source(self.tenant_id, withdrawal.source_key)
        if existing is None:
            self.counts["withdrawn_unknown"] += 1
            return
        if existing.version == withdrawal.version or is_stale(withdrawal.stamp, existing.stamp):
            self.counts["duplicates" if existing.version == withdrawal.version else "stale"] += 1
            return
        current = store.get_claim(self.tenant_id, existing.claim_id)
        if current is None or current.state == ClaimState.CLOSED:
            self.counts["duplicates"] += 1
            return
        reason = f"withdrawn by {withdrawal.source_key} version {withdrawal.version} (status {withdrawal.status})"
        if _replaceable(current):
            if current.state == ClaimState.RECEIVED:
                current = store.transition(current, ClaimState.HELD, reason=reason, actor=self.deps.actor)
            store.transition(current, ClaimState.CLOSED, reason=reason, actor=self.deps.actor)
            self.counts["withdrawn"] += 1
            return
        finding = Finding(
            rule_id="IN-VERSION",
            severity=Severity.ERROR,
            fhir_path=f"{withdrawal.fhir_path}.status",
            message=f"{withdrawal.status} after submission (claim {current.claim_id} is {current.state.value})",
            fix="send a void: the Claim with status cancelled and Claim.related (relationship prior)",
        )
        self._store(
            source_key=withdrawal.source_key,
            version=withdrawal.version,
            stamp=withdrawal.stamp,
            claim=None,
            findings=(finding,),
            fhir_path=withdrawal.fhir_path,
        )

    def store_mapped(self, claim: ProfessionalClaim, findings: Sequence[Finding], *, stamp: str | None = None) -> None:
        """One mapped claim through the version table, then classified."""
        self._store(
            source_key=claim.source.key,
            version=claim.source.version,
            stamp=stamp,
            claim=claim,
            findings=tuple(findings),
            fhir_path=claim.source.fhir_path,
        )

    def store_rejected(
        self, source_key: str, version: str, findings: Sequence[Finding], *, stamp: str | None = None
    ) -> None:
        """A source that could not become a claim is kept HELD with its IN-* findings (the worklist shows it)."""
        self._store(
            source_key=source_key, version=version, stamp=stamp, claim=None, findings=tuple(findings), fhir_path=""
        )

    def _store(
        self,
        *,
        source_key: str,
        version: str,
        stamp: str | None,
        claim: ProfessionalClaim | None,
        findings: tuple[Finding, ...],
        fhir_path: str,
    ) -> None:
        store = self.deps.store
        existing = store.lookup_source(self.tenant_id, source_key)
        if existing is not None and existing.version == version:
            self._duplicate(existing)
            return
        if existing is not None and is_stale(stamp, existing.stamp):
            # An older version delivered after a newer one (out of order): it must not undo the newer one.
            self.counts["stale"] += 1
            return
        try:
            stored = self._receive(
                existing,
                source_key=source_key,
                version=version,
                stamp=stamp,
                claim=claim,
                findings=findings,
                fhir_path=fhir_path,
            )
        except StateConflict:
            # Another delivery of the same object won the race: if it stored this version, this one is a duplicate.
            again = store.lookup_source(self.tenant_id, source_key)
            if again is not None and again.version == version:
                self._duplicate(again)
                return
            raise
        self.counts["received"] += 1
        self._classify(stored)

    def _duplicate(self, existing: SourceIndex) -> None:
        current = self.deps.store.get_claim(self.tenant_id, existing.claim_id)
        if current is not None and current.state == ClaimState.RECEIVED:
            # An earlier delivery stopped between RECEIVED and READY/HELD: finish it instead of leaving it stuck.
            self.counts["resumed"] += 1
            self._classify(current)
            return
        self.counts["duplicates"] += 1
        if current is not None and current.state in (ClaimState.READY, ClaimState.HELD) and not current.announced:
            # Its event was lost (the bus failed after the state write): announce it now, or it would never be sent.
            self.counts["reannounced"] += 1
            self._announce(current)

    def _receive(
        self,
        existing: SourceIndex | None,
        *,
        source_key: str,
        version: str,
        stamp: str | None,
        claim: ProfessionalClaim | None,
        findings: tuple[Finding, ...],
        fhir_path: str,
    ) -> StoredClaim:
        store = self.deps.store
        payer_key = claim.payer.key if claim else None
        config_version = self.tenant.config_version
        actor = self.deps.actor
        current = store.get_claim(self.tenant_id, existing.claim_id) if existing else None
        if existing is None or current is None:
            claim_id = claim.claim_id if claim else claim_id_for(self.tenant_id, source_key)
            return store.create_claim(
                tenant_id=self.tenant_id,
                claim_id=claim_id,
                source_key=source_key,
                version=version,
                claim=with_claim_id(claim, claim_id) if claim else None,
                findings=findings,
                previous_source=existing,
                source_stamp=stamp,
                reason=f"received {source_key} version {version}",
                payer_key=payer_key,
                config_version=config_version,
                actor=actor,
            )
        if _replaceable(current):
            return store.replace_claim(
                current,
                version=version,
                claim=with_claim_id(claim, current.claim_id) if claim else None,
                findings=findings,
                previous_source=existing,
                source_stamp=stamp,
                reason=f"replaced by {source_key} version {version}",
                payer_key=payer_key,
                config_version=config_version,
                actor=actor,
            )
        # Already sent (or closed): the new version is a new claim linked to the original (contract section 8).
        claim_id = derive_claim_id(self.tenant_id, source_key, version)
        corrective = claim is not None and claim.frequency in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID)
        # A claim withdrawn before it was ever sent (CLOSED, no submission) is simply billed again as a new claim.
        never_sent = current.state == ClaimState.CLOSED and current.submission_id is None
        if not corrective and not never_sent and not any(f.rule_id == "IN-VERSION" for f in findings):
            findings = (
                *findings,
                Finding(
                    rule_id="IN-VERSION",
                    severity=Severity.ERROR,
                    fhir_path=fhir_path or source_key,
                    message=f"changed after submission (claim {current.claim_id} is {current.state.value})",
                    fix="send Claim.related with relationship 'prior' for a corrected claim, or a void",
                ),
            )
        return store.create_claim(
            tenant_id=self.tenant_id,
            claim_id=claim_id,
            source_key=source_key,
            version=version,
            claim=with_claim_id(claim, claim_id) if claim else None,
            findings=findings,
            previous_source=existing,
            related_claim_id=current.claim_id,
            source_stamp=stamp,
            reason=f"received {source_key} version {version} after claim {current.claim_id} was submitted",
            payer_key=payer_key,
            config_version=config_version,
            actor=actor,
        )

    def _classify(self, stored: StoredClaim) -> None:
        """Scrub, then RECEIVED -> HELD (any intake or scrubber error, or nothing to bill) or READY, then its event.

        The claim is already stored (with its lines under the patient key), so the next claim of the same submission
        sees it in its history; a redelivery that resumes a RECEIVED claim scrubs again and gets the same findings.
        """
        findings = _merged(stored.findings, self._scrub(stored.claim))
        errors = [f for f in findings if f.severity == Severity.ERROR]
        if errors or stored.claim is None:
            holding = list(dict.fromkeys(f.rule_id for f in errors)) or ["intake"]
            moved = self.deps.store.transition(
                stored,
                ClaimState.HELD,
                reason=f"held by {', '.join(holding)}",
                actor=self.deps.actor,
                findings=findings,
            )
            self.counts["held"] += 1
            self.held_by_rule.update(holding)
        else:
            moved = self.deps.store.transition(
                stored, ClaimState.READY, reason="scrubbed clean", actor=self.deps.actor, findings=findings
            )
            self.counts["ready"] += 1
        self._announce(moved)

    def _scrub(self, claim: ProfessionalClaim | None) -> tuple[Finding, ...]:
        if claim is None:
            return ()
        return scrub_with_store(claim, self.tenant.config, self.deps)

    def _announce(self, claim: StoredClaim) -> None:
        """Queue the Claim Ready / Claim Held event of a READY / HELD claim."""
        event = state_event(claim)
        if event is not None:
            self.events.append(event)
        self.to_mark.append(claim)


def _quarantine(
    bucket: str, key: str, *, tenant_id: str, submission_id: str, exc: InputError, deps: PipelineDeps
) -> IngestOutcome:
    """Keep the object aside with an error report, tell the EHR (OperationOutcome + event), count it."""

    def keep(quarantine_key: str) -> None:
        try:
            deps.objects.copy(bucket, key, deps.archive_bucket, quarantine_key)
        except ObjectMissing:
            deps.metrics.count("InputMissing", tenant_id=tenant_id or None)

    rejected = RejectedSubmission(
        tenant_id=tenant_id,
        submission_id=submission_id,
        quarantine_path=key,
        source={"bucket": bucket, "key": key},
        keep=keep,
        source_bucket=bucket,
        source_key=key,
    )
    quarantine_submission(rejected, exc, deps)
    return IngestOutcome(tenant_id=tenant_id, submission_id=submission_id, quarantined=True, error_codes=(exc.in_code,))
