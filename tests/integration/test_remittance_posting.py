"""process_responses posts 835s: CLP01 -> claim, PAID / PARTIALLY_PAID / DENIED with category and next action,
CLP07 recorded; an unknown CLP01 goes to the unmatched list; the same file twice changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.remit import Category
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.write_back import app as write_back_app
from tests.integration.conftest import Infra
from tests.integration.handler_events import FakeLambdaContext, sqs_event_from_bus_events
from tests.integration.test_responses_handlers import poll, process, submit_one_claim
from tests.unit import remit_builders as b

pytestmark = pytest.mark.integration

TENANT = "demo-practice"
CLAIM_ID = claim_id_for(TENANT, "Claim/clm-2")  # intake-90791: 90791 at $200, MCR


def accepted_claim(infra: Infra) -> None:
    submit_one_claim(infra)
    poll()
    assert process(infra, infra.archive_keys("responses/")) == {"batchItemFailures": []}
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None and stored.state == ClaimState.ACCEPTED


def post_835(infra: Infra, name: str, *claims: list[b.Seg], total: str) -> str:
    text = b.interchange([[*b.header(total), *[segment for claim in claims for segment in claim]]])
    key = f"responses/{TENANT}/835/{name}.x12"
    boto3.client("s3").put_object(Bucket=infra.archive_bucket, Key=key, Body=text.encode())
    assert process(infra, [key]) == {"batchItemFailures": []}
    return key


CASES = {
    "paid-with-copay": (
        b.claim(
            CLAIM_ID,
            "1",
            "200",
            "150",
            "20",
            payer_claim="ICN111",
            adjustments=[b.cas("CO", ("45", "30")), b.cas("PR", ("3", "20"))],
        ),
        "150",
        ClaimState.PAID,
        "patient_responsibility",
        "BILL_PATIENT",
    ),
    "denied-no-auth": (
        b.claim(CLAIM_ID, "4", "200", "0", "", payer_claim="ICN222", adjustments=[b.cas("CO", ("197", "200"))]),
        "0",
        ClaimState.DENIED,
        "authorization",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_835_moves_the_accepted_claim_and_records_the_payer_number(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse, case: str
) -> None:
    # Given an accepted claim
    accepted_claim(infra)
    segments, total, state, category, action = CASES[case]

    # When an 835 for it arrives, twice
    key = post_835(infra, case, segments, total=total)
    assert process(infra, [key]) == {"batchItemFailures": []}

    # Then the claim is adjudicated once, CLP07 is recorded, and the event names category and action (codes only)
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None
    assert stored.state == state
    assert stored.payer_claim_control_number == segments[0][7]
    events = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Adjudicated"]
    assert len(events) == 1
    assert (events[0]["outcome"], events[0]["category"]) == (state.value, category)
    if action:
        assert events[0]["action"] == action
    remit_findings = [f for f in stored.findings if f.rule_id == "REMIT-835"]
    assert len(remit_findings) == 1
    assert b.PATIENT_LAST not in remit_findings[0].model_dump_json()
    # and one valid R4 ExplanationOfBenefit is written for the EHR and announced with ids only
    (eob_key,) = infra.archive_keys(f"outbound/{TENANT}/ExplanationOfBenefit/{CLAIM_ID}/")
    eob = json.loads(infra.archive_text(eob_key))
    ExplanationOfBenefit.model_validate(eob)
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in eob["total"]}
    assert totals["submitted"] == 200 and totals["benefit"] == float(total)
    assert eob["payment"]["amount"]["value"] == float(total)
    assert eob["disposition"].startswith(state.value)
    written = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Explanation Of Benefit Written"]
    assert [d["key"] for d in written] == [eob_key]
    assert b.PATIENT_LAST not in json.dumps(written)


def test_835_for_an_unknown_claim_is_kept_as_unmatched(infra: Infra, demo_tenant: TenantConfig) -> None:
    post_835(infra, "stranger", b.claim("CBNOSUCHCLAIM0000001", "1", "100", "100"), total="100")
    unmatched = infra.store.list_unmatched(TENANT)
    assert [(u.kind, u.reference) for u in unmatched] == [("835", "CLM01 CBNOSUCHCLAIM0000001")]


def test_835_reversal_undoes_the_posting_and_the_corrected_claim_posts_again(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim an earlier 835 paid
    accepted_claim(infra)
    post_835(infra, "first", b.claim(CLAIM_ID, "1", "200", "200", payer_claim="ICN900"), total="200")

    # When a later 835 reverses that payment (CLP02 22) and sends the corrected claim: denied CO-50
    reversal = b.claim(CLAIM_ID, "22", "-200", "-200", payer_claim="ICN900")
    corrected = b.claim(CLAIM_ID, "4", "200", "0", payer_claim="ICN901", adjustments=[b.cas("CO", ("50", "200"))])
    post_835(infra, "second", reversal, corrected, total="-200")

    # Then the history shows the posting undone and the corrected adjudication, and the claim is DENIED
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None
    assert (stored.state, stored.payer_claim_control_number) == (ClaimState.DENIED, "ICN901")
    moves = [(h.from_state, h.to_state) for h in infra.store.history(TENANT, CLAIM_ID) if not h.refused]
    assert moves[-3:] == [
        (ClaimState.ACCEPTED, ClaimState.PAID),
        (ClaimState.PAID, ClaimState.ACCEPTED),
        (ClaimState.ACCEPTED, ClaimState.DENIED),
    ]
    # and one EOB per posted payment (the reversal itself posts none)
    assert len(infra.archive_keys(f"outbound/{TENANT}/ExplanationOfBenefit/{CLAIM_ID}/")) == 2


def write_back_adjudicated(infra: Infra) -> list[dict[str, Any]]:
    """Deliver the Claim Adjudicated events to write_back (as WriteBackQueue does); the claim's ClaimResponses."""
    bodies = [event for event in infra.bus_events() if event["detail-type"] == "Claim Adjudicated"]
    for body in bodies:
        body.setdefault("account", "123456789012")
    event = sqs_event_from_bus_events(bodies, "write_back_claim_held.json")
    assert write_back_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    keys = infra.archive_keys(f"outbound/{TENANT}/ClaimResponse/{CLAIM_ID}/")
    return [json.loads(infra.archive_text(k)) for k in sorted(keys, key=lambda k: int(k.rsplit("/", 1)[1][:-5]))]


