"""The tenant API on 127.0.0.1: HTTP requests turned into the API Gateway REST proxy events the function receives.

What API Gateway does in front of ``tenant_api`` is emulated just enough for contract testing (schemathesis) and
local use: the method, path, query and headers become a proxy event on the template's ``/tenants/{proxy+}`` route,
and the caller is the fixed IAM identity the server was started with (``requestContext.identity.userArn``), as if
SigV4 had authenticated it. The handler's answer (status, headers, body) is written back as is. No TLS, no signature
check, loopback only: a test and developer tool, never an endpoint.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SHUTDOWN_POLL_SECONDS = 0.05
"""How often the serving loop checks for a shutdown request (the standard library's 0.5 s would slow ``stop()``)."""

ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
ACCOUNT_ID = "123456789012"
MAX_BODY_BYTES = 1_048_576


@dataclass
class _Context:
    """The Lambda context attributes Powertools reads."""

    aws_request_id: str
    function_name: str = "tenant-api-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:tenant-api-local"
    log_group_name: str = "/claimbridge/local/tenant-api"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def proxy_event(
    method: str, target: str, headers: dict[str, str], body: bytes | None, *, user_arn: str
) -> dict[str, Any]:
    """The REST proxy event API Gateway sends for one request (``target``: path and query string)."""
    url = urlsplit(target)
    path = url.path or "/"
    query = parse_qsl(url.query, keep_blank_values=True)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in query:
        single[name] = value  # API Gateway keeps the last value in queryStringParameters
        multi.setdefault(name, []).append(value)
    resource = "/tenants" if path == "/tenants" else "/tenants/{proxy+}"
    request_id = str(uuid.uuid4())
    text = body.decode("utf-8", errors="replace") if body else None
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": single or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": {"proxy": path.removeprefix("/tenants/")} if resource != "/tenants" else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "protocol": "HTTP/1.1",
            "stage": "v1",
            "requestId": request_id,
            "identity": {"accountId": ACCOUNT_ID, "userArn": user_arn, "caller": user_arn, "sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": False,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: request lines carry tenant and claim ids only, but the function logs every request already."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else None
        headers = dict(self.headers.items())
        event = proxy_event(self.command, self.path, headers, body, user_arn=self.server.user_arn)
        with self.server.lock:  # one invocation at a time, like one Lambda container
            response = self.server.handler(event, _Context(aws_request_id=event["requestContext"]["requestId"]))
        payload = (response.get("body") or "").encode("utf-8")
        self.send_response(int(response.get("statusCode", 500)))
        sent = set()
        for name, values in (response.get("multiValueHeaders") or {}).items():
            for value in values:
                self.send_header(name, str(value))
            sent.add(name.lower())
        for name, value in (response.get("headers") or {}).items():
            if name.lower() not in sent:
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def __getattr__(self, name: str) -> Any:
        """Every method goes to the handler (``do_GET``, ``do_TRACE``, ...): unknown ones get its 404 problem."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: ApiHandler, user_arn: str) -> None:
        super().__init__(address, _Handler)
        self.handler = handler
        self.user_arn = user_arn
        self.lock = threading.Lock()


class LocalTenantApi:
    """Serves ``handler`` (``functions/tenant_api/app.py``'s ``lambda_handler``) on 127.0.0.1 as ``user_arn``."""

    def __init__(self, handler: ApiHandler, *, user_arn: str, port: int = 0) -> None:
        self._server = _ApiServer(("127.0.0.1", port), handler, user_arn)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="tenant-api-local",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Start serving; returns the base URL."""
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalTenantApi:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
