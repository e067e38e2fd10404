"""S3ObjectStore against botocore's Stubber: the expected owner reaches S3, and S3's refusals become domain errors."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from claimbridge.pipeline.aws import S3ObjectStore
from claimbridge.pipeline.ports import ObjectForbidden, ObjectMissing, StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

pytestmark = pytest.mark.unit

SENDER = "111122223333"


@pytest.fixture
def s3() -> Iterator[tuple[S3Client, Stubber]]:
    client: S3Client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _body(content: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(content), len(content))


def test_s3_object_store_get_sends_the_expected_bucket_owner(s3: tuple[S3Client, Stubber]) -> None:
    # Given S3 that answers only a GetObject naming the sender as the bucket owner
    client, stubber = s3
    stubber.add_response(
        "get_object",
        {"Body": _body(b"{}")},
        {"Bucket": "ehr-outbox", "Key": "b1.json", "ExpectedBucketOwner": SENDER},
    )

    # When / Then the read names the owner and returns the bytes
    assert S3ObjectStore(client).get("ehr-outbox", "b1.json", expected_owner=SENDER) == b"{}"


def test_s3_object_store_get_without_owner_sends_none(s3: tuple[S3Client, Stubber]) -> None:
    # Given S3 that expects a plain GetObject (the stack's own buckets)
    client, stubber = s3
    stubber.add_response("get_object", {"Body": _body(b"x")}, {"Bucket": "inbound", "Key": "t/b.json"})

    # When / Then nothing else is sent
    assert S3ObjectStore(client).get("inbound", "t/b.json") == b"x"


@pytest.mark.parametrize(
    ("code", "status", "expected_owner", "error"),
    [
        ("AccessDenied", 403, SENDER, ObjectForbidden),
        ("AccessDenied", 403, None, StorageUnavailable),  # our own bucket refusing us is our misconfiguration: retry
        ("NoSuchBucket", 404, SENDER, ObjectMissing),
        ("NoSuchBucket", 404, None, StorageUnavailable),
        ("NoSuchKey", 404, SENDER, ObjectMissing),
        ("SlowDown", 503, SENDER, StorageUnavailable),
    ],
)
def test_s3_object_store_get_maps_refusals_by_whose_bucket_it_is(
    s3: tuple[S3Client, Stubber], code: str, status: int, expected_owner: str | None, error: type[Exception]
) -> None:
    # Given S3 failing the read with ``code``
    client, stubber = s3
    stubber.add_client_error("get_object", service_error_code=code, http_status_code=status)

    # When / Then the adapter raises the domain error for it
    with pytest.raises(error):
        S3ObjectStore(client).get("ehr-outbox", "b1.json", expected_owner=expected_owner)


def test_s3_object_store_copy_from_a_sender_names_the_owner_and_replaces_metadata_and_tags(
    s3: tuple[S3Client, Stubber],
) -> None:
    # Given S3 that expects the copy to name the source owner and to carry our content type and metadata only
    client, stubber = s3
    stubber.add_response(
        "copy_object",
        {},
        {
            "Bucket": "inbound",
            "Key": "t/events/e1/b1.json",
            "CopySource": {"Bucket": "ehr-outbox", "Key": "2026/b1.json"},
            "ExpectedSourceBucketOwner": SENDER,
            "MetadataDirective": "REPLACE",
            "TaggingDirective": "REPLACE",
            "Metadata": {"claimbridge-event-id": "e1"},
            "ContentType": "application/fhir+json",
        },
    )

    # When the copy is made
    S3ObjectStore(client).copy(
        "ehr-outbox",
        "2026/b1.json",
        "inbound",
        "t/events/e1/b1.json",
        expected_source_owner=SENDER,
        content_type="application/fhir+json",
        metadata={"claimbridge-event-id": "e1"},
    )

    # Then the stubber saw exactly those parameters (checked on exit of the fixture)


def test_s3_object_store_copy_refused_by_a_sender_bucket_is_forbidden(s3: tuple[S3Client, Stubber]) -> None:
    # Given a source bucket owned by another account than the sender
    client, stubber = s3
    stubber.add_client_error("copy_object", service_error_code="AccessDenied", http_status_code=403)

    # When / Then the copy raises ObjectForbidden (nothing to retry)
    with pytest.raises(ObjectForbidden):
        S3ObjectStore(client).copy("not-theirs", "b1.json", "inbound", "t/b1.json", expected_source_owner=SENDER)


def test_s3_object_store_put_adds_metadata_only_when_given(s3: tuple[S3Client, Stubber]) -> None:
    # Given S3 expecting one put with metadata and one without
    client, stubber = s3
    stubber.add_response(
        "put_object",
        {},
        {"Bucket": "b", "Key": "k1", "Body": b"1", "ContentType": "application/json", "Metadata": {"a": "1"}},
    )
    stubber.add_response("put_object", {}, {"Bucket": "b", "Key": "k2", "Body": b"2", "ContentType": "text/plain"})

    # When / Then both puts send exactly those parameters
    store = S3ObjectStore(client)
    store.put("b", "k1", b"1", content_type="application/json", metadata={"a": "1"})
    store.put("b", "k2", b"2", content_type="text/plain")
