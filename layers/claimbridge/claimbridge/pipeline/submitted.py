"""Accept ``FHIR Bundle Submitted`` events: an EHR's bus event becomes an S3 drop in the inbound bucket (contract §1).

The tenant is the one whose ``inbound.event_sources`` registers the event's (``account``, ``source``); nothing in the
payload selects it. The content is then copied under ``<tenant>/events/<event-id>/``, where the ordinary S3 path
(``Object Created`` -> IngestQueue -> ingest) takes it:

=================================  ==========================================================================
``detail``                         written to the inbound bucket
=================================  ==========================================================================
``bundle`` (inline)                ``<tenant>/events/<event-id>/bundle.json``
``s3`` -> Bundle or NDJSON file    ``<tenant>/events/<event-id>/<basename>`` (server-side copy)
``s3`` -> ``manifest.json``        each listed NDJSON file to ``.../bulk/<basename>`` first, then the manifest,
                                   its ``output[].url`` rewritten to those basenames, to ``.../bulk/manifest.json``
=================================  ==========================================================================

Every read of the sender's bucket names the event's ``account`` as the expected bucket owner, so an EHR can only
hand over objects its own account owns. Keys depend only on the event id and the sender's file names: a redelivered
event overwrites the same objects with the same content, and ingest counts the claims again as duplicates.

An event that cannot be accepted is quarantined like an unreadable S3 drop (``IN-TENANT`` for the sender, its
tenant or its bucket, ``IN-FORMAT`` for the detail or the files): the event is kept under
``quarantine/<tenant>/events/<event-id>/event.json`` beside an error report, the EHR gets an OperationOutcome named
by its ``submission_id`` and a ``FHIR Submission Rejected`` event. Retryable failures (S3, DynamoDB, EventBridge)
propagate for SQS to retry. Nothing here logs or echoes submission content.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from claimbridge.errors import FileFormatError, InputError, TenantError
from claimbridge.events import (
    MAX_INLINE_BUNDLE_BYTES,
    SUBMISSION_ID_PATTERN,
    FhirBundleSubmitted,
    FhirBundleSubmittedEvent,
    SubmittedS3Object,
)
from claimbridge.fhir import parse_manifest
from claimbridge.pipeline.outcomes import RejectedSubmission, quarantine_submission
from claimbridge.pipeline.ports import ObjectForbidden, ObjectMissing, PipelineDeps

MANIFEST_NAME = "manifest.json"
BULK_FOLDER = "bulk"
INLINE_BUNDLE_NAME = "bundle.json"
OBJECT_SUFFIXES = (".json", ".json.gz", ".ndjson", ".ndjson.gz")
"""What ``detail.s3`` may name besides a manifest: the S3 channel's Bundle and NDJSON files (contract §1)."""
MAX_KEY_BYTES = 1024  # S3's limit on a key (UTF-8)
METADATA_SUBMISSION_ID = "claimbridge-submission-id"
METADATA_EVENT_ID = "claimbridge-event-id"

Kind = Literal["bundle", "object", "bulk"]


