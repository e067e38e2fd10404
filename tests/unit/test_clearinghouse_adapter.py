"""X12ApiClearinghouse and adapter_for: HTTP outcomes become domain errors; tenants get their own adapter.

HTTP is answered by ``httpx.MockTransport`` here (unit tests have no sockets); the same adapter against the real
sandbox server is tests/integration/test_sandbox_http.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from claimbridge.clearinghouse import (
    SANDBOX_API_KEY,
    ApiError,
    ClearinghouseAuthError,
    ClearinghouseConfigError,
    ClearinghouseError,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
    ClearinghouseUnavailable,
    ClearinghouseUnsupported,
    ResponseFile,
    X12ApiClearinghouse,
    adapter_for,
)
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, load_tenant_config

pytestmark = pytest.mark.unit

BASE = "https://clearinghouse.example/v1"
SECRET_KEY = "sk-live-0123456789abcdef"
Handler = Callable[[httpx.Request], httpx.Response]


def _adapter(handler: Handler, **kwargs: Any) -> X12ApiClearinghouse:
    return X12ApiClearinghouse(BASE, SECRET_KEY, client=httpx.Client(transport=httpx.MockTransport(handler)), **kwargs)


def test_submit_posts_x12_with_key_and_idempotency_headers() -> None:
    # Given a clearinghouse that takes the submission
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "SUB-1", "status": "RECEIVED"})

    # When an interchange is submitted
    receipt = _adapter(handler).submit("ISA*...~", idempotency_key="claim-batch-7")
    # Then it went as JSON to the raw-X12 route with both headers, and the receipt names the submission
    (request,) = seen
    assert (request.method, str(request.url)) == (
        "POST",
        f"{BASE}/change/medicalnetwork/professionalclaims/v3/raw-x12-submission",
    )
    assert request.headers["Authorization"] == f"Key {SECRET_KEY}"
    assert request.headers["Idempotency-Key"] == "claim-batch-7"
    assert json.loads(request.content) == {"x12": "ISA*...~"}
    assert (receipt.submission_id, receipt.idempotency_key) == ("SUB-1", "claim-batch-7")


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, ClearinghouseRejected),
        (409, ClearinghouseRejected),
        (401, ClearinghouseAuthError),
        (403, ClearinghouseAuthError),
    ],
)
def test_submit_maps_4xx_to_permanent_error_with_structured_errors(status: int, error_type: type[Exception]) -> None:
    # Given a clearinghouse that refuses with structured errors (one description echoing data)
    body = {"errors": [{"code": "X12_UNREADABLE", "description": "bad NM1*IL*TESTPATIENT", "location": "x12.ISA"}]}
    adapter = _adapter(lambda _request: httpx.Response(status, json=body))
    # When an interchange is submitted
    with pytest.raises(error_type) as raised:
        adapter.submit("ISA~", idempotency_key="k")
    # Then the error is permanent, keeps the structured errors, and its message has codes and locations only
    error = raised.value
    assert isinstance(error, ClearinghouseRejected)
    assert not error.retryable
    assert error.status_code == status
    assert error.errors == (ApiError(code="X12_UNREADABLE", description="bad NM1*IL*TESTPATIENT", location="x12.ISA"),)
    assert str(error) == f"clearinghouse refused the request (HTTP {status}): X12_UNREADABLE at x12.ISA"


@pytest.mark.parametrize("body", [b"<html>Bad Request</html>", b'{"errors": "nope"}', b'{"errors": [1, {"code": 2}]}'])
def test_submit_tolerates_unstructured_4xx_bodies(body: bytes) -> None:
    # Given a 400 whose body is not the documented errors list
    adapter = _adapter(lambda _request: httpx.Response(400, content=body))
    # When an interchange is submitted / Then it is still a permanent rejection, without details
    with pytest.raises(ClearinghouseRejected) as raised:
        adapter.submit("ISA~", idempotency_key="k")
    assert raised.value.errors == ()


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (500, {}, None),
        (502, {}, None),
        (503, {"Retry-After": "12"}, 12.0),
        (429, {"Retry-After": "3"}, 3.0),
        (429, {"Retry-After": "soon"}, None),
    ],
)
def test_submit_maps_5xx_and_429_to_retryable(status: int, headers: dict[str, str], retry_after: float | None) -> None:
    # Given a clearinghouse that is down or throttling
    adapter = _adapter(lambda _request: httpx.Response(status, headers=headers))
    # When an interchange is submitted
    with pytest.raises(ClearinghouseUnavailable) as raised:
        adapter.submit("ISA~", idempotency_key="k")
    # Then the error is retryable and carries the server's Retry-After
    error = raised.value
    assert isinstance(error, ClearinghouseRetryLater)
    assert error.retryable
    assert (error.reason, error.status_code, error.retry_after) == ("http", status, retry_after)


def test_retry_after_as_http_date_becomes_seconds() -> None:
    # Given a 503 whose Retry-After is an HTTP date 30 s ahead
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    adapter = _adapter(lambda _request: httpx.Response(503, headers={"Retry-After": when}))
    # When an interchange is submitted
    with pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.submit("ISA~", idempotency_key="k")
    # Then the wait is about 30 seconds
    assert raised.value.retry_after is not None
    assert 25 <= raised.value.retry_after <= 30


@pytest.mark.parametrize(
    ("exception", "reason"),
    [
        (httpx.ConnectTimeout("connect timed out"), "timeout"),
        (httpx.ReadTimeout("read timed out"), "timeout"),
        (httpx.ConnectError("refused"), "connection"),
        (httpx.RemoteProtocolError("peer closed"), "connection"),
    ],
)
def test_submit_maps_transport_failures_to_retryable(exception: httpx.TransportError, reason: str) -> None:
    # Given a transport that fails
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    # When an interchange is submitted / Then the failure is retryable, chained to the httpx error
    with pytest.raises(ClearinghouseRetryLater) as raised:
        _adapter(handler).submit("ISA~", idempotency_key="k")
    assert (raised.value.reason, raised.value.status_code) == (reason, None)
    assert raised.value.__cause__ is exception


@pytest.mark.parametrize("body", [b"not json", b'{"status": "RECEIVED"}'])
def test_submit_treats_garbled_success_as_retryable(body: bytes) -> None:
    # Given a 200 without a submission id (safe to retry: the idempotency key prevents a second filing)
    adapter = _adapter(lambda _request: httpx.Response(200, content=body))
    # When an interchange is submitted / Then it is a retryable "bad-response"
    with pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.submit("ISA~", idempotency_key="k")
    assert raised.value.reason == "bad-response"


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_submit_refuses_unusable_idempotency_key(key: str) -> None:
    # Given an empty or oversized key / When submitting / Then the adapter refuses before any request
    adapter = _adapter(lambda _request: pytest.fail("no request may be sent"))
    with pytest.raises(ClearinghouseConfigError):
        adapter.submit("ISA~", idempotency_key=key)


def test_fetch_responses_lists_after_cursor_and_downloads_known_kinds() -> None:
    # Given a listing with a 999, a 277CA and a report kind the port does not know
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        if request.url.path.endswith("/reports"):
            items = [
                {"id": "r/1", "kind": "999", "created": "2026-03-03T09:05:00Z"},
                {"id": "r2", "kind": "TA1", "created": "2026-03-03T09:05:00Z"},
                {"id": "r3", "kind": "277CA", "created": "2026-03-03T09:05:00Z"},
            ]
            return httpx.Response(200, json={"items": items, "next_cursor": "r3"})
        return httpx.Response(200, text=f"X12 of {request.url.raw_path.decode().rsplit('/', 1)[-1]}")

    # When responses after a cursor are fetched
    page = _adapter(handler, page_size=3).fetch_responses("r0")
    # Then the listing was asked with cursor and page size, ids were URL-quoted, and unknown kinds skipped
    assert requests[0] == f"{BASE}/reports?limit=3&after=r0"
    assert requests[1:] == [f"{BASE}/reports/r%2F1", f"{BASE}/reports/r3"]
    assert page.responses == (
        ResponseFile(response_id="r/1", kind="999", content="X12 of r%2F1"),
        ResponseFile(response_id="r3", kind="277CA", content="X12 of r3"),
    )
    assert page.next_cursor == "r3"


@pytest.mark.parametrize(
    ("listing", "cursor", "expected_cursor"),
    [
        ({"items": [], "next_cursor": None}, "r9", "r9"),
        ({"items": [], "next_cursor": None}, None, None),
        ({"items": [{"id": "r4", "kind": "999"}]}, "r3", "r4"),
    ],
)
def test_fetch_responses_keeps_position_when_cursor_missing(
    listing: dict[str, Any], cursor: str | None, expected_cursor: str | None
) -> None:
    # Given a listing without next_cursor / When fetched / Then the position is the last item, else the old cursor
    def handler(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(200, json=listing)
            if request.url.path.endswith("/reports")
            else httpx.Response(200, text="X")
        )

    assert _adapter(handler).fetch_responses(cursor).next_cursor == expected_cursor


def test_adapter_never_shows_the_key(caplog: pytest.LogCaptureFixture) -> None:
    # Given an adapter whose clearinghouse fails
    adapter = _adapter(lambda _request: httpx.Response(503, json={"errors": []}))
    # When it is printed and a call fails with logging on
    with caplog.at_level(logging.DEBUG), pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.submit("ISA*TESTPATIENT~", idempotency_key="k")
    # Then neither its repr, the error nor the logs hold the key or the interchange
    shown = " ".join([repr(adapter), str(raised.value), caplog.text, *(str(r.__dict__) for r in caplog.records)])
    assert SECRET_KEY not in shown
    assert "TESTPATIENT" not in shown


@pytest.mark.parametrize(("base_url", "api_key"), [("ftp://x", "k"), ("https://x", "")])
def test_adapter_refuses_bad_configuration(base_url: str, api_key: str) -> None:
    # Given an unusable URL or key / When the adapter is made / Then it says so
    with pytest.raises(ClearinghouseConfigError):
        X12ApiClearinghouse(base_url, api_key)


def test_adapter_closes_only_its_own_client() -> None:
    # Given an adapter on a caller's client, and one that made its own
    client = httpx.Client()
    with X12ApiClearinghouse(BASE, "k", client=client):
        pass
    own = X12ApiClearinghouse(BASE, "k")
    own.close()
    # Then the caller's client is still open
    assert not client.is_closed
    client.close()


# --- adapter_for: the tenant's clearinghouse block picks the adapter


def _recording_client() -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "SUB-1"})

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def _tenant(**clearinghouse: Any) -> TenantConfig:
    document = json.loads(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    document["clearinghouse"] = {"receiver": {"id": "CBSANDBOX", "name": "SANDBOX"}, **clearinghouse}
    return TenantConfig.model_validate(document)


@pytest.mark.parametrize(
    ("clearinghouse", "sandbox_url", "expected_base"),
    [
        ({"kind": "sandbox"}, "http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ({"kind": "sandbox", "endpoint": "http://127.0.0.1:9000"}, "http://127.0.0.1:8765", "http://127.0.0.1:9000"),
    ],
)
def test_adapter_for_sandbox_uses_tenant_endpoint_else_local_url(
    clearinghouse: dict[str, Any], sandbox_url: str, expected_base: str
) -> None:
    # Given a sandbox tenant
    client, seen = _recording_client()
    # When its adapter is made and used
    adapter_for(_tenant(**clearinghouse), sandbox_url=sandbox_url, client=client).submit("ISA~", idempotency_key="k")
    # Then it talks to the right sandbox with the sandbox key
    (request,) = seen
    assert str(request.url).startswith(f"{expected_base}/change/")
    assert request.headers["Authorization"] == f"Key {SANDBOX_API_KEY}"


def test_adapter_for_demo_tenant_needs_a_sandbox_url() -> None:
    # Given the demo tenant (sandbox, no endpoint) and no running sandbox / When its adapter is asked / Then refused
    with pytest.raises(ClearinghouseConfigError, match="demo-practice"):
        adapter_for(load_tenant_config(DEMO_TENANT_FILE), sandbox_url=None)


@pytest.mark.parametrize(
    "secret", [SECRET_KEY, f"  {SECRET_KEY}\n", json.dumps({"api_key": SECRET_KEY, "note": "rotated 2026-01"})]
)
def test_adapter_for_x12_api_loads_key_by_secret_ref(secret: str) -> None:
    # Given an x12-api tenant and a loader returning the key or the Secrets Manager JSON
    tenant = _tenant(
        kind="x12-api", endpoint=BASE, secret_ref="claimbridge/demo-practice/clearinghouse", usage_indicator="P"
    )
    asked: list[str] = []

    def loader(secret_ref: str) -> str:
        asked.append(secret_ref)
        return secret

    client, seen = _recording_client()
    # When its adapter is made and used
    adapter = adapter_for(tenant, sandbox_url="http://127.0.0.1:8765", api_key_loader=loader, client=client)
    adapter.submit("ISA~", idempotency_key="k")
    # Then the tenant's own secret was read and its key is used against the tenant's endpoint
    assert asked == ["claimbridge/demo-practice/clearinghouse"]
    (request,) = seen
    assert str(request.url).startswith(f"{BASE}/change/")
    assert request.headers["Authorization"] == f"Key {SECRET_KEY}"


@pytest.mark.parametrize(
    "loader", [None, lambda _ref: "", lambda _ref: '{"username": "x"}', lambda _ref: "{not json"], ids=str
)
def test_adapter_for_x12_api_refuses_missing_key(loader: Callable[[str], str] | None) -> None:
    # Given an x12-api tenant without a loader, or a secret without an api_key
    tenant = _tenant(kind="x12-api", endpoint=BASE, secret_ref="claimbridge/demo-practice/clearinghouse")
    # When its adapter is asked / Then a configuration error says so (not which value was wrong)
    with pytest.raises(ClearinghouseConfigError) as raised:
        adapter_for(tenant, sandbox_url=None, api_key_loader=loader)
    assert "username" not in str(raised.value)


def test_adapter_for_sftp_says_which_issue_brings_it() -> None:
    # Given an sftp tenant
    tenant = _tenant(kind="sftp", endpoint="sftp://mailbox.example/in", secret_ref="claimbridge/demo-practice/sftp")
    # When its adapter is asked / Then a permanent "not supported yet" error names issue 6
    with pytest.raises(ClearinghouseUnsupported, match="issue 6") as raised:
        adapter_for(tenant, sandbox_url="http://127.0.0.1:8765")
    assert isinstance(raised.value, ClearinghouseError)
    assert not raised.value.retryable
