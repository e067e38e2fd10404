"""process_responses posts 835s: CLP01 -> claim, PAID / PARTIALLY_PAID / DENIED with category and next action,
CLP07 recorded; an unknown CLP01 goes to the unmatched list; the same file twice changes nothing."""

from __future__ import annotations

import json

import boto3
import pytest
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from tests.integration.conftest import Infra
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
