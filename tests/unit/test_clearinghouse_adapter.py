"""X12ApiClearinghouse and adapter_for: HTTP outcomes become domain errors; tenants get their own adapter.

HTTP is answered by ``httpx.MockTransport`` here (unit tests have no sockets); the same adapter against the real
sandbox server is tests/integration/test_sandbox_http.py. The SFTP adapter's pure parts (endpoint, secret, file
names, response kinds) are here; against a real SFTP server: tests/integration/test_sftp_adapter.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import asyncssh
import httpx
import pytest

from claimbridge.clearinghouse import (
    SANDBOX_API_KEY,
    ApiError,
    ClearinghouseAuthError,
    ClearinghouseConfigError,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
    ClearinghouseUnavailable,
    ResponseFile,
    SftpClearinghouse,
    X12ApiClearinghouse,
    adapter_for,
)
from claimbridge.clearinghouse.sftp import SftpEndpoint, file_stem, response_kind
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
    adapter = adapter_for(tenant, sandbox_url="http://127.0.0.1:8765", secret_loader=loader, client=client)
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
        adapter_for(tenant, sandbox_url=None, secret_loader=loader)
    assert "username" not in str(raised.value)


def test_x12_api_acknowledge_sends_nothing() -> None:
    # Given an adapter whose clearinghouse would fail any request
    adapter = _adapter(lambda _request: pytest.fail("acknowledge must not call the API"))
    # When responses are acknowledged / Then nothing is sent (the listing is read by cursor only)
    adapter.acknowledge(["r1", "r2"])


# --- the sftp adapter: what needs no server


def _sftp_secret(**overrides: str) -> str:
    client = asyncssh.generate_private_key("ssh-ed25519")
    host = asyncssh.generate_private_key("ssh-ed25519")
    document = {
        "username": "practice01",
        "private_key": client.export_private_key().decode(),
        "host_key": host.export_public_key().decode().strip(),
    }
    return json.dumps(document | overrides)


def test_adapter_for_sftp_loads_the_tenant_secret_by_ref() -> None:
    # Given an sftp tenant and a loader returning its Secrets Manager document
    tenant = _tenant(
        kind="sftp", endpoint="sftp://mailbox.example:2222/claims", secret_ref="claimbridge/demo-practice/sftp"
    )
    asked: list[str] = []
    secret = _sftp_secret()

    def loader(secret_ref: str) -> str:
        asked.append(secret_ref)
        return secret

    # When its adapter is made (no connection yet)
    adapter = adapter_for(tenant, sandbox_url="http://127.0.0.1:8765", secret_loader=loader)
    # Then it is the sftp adapter for the tenant's mailbox, made from the tenant's own secret, showing no key
    assert asked == ["claimbridge/demo-practice/sftp"]
    assert isinstance(adapter, SftpClearinghouse)
    assert adapter.endpoint == SftpEndpoint(host="mailbox.example", port=2222, root="/claims")
    assert "PRIVATE" not in repr(adapter)
    assert json.loads(secret)["private_key"] not in repr(adapter)


@pytest.mark.parametrize(
    ("secret", "named"),
    [
        ("{not json", "(document)"),
        ('{"username": "u"}', "private_key"),
        (json.dumps({"username": "u", "private_key": "-----BEGIN NOT A KEY-----", "host_key": "x"}), "private_key"),
        ("HOST", "host_key"),
    ],
    ids=["not-json", "missing-fields", "bad-private-key", "bad-host-key"],
)
def test_adapter_for_sftp_refuses_unusable_secret_naming_the_field(secret: str, named: str) -> None:
    # Given an sftp tenant whose secret is not usable (never echoing a value)
    if secret == "HOST":
        secret = _sftp_secret(host_key="ssh-ed25519 not-base64")
    tenant = _tenant(kind="sftp", endpoint="sftp://mailbox.example/", secret_ref="claimbridge/demo-practice/sftp")
    # When its adapter is asked / Then a configuration error names the tenant and the field, not the value
    with pytest.raises(ClearinghouseConfigError) as raised:
        adapter_for(tenant, sandbox_url=None, secret_loader=lambda _ref: secret)
    message = str(raised.value)
    assert "demo-practice" in message
    assert named in message
    assert "BEGIN" not in message
    assert "not-base64" not in message


def test_adapter_for_sftp_needs_a_secret_loader() -> None:
    tenant = _tenant(kind="sftp", endpoint="sftp://mailbox.example/", secret_ref="claimbridge/demo-practice/sftp")
    with pytest.raises(ClearinghouseConfigError, match="secret loader"):
        adapter_for(tenant, sandbox_url=None)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sftp://mailbox.example/", SftpEndpoint("mailbox.example", 22, "/")),
        ("sftp://mailbox.example", SftpEndpoint("mailbox.example", 22, ".")),
        ("sftp://127.0.0.1:2222/office%20ally/claims", SftpEndpoint("127.0.0.1", 2222, "/office ally/claims")),
        ("sftp://mailbox.example/~/edi", SftpEndpoint("mailbox.example", 22, "edi")),
        ("sftp://mailbox.example/~", SftpEndpoint("mailbox.example", 22, ".")),
    ],
)
def test_sftp_endpoint_reads_host_port_and_mailbox_folder(url: str, expected: SftpEndpoint) -> None:
    assert SftpEndpoint.parse(url) == expected


@pytest.mark.parametrize(
    "url",
    ["https://mailbox.example/", "sftp:///inbox", "sftp://user:pw@mailbox.example/", "sftp://mailbox.example:99999/"],
)
def test_sftp_endpoint_refuses_other_schemes_credentials_and_bad_ports(url: str) -> None:
    with pytest.raises(ClearinghouseConfigError) as raised:
        SftpEndpoint.parse(url)
    assert "pw" not in str(raised.value)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("demo-practice-000000001", "demo-practice-000000001"),
        ("a_B-9", "a_B-9"),
    ],
)
def test_file_stem_keeps_safe_keys(key: str, expected: str) -> None:
    assert file_stem(key) == expected


@pytest.mark.parametrize("key", ["../../etc/passwd", "tenant/one two", ".hidden", "x.part", "k" * 101])
def test_file_stem_makes_unsafe_keys_safe_stable_and_distinct(key: str) -> None:
    # Given a key with path separators, dots, spaces or too long / When it becomes a file name
    stem = file_stem(key)
    # Then the name has safe characters only, is the same every time, and differs from a look-alike key's name
    assert stem.replace("-", "").replace("_", "").isalnum()
    assert len(stem) <= 100
    assert file_stem(key) == stem
    assert file_stem(key + "x") != stem


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_file_stem_refuses_unusable_keys(key: str) -> None:
    with pytest.raises(ClearinghouseConfigError):
        file_stem(key)


ISA = "ISA*00*          *00*          *ZZ*CBSANDBOX      *ZZ*DEMOBH01       *260303*0905*^*00501*000000007*0*T*:~"


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("0000000001-999.x12", f"{ISA}GS*FA*CBSANDBOX*DEMOBH01*20260303*0905*7*X*005010X231A1~ST*999*0001~", "999"),
        (
            "whatever.txt",
            f"{ISA}GS*HN*CBSANDBOX*DEMOBH01*20260303*0905*7*X*005010X214~ST*277*0001*005010X214~",
            "277CA",
        ),
        ("r.835", f"{ISA}GS*HP*CBSANDBOX*DEMOBH01*20260303*0905*7*X*005010X221A1~ST*835*0001~", "835"),
        ("0000008350-999.x12", "not x12 at all", "999"),
        ("ACME_277CA_20260303.x12", "", "277CA"),
        ("0000000009-997.x12", f"{ISA}GS*FA*CBSANDBOX*DEMOBH01*20260303*0905*7*X*005010~ST*997*0001~", None),
        (
            "0000000010-277.x12",
            f"{ISA}GS*HN*CBSANDBOX*DEMOBH01*20260303*0905*7*X*005010X212~ST*277*0001*005010X212~",
            None,
        ),
        ("notes.txt", "hello", None),
    ],
)
def test_response_kind_from_envelope_else_name_token(name: str, content: str, kind: str | None) -> None:
    assert response_kind(name, content) == kind
