"""Calling tenant_api's ``lambda_handler`` the way API Gateway does, from the committed samples in ``events/``.

``ApiClient.call`` takes the put-config sample (a REST proxy event with an IAM identity) and changes only the method,
path, query, headers, body and the caller's ARN, so every request has the shape the contract test checks.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from claimbridge.settings import get_settings
from claimbridge.tenants import DEMO_TENANT_FILE
from functions.tenant_api import app as tenant_api_app
from tests.integration.handler_events import FakeLambdaContext, sample

ACCOUNT = "123456789012"
OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/ClaimbridgeOperator"
OPERATOR_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ClaimbridgeOperator/ops-session"
STRANGER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/SomeOtherTeam/session"


def role(name: str) -> str:
    """An IAM role ARN of the test account."""
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def session(name: str) -> str:
    """An assumed-role session ARN (what API Gateway reports as ``userArn``) of ``role(name)``."""
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/biller"


@dataclass(frozen=True)
class ApiResponse:
    """What the handler answered."""

    status: int
    body: Any
    headers: dict[str, list[str]]

    def header(self, name: str) -> str | None:
        values = {key.lower(): value for key, value in self.headers.items()}.get(name.lower())
        return values[0] if values else None


def api_event(
    method: str,
    path: str,
    *,
    caller: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The put-config sample turned into another request (REST proxy integration, AWS_IAM identity)."""
    event: dict[str, Any] = copy.deepcopy(sample("tenant_api_put_config.json"))
    merged = {key: value for key, value in event["headers"].items() if key not in ("If-Match", "Content-Type")}
    if body is not None:
        merged["Content-Type"] = "application/json"
    merged.update(headers or {})
    event.update(
        httpMethod=method,
        path=path,
        resource="/tenants" if path == "/tenants" else "/tenants/{proxy+}",
        headers=merged,
        multiValueHeaders={key: [value] for key, value in merged.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters={key: [value] for key, value in query.items()} if query else None,
        pathParameters=None if path == "/tenants" else {"proxy": path.removeprefix("/tenants/")},
        body=None if body is None else json.dumps(body),
    )
    event["requestContext"].update(httpMethod=method, path=f"/v1{path}", resourcePath=event["resource"])
    event["requestContext"]["identity"]["userArn"] = caller
    return event


def invoke(event: dict[str, Any]) -> ApiResponse:
    """Run the handler on one event."""
    response = tenant_api_app.lambda_handler(event, FakeLambdaContext())
    text = response.get("body")
    return ApiResponse(
        status=int(response["statusCode"]),
        body=json.loads(text) if text else None,
        headers={key: list(value) for key, value in (response.get("multiValueHeaders") or {}).items()},
    )


@dataclass
class ApiClient:
    """Requests as one caller."""

    caller: str
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        response = invoke(api_event(method, path, caller=self.caller, body=body, query=query, headers=headers))
        self.calls.append((method, path, response.status))
        return response


def demo_document(tenant_id: str = "demo-practice", *, principals: tuple[str, ...] = ()) -> dict[str, Any]:
    """The demo practice's document under another id, listing ``principals`` as its API callers."""
    document: dict[str, Any] = json.loads(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    document["tenant_id"] = tenant_id
    document["inbound"] = {"event_sources": []}  # senders are unique across tenants
    document["api"] = {"principals": list(principals)}
    return document


def use_operators(monkeypatch: pytest.MonkeyPatch, *arns: str) -> None:
    """Set ``CLAIMBRIDGE_ADMIN_PRINCIPALS`` and let the handler rebuild its services."""
    monkeypatch.setenv("CLAIMBRIDGE_ADMIN_PRINCIPALS", ",".join(arns))
    get_settings.cache_clear()
    tenant_api_app.get_deps.cache_clear()


def create_tenant(operator: ApiClient, document: dict[str, Any]) -> ApiResponse:
    """An operator stores a new tenant (If-Match "0": it must not exist)."""
    response = operator.call("PUT", f"/tenants/{document['tenant_id']}/config", document, headers={"If-Match": '"0"'})
    assert response.status == 200, response.body
    return response
