"""Issue 8's "done when", through the tenant API's handler and the pipeline handlers as the template wires them:

1. a practice is configured, enabled and disabled through the API (inputs of a disabled practice are quarantined,
   and replayed on request once it is enabled again);
2. a held claim is fixed (a field override, audited) and resubmitted: READY, then sent;
3. a denied claim is corrected (frequency 7, REF*F8 = the payer's claim number) and sent again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from functions.ingest_fhir import app as ingest_app
from functions.submit_claims import app as submit_app
from tests.integration.api_support import (
    OPERATOR,
    OPERATOR_SESSION,
    ApiClient,
    create_tenant,
    demo_document,
    role,
    session,
    use_operators,
)
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sqs_event_from_bus_events
from tests.integration.test_remittance_posting import post_835
from tests.integration.test_responses_handlers import poll, process
from tests.unit import remit_builders as b

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
CLAIM_ID = claim_id_for(TENANT, "Claim/clm-2")  # intake-90791: 90791, MCR, rendering 1000000004


@pytest.fixture
def operator(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> ApiClient:
    use_operators(monkeypatch, OPERATOR)
    return ApiClient(OPERATOR_SESSION)


@pytest.fixture
def biller() -> ApiClient:
    return ApiClient(session("DemoPracticeBilling"))


def drop_bundle(infra: Infra, name: str, key: str) -> dict[str, Any]:
    """An EHR drop under the tenant's inbound prefix, delivered to ingest_fhir."""
    boto3.client("s3").put_object(Bucket=infra.inbound_bucket, Key=key, Body=(BUNDLES / name).read_bytes())
    result: dict[str, Any] = ingest_app.lambda_handler(ingest_event([(infra.inbound_bucket, key)]), FakeLambdaContext())
    return result


def deliver_submit_queue(infra: Infra) -> list[dict[str, Any]]:
    """Whatever the claim bus routed to SubmitQueue (Claim Ready, Claim Corrected), delivered to submit_claims."""
    bodies = drain(infra.queue_urls["SubmitQueue"])
    for body in bodies:
        body.setdefault("account", "123456789012")
    if bodies:
        event = sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json")
        assert submit_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    return bodies


def state(biller: ApiClient, claim_id: str = CLAIM_ID) -> str:
    response = biller.call("GET", f"/tenants/{TENANT}/claims/{claim_id}")
    assert response.status == 200, response.body
    return str(response.body["state"])


def test_flow_practice_is_configured_enabled_and_disabled_through_the_api(
    infra: Infra, operator: ApiClient, biller: ApiClient
) -> None:
    # Given an operator creates the practice switched off, naming its billing role
    document = demo_document(TENANT, principals=(role("DemoPracticeBilling"),))
    document["enabled"] = False
    create_tenant(operator, document)

    # When the practice configures a payer's rules and a clinician's enrollment, then switches the integration on
    profile = biller.call("GET", f"/tenants/{TENANT}/payers/MCR/profile").body
    assert (
        biller.call("PUT", f"/tenants/{TENANT}/payers/MCR/profile", {**profile, "timely_filing_days": 365}).status
        == 200
    )
    clinician = biller.call("GET", f"/tenants/{TENANT}/providers/1000000004").body
    assert biller.call("PUT", f"/tenants/{TENANT}/providers/1000000004", clinician).status == 200
    enabled = biller.call("POST", f"/tenants/{TENANT}/enable").body

    # Then its claims flow: the drop becomes a READY claim scrubbed with the version the API stored
    assert enabled["enabled"] is True
    assert drop_bundle(infra, "intake-90791.json", f"{TENANT}/first.json") == {"batchItemFailures": []}
    detail = biller.call("GET", f"/tenants/{TENANT}/claims/{CLAIM_ID}").body
    assert (detail["state"], detail["config_version"]) == ("READY", enabled["config_version"])

    # When the practice switches it off and the EHR drops another file
    disabled = biller.call("POST", f"/tenants/{TENANT}/disable").body
    assert drop_bundle(infra, "telehealth-90837-home.json", f"{TENANT}/while-off.json") == {"batchItemFailures": []}

    # Then the input is quarantined (IN-TENANT) and no claim came of it
    assert disabled["enabled"] is False
    quarantined = infra.archive_keys(f"quarantine/{TENANT}/")
    assert any(key.endswith(".error.json") for key in quarantined)
    assert biller.call("GET", f"/tenants/{TENANT}/claims", query={"state": "READY"}).body["items"][0]["claim_id"] == (
        CLAIM_ID
    )
    assert len(biller.call("GET", f"/tenants/{TENANT}/claims", query={"state": "READY"}).body["items"]) == 1

    # When it is switched on again and the practice asks for a replay, and ingest takes the replayed drop
    refused = biller.call("POST", f"/tenants/{TENANT}/replay")  # nothing to replay into while still off
    biller.call("POST", f"/tenants/{TENANT}/enable")
    replay = biller.call("POST", f"/tenants/{TENANT}/replay").body
    again = biller.call("POST", f"/tenants/{TENANT}/replay").body
    assert ingest_app.lambda_handler(
        ingest_event([(infra.inbound_bucket, f"{TENANT}/while-off.json")]), FakeLambdaContext()
    ) == {"batchItemFailures": []}

    # Then the quarantined input went back once, and its claim now exists
    assert refused.status == 409
    assert len(replay["replayed"]) == 1 and again["replayed"] == [] and again["already_replayed"] == 1
    ready = biller.call("GET", f"/tenants/{TENANT}/claims", query={"state": "READY"}).body["items"]
    assert len(ready) == 2
    versions = [v["enabled"] for v in biller.call("GET", f"/tenants/{TENANT}/config/versions").body["items"]]
    assert versions == [False, False, False, True, False, True]


