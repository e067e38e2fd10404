"""DynamoClaimStore under moto (table from template.yaml): tenants, lifecycle, counters, markers."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from claimbridge.claim import ClaimFrequency
from claimbridge.corrections import correction_for
from claimbridge.errors import StateConflict, TenantError
from claimbridge.findings import Finding, Severity
from claimbridge.state import ClaimState, StoredClaim, SubmissionRecord
from claimbridge.state.models import DEFAULT_MAX_SEND_ATTEMPTS
from claimbridge.tenants import TenantConfig
from claimbridge.tenants.models import EventSource, Inbound
from tests.integration.conftest import Infra
from tests.unit.x12_builders import claim

pytestmark = pytest.mark.integration

TENANT = "demo-practice"


def received(infra: Infra, claim_id: str = "CBTEST0001") -> StoredClaim:
    return infra.store.create_claim(
        tenant_id=TENANT,
        claim_id=claim_id,
        source_key=f"Claim/{claim_id.lower()}",
        version="1",
        claim=None,
        findings=[Finding(rule_id="IN-REF", severity=Severity.ERROR, fhir_path="Claim.patient", message="missing")],
        payer_key=None,
        config_version=1,
        previous_source=None,
        reason="test",
        actor="test",
    )


def test_store_tenant_config_versions_and_enabled_listing(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given the demo tenant stored once (fixture) and a second, disabled tenant
    infra.store.put_tenant_config(demo_tenant.model_copy(update={"tenant_id": "closed-practice", "enabled": False}))

    # When the demo tenant is stored again
    version = infra.store.put_tenant_config(demo_tenant)

    # Then it is version 2, read back equal, and only enabled tenants are listed
    assert version == 2
    record = infra.store.get_tenant(TENANT)
    assert (record.config, record.config_version) == (demo_tenant, 2)
    assert [t.tenant_id for t in infra.store.list_enabled_tenants()] == [TENANT]


def test_store_tenants_for_event_source_matches_account_and_source_disabled_tenants_included(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given the demo tenant (registers 111122223333 / com.example-ehr.demo-practice), a disabled tenant registering
    # another source of the same account, and a tenant registering nothing
    sender = demo_tenant.inbound.event_sources[0]
    other = Inbound(event_sources=[EventSource(account=sender.account, source="com.example-ehr.closed")])
    infra.store.put_tenant_config(
        demo_tenant.model_copy(update={"tenant_id": "closed-practice", "enabled": False, "inbound": other})
    )
    infra.store.put_tenant_config(demo_tenant.model_copy(update={"tenant_id": "quiet-practice", "inbound": Inbound()}))

    # When senders are looked up
    found = {
        "demo": infra.store.tenants_for_event_source(sender.account, sender.source),
        "closed": infra.store.tenants_for_event_source(sender.account, "com.example-ehr.closed"),
        "other account": infra.store.tenants_for_event_source("999988887777", sender.source),
        "other source": infra.store.tenants_for_event_source(sender.account, "com.example-ehr"),
    }

    # Then only the exact (account, source) pair matches, whether or not the tenant is enabled
    assert found == {"demo": [TENANT], "closed": ["closed-practice"], "other account": [], "other source": []}


def test_store_tenants_for_event_source_lists_every_tenant_registering_the_same_sender(
    infra: Infra, demo_tenant: TenantConfig
) -> None:
    # Given a second tenant that registers the demo tenant's sender too (a configuration mistake)
    infra.store.put_tenant_config(demo_tenant.model_copy(update={"tenant_id": "twin-practice"}))
    sender = demo_tenant.inbound.event_sources[0]

    # When / Then both are returned, so the caller can refuse the ambiguity
    assert infra.store.tenants_for_event_source(sender.account, sender.source) == [TENANT, "twin-practice"]


@pytest.mark.parametrize("tenant_id", ["closed-practice", "never-configured"])
def test_store_get_tenant_refuses_disabled_and_unknown_with_in_tenant(
    infra: Infra, demo_tenant: TenantConfig, tenant_id: str
) -> None:
    # Given a disabled tenant next to the enabled demo tenant
    infra.store.put_tenant_config(demo_tenant.model_copy(update={"tenant_id": "closed-practice", "enabled": False}))

    # When / Then reading a disabled or unknown tenant raises IN-TENANT
    with pytest.raises(TenantError) as raised:
        infra.store.get_tenant_config(tenant_id)
    assert raised.value.in_code == "IN-TENANT"


def test_store_disallowed_transition_is_refused_and_recorded(infra: Infra) -> None:
    # Given a claim in RECEIVED
    claim = received(infra)

    # When something asks for RECEIVED -> SUBMITTED (not in the lifecycle)
    with pytest.raises(StateConflict):
        infra.store.transition(claim, ClaimState.SUBMITTED, reason="skip the scrubber", actor="test")

    # Then the claim is unchanged and the refused attempt is in its history
    assert infra.store.get_claim(TENANT, claim.claim_id) == claim
    history = infra.store.history(TENANT, claim.claim_id)
    assert [(h.from_state, h.to_state, h.refused) for h in history] == [
        (None, ClaimState.RECEIVED, False),
        (ClaimState.RECEIVED, ClaimState.SUBMITTED, True),
    ]
    assert history[-1].reason == "refused: skip the scrubber"


def test_store_stale_transition_loses_the_conditional_write(infra: Infra) -> None:
    # Given two readers of the same RECEIVED claim; the first moves it to HELD
    claim = received(infra)
    infra.store.transition(claim, ClaimState.HELD, reason="first", actor="test")

    # When the second writes from its stale copy
    with pytest.raises(StateConflict):
        infra.store.transition(claim, ClaimState.READY, reason="second", actor="test")

    # Then the first write stands and only it is in the history
    stored = infra.store.get_claim(TENANT, claim.claim_id)
    assert stored is not None
    assert (stored.state, stored.revision) == (ClaimState.HELD, 2)
    assert [h.reason for h in infra.store.history(TENANT, claim.claim_id)] == ["test", "first"]


def test_store_create_claim_twice_for_one_source_conflicts(infra: Infra) -> None:
    # Given a stored claim
    received(infra)

    # When the same source is created again without naming the existing index entry
    with pytest.raises(StateConflict):
        received(infra)

    # Then the source still maps to the one claim at version 1
    source = infra.store.lookup_source(TENANT, "Claim/cbtest0001")
    assert source is not None
    assert (source.claim_id, source.version) == ("CBTEST0001", "1")


def test_store_interchange_control_numbers_are_never_reused(infra: Infra) -> None:
    # When numbers are drawn for two receivers of one tenant and for another tenant
    first = [infra.store.next_interchange_control(TENANT, "CBSANDBOX").interchange_number for _ in range(3)]
    other_receiver = infra.store.next_interchange_control(TENANT, "OTHERCH").interchange_number
    other_tenant = infra.store.next_interchange_control("other-practice", "CBSANDBOX").interchange_number
    after = infra.store.next_interchange_control(TENANT, "CBSANDBOX")

    # Then each (tenant, receiver) counts up on its own, and ISA13 = GS06
    assert first == [1, 2, 3]
    assert (other_receiver, other_tenant) == (1, 1)
    assert (after.interchange_number, after.group_number, after.transaction_number) == (4, 4, 1)


def test_store_response_marker_is_set_once(infra: Infra) -> None:
    # Given an unprocessed response object
    key = "responses/demo-practice/999/R1.x12"
    assert not infra.store.response_processed(TENANT, key)

    # When it is marked twice
    first = infra.store.mark_response_processed(TENANT, key, kind="999", changed=1)
    second = infra.store.mark_response_processed(TENANT, key, kind="999", changed=1)

    # Then only the first mark wins
    assert (first, second) == (True, False)
    assert infra.store.response_processed(TENANT, key)


def test_store_worklist_by_state(infra: Infra) -> None:
    # Given one HELD and one READY claim
    held = received(infra, "CBTEST0001")
    infra.store.transition(held, ClaimState.HELD, reason="errors", actor="test")
    ready = received(infra, "CBTEST0002")
    infra.store.transition(ready, ClaimState.READY, reason="clean", actor="test")

    # When / Then the worklists list each under its state only
    assert [c.claim_id for c in infra.store.claims_in_state(TENANT, ClaimState.HELD)] == ["CBTEST0001"]
    assert [c.claim_id for c in infra.store.claims_in_state(TENANT, ClaimState.READY)] == ["CBTEST0002"]
    assert infra.store.claims_in_state(TENANT, ClaimState.RECEIVED) == []


def _stored_for_patient(infra: Infra, claim_id: str, patient_key: str) -> StoredClaim:
    built = claim(claim_id, patient_key=patient_key)
    return infra.store.create_claim(
        tenant_id=TENANT,
        claim_id=claim_id,
        source_key=f"Claim/{claim_id.lower()}",
        version="1",
        claim=built,
        findings=[],
        payer_key=built.payer.key,
        config_version=1,
        previous_source=None,
        reason="test",
        actor="test",
    )


def test_store_patient_services_are_the_scrubber_history_without_withdrawn_claims(infra: Infra) -> None:
    # Given two claims of one patient and one of another, the first claim then withdrawn before it was ever sent
    patient, other = "a" * 64, "b" * 64
    first = _stored_for_patient(infra, "CBPAT0001", patient)
    _stored_for_patient(infra, "CBPAT0002", patient)
    _stored_for_patient(infra, "CBPAT0003", other)
    held = infra.store.transition(first, ClaimState.HELD, reason="test", actor="test")
    infra.store.transition(held, ClaimState.CLOSED, reason="withdrawn", actor="test")

    # When the patient's services are read
    services = infra.store.patient_services(TENANT, patient)

    # Then both claims' lines are there (codes, NPIs, no PHI) and the withdrawn one does not count
    assert sorted((s.claim_id, s.procedure_code, s.voided) for s in services) == [
        ("CBPAT0001", "90837", True),
        ("CBPAT0002", "90837", False),
    ]
    assert services[0].rendering_npi == "1111111112"
    assert infra.store.patient_services(TENANT, "c" * 64) == []


def test_store_correction_replaces_the_claim_content_on_the_way_to_corrected(infra: Infra) -> None:
    # Given a claim denied by the payer, whose 277CA gave the payer's number on acceptance
    current = _stored_for_patient(infra, "CBCORR0002", "d" * 64)
    for target, number in (
        (ClaimState.READY, None),
        (ClaimState.SUBMITTED, None),
        (ClaimState.ACCEPTED, "ICN42"),
        (ClaimState.DENIED, None),
    ):
        current = infra.store.transition(
            current, target, reason="test", actor="test", payer_claim_control_number=number
        )
    # When the biller's void is built from the store and recorded as CORRECTED
    void = correction_for(current, ClaimFrequency.VOID)
    infra.store.transition(current, ClaimState.CORRECTED, reason="void requested", actor="biller", claim=void)
    # Then the stored claim is the frequency-8 claim with REF*F8 = the recorded number
    reread = infra.store.get_claim(TENANT, "CBCORR0002")
    assert reread is not None and reread.claim is not None
    assert (reread.state, reread.payer_claim_control_number) == (ClaimState.CORRECTED, "ICN42")
    assert (reread.claim.frequency, reread.claim.payer_claim_control_number) == (ClaimFrequency.VOID, "ICN42")


def ready_in_interchange(infra: Infra, submission_id: str = "CBSANDBOX-000000001") -> StoredClaim:
    """A READY claim carried by an interchange that is being sent."""
    claim = received(infra)
    ready = infra.store.transition(claim, ClaimState.READY, reason="scrubbed", actor="test")
    return infra.store.attach_pending_submission(ready, submission_id)


def test_store_failed_to_send_keeps_the_interchange_and_goes_back_to_ready_or_closed(infra: Infra) -> None:
    # Given a READY claim carried by an interchange whose retries ran out
    carried = ready_in_interchange(infra)

    # When it moves to FAILED_TO_SEND, is resent (READY), fails again and is then closed
    failed = infra.store.transition(carried, ClaimState.FAILED_TO_SEND, reason="4 attempts", actor="test")
    resent = infra.store.transition(failed, ClaimState.READY, reason="resend", actor="ops")
    failed_again = infra.store.transition(resent, ClaimState.FAILED_TO_SEND, reason="8 attempts", actor="test")
    worklist = [c.claim_id for c in infra.store.claims_in_state(TENANT, ClaimState.FAILED_TO_SEND)]
    closed = infra.store.transition(failed_again, ClaimState.CLOSED, reason="given up", actor="ops")

    # Then every step kept the interchange (same file, same key on a resend) and is in the history
    assert {c.pending_submission_id for c in (failed, resent, failed_again, closed)} == {"CBSANDBOX-000000001"}
    stored = infra.store.get_claim(TENANT, carried.claim_id)
    assert stored == closed
    assert [h.to_state for h in infra.store.history(TENANT, carried.claim_id)][-4:] == [
        ClaimState.FAILED_TO_SEND,
        ClaimState.READY,
        ClaimState.FAILED_TO_SEND,
        ClaimState.CLOSED,
    ]
    # and while it failed, the FAILED_TO_SEND worklist listed it
    assert worklist == [carried.claim_id]


@pytest.mark.parametrize("target", [ClaimState.SUBMITTED, ClaimState.HELD, ClaimState.CORRECTED, ClaimState.RECEIVED])
def test_store_failed_to_send_leaves_only_by_resend_close_or_a_response(infra: Infra, target: ClaimState) -> None:
    # Given a FAILED_TO_SEND claim
    failed = infra.store.transition(ready_in_interchange(infra), ClaimState.FAILED_TO_SEND, reason="x", actor="t")

    # When anything else is asked for / Then it is refused, recorded, and the claim stays put
    with pytest.raises(StateConflict):
        infra.store.transition(failed, target, reason="shortcut", actor="test")
    assert infra.store.get_claim(TENANT, failed.claim_id) == failed
    assert infra.store.history(TENANT, failed.claim_id)[-1].refused


@pytest.mark.parametrize("target", [ClaimState.ACCEPTED, ClaimState.REJECTED, ClaimState.PAID, ClaimState.DENIED])
def test_store_response_for_a_failed_to_send_claim_makes_its_interchange_the_submission(
    infra: Infra, target: ClaimState
) -> None:
    # Given a FAILED_TO_SEND claim whose interchange the clearinghouse took after all (the answer was lost)
    failed = infra.store.transition(ready_in_interchange(infra), ClaimState.FAILED_TO_SEND, reason="x", actor="t")

    # When its 277CA (or 999) moves it on
    moved = infra.store.transition(failed, target, reason="277CA A2:20", actor="clearinghouse-277CA")

    # Then the interchange it waited to resend is now its submission
    assert (moved.state, moved.submission_id, moved.pending_submission_id) == (target, "CBSANDBOX-000000001", None)
    assert infra.store.get_claim(TENANT, failed.claim_id) == moved


def submission(**changes: object) -> SubmissionRecord:
    at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    record = SubmissionRecord(
        tenant_id=TENANT,
        submission_id="CBSANDBOX-000000001",
        receiver_id="CBSANDBOX",
        interchange_control_number=1,
        group_control_number=1,
        transaction_claims={"0001": ("CBTEST0001",)},
        archive_key=f"x12/837p/{TENANT}/000000001.x12",
        idempotency_key=f"{TENANT}-000000001",
        max_attempts=3,
        created_at=at,
        updated_at=at,
    )
    return record.model_copy(update=changes)


def test_store_submission_attempts_record_when_the_retry_is_due_and_the_bound(infra: Infra) -> None:
    # Given a new submission record with a bound of 3 attempts
    infra.store.create_submission(submission())
    stored = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert stored is not None

    # When one attempt fails retryably, then one gives up
    due = datetime(2026, 3, 10, 12, 2, tzinfo=UTC)
    pending = infra.store.record_submission_attempt(
        stored, outcome="pending", error="CH-UNAVAILABLE:http-503", next_attempt_at=due
    )
    reread = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    failed = infra.store.record_submission_attempt(pending, outcome="failed", error="CH-UNAVAILABLE:timeout")

    # Then each read back has its attempts, bound, error and due time; a stale writer loses
    assert reread == pending
    assert (reread.attempts, reread.max_attempts, reread.next_attempt_at, reread.outcome) == (1, 3, due, "pending")
    assert infra.store.get_submission(TENANT, "CBSANDBOX-000000001") == failed
    assert (failed.attempts, failed.outcome, failed.next_attempt_at) == (2, "failed", None)
    with pytest.raises(StateConflict):
        infra.store.record_submission_attempt(pending, outcome="submitted")


def test_store_reopen_submission_only_from_failed_and_only_once(infra: Infra) -> None:
    # Given a failed submission record
    infra.store.create_submission(submission(attempts=3, outcome="failed", last_error="CH-UNAVAILABLE:http-503"))
    failed = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert failed is not None

    # When it is reopened with a new bound, and a second resend works from the same stale copy
    reopened = infra.store.reopen_submission(failed, max_attempts=6)
    with pytest.raises(StateConflict):
        infra.store.reopen_submission(failed, max_attempts=9)

    # Then it is pending again under the new bound, its attempts and key unchanged; a pending one cannot be reopened
    assert infra.store.get_submission(TENANT, "CBSANDBOX-000000001") == reopened
    assert (reopened.outcome, reopened.attempts, reopened.max_attempts, reopened.idempotency_key) == (
        "pending",
        3,
        6,
        f"{TENANT}-000000001",
    )
    with pytest.raises(StateConflict):
        infra.store.reopen_submission(reopened, max_attempts=9)


def test_store_submission_record_written_before_max_attempts_existed_reads_the_default(infra: Infra) -> None:
    # Given a record stored without max_attempts / next_attempt_at (as before they existed)
    infra.store.create_submission(submission())
    boto3.client("dynamodb").update_item(
        TableName=infra.table,
        Key={"pk": {"S": f"TENANT#{TENANT}#SUBMISSION#CBSANDBOX-000000001"}, "sk": {"S": "SUBMISSION"}},
        UpdateExpression="REMOVE max_attempts",
    )
    # When it is read / Then the default bound applies
    stored = infra.store.get_submission(TENANT, "CBSANDBOX-000000001")
    assert stored is not None
    assert (stored.max_attempts, stored.next_attempt_at) == (DEFAULT_MAX_SEND_ATTEMPTS, None)
