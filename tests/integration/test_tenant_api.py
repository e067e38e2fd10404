"""tenant_api through its Lambda handler (events from events/*.json): tenant documents, versions, sub-resources,
claims by state with paging, worklists, and the problem documents every refusal gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import boto3
import pytest

from claimbridge.findings import Finding, Severity
from claimbridge.state import ClaimState, StoredClaim
from tests.integration.api_support import (
    OPERATOR,
    OPERATOR_SESSION,
    STRANGER_SESSION,
    ApiClient,
    create_tenant,
    demo_document,
    invoke,
    role,
    session,
    use_operators,
)
from tests.integration.conftest import Infra
from tests.integration.handler_events import sample

pytestmark = pytest.mark.integration

TENANT = "demo-practice"


@pytest.fixture
def operator(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> ApiClient:
    use_operators(monkeypatch, OPERATOR)
    return ApiClient(OPERATOR_SESSION)


@pytest.fixture
def biller(operator: ApiClient) -> ApiClient:
    """The demo practice's own billing role (the committed samples' caller), after an operator created the tenant."""
    create_tenant(operator, demo_document(TENANT, principals=(role("DemoPracticeBilling"),)))
    return ApiClient(session("DemoPracticeBilling"))


def held_claims(infra: Infra, count: int, *, tenant: str = TENANT, start: int = 0) -> list[StoredClaim]:
    """``count`` HELD claims stored the way ingest stores them (RECEIVED -> HELD), one second apart."""
    claims = []
    for index in range(start, start + count):
        clock = datetime(2026, 3, 10, 12, tzinfo=UTC) + timedelta(seconds=index)
        infra.store._clock = lambda moment=clock: moment  # type: ignore[misc]
        stored = infra.store.create_claim(
            tenant_id=tenant,
            claim_id=f"CBHELD{index:04d}",
            source_key=f"Claim/held-{index}",
            version="1",
            claim=None,
            findings=[
                Finding(rule_id="IN-PAYER", severity=Severity.ERROR, fhir_path="Claim.insurance[0]", message="m")
            ],
            payer_key=None,
            config_version=1,
            previous_source=None,
            reason="received",
            actor="test",
        )
        claims.append(infra.store.transition(stored, ClaimState.HELD, reason="held by IN-PAYER", actor="test"))
    return claims


def test_tenant_api_sample_put_config_by_the_practices_own_role_stores_version_2(biller: ApiClient) -> None:
    # Given the tenant an operator created (version 1), which lists the sample's caller as its API principal
    # When the committed sample (If-Match "1") reaches the handler
    response = invoke(sample("tenant_api_put_config.json"))

    # Then the document is stored as version 2, audited with the caller's ARN, and the ETag names the version
    assert response.status == 200, response.body
    assert response.body["config_version"] == 2
    assert response.body["created"] is False
    assert response.body["updated_by"] == session("DemoPracticeBilling").replace("/biller", "/biller-session")
    assert response.header("ETag") == '"2"'
    versions = biller.call("GET", f"/tenants/{TENANT}/config/versions").body["items"]
    assert [item["config_version"] for item in versions] == [1, 2]


def test_tenant_api_get_config_round_trips_the_document_with_its_etag(biller: ApiClient) -> None:
    # Given / When the practice reads its document
    response = biller.call("GET", f"/tenants/{TENANT}/config")

    # Then it is the stored document (aliases kept) and can be written back with its ETag
    assert response.status == 200
    assert response.body["tenant_id"] == TENANT
    assert response.body["api"]["principals"] == [role("DemoPracticeBilling")]
    again = biller.call(
        "PUT", f"/tenants/{TENANT}/config", response.body, headers={"If-Match": response.header("ETag") or ""}
    )
    assert again.status == 200
    assert again.body["config_version"] == 2


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda d: d["providers"][1].update(npi="1987654320"), "/body/providers/1/npi"),
        (lambda d: d["billing_provider"].update(taxnomy="193400000X"), "/body/billing_provider/taxnomy"),
        (lambda d: d["providers"][0].update(enrolled_payers=["NOPE"]), "/body"),
        (lambda d: d.update(tenant_id="another-practice"), "/body/tenant_id"),
        (
            lambda d: d["clearinghouse"].update(
                kind="x12-api", endpoint="https://ch.example/x12", secret_ref="claimbridge/demo-practice/missing"
            ),
            "/body/clearinghouse/secret_ref",
        ),
        (
            lambda d: d["clearinghouse"].update(
                kind="x12-api", endpoint="https://ch.example/x12", secret_ref="claimbridge/other-practice/key"
            ),
            "/body",
        ),
        (
            lambda d: d["submitter"]["contact"].update(name="-----BEGIN RSA PRIVATE KEY-----"),
            "/body/submitter/contact/name",
        ),
    ],
    ids=[
        "npi-check-digit",
        "unknown-key",
        "unknown-payer-key",
        "path-mismatch",
        "secret-missing",
        "foreign-secret",
        "pem",
    ],
)
def test_tenant_api_put_config_refuses_an_invalid_document_naming_the_location(
    biller: ApiClient, infra: Infra, change: Any, location: str
) -> None:
    # Given the current document with one mistake
    document = biller.call("GET", f"/tenants/{TENANT}/config").body
    change(document)

    # When it is sent
    response = biller.call("PUT", f"/tenants/{TENANT}/config", document, headers={"If-Match": "1"})

    # Then it is refused whole (400) with the location, no value echoed, and nothing is stored
    assert response.status == 400, response.body
    assert response.header("Content-Type") == "application/problem+json"
    assert location in [error["location"] for error in response.body["errors"]]
    assert "1987654320" not in str(response.body) and "BEGIN RSA" not in str(response.body)
    assert [v.config_version for v in infra.store.tenant_versions(TENANT)] == [1]


def test_tenant_api_put_config_accepts_a_secret_ref_that_exists(biller: ApiClient) -> None:
    # Given a secret under the tenant's own prefix
    name = f"claimbridge/{TENANT}/clearinghouse"
    boto3.client("secretsmanager").create_secret(Name=name, SecretString='{"api_key": "k"}')
    document = biller.call("GET", f"/tenants/{TENANT}/config").body
    document["clearinghouse"].update(kind="x12-api", endpoint="https://ch.example/x12", secret_ref=name)

    # When / Then the document naming it is stored
    assert biller.call("PUT", f"/tenants/{TENANT}/config", document, headers={"If-Match": "1"}).status == 200


def test_tenant_api_put_config_needs_a_current_if_match(biller: ApiClient) -> None:
    # Given the document at version 1
    document = biller.call("GET", f"/tenants/{TENANT}/config").body

    # When it is sent without If-Match, with a stale one, and with a malformed one
    missing = biller.call("PUT", f"/tenants/{TENANT}/config", document)
    stale = biller.call("PUT", f"/tenants/{TENANT}/config", document, headers={"If-Match": '"7"'})
    malformed = biller.call("PUT", f"/tenants/{TENANT}/config", document, headers={"If-Match": "yesterday"})

    # Then nothing is merged blindly: 428, 409, 400
    assert (missing.status, missing.body["code"]) == (428, "CB-IF-MATCH-REQUIRED")
    assert (stale.status, stale.body["code"]) == (409, "CB-VERSION-CONFLICT")
    assert malformed.status == 400
    assert malformed.body["errors"][0]["location"] == "/header/if-match"


def test_tenant_api_only_operators_create_tenants(biller: ApiClient, operator: ApiClient) -> None:
    # Given a practice's role and a caller nobody mapped
    new = demo_document("new-practice")

    # When each tries to create another tenant
    by_practice = biller.call("PUT", "/tenants/new-practice/config", new, headers={"If-Match": "0"})
    by_stranger = ApiClient(STRANGER_SESSION).call(
        "PUT", "/tenants/new-practice/config", new, headers={"If-Match": "0"}
    )

    # Then the practice is told there is no such tenant, the stranger is forbidden; an operator may
    assert by_practice.status == 404
    assert by_stranger.status == 403
    created = operator.call("PUT", "/tenants/new-practice/config", new, headers={"If-Match": "0"})
    assert (created.status, created.body["created"]) == (200, True)


def test_tenant_api_a_principal_belongs_to_one_tenant(biller: ApiClient, operator: ApiClient) -> None:
    # Given a second tenant that lists the demo practice's billing role
    other = demo_document("other-practice", principals=(role("DemoPracticeBilling"),))

    # When an operator stores it
    response = operator.call("PUT", "/tenants/other-practice/config", other, headers={"If-Match": "0"})

    # Then it is refused at the principal's location, and the role still maps to the demo practice only
    assert response.status == 400
    assert response.body["errors"][0]["location"] == "/body/api/principals/0"
    assert biller.call("GET", f"/tenants/{TENANT}").status == 200


def test_tenant_api_an_ehr_sender_belongs_to_one_tenant(biller: ApiClient, operator: ApiClient) -> None:
    # Given the demo practice registers an EHR sender
    document = biller.call("GET", f"/tenants/{TENANT}/config").body
    document["inbound"] = {"event_sources": [{"account": "111122223333", "source": "com.example-ehr"}]}
    assert biller.call("PUT", f"/tenants/{TENANT}/config", document, headers={"If-Match": "1"}).status == 200

    # When another tenant registers the same sender
    other = demo_document("other-practice")
    other["inbound"] = document["inbound"]
    response = operator.call("PUT", "/tenants/other-practice/config", other, headers={"If-Match": "0"})

    # Then it is refused without naming the tenant that holds it
    assert response.status == 400
    assert response.body["errors"] == [
        {"location": "/body/inbound/event_sources/0", "message": "this sender is registered by another tenant"}
    ]


def test_tenant_api_disable_and_enable_are_new_versions(biller: ApiClient, infra: Infra) -> None:
    # When the practice switches the integration off, then on again
    off = biller.call("POST", f"/tenants/{TENANT}/disable")
    disabled_view = biller.call("GET", f"/tenants/{TENANT}")
    on = biller.call("POST", f"/tenants/{TENANT}/enable")

    # Then each is a version, the disabled tenant stays readable by its admin, and the pipeline saw it disabled
    assert (off.status, off.body["enabled"], off.body["config_version"]) == (200, False, 2)
    assert disabled_view.body["enabled"] is False
    assert (on.body["enabled"], on.body["config_version"]) == (True, 3)
    assert [v.enabled for v in infra.store.tenant_versions(TENANT)] == [True, False, True]
    assert biller.call("GET", f"/tenants/{TENANT}/config/versions/2").body["enabled"] is False


def test_tenant_api_providers_and_payer_profiles_are_sub_resources(biller: ApiClient) -> None:
    # Given a new clinician enrolled with Medicare
    clinician = {"npi": "1234567893", "name": {"last": "DOE", "first": "ALEX"}, "taxonomy": "101YM0800X",
                 "enrolled_payers": ["MCR", {"payer": "COMM-A", "from": "2026-01-01", "to": None}]}  # fmt: skip

    # When it is added, read, removed; and a payer's profile is replaced
    added = biller.call("PUT", f"/tenants/{TENANT}/providers/1234567893", clinician)
    read = biller.call("GET", f"/tenants/{TENANT}/providers/1234567893")
    mismatch = biller.call("PUT", f"/tenants/{TENANT}/providers/1111111112", clinician)
    removed = biller.call("DELETE", f"/tenants/{TENANT}/providers/1234567893")
    gone = biller.call("GET", f"/tenants/{TENANT}/providers/1234567893")
    profile = biller.call("GET", f"/tenants/{TENANT}/payers/COMM-A/profile").body
    profile["timely_filing_days"] = 120
    replaced = biller.call("PUT", f"/tenants/{TENANT}/payers/COMM-A/profile", profile)
    unknown = biller.call("GET", f"/tenants/{TENANT}/payers/NOPE/profile")

    # Then each write is a version of the whole validated document
    assert (added.status, added.body["config_version"]) == (200, 2)
    assert read.body["enrolled_payers"][1] == {"payer": "COMM-A", "from": "2026-01-01", "to": None}
    assert (mismatch.status, mismatch.body["errors"][0]["location"]) == (400, "/body/npi")
    assert (removed.status, removed.body["config_version"]) == (200, 3)
    assert gone.status == 404
    assert (replaced.status, replaced.body["config_version"]) == (200, 4)
    assert biller.call("GET", f"/tenants/{TENANT}/payers/COMM-A/profile").body["timely_filing_days"] == 120
    assert unknown.status == 404
    assert len(biller.call("GET", f"/tenants/{TENANT}/providers").body["items"]) == 3


def test_tenant_api_claims_by_state_page_with_an_opaque_token(biller: ApiClient, infra: Infra) -> None:
    # Given five held claims
    stored = held_claims(infra, 5)

    # When they are listed two at a time
    pages, token = [], None
    while True:
        query = {"state": "HELD", "limit": "2", **({"next": token} if token else {})}
        page = biller.call("GET", f"/tenants/{TENANT}/claims", query=query).body
        pages.append([item["claim_id"] for item in page["items"]])
        token = page["next"]
        if token is None:
            break

    # Then every claim comes once, oldest change first, in pages of two, and the last page says so
    assert pages == [[c.claim_id for c in stored[:2]], [c.claim_id for c in stored[2:4]], [stored[4].claim_id]]
    assert biller.call("GET", f"/tenants/{TENANT}/claims", query={"state": "READY"}).body["items"] == []


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ({"state": "HELD", "next": "bm90LWEtdG9rZW4"}, "/query/next"),
        ({"state": "HELD", "next": "!!!"}, "/query/next"),
        ({"state": "SOMEWHERE"}, "/query/state"),
        ({"state": "HELD", "limit": "0"}, "/query/limit"),
        ({}, "/query/state"),
    ],
)
def test_tenant_api_bad_query_is_a_400_with_its_location(
    biller: ApiClient, query: dict[str, str], location: str
) -> None:
    # When / Then
    response = biller.call("GET", f"/tenants/{TENANT}/claims", query=query)
    assert response.status == 400
    assert [error["location"] for error in response.body["errors"]] == [location]


def test_tenant_api_sample_worklist_lists_held_claims_with_findings(biller: ApiClient, infra: Infra) -> None:
    # Given a held claim
    (claim,) = held_claims(infra, 1)

    # When the committed worklist sample reaches the handler
    response = invoke(sample("tenant_api_get_worklist.json"))

    # Then the held worklist shows it with the finding that holds it (rule, location, no values)
    assert response.status == 200
    (item,) = response.body["items"]
    assert item["claim"]["claim_id"] == claim.claim_id
    assert item["claim"]["error_rule_ids"] == ["IN-PAYER"]
    assert item["findings"][0]["fhir_path"] == "Claim.insurance[0]"


def test_tenant_api_claim_detail_has_history_and_files(biller: ApiClient, infra: Infra) -> None:
    # Given a held claim whose interchange and a 999 were linked to it
    (claim,) = held_claims(infra, 1)
    infra.store.link_claim_files(TENANT, [claim.claim_id], kind="837P", key=f"x12/837p/{TENANT}/000000001.x12")
    infra.store.link_claim_files(TENANT, [claim.claim_id], kind="999", key=f"responses/{TENANT}/999/r1.x12")
    boto3.client("s3").put_object(
        Bucket=infra.archive_bucket, Key=f"outbound/{TENANT}/ClaimResponse/{claim.claim_id}/2.json", Body=b"{}"
    )

    # When it is read
    detail = biller.call("GET", f"/tenants/{TENANT}/claims/{claim.claim_id}").body

    # Then its history and every file are there, by kind
    assert [(h["from_state"], h["to_state"]) for h in detail["history"]] == [(None, "RECEIVED"), ("RECEIVED", "HELD")]
    assert [(f["kind"], f["key"]) for f in detail["files"]] == [
        ("837P", f"x12/837p/{TENANT}/000000001.x12"),
        ("999", f"responses/{TENANT}/999/r1.x12"),
        ("ClaimResponse", f"outbound/{TENANT}/ClaimResponse/{claim.claim_id}/2.json"),
    ]


def test_tenant_api_unknown_route_and_unknown_caller(biller: ApiClient) -> None:
    # When a route that does not exist is called, and a caller without identity calls a real one
    no_route = biller.call("GET", f"/tenants/{TENANT}/nothing-here")
    anonymous = ApiClient("").call("GET", f"/tenants/{TENANT}")

    # Then both are problem documents
    assert (no_route.status, no_route.body["code"]) == (404, "CB-NO-ROUTE")
    assert (anonymous.status, anonymous.body["code"]) == (403, "CB-FORBIDDEN")


def test_tenant_api_never_logs_the_document_or_reasons(
    biller: ApiClient, infra: Infra, captured_logs: StringIO
) -> None:
    # Given a document with a distinctive contact name, and a held claim
    document = biller.call("GET", f"/tenants/{TENANT}/config").body
    document["submitter"]["contact"]["name"] = "ZELDA QUIGGLEBOTTOM"
    (claim,) = held_claims(infra, 1)

    # When it is stored, a bad copy refused, and an action with a free-text reason refused
    biller.call("PUT", f"/tenants/{TENANT}/config", document, headers={"If-Match": "1"})
    document["providers"][0]["npi"] = "1111111111"
    biller.call("PUT", f"/tenants/{TENANT}/config", document, headers={"If-Match": "2"})
    biller.call("POST", f"/tenants/{TENANT}/claims/{claim.claim_id}/close", {"reason": "patient ZELDA asked us"})

    # Then the logs name routes, statuses and codes, never the values
    logs = captured_logs.getvalue()
    assert "request done" in logs
    assert "ZELDA" not in logs and "QUIGGLEBOTTOM" not in logs and "1111111111" not in logs


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded"])
def test_tenant_api_a_body_that_is_not_json_is_a_415(biller: ApiClient, content_type: str) -> None:
    # When an action is sent with another media type
    response = biller.call(
        "POST", f"/tenants/{TENANT}/claims/CB1/close", {"reason": "r"}, headers={"Content-Type": content_type}
    )

    # Then it is refused before any parsing
    assert (response.status, response.body["code"]) == (415, "CB-MEDIA-TYPE")