def test_flow_held_claim_is_fixed_and_resubmitted_through_the_api(
    infra: Infra, operator: ApiClient, biller: ApiClient, sandbox: SandboxClearinghouse
) -> None:
    # Given a practice whose clinician 1000000004 is not enrolled with Medicare, and a Medicare claim rendered by them
    document = demo_document(TENANT, principals=(role("DemoPracticeBilling"),))
    document["providers"][2]["enrolled_payers"] = ["COMM-A"]
    create_tenant(operator, document)
    assert drop_bundle(infra, "intake-90791.json", f"{TENANT}/b.json") == {"batchItemFailures": []}
    drain(infra.queue_urls["SubmitQueue"])  # the Claim Held event is not routed there; nothing else is waiting
    held = biller.call("GET", f"/tenants/{TENANT}/worklists/held").body["items"]
    assert [item["claim"]["claim_id"] for item in held] == [CLAIM_ID]
    assert any(rule.startswith("BH-CRED") for rule in held[0]["claim"]["error_rule_ids"])

    # When the biller resubmits it with the rendering clinician corrected to one enrolled with Medicare
    response = biller.call(
        "POST",
        f"/tenants/{TENANT}/claims/{CLAIM_ID}/resubmit",
        {"reason": "rendered by the LCSW per the visit note", "overrides": {"rendering_npi": "1111111112"}},
    )

    # Then it is READY, audited by field path (not value), and the submit function sends it
    assert response.status == 200, response.body
    assert (response.body["from_state"], response.body["state"]) == ("HELD", "READY")
    history = biller.call("GET", f"/tenants/{TENANT}/claims/{CLAIM_ID}").body["history"]
    audit = next(entry for entry in history if entry["actor"] == session("DemoPracticeBilling"))
    assert "rendering_npi" in audit["reason"] and "1111111112" not in audit["reason"]
    assert [body["detail-type"] for body in deliver_submit_queue(infra)] == ["Claim Ready"]
    assert state(biller) == "SUBMITTED"
    assert biller.call("GET", f"/tenants/{TENANT}/worklists/held").body["items"] == []


def test_flow_denied_claim_is_corrected_with_frequency_7_through_the_api(
    infra: Infra, operator: ApiClient, biller: ApiClient, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim sent, accepted (277CA) and then denied by the payer's 835 (CO-16, payer claim number ICN777)
    create_tenant(operator, demo_document(TENANT, principals=(role("DemoPracticeBilling"),)))
    assert drop_bundle(infra, "intake-90791.json", f"{TENANT}/b.json") == {"batchItemFailures": []}
    deliver_submit_queue(infra)
    poll()
    assert process(infra, infra.archive_keys("responses/")) == {"batchItemFailures": []}
    assert state(biller) == "ACCEPTED"
    denial = b.claim(
        CLAIM_ID, "4", "200", "0", "", payer_claim="ICN777", adjustments=[b.cas("CO", ("16", "200"))], remarks=["N290"]
    )
    post_835(infra, "denied", denial, total="0")
    drain(infra.queue_urls["SubmitQueue"])

    # When the biller reads the denied worklist and sends a corrected claim
    (item,) = biller.call("GET", f"/tenants/{TENANT}/worklists/denied").body["items"]
    response = biller.call(
        "POST", f"/tenants/{TENANT}/claims/{CLAIM_ID}/correct", {"reason": "rendering NPI enrolled since 03/01"}
    )

    # Then the worklist named the category and next action, the claim is CORRECTED and then sent again
    assert item["denial"]["category"] == "credentialing"
    assert item["denial"]["action"] == "RESUBMIT_CORRECTED"
    assert item["denial"]["reason_codes"][:1] == ["CO-16"]
    assert response.status == 200, response.body
    assert (response.body["from_state"], response.body["state"]) == ("DENIED", "CORRECTED")
    assert [body["detail-type"] for body in deliver_submit_queue(infra)] == ["Claim Corrected"]
    assert state(biller) == "SUBMITTED"
    # as a frequency-7 replacement naming the payer's claim number, in a second interchange of the claim's files
    files = biller.call("GET", f"/tenants/{TENANT}/claims/{CLAIM_ID}").body["files"]
    interchanges = [f["key"] for f in files if f["kind"] == "837P"]
    assert len(interchanges) == 2
    latest = infra.archive_text(sorted(interchanges)[-1])
    assert f"CLM*{CLAIM_ID}*200*" in latest and ":7*" in latest.split(f"CLM*{CLAIM_ID}")[1].split("~")[0]
    assert "REF*F8*ICN777~" in latest
    assert {f["kind"] for f in files} == {"837P", "999", "277CA", "835", "ExplanationOfBenefit"}
