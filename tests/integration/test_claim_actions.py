"""Biller actions under moto with the real handlers and the sandbox clearinghouse: a held claim fixed and sent, a
denied claim corrected (7) or voided (8) and answered, write off, close, resend; refusals audited, nothing changed."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from claimbridge.events import FhirBundleSubmittedEvent
from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline.actions import (
    ActionRefused,
    ClaimNotFound,
    ClaimOverrides,
    InvalidOverride,
    LineOverride,
    close_claim,
    correct_claim,
    replay_quarantined,
    resend_claim,
    resubmit_claim,
    write_off_claim,
)
from claimbridge.pipeline.poll import poll_tenant
from claimbridge.pipeline.ports import CountingMetrics, PipelineDeps
from claimbridge.pipeline.submitted import accept_submitted_event
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import get_settings
from claimbridge.state import ClaimState, StoredClaim
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, parse_tenant_config
from claimbridge.x12.reader import iter_segments
from claimbridge.x12.validate import validate_837p
from functions.ingest_fhir import app as ingest_app
from functions.submit_claims import app as submit_app
from functions.write_back import app as write_back_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sqs_event_from_bus_events
from tests.integration.test_responses_handlers import process, set_faults

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
CLAIM_ID = claim_id_for(TENANT, "Claim/clm-2")  # intake-90791: 90791 at $200, MCR, one line
BILLER = "biller@demo-practice"
REASON = "auth number from the payer portal"


def tenant_document(*, auth_codes: tuple[str, ...] = (), enabled: bool = True) -> TenantConfig:
    """The demo practice; ``auth_codes`` makes MCR require a prior authorization for them (BH-AUTH-01)."""
    document: dict[str, Any] = json.loads(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    document["enabled"] = enabled
    for payer in document["payers"]:
        if payer["key"] == "MCR":
            payer["profile"]["auth"]["required_codes"] = list(auth_codes)
    return parse_tenant_config(document)


def deps() -> PipelineDeps:
    return build_deps(get_settings(), metrics=CountingMetrics())


def ingest(infra: Infra, name: str = "intake-90791.json", body: bytes | None = None) -> None:
    key = f"{TENANT}/{name}"
    boto3.client("s3").put_object(
        Bucket=infra.inbound_bucket, Key=key, Body=body if body is not None else (BUNDLES / name).read_bytes()
    )
    event = ingest_event([(infra.inbound_bucket, key)])
    assert ingest_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}


def submit_queued(infra: Infra) -> list[str]:
    """Deliver what the template's ClaimReadyRule routed to SubmitQueue to submit_claims; returns the detail-types."""
    bodies = drain(infra.queue_urls["SubmitQueue"])
    for body in bodies:
        body.setdefault("account", "123456789012")
    if bodies:
        event = sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json")
        assert submit_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    return [body["detail-type"] for body in bodies]


def respond(infra: Infra) -> None:
    """Poll the sandbox now (the schedule waits poll_minutes between polls) and process what came back."""
    poll_tenant(TENANT, deps())
    fresh = [key for key in infra.archive_keys("responses/") if not infra.store.response_processed(TENANT, key)]
    assert fresh, "the sandbox answered nothing"
    assert process(infra, fresh) == {"batchItemFailures": []}


def stored(infra: Infra, claim_id: str = CLAIM_ID) -> StoredClaim:
    claim = infra.store.get_claim(TENANT, claim_id)
    assert claim is not None
    return claim


def interchange_of(infra: Infra, claim: StoredClaim) -> str:
    record = infra.store.get_submission(TENANT, claim.submission_id or "")
    assert record is not None
    return infra.archive_text(record.archive_key)


def assert_refused_and_unchanged(infra: Infra, before: StoredClaim, action: str) -> None:
    """The refusal is the last history item, and the claim itself did not move."""
    after = stored(infra, before.claim_id)
    assert (after.state, after.revision) == (before.state, before.revision)
    last = infra.store.history(TENANT, before.claim_id)[-1]
    assert last.refused and last.actor == BILLER and f"{action} by {BILLER}" in last.reason


