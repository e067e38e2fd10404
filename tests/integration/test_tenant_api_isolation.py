"""Tenant isolation, tested: tenant A's callers cannot read, change, resubmit, list or see the files of tenant B on any
route of docs/openapi.json, and one tenant's clearinghouse credentials are never used for another tenant's claims."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from claimbridge.clearinghouse import factory
from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline import wiring
from claimbridge.state import ClaimState
from claimbridge.tenants import parse_tenant_config
from functions.ingest_fhir import app as ingest_app
from functions.submit_claims import app as submit_app
from tests.integration.api_support import (
    OPERATOR,
    OPERATOR_SESSION,
    STRANGER_SESSION,
    ApiClient,
    create_tenant,
    demo_document,
    role,
    session,
    use_operators,
)
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sqs_event_from_bus_events
from tests.integration.test_tenant_api import held_claims

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = [
    (method.upper(), path)
    for path, item in json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8"))["paths"].items()
    for method in item
]
A, B = "practice-a", "practice-b"
BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/tenants/{tenant_id}/providers/{npi}"): {
        "npi": "1111111112",
        "name": {"last": "X", "first": "Y"},
        "taxonomy": "1041C0700X",
        "enrolled_payers": ["MCR"],
    },
    ("PUT", "/tenants/{tenant_id}/payers/{key}/profile"): {"timely_filing_days": 30},
    ("POST", "/tenants/{tenant_id}/claims/{claim_id}/resubmit"): {"reason": "fixed", "overrides": None},
    ("POST", "/tenants/{tenant_id}/claims/{claim_id}/correct"): {"reason": "fixed"},
}


@pytest.fixture
def two_tenants(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Practices A and B, each with its own billing role, and a held claim of B with a linked interchange."""
    use_operators(monkeypatch, OPERATOR)
    operator = ApiClient(OPERATOR_SESSION)
    create_tenant(operator, demo_document(A, principals=(role("BillingA"),)))
    create_tenant(operator, demo_document(B, principals=(role("BillingB"),)))
    (claim_b,) = held_claims(infra, 1, tenant=B)
    infra.store.link_claim_files(B, [claim_b.claim_id], kind="837P", key=f"x12/837p/{B}/000000001.x12")
    return {"claim_b": claim_b.claim_id, "a": ApiClient(session("BillingA")), "b": ApiClient(session("BillingB"))}


def _path(template: str, tenant_id: str, claim_id: str) -> str:
    values = {
        "tenant_id": tenant_id,
        "claim_id": claim_id,
        "npi": "1111111112",
        "key": "MCR",
        "version": "1",
        "name": "held",
    }
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], template)


def _body(method: str, template: str, tenant_id: str) -> Any:
    if (method, template) == ("PUT", "/tenants/{tenant_id}/config"):
        return demo_document(tenant_id)
    if method in ("PUT", "POST") and "/claims/" in template:
        return BODIES.get((method, template), {"reason": "because"})
    return BODIES.get((method, template))


def _state_of_b(infra: Infra, claim_id: str) -> tuple[Any, ...]:
    claim = infra.store.get_claim(B, claim_id)
    assert claim is not None
    versions = infra.store.tenant_versions(B)
    return (claim.state, claim.revision, len(infra.store.history(B, claim_id)), [v.sha256 for v in versions])


@pytest.mark.parametrize(("method", "template"), [op for op in OPERATIONS if "{tenant_id}" in op[1]])
def test_isolation_tenant_a_gets_404_for_every_route_of_tenant_b_and_b_is_unchanged(
    infra: Infra, two_tenants: dict[str, Any], method: str, template: str
) -> None:
    # Given B's state before A's caller tries
    claim_b = two_tenants["claim_b"]
    before = _state_of_b(infra, claim_b)

    # When A's billing role calls the route for tenant B (with a body that would be valid for B)
    response = two_tenants["a"].call(
        method,
        _path(template, B, claim_b),
        _body(method, template, B),
        query={"state": "HELD"},
        headers={"If-Match": "1"},
    )

    # Then B looks like a tenant that does not exist, and nothing of B changed (no audit item either)
    assert response.status == 404, response.body
    assert response.body["code"] == "CB-TENANT-NOT-FOUND"
    assert B not in json.dumps(response.body).replace(f"tenant {B} is not configured", "")
    assert _state_of_b(infra, claim_b) == before


@pytest.mark.parametrize(("method", "template"), [op for op in OPERATIONS if "{claim_id}" in op[1]])
def test_isolation_tenant_a_cannot_reach_b_claims_through_its_own_tenant_path(
    infra: Infra, two_tenants: dict[str, Any], method: str, template: str
) -> None:
    # Given B's claim id, which A's caller learned somehow
    claim_b = two_tenants["claim_b"]
    before = _state_of_b(infra, claim_b)

    # When A's caller names it under A's own tenant (read, resubmit, correct, void, close, ...)
    response = two_tenants["a"].call(method, _path(template, A, claim_b), _body(method, template, A))

    # Then there is no such claim for A, and B's claim did not move
    assert response.status == 404, response.body
    assert response.body["code"] == "CB-CLAIM-NOT-FOUND"
    assert _state_of_b(infra, claim_b) == before