def adjudication_codes(entries: list[dict[str, Any]]) -> dict[str, float | None]:
    """``{"benefit": 150.0, "CO-45": 30.0, "HE-N290": None, ...}`` from FHIR adjudication entries."""
    found: dict[str, float | None] = {}
    for entry in entries:
        code = entry["category"]["coding"][0]["code"]
        if "reason" in entry:
            code = f"{code}-{entry['reason']['coding'][0]['code']}"
        found[code] = entry.get("amount", {}).get("value")
    return found


def test_claim_response_after_an_835_carries_the_adjudication_and_the_payment(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given an accepted claim paid by an 835 with a line: allowed 170, paid 150, copay 20, CO-45 30
    accepted_claim(infra)
    sent = infra.store.get_claim(TENANT, CLAIM_ID)
    assert sent is not None and sent.claim is not None
    line = b.service(
        "90791",
        "200",
        "150",
        adjustments=[b.cas("CO", ("45", "30")), b.cas("PR", ("3", "20"))],
        allowed="170",
        control=sent.claim.lines[0].line_control_number,
    )
    paid_claim = b.claim(CLAIM_ID, "1", "200", "150", "20", payer_claim="ICN333", lines=[line])
    post_835(infra, "paid", paid_claim, total="150")

    # When the state change is written back for the EHR
    responses = write_back_adjudicated(infra)

    # Then the claim keeps the posting and the PAID ClaimResponse carries it per line, plus the payment
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None and stored.remittance is not None
    assert (stored.remittance.payment.paid, stored.remittance.patient_responsibility) == (Decimal(150), Decimal(20))
    assert stored.remittance.revision == stored.revision
    paid = responses[-1]
    ClaimResponse.model_validate(paid)
    assert paid["disposition"].startswith("PAID")
    assert adjudication_codes(paid["item"][0]["adjudication"]) == {
        "submitted": 200.0,
        "benefit": 150.0,
        "eligible": 170.0,
        "copay": 20.0,
        "CO-45": 30.0,
        "PR-3": 20.0,
    }
    assert paid["payment"]["amount"]["value"] == 150.0
    assert paid["payment"]["date"] == "2026-03-05"  # BPR16 of the builder's header
    # and the earlier ClaimResponses (ready, submitted, accepted) carry no payment
    assert all("payment" not in doc for doc in responses[:-1])


def test_a_reversal_clears_the_posting_and_the_corrected_claim_records_its_own(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    accepted_claim(infra)
    post_835(infra, "first", b.claim(CLAIM_ID, "1", "200", "200", payer_claim="ICN900"), total="200")
    first = infra.store.get_claim(TENANT, CLAIM_ID)
    assert first is not None and first.remittance is not None and first.remittance.outcome.value == "PAID"

    reversal = b.claim(CLAIM_ID, "22", "-200", "-200", payer_claim="ICN900")
    post_835(infra, "only-reversal", reversal, total="-200")
    reversed_claim = infra.store.get_claim(TENANT, CLAIM_ID)
    assert reversed_claim is not None
    assert (reversed_claim.state, reversed_claim.remittance) == (ClaimState.ACCEPTED, None)

    corrected = b.claim(CLAIM_ID, "4", "200", "0", payer_claim="ICN901", adjustments=[b.cas("CO", ("50", "200"))])
    post_835(infra, "corrected", corrected, total="0")
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None and stored.remittance is not None
    assert (stored.remittance.outcome.value, stored.remittance.category) == ("DENIED", Category.DOCUMENTATION)
    assert stored.remittance.payment.payer_claim_control_number == "ICN901"


def test_a_disabled_tenant_still_gets_its_responses_polled_posted_and_written_back(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse
) -> None:
    # Given a submitted claim, and then the practice switches Claimbridge off
    submit_one_claim(infra)
    infra.store.put_tenant_config(demo_tenant.model_copy(update={"enabled": False}))

    # When the schedule polls and the responses are processed and written back
    poll()
    assert process(infra, infra.archive_keys("responses/")) == {"batchItemFailures": []}
    bodies = [e for e in infra.bus_events() if e["detail-type"] in ("Claim Submitted", "Claim Accepted")]
    for body in bodies:
        body.setdefault("account", "123456789012")
    event = sqs_event_from_bus_events(bodies, "write_back_claim_held.json")
    assert write_back_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}

    # Then the claim the practice had already sent was accepted and its results reached the EHR's outbound prefix
    stored = infra.store.get_claim(TENANT, CLAIM_ID)
    assert stored is not None and stored.state == ClaimState.ACCEPTED
    written = infra.archive_keys(f"outbound/{TENANT}/ClaimResponse/{CLAIM_ID}/")
    assert len(written) == len([h for h in infra.store.history(TENANT, CLAIM_ID) if not h.refused])