class SubmittedOutcome(BaseModel):
    """What one event produced (ids and counts only: safe to log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    submission_id: str
    event_id: str
    kind: Kind | None = None
    copied: int = 0
    quarantined: bool = False
    error_codes: tuple[str, ...] = ()


def accept_submitted_event(
    event: FhirBundleSubmittedEvent, deps: PipelineDeps, *, inbound_bucket: str
) -> SubmittedOutcome:
    """Copy what a ``FHIR Bundle Submitted`` event carries or points at into the sender's tenant's inbound prefix.

    Parameters
    ----------
    event
        The EventBridge envelope: ``id``, ``account`` (the sender), ``source`` and the raw ``detail``.
    deps
        Ports and settings values (the tenant directory is the state store).
    inbound_bucket
        The stack's inbound bucket; the copies land there and are ingested as S3 drops.

    Returns
    -------
    SubmittedOutcome
        The tenant, the submission id the EHR hears back, what was copied; ``quarantined`` when rejected whole.
    """
    detail, detail_error = _parse_detail(event.detail)
    submission_id = _submission_id(event, detail)
    tenant_id = ""
    try:
        tenant_id = _sender_tenant(event, deps)
        deps.store.get_tenant(tenant_id)  # IN-TENANT when disabled (the rejection still goes to its outbound)
        if detail is None:
            raise detail_error or FileFormatError("detail", "not a FHIR Bundle Submitted detail")
        prefix = f"{tenant_id}/events/{event.id}"
        metadata = {METADATA_SUBMISSION_ID: submission_id, METADATA_EVENT_ID: event.id}
        if detail.bundle is not None:
            kind: Kind = "bundle"
            copied = _put_inline_bundle(detail.bundle, deps, inbound_bucket, f"{prefix}/{INLINE_BUNDLE_NAME}", metadata)
        else:
            assert detail.s3 is not None  # noqa: S101 - FhirBundleSubmitted guarantees exactly one of the two
            _refuse_own_buckets(detail.s3, deps, inbound_bucket)
            copy = _Copier(event.account, deps, inbound_bucket, metadata)
            if posixpath.basename(detail.s3.key) == MANIFEST_NAME:
                kind, copied = "bulk", copy.bulk_set(detail.s3, f"{prefix}/{BULK_FOLDER}")
            else:
                kind, copied = "object", copy.single(detail.s3, prefix)
    except InputError as exc:
        _quarantine(event, detail, tenant_id=tenant_id, submission_id=submission_id, error=exc, deps=deps)
        return SubmittedOutcome(
            tenant_id=tenant_id,
            submission_id=submission_id,
            event_id=event.id,
            quarantined=True,
            error_codes=(exc.in_code,),
        )
    deps.metrics.count("SubmissionEventsAccepted", tenant_id=tenant_id)
    return SubmittedOutcome(
        tenant_id=tenant_id, submission_id=submission_id, event_id=event.id, kind=kind, copied=copied
    )


# ------------------------------------------------------------------------------------------------ the sender


def _sender_tenant(event: FhirBundleSubmittedEvent, deps: PipelineDeps) -> str:
    """The one tenant registering (account, source); the source string is the sender's, so it is not echoed."""
    tenants = deps.store.tenants_for_event_source(event.account, event.source)
    if not tenants:
        raise TenantError(
            "event.source",
            f"the sender (account {event.account}) is not registered in any tenant's inbound.event_sources",
        )
    if len(tenants) > 1:
        raise TenantError(
            "event.source",
            f"the sender (account {event.account}) is registered by {len(tenants)} tenants; it must be by one",
        )
    return tenants[0]


# ------------------------------------------------------------------------------------------------ the detail


def _parse_detail(raw: dict[str, Any]) -> tuple[FhirBundleSubmitted | None, FileFormatError | None]:
    """The validated detail, or the first problem as ``IN-FORMAT`` naming the field (never its value)."""
    try:
        return FhirBundleSubmitted.model_validate(raw), None
    except ValidationError as exc:
        return None, _format_error("detail", exc)


def _format_error(container: str, exc: ValidationError, *, separator: str = ".") -> FileFormatError:
    """``IN-FORMAT`` at the first invalid field (``detail.s3.key``, ``manifest.json:output[2].url``), no values."""
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    tail = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in errors[0]["loc"])
    path = container + (separator + tail[1:] if tail.startswith(".") else tail)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return FileFormatError(path, f"{errors[0]['msg']}{more}")


def _submission_id(event: FhirBundleSubmittedEvent, detail: FhirBundleSubmitted | None) -> str:
    """The sender's ``submission_id`` when it is a valid one, else ``ev-<event id>`` (the OperationOutcome's id)."""
    if detail is not None:
        return detail.submission_id or f"ev-{event.id}"
    raw = event.detail.get("submission_id")
    if isinstance(raw, str) and re.fullmatch(SUBMISSION_ID_PATTERN, raw):
        return raw
    return f"ev-{event.id}"


def _put_inline_bundle(
    bundle: dict[str, Any], deps: PipelineDeps, inbound_bucket: str, key: str, metadata: dict[str, str]
) -> int:
    if bundle.get("resourceType") != "Bundle":
        raise FileFormatError("detail.bundle.resourceType", "an inline submission must be a FHIR Bundle")
    body = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()
    if len(body) >= MAX_INLINE_BUNDLE_BYTES:
        raise FileFormatError(
            "detail.bundle",
            f"the inline Bundle is {len(body)} bytes serialized, the limit is {MAX_INLINE_BUNDLE_BYTES - 1}: "
            "send it in S3 and point at it with detail.s3",
        )
    deps.objects.put(inbound_bucket, key, body, content_type="application/fhir+json", metadata=metadata)
    return 1


def _refuse_own_buckets(pointer: SubmittedS3Object, deps: PipelineDeps, inbound_bucket: str) -> None:
    """A sender may only hand over its own objects, never Claimbridge's (another tenant's files live there)."""
    if pointer.bucket in {inbound_bucket, deps.archive_bucket}:
        raise TenantError("detail.s3.bucket", "names a Claimbridge bucket, not one the sending account owns")


def _content_type(name: str) -> str:
    if name.endswith(".gz"):
        return "application/gzip"
    if name.endswith(".ndjson"):
        return "application/fhir+ndjson"
    return "application/fhir+json"