def test_isolation_lists_show_only_the_callers_tenant(infra: Infra, two_tenants: dict[str, Any]) -> None:
    # Given B has a held claim and A has none
    a, b = two_tenants["a"], two_tenants["b"]

    # When each lists tenants, held claims and the held worklist
    tenants_a = [t["tenant_id"] for t in a.call("GET", "/tenants").body["items"]]
    claims_a = a.call("GET", f"/tenants/{A}/claims", query={"state": "HELD"}).body["items"]
    worklist_a = a.call("GET", f"/tenants/{A}/worklists/held").body["items"]
    claims_b = b.call("GET", f"/tenants/{B}/claims", query={"state": "HELD"}).body["items"]

    # Then A sees only itself; B sees its own claim and its file
    assert tenants_a == [A]
    assert claims_a == [] and worklist_a == []
    assert [c["claim_id"] for c in claims_b] == [two_tenants["claim_b"]]
    files = b.call("GET", f"/tenants/{B}/claims/{two_tenants['claim_b']}").body["files"]
    assert [f["key"] for f in files] == [f"x12/837p/{B}/000000001.x12"]


def test_isolation_a_paging_token_of_b_never_leaves_the_callers_partition(
    infra: Infra, two_tenants: dict[str, Any]
) -> None:
    # Given B's held list has a next page (two claims, pages of one)
    held_claims(infra, 2, tenant=B, start=1)
    token = two_tenants["b"].call("GET", f"/tenants/{B}/claims", query={"state": "HELD", "limit": "1"}).body["next"]
    assert token

    # When A replays B's token on its own list
    page = two_tenants["a"].call("GET", f"/tenants/{A}/claims", query={"state": "HELD", "next": token}).body

    # Then A still sees only A's (no) claims
    assert page["items"] == []


@pytest.mark.parametrize(("method", "template"), OPERATIONS)
def test_isolation_an_unmapped_caller_is_forbidden_everywhere(
    infra: Infra, two_tenants: dict[str, Any], method: str, template: str
) -> None:
    # When a principal that no tenant lists (and no operator) calls any route
    response = ApiClient(STRANGER_SESSION).call(
        method, _path(template, B, two_tenants["claim_b"]), _body(method, template, B), query={"state": "HELD"}
    )

    # Then it is 403 whatever the route
    assert response.status == 403, response.body


# ---------------------------------------------------------------- clearinghouse credentials per tenant


@pytest.fixture
def recording_adapters(
    monkeypatch: pytest.MonkeyPatch, sandbox: SandboxClearinghouse
) -> Iterator[list[dict[str, str]]]:
    """The real adapters the submit handler builds (real secret loading), their HTTP calls recorded at the transport
    and forwarded to the sandbox clearinghouse: which endpoint got which key and which submitter's interchange."""
    seen: list[dict[str, str]] = []
    upstream = httpx.Client(base_url=sandbox.url)

    def forward(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        isa06 = json.loads(body)["x12"].split("*")[6].strip() if request.method == "POST" and body else ""
        seen.append({"host": request.url.host, "authorization": request.headers["Authorization"], "isa06": isa06})
        answer = upstream.request(
            request.method, request.url.raw_path.decode(), headers=dict(request.headers), content=request.content
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def adapter_for(tenant: Any, **kwargs: Any) -> Any:
        return factory.adapter_for(tenant, **{**kwargs, "client": httpx.Client(transport=httpx.MockTransport(forward))})

    monkeypatch.setattr(wiring, "adapter_for", adapter_for)
    yield seen
    upstream.close()


def test_isolation_each_tenants_claims_go_with_its_own_clearinghouse_secret_in_one_batch(
    infra: Infra, recording_adapters: list[dict[str, str]]
) -> None:
    # Given two practices on x12-api clearinghouses, each secret under its own prefix
    secrets = boto3.client("secretsmanager")
    for tenant, submitter in ((A, "SUBMITA"), (B, "SUBMITB")):
        document = demo_document(tenant)
        document["submitter"]["id"] = submitter
        document["clearinghouse"] = {
            "kind": "x12-api",
            "receiver": {"id": "CBSANDBOX", "name": "CLAIMBRIDGE SANDBOX"},
            "endpoint": f"https://ch-{tenant}.example",
            "secret_ref": f"claimbridge/{tenant}/clearinghouse",
            "usage_indicator": "T",
        }
        secrets.create_secret(
            Name=f"claimbridge/{tenant}/clearinghouse", SecretString=json.dumps({"api_key": f"key-{tenant}"})
        )
        infra.store.put_tenant_config(parse_tenant_config(document))
    # and both drop the same example bundle
    s3 = boto3.client("s3")
    bundle = (REPO / "events" / "bundles" / "intake-90791.json").read_bytes()
    for tenant in (A, B):
        s3.put_object(Bucket=infra.inbound_bucket, Key=f"{tenant}/bundle.json", Body=bundle)
    ingested = ingest_app.lambda_handler(
        ingest_event([(infra.inbound_bucket, f"{t}/bundle.json") for t in (A, B)]), FakeLambdaContext()
    )
    assert ingested == {"batchItemFailures": []}

    # When both tenants' Claim Ready events reach submit_claims in one SQS batch
    bodies = drain(infra.queue_urls["SubmitQueue"])
    assert {body["detail"]["tenant_id"] for body in bodies} == {A, B}
    for body in bodies:
        body.setdefault("account", "123456789012")
    assert submit_app.lambda_handler(
        sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json"), FakeLambdaContext()
    ) == {"batchItemFailures": []}

    # Then each interchange went to its tenant's endpoint with its tenant's key, and never the other's
    posts = [call for call in recording_adapters if call["isa06"]]
    assert sorted((call["host"], call["authorization"], call["isa06"]) for call in posts) == [
        (f"ch-{A}.example", f"Key key-{A}", "SUBMITA"),
        (f"ch-{B}.example", f"Key key-{B}", "SUBMITB"),
    ]
    assert all(call["authorization"] == f"Key key-{call['host'][3:-8]}" for call in recording_adapters)
    for tenant in (A, B):
        claim = infra.store.get_claim(tenant, claim_id_for(tenant, "Claim/clm-2"))
        assert claim is not None and claim.state == ClaimState.SUBMITTED