def held_for_auth(infra: Infra) -> StoredClaim:
    infra.store.put_tenant_config(tenant_document(auth_codes=("90791",)))
    ingest(infra)
    claim = stored(infra)
    assert (claim.state, claim.error_rule_ids) == (ClaimState.HELD, ("BH-AUTH-01",))
    drain(infra.queue_urls["SubmitQueue"])
    return claim


def adjudicated(infra: Infra, sandbox: SandboxClearinghouse, remit: dict[str, Any]) -> StoredClaim:
    """clm-2 sent and answered by the sandbox: 999, 277CA and an 835 as ``remit`` says."""
    set_faults(sandbox, {"remit": {"after_listings": 0, **remit}})
    infra.store.put_tenant_config(tenant_document())
    ingest(infra)
    assert submit_queued(infra) == ["Claim Ready"]
    respond(infra)
    return stored(infra)


# ------------------------------------------------------------------------------------------------------- resubmit


def test_held_bh_auth_claim_fixed_by_override_is_ready_then_submitted_and_accepted(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim held because the payer requires a prior authorization for 90791
    held = held_for_auth(infra)

    # When the biller adds the authorization number and resubmits
    result = resubmit_claim(
        TENANT,
        CLAIM_ID,
        reason=REASON,
        actor=BILLER,
        deps=deps(),
        overrides=ClaimOverrides(prior_authorization="AUTH778899"),
    )

    # Then the claim is READY with the number, scrubbed with the tenant's current configuration version
    assert (result.action, result.from_state, result.state) == ("resubmit", ClaimState.HELD, ClaimState.READY)
    ready = stored(infra)
    assert ready.claim is not None and ready.claim.prior_authorization == "AUTH778899"
    assert ready.config_version == 1 and ready.revision == held.revision + 2
    assert "BH-AUTH-01" not in {f.rule_id for f in ready.findings}
    # and the audit names the action, the actor, the overridden field and the reason, never the value
    moves = [h for h in infra.store.history(TENANT, CLAIM_ID) if not h.refused][-2:]
    assert [(h.from_state, h.to_state) for h in moves] == [
        (ClaimState.HELD, ClaimState.RECEIVED),
        (ClaimState.RECEIVED, ClaimState.READY),
    ]
    assert moves[0].reason == f"resubmit by {BILLER} (overridden: prior_authorization): {REASON}"
    assert all("AUTH778899" not in h.reason for h in moves)

    # When the Claim Ready event reaches submit_claims and the sandbox answers
    assert submit_queued(infra) == ["Claim Ready"]
    respond(infra)

    # Then the 837P carried REF*G1 and the claim is ACCEPTED
    accepted = stored(infra)
    assert accepted.state == ClaimState.ACCEPTED
    segments = [(s.tag, s.element(1), s.element(2)) for s in iter_segments(interchange_of(infra, accepted))]
    assert ("REF", "G1", "AUTH778899") in segments

    # When the same resubmit comes again
    with pytest.raises(ActionRefused, match="cannot be resubmitted"):
        resubmit_claim(TENANT, CLAIM_ID, reason=REASON, actor=BILLER, deps=deps())

    # Then it is refused and recorded, and nothing was sent twice
    assert_refused_and_unchanged(infra, accepted, "resubmit")
    assert submit_queued(infra) == []


def test_resubmit_without_a_fix_holds_the_claim_again_with_its_findings(infra: Infra) -> None:
    # Given a held claim
    held_for_auth(infra)

    # When it is resubmitted without overrides (a re-scrub)
    result = resubmit_claim(TENANT, CLAIM_ID, reason="rescrub", actor=BILLER, deps=deps())

    # Then it is HELD again by the same rule, announced as held (nothing goes to the submit flow)
    assert (result.from_state, result.state) == (ClaimState.HELD, ClaimState.HELD)
    assert [f.rule_id for f in result.findings if f.severity == "error"] == ["BH-AUTH-01"]
    assert submit_queued(infra) == []
    held = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Held"]
    assert held[-1]["rule_ids"] == ["BH-AUTH-01"]


def test_resubmit_after_a_configuration_fix_uses_the_new_configuration_version(infra: Infra) -> None:
    # Given a held claim, and then the payer profile no longer requires the authorization (version 2)
    held_for_auth(infra)
    assert infra.store.put_tenant_config(tenant_document()) == 2

    # When it is resubmitted without overrides
    result = resubmit_claim(TENANT, CLAIM_ID, reason="payer rule fixed", actor=BILLER, deps=deps())

    # Then it is READY, recorded as scrubbed with version 2
    assert result.state == ClaimState.READY
    assert stored(infra).config_version == 2


def test_invalid_overrides_are_refused_and_change_nothing(infra: Infra) -> None:
    # Given a held claim with one service line
    held = held_for_auth(infra)

    # When the overrides name a line the claim does not have, or a rendering NPI off the roster
    for overrides, where in (
        (ClaimOverrides(lines=(LineOverride(sequence=2, units=Decimal(2)),)), "lines\\[2\\]"),
        (ClaimOverrides(rendering_npi="1234567893"), "rendering_npi"),
        (ClaimOverrides(lines=(LineOverride(sequence=1, diagnosis_pointers=(1, 5)),)), "diagnosis_pointers"),
    ):
        with pytest.raises(InvalidOverride, match=where):
            resubmit_claim(TENANT, CLAIM_ID, reason=REASON, actor=BILLER, deps=deps(), overrides=overrides)

        # Then each refusal is recorded, and the claim is as it was
        assert_refused_and_unchanged(infra, held, "resubmit")


def test_new_fhir_version_of_a_held_claim_replaces_it_without_an_action(infra: Infra) -> None:
    # Given a claim held for a missing prior authorization
    held_for_auth(infra)

    # When the EHR sends a new version of the Claim that carries the authorization number
    bundle = json.loads((BUNDLES / "intake-90791.json").read_bytes())
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["meta"] = {**claim.get("meta", {}), "versionId": "99"}
    claim["insurance"][0]["preAuthRef"] = ["AUTH55"]
    ingest(infra, "intake-90791-v99.json", json.dumps(bundle).encode())

    # Then the same claim (same CLM01) is READY with the number
    ready = stored(infra)
    assert (ready.state, ready.source_version) == (ClaimState.READY, "99")
    assert ready.claim is not None and ready.claim.prior_authorization == "AUTH55"


def test_new_fhir_version_never_turns_a_held_correction_back_into_an_original(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a replacement (frequency 7) of a denied claim, held because the clearinghouse refused it
    adjudicated(infra, sandbox, {"claims": {CLAIM_ID: {"outcome": "denied", "carc": "CO-16"}}})
    correct_claim(TENANT, CLAIM_ID, frequency="7", reason=REASON, actor=BILLER, deps=deps())
    infra.store.transition(stored(infra), ClaimState.HELD, reason="refused by the clearinghouse", actor="claimbridge")

    # When the EHR sends a new version of the original Claim (an original, frequency 1)
    bundle = json.loads((BUNDLES / "intake-90791.json").read_bytes())
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["meta"] = {**claim.get("meta", {}), "versionId": "99"}
    ingest(infra, "intake-90791-v99.json", json.dumps(bundle).encode())

    # Then the held correction keeps frequency 7, and the new version is a new claim held by IN-VERSION, linked to it
    correction = stored(infra)
    assert correction.state == ClaimState.HELD and correction.claim is not None
    assert correction.claim.frequency.value == "7"
    newer = [
        e["detail"]
        for e in infra.bus_events()
        if e["detail-type"] == "Claim Held" and e["detail"]["claim_id"] != CLAIM_ID
    ]
    assert [d["rule_ids"] for d in newer] == [["IN-VERSION"]]
    assert stored(infra, newer[0]["claim_id"]).related_claim_id == CLAIM_ID


def test_actions_never_reach_another_tenants_claim(infra: Infra) -> None:
    # Given a held claim of the demo practice
    held = held_for_auth(infra)

    # When another tenant names its claim id
    for act in (resubmit_claim, close_claim, write_off_claim, resend_claim):
        with pytest.raises(ClaimNotFound):
            act("other-practice", CLAIM_ID, reason=REASON, actor=BILLER, deps=deps())
    with pytest.raises(ClaimNotFound):
        correct_claim("other-practice", CLAIM_ID, frequency="7", reason=REASON, actor=BILLER, deps=deps())

    # Then the claim did not change
    assert stored(infra).revision == held.revision


# ----------------------------------------------------------------------------------------------- correct / void


def test_denied_claim_corrected_with_frequency_7_is_sent_with_ref_f8_and_its_835_posts(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim the payer denied (CO-16, information missing) and numbered
    denied = adjudicated(infra, sandbox, {"claims": {CLAIM_ID: {"outcome": "denied", "carc": "CO-16"}}})
    assert denied.state == ClaimState.DENIED and denied.payer_claim_control_number
    original = denied.submission_id

    # When the biller corrects a modifier and sends a replacement
    result = correct_claim(
        TENANT,
        CLAIM_ID,
        frequency="7",
        reason="payer asked for the modifier",
        actor=BILLER,
        deps=deps(),
        overrides=ClaimOverrides(lines=(LineOverride(sequence=1, modifiers=("AH",)),)),
    )

    # Then the claim is CORRECTED (same CLM01) and its Claim Corrected event reaches the submit flow
    assert (result.action, result.from_state, result.state) == ("correct", ClaimState.DENIED, ClaimState.CORRECTED)
    corrected = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Corrected"]
    assert [(d["claim_id"], d["frequency"]) for d in corrected] == [(CLAIM_ID, "7")]
    set_faults(sandbox, {"reset": True, "remit": {"after_listings": 0}})  # the payer pays the replacement
    assert submit_queued(infra) == ["Claim Corrected"]

    # and it went out in a new interchange as CLM05-3 7 with REF*F8 = the payer's number, valid per pyx12
    sent = stored(infra)
    assert sent.state == ClaimState.SUBMITTED and sent.submission_id != original
    text = interchange_of(infra, sent)
    clm = next(s for s in iter_segments(text) if s.tag == "CLM")
    assert (clm.element(1), clm.element(5).split(":")[-1]) == (CLAIM_ID, "7")
    refs = [(s.element(1), s.element(2)) for s in iter_segments(text) if s.tag == "REF"]
    assert ("F8", denied.payer_claim_control_number) in refs
    assert next(s.element(1) for s in iter_segments(text) if s.tag == "SV1").split(":")[2:] == ["AH"]
    assert validate_837p(text) == []

    # When the payer accepts and pays the replacement
    respond(infra)

    # Then its 277CA and 835 are matched by CLM01/CLP01: the claim is PAID, with the history of both adjudications
    paid = stored(infra)
    assert paid.state == ClaimState.PAID
    moves = [(h.from_state, h.to_state) for h in infra.store.history(TENANT, CLAIM_ID) if not h.refused]
    assert moves[-4:] == [
        (ClaimState.DENIED, ClaimState.CORRECTED),
        (ClaimState.CORRECTED, ClaimState.SUBMITTED),
        (ClaimState.SUBMITTED, ClaimState.ACCEPTED),
        (ClaimState.ACCEPTED, ClaimState.PAID),
    ]
    assert infra.store.list_unmatched(TENANT) == []

    # When the correction is asked for again on the paid claim's old state: nothing is double-sent
    with pytest.raises(ActionRefused):
        resend_claim(TENANT, CLAIM_ID, reason="again", actor=BILLER, deps=deps())
    assert submit_queued(infra) == []


def test_void_with_frequency_8_is_sent_and_the_accepted_void_is_voided(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a paid claim the practice billed in error
    paid = adjudicated(infra, sandbox, {})
    assert paid.state == ClaimState.PAID
    set_faults(sandbox, {"reset": True})  # no 835 for the void itself

    # When the biller voids it
    result = correct_claim(TENANT, CLAIM_ID, frequency="8", reason="billed in error", actor=BILLER, deps=deps())
    assert (result.action, result.state) == ("void", ClaimState.CORRECTED)

    # Then the void goes out as CLM05-3 8 with REF*F8, and once the 277CA accepts it the claim is VOIDED
    assert submit_queued(infra) == ["Claim Corrected"]
    text = interchange_of(infra, stored(infra))
    clm = next(s for s in iter_segments(text) if s.tag == "CLM")
    assert clm.element(5).split(":")[-1] == "8"
    assert validate_837p(text) == []
    assert ("F8", paid.payer_claim_control_number) in [(s.element(1), s.element(2)) for s in iter_segments(text)]
    respond(infra)
    assert stored(infra).state == ClaimState.VOIDED
    accepted = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Accepted"]
    assert accepted[-1]["claim_id"] == CLAIM_ID

    # and voiding again is refused (the payer has it)
    before = stored(infra)
    with pytest.raises(ActionRefused):
        correct_claim(TENANT, CLAIM_ID, frequency="8", reason="again", actor=BILLER, deps=deps())
    assert_refused_and_unchanged(infra, before, "void")


def test_correction_is_refused_before_the_payer_answered_or_without_its_number(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim rejected by the clearinghouse's 999 (no payer claim number was ever given)
    set_faults(sandbox, {"reject_interchanges": 1})
    infra.store.put_tenant_config(tenant_document())
    ingest(infra)
    submit_queued(infra)
    respond(infra)
    rejected = stored(infra)
    assert rejected.state == ClaimState.REJECTED and rejected.payer_claim_control_number is None

    # When a replacement is asked for
    with pytest.raises(ActionRefused, match="BH-CLM-01"):
        correct_claim(TENANT, CLAIM_ID, frequency="7", reason=REASON, actor=BILLER, deps=deps())

    # Then it is refused (REF*F8 needs the payer's number) and recorded
    assert_refused_and_unchanged(infra, rejected, "correct")

    # and the way for a rejected claim is a resubmit: scrubbed and sent again as billed (frequency 1)
    result = resubmit_claim(TENANT, CLAIM_ID, reason="fixed the envelope", actor=BILLER, deps=deps())
    assert (result.from_state, result.state) == (ClaimState.REJECTED, ClaimState.READY)
    assert submit_queued(infra) == ["Claim Ready"]
    respond(infra)
    assert stored(infra).state == ClaimState.ACCEPTED


def test_a_replacement_with_scrubber_errors_is_refused_with_the_findings(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a denied claim
    denied = adjudicated(infra, sandbox, {"claims": {CLAIM_ID: {"outcome": "denied"}}})

    # When the replacement would bill a telehealth place of service without the documented facts
    with pytest.raises(ActionRefused) as refused:
        correct_claim(
            TENANT,
            CLAIM_ID,
            frequency="7",
            reason=REASON,
            actor=BILLER,
            deps=deps(),
            overrides=ClaimOverrides(lines=(LineOverride(sequence=1, procedure_code="90837"),)),
        )

    # Then the refusal carries the findings (rule ids, locations), and nothing changed or went out
    assert any(f.severity == "error" for f in refused.value.findings)
    assert_refused_and_unchanged(infra, denied, "correct")
    assert submit_queued(infra) == []


# ------------------------------------------------------------------------------------------ write off, close, resend


def test_write_off_records_the_open_balance_of_a_partially_paid_claim(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a claim paid with a contractual reduction: $200 charged, CO-45 20 %, the patient owes 20 % of the allowed
    # $160; the payer denied nothing, so what is left is the contractual CO-45, which is never a write-off
    partial = adjudicated(infra, sandbox, {"default": {"outcome": "partial"}})
    assert partial.state == ClaimState.PAID  # CO-45 + a patient share is a paid claim (claimbridge.remit)

    # When the practice closes it as written off
    result = write_off_claim(TENANT, CLAIM_ID, reason="below collection threshold", actor=BILLER, deps=deps())

    # Then the claim is CLOSED with 200 - 128 paid - 32 patient - 40 contractual = 0.00 written off
    assert (result.action, result.state) == ("write_off", ClaimState.CLOSED)
    assert stored(infra).written_off == Decimal("0.00")

    # and a second write-off is refused
    with pytest.raises(ActionRefused):
        write_off_claim(TENANT, CLAIM_ID, reason="again", actor=BILLER, deps=deps())
    assert_refused_and_unchanged(infra, stored(infra), "write_off")


def test_write_off_of_a_denied_claim_is_the_whole_charge_and_needs_an_adjudication(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a denied claim
    adjudicated(infra, sandbox, {"claims": {CLAIM_ID: {"outcome": "denied"}}})

    # When it is written off, then the whole $200 is recorded
    write_off_claim(TENANT, CLAIM_ID, reason="not worth an appeal", actor=BILLER, deps=deps())
    assert stored(infra).written_off == Decimal("200.00")

    # and the change is announced with ids only, so the EHR gets a CLOSED ClaimResponse
    closed = [e for e in infra.bus_events() if e["detail-type"] == "Claim Closed"]
    assert [e["detail"] for e in closed] == [{"tenant_id": TENANT, "claim_id": CLAIM_ID, "action": "write_off"}]
    for body in closed:
        body.setdefault("account", "123456789012")
    event = sqs_event_from_bus_events(closed, "write_back_claim_held.json")
    assert write_back_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    keys = infra.archive_keys(f"outbound/{TENANT}/ClaimResponse/{CLAIM_ID}/")
    latest = max(keys, key=lambda key: int(key.rsplit("/", 1)[1][:-5]))
    assert json.loads(infra.archive_text(latest))["disposition"].startswith("CLOSED")


def test_write_off_is_refused_for_a_claim_without_an_adjudicated_balance(infra: Infra) -> None:
    # Given a held claim
    held = held_for_auth(infra)

    # When / Then writing it off is refused and recorded; closing it is the action for that
    with pytest.raises(ActionRefused, match="no adjudicated balance"):
        write_off_claim(TENANT, CLAIM_ID, reason=REASON, actor=BILLER, deps=deps())
    assert_refused_and_unchanged(infra, held, "write_off")
    result = close_claim(TENANT, CLAIM_ID, reason="patient withdrew", actor=BILLER, deps=deps())
    assert (result.from_state, result.state) == (ClaimState.HELD, ClaimState.CLOSED)
    assert stored(infra).written_off is None
    assert infra.store.history(TENANT, CLAIM_ID)[-1].reason == f"close by {BILLER}: patient withdrew"
    closed = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Closed"]
    assert closed == [{"tenant_id": TENANT, "claim_id": CLAIM_ID, "action": "close"}]

    # and closing twice is refused
    with pytest.raises(ActionRefused, match="cannot be closed"):
        close_claim(TENANT, CLAIM_ID, reason="again", actor=BILLER, deps=deps())
    assert_refused_and_unchanged(infra, stored(infra), "close")


def test_resend_of_a_failed_claim_sends_the_same_interchange_once(infra: Infra, sandbox: SandboxClearinghouse) -> None:
    # Given a claim whose interchange the clearinghouse account refused (401: FAILED_TO_SEND at once)
    set_faults(sandbox, {"fail_next": {"status": 401}})
    infra.store.put_tenant_config(tenant_document())
    ingest(infra)
    submit_queued(infra)
    failed = stored(infra)
    assert failed.state == ClaimState.FAILED_TO_SEND

    # When the biller resends it
    result = resend_claim(TENANT, CLAIM_ID, reason="credentials renewed", actor=BILLER, deps=deps())

    # Then it is READY again with the biller's reason audited, and the submit flow sends the same file
    assert (result.from_state, result.state) == (ClaimState.FAILED_TO_SEND, ClaimState.READY)
    assert infra.store.history(TENANT, CLAIM_ID)[-1].reason.endswith("credentials renewed")
    assert submit_queued(infra) == ["Claim Ready"]
    sent = stored(infra)
    assert (sent.state, sent.submission_id) == (ClaimState.SUBMITTED, failed.pending_submission_id)

    # and a second resend is refused
    with pytest.raises(ActionRefused, match="no failed interchange"):
        resend_claim(TENANT, CLAIM_ID, reason="again", actor=BILLER, deps=deps())
    assert_refused_and_unchanged(infra, sent, "resend")


# ------------------------------------------------------------------------------------------------ quarantine replay


def quarantine_report(infra: Infra, key: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(infra.archive_text(f"quarantine/{TENANT}/{key}.error.json"))
    return report


@pytest.mark.parametrize(
    ("configured", "why"),
    [(True, f"tenant {TENANT} is disabled"), (False, f"tenant {TENANT} is not configured")],
)
def test_a_disabled_or_unknown_tenants_input_is_quarantined_then_replayed_once_after_enabling(
    infra: Infra, configured: bool, why: str
) -> None:
    # Given a disabled (or not yet configured) practice whose EHR drops a Bundle
    if configured:
        infra.store.put_tenant_config(tenant_document(enabled=False))
    ingest(infra)

    # Then the input is quarantined with a reason that names the tenant and why, nothing else, and no claim exists
    key = f"{TENANT}/intake-90791.json"
    report = quarantine_report(infra, key)
    (issue,) = report["operation_outcome"]["issue"]
    assert issue["details"]["coding"][0]["code"] == "IN-TENANT"
    assert issue["details"]["text"] == f"IN-TENANT tenant: {why}"
    assert infra.store.get_claim(TENANT, CLAIM_ID) is None
    assert submit_queued(infra) == []

    # When a replay is asked for while the tenant is still disabled, it is refused and nothing moves
    with pytest.raises(ActionRefused, match="disabled or unknown"):
        replay_quarantined(TENANT, actor=BILLER, deps=deps())

    # When the practice is enabled and the replay is asked for
    infra.store.put_tenant_config(tenant_document())
    boto3.client("s3").delete_object(Bucket=infra.inbound_bucket, Key=key)
    result = replay_quarantined(TENANT, actor=BILLER, deps=deps())

    # Then the input is back under the tenant's inbound prefix, and ingest (Object Created) makes it a READY claim
    assert result.replayed == (f"quarantine/{TENANT}/{key}",)
    event = ingest_event([(infra.inbound_bucket, key)])
    assert ingest_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert stored(infra).state == ClaimState.READY

    # and a second replay does nothing
    again = replay_quarantined(TENANT, actor=BILLER, deps=deps())
    assert (again.replayed, again.already_replayed) == ((), 1)


def test_replay_skips_inputs_quarantined_for_their_content(infra: Infra) -> None:
    # Given an enabled practice whose EHR dropped a file that is not JSON (IN-FORMAT)
    infra.store.put_tenant_config(tenant_document())
    ingest(infra, "not-json.json", b"this is not json")
    assert quarantine_report(infra, f"{TENANT}/not-json.json")["operation_outcome"]["issue"]

    # When a replay is asked for
    result = replay_quarantined(TENANT, actor=BILLER, deps=deps())

    # Then the file stays in quarantine: only a tenant that was off is a reason to replay
    assert (result.replayed, result.skipped) == ((), 1)


def test_replay_of_a_quarantined_bus_event_accepts_it_into_the_inbound_bucket(infra: Infra) -> None:
    # Given a disabled practice whose EHR put an inline Bundle on the bus
    infra.store.put_tenant_config(tenant_document(enabled=False))
    bundle = json.loads((BUNDLES / "intake-90791.json").read_bytes())
    event = FhirBundleSubmittedEvent.model_validate(
        {
            "id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "account": "111122223333",
            "source": "com.example-ehr.demo-practice",
            "detail-type": "FHIR Bundle Submitted",
            "time": "2026-03-05T10:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "version": "0",
            "detail": {"bundle": bundle},
        }
    )
    assert accept_submitted_event(event, deps(), inbound_bucket=infra.inbound_bucket).quarantined

    # When the practice is enabled and the replay is asked for
    infra.store.put_tenant_config(tenant_document())
    result = replay_quarantined(TENANT, actor=BILLER, deps=deps())

    # Then the event is accepted again: its Bundle is in the tenant's inbound prefix for ingest
    assert result.replayed == (f"quarantine/{TENANT}/events/{event.id}/event.json",)
    assert boto3.client("s3").head_object(Bucket=infra.inbound_bucket, Key=f"{TENANT}/events/{event.id}/bundle.json")