class _Copier:
    """Copies from the sender's bucket (expected owner: the event's account) into the tenant's inbound prefix."""

    def __init__(self, account: str, deps: PipelineDeps, inbound_bucket: str, metadata: dict[str, str]) -> None:
        self.account = account
        self.deps = deps
        self.inbound_bucket = inbound_bucket
        self.metadata = metadata

    def single(self, pointer: SubmittedS3Object, prefix: str) -> int:
        """A Bundle or NDJSON file: one server-side copy under its own name."""
        name = posixpath.basename(pointer.key)
        if not name.endswith(OBJECT_SUFFIXES):
            raise FileFormatError(
                "detail.s3.key", "names neither a manifest.json nor a .json, .json.gz, .ndjson or .ndjson.gz file"
            )
        self._copy(pointer.bucket, pointer.key, f"{prefix}/{name}", path="detail.s3.key")
        return 1

    def bulk_set(self, pointer: SubmittedS3Object, prefix: str) -> int:
        """The manifest's NDJSON files first, then the manifest, so ingest finds every part when the manifest lands."""
        raw = self._read(pointer)
        outputs = parse_manifest(raw, file_name=MANIFEST_NAME)  # the same checks as ingest applies to the copy
        document = json.loads(raw)
        folder = posixpath.dirname(pointer.key)
        parts: list[tuple[str, str, str]] = []  # (path in the manifest, source key, file name)
        for index, output in enumerate(outputs):
            path = f"{MANIFEST_NAME}:output[{index}].url"
            source_key = posixpath.join(folder, output.path) if folder else output.path
            if any(output.name == other for _, _, other in parts):
                raise FileFormatError(path, "two output files have the same file name")
            parts.append((path, source_key, output.name))
        for path, source_key, name in parts:
            self._copy(pointer.bucket, source_key, f"{prefix}/{name}", path=path)
        names = [name for _, _, name in parts]
        for index, name in enumerate(names):
            document["output"][index]["url"] = name
        body = json.dumps(document, indent=2, sort_keys=True).encode()
        self.deps.objects.put(
            self.inbound_bucket,
            f"{prefix}/{MANIFEST_NAME}",
            body,
            content_type="application/json",
            metadata=self.metadata,
        )
        return len(names) + 1

    def _read(self, pointer: SubmittedS3Object) -> bytes:
        try:
            return self.deps.objects.get(pointer.bucket, pointer.key, expected_owner=self.account)
        except ObjectForbidden as exc:
            raise _foreign("detail.s3") from exc
        except ObjectMissing as exc:
            raise FileFormatError("detail.s3.key", "the object does not exist") from exc

    def _copy(self, bucket: str, source_key: str, key: str, *, path: str) -> None:
        if len(key.encode()) > MAX_KEY_BYTES:
            raise FileFormatError(path, f"the file name makes the copy's key longer than S3's {MAX_KEY_BYTES} bytes")
        try:
            self.deps.objects.copy(
                bucket,
                source_key,
                self.inbound_bucket,
                key,
                expected_source_owner=self.account,
                content_type=_content_type(key),
                metadata=self.metadata,
            )
        except ObjectForbidden as exc:
            raise _foreign("detail.s3") from exc
        except ObjectMissing as exc:
            raise FileFormatError(path, "the object does not exist") from exc


def _foreign(path: str) -> TenantError:
    return TenantError(path, "the bucket is not owned by the sending account, or does not let Claimbridge read it")


def _quarantine(
    event: FhirBundleSubmittedEvent,
    detail: FhirBundleSubmitted | None,
    *,
    tenant_id: str,
    submission_id: str,
    error: InputError,
    deps: PipelineDeps,
) -> None:
    """Keep the event as received (what the EHR sent) and reject it through the shared quarantine."""
    document = event.model_dump(mode="json", by_alias=True, exclude_none=True)

    def keep(quarantine_key: str) -> None:
        body = json.dumps(document, indent=2, sort_keys=True).encode()
        deps.objects.put(deps.archive_bucket, quarantine_key, body, content_type="application/json")

    pointer = detail.s3 if detail is not None else None
    origin = {"bucket": pointer.bucket, "key": pointer.key} if pointer else {}
    rejected = RejectedSubmission(
        tenant_id=tenant_id,
        submission_id=submission_id,
        quarantine_path=f"events/{event.id}/event.json",
        source={"event_id": event.id, "account": event.account, "source": event.source, **origin},
        keep=keep,
        source_bucket=pointer.bucket if pointer else None,
        source_key=pointer.key if pointer else None,
        event_id=event.id,
    )
    quarantine_submission(rejected, error, deps)
