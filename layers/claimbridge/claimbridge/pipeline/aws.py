"""AWS adapters of the pipeline ports (S3, EventBridge); clients come from the caller, built after env is set."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from claimbridge.events import BusEventDetail, put_events_entry
from claimbridge.pipeline.ports import ObjectForbidden, ObjectMissing, StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

_MISSING = {"NoSuchKey", "404", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}
_FORBIDDEN = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}
PUT_EVENTS_BATCH = 10
SQS_BATCH = 10


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ObjectStore:
    """``ObjectStorePort`` over an S3 client."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def get(self, bucket: str, key: str, *, expected_owner: str | None = None) -> bytes:
        """Read the whole object (``ExpectedBucketOwner`` when an owner is expected)."""
        owner: dict[str, str] = {"ExpectedBucketOwner": expected_owner} if expected_owner else {}
        try:
            response = self._client.get_object(Bucket=bucket, Key=key, **owner)  # type: ignore[arg-type]
        except ClientError as exc:
            raise _read_error(exc, "get_object", bucket, key, external=bool(expected_owner)) from exc
        body: bytes = response["Body"].read()
        return body

    def put(
        self, bucket: str, key: str, body: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Write the object."""
        extra: dict[str, Any] = {"Metadata": dict(metadata)} if metadata else {}
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra)
        except ClientError as exc:
            raise StorageUnavailable(f"put_object failed: {_error_code(exc)}") from exc

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
        """Server-side copy (``ExpectedSourceBucketOwner`` when an owner is expected)."""
        extra: dict[str, Any] = {}
        if expected_source_owner:
            extra["ExpectedSourceBucketOwner"] = expected_source_owner
        if content_type is not None or metadata is not None:
            # REPLACE: the copy carries our content type and metadata, not the sender's (nor its tags).
            extra |= {"MetadataDirective": "REPLACE", "Metadata": dict(metadata or {}), "TaggingDirective": "REPLACE"}
            if content_type is not None:
                extra["ContentType"] = content_type
        try:
            self._client.copy_object(
                Bucket=bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key}, **extra
            )
        except ClientError as exc:
            external = bool(expected_source_owner)
            raise _read_error(exc, "copy_object", source_bucket, source_key, external=external) from exc

    def metadata(self, bucket: str, key: str) -> dict[str, str]:
        """HEAD the object for its user metadata."""
        try:
            response = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise _read_error(exc, "head_object", bucket, key, external=False) from exc
        return {name.lower(): value for name, value in response.get("Metadata", {}).items()}

    def open(self, bucket: str, key: str) -> Any:
        """The object's streaming body (botocore ``StreamingBody``: ``read(n)`` as the bytes arrive)."""
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise _read_error(exc, "get_object", bucket, key, external=False) from exc
        return response["Body"]

    def upload_file(self, path: Path, bucket: str, key: str) -> None:
        """Managed (multipart) upload of a local file."""
        try:
            self._client.upload_file(str(path), bucket, key)
        except (ClientError, S3UploadFailedError) as exc:
            raise StorageUnavailable("upload_file failed") from exc

    def download_file(self, bucket: str, key: str, path: Path) -> None:
        """Managed (ranged) download into a local file."""
        try:
            self._client.download_file(bucket, key, str(path))
        except ClientError as exc:
            raise _read_error(exc, "download_file", bucket, key, external=False) from exc

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """ListObjectsV2 pages under ``prefix`` (S3 returns keys in UTF-8 binary order)."""
        keys: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except ClientError as exc:
            raise StorageUnavailable(f"list_objects_v2 failed: {_error_code(exc)}") from exc
        return keys


def _read_error(exc: ClientError, operation: str, bucket: str, key: str, *, external: bool) -> Exception:
    """The domain error for a failed read. Reads of a sender's bucket also turn refusals into permanent errors."""
    code = _error_code(exc)
    if code in _MISSING or (external and code in _NO_BUCKET):
        return ObjectMissing(f"s3://{bucket}/{key} does not exist")
    if external and code in _FORBIDDEN:
        return ObjectForbidden(f"s3://{bucket}/{key}: {operation} refused ({code})")
    return StorageUnavailable(f"{operation} failed: {code}")


class SqsChunkQueue:
    """``ChunkQueuePort`` over an SQS client, in ``SendMessageBatch`` calls of ten."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, bodies: Sequence[str]) -> None:
        """Send every body; a failed entry raises ``StorageUnavailable`` (the whole object is retried)."""
        for start in range(0, len(bodies), SQS_BATCH):
            batch = [
                {"Id": str(position), "MessageBody": body}
                for position, body in enumerate(bodies[start : start + SQS_BATCH])
            ]
            try:
                response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=batch)  # type: ignore[arg-type]
            except ClientError as exc:
                raise StorageUnavailable(f"send_message_batch failed: {_error_code(exc)}") from exc
            if response.get("Failed"):
                raise StorageUnavailable(f"send_message_batch: {len(response['Failed'])} entries failed")


class EventBridgePublisher:
    """``EventPublisherPort`` over an EventBridge client, in ``PutEvents`` batches of ten."""

    def __init__(self, client: EventBridgeClient, event_bus_name: str) -> None:
        self._client = client
        self._bus = event_bus_name

    def publish(self, details: Sequence[BusEventDetail]) -> None:
        """Publish; any failed entry raises ``StorageUnavailable`` so the message is retried."""
        entries: list[Any] = [put_events_entry(detail, event_bus_name=self._bus) for detail in details]
        for start in range(0, len(entries), PUT_EVENTS_BATCH):
            batch = entries[start : start + PUT_EVENTS_BATCH]
            try:
                response = self._client.put_events(Entries=batch)
            except ClientError as exc:
                raise StorageUnavailable(f"put_events failed: {_error_code(exc)}") from exc
            if response.get("FailedEntryCount", 0):
                codes = sorted({entry.get("ErrorCode", "") for entry in response["Entries"] if entry.get("ErrorCode")})
                raise StorageUnavailable(
                    f"put_events: {response['FailedEntryCount']} entries failed ({json.dumps(codes)})"
                )
