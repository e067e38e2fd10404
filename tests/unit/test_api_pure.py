"""Pure parts of the tenant API: principal keys, operator settings, caller scoping, page tokens, and the denial
read from the 835 posting a claim keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from claimbridge.api.identity import Caller, parse_admin_principals
from claimbridge.api.problems import Forbidden, problem_for, validation_problem
from claimbridge.pipeline.responses import NEXT_ACTION_TEXT
from claimbridge.remit import Action, Adjustment, Category, ClaimPayment, classify
from claimbridge.state.models import ClaimState, RemittancePosting, StoredClaim
from claimbridge.tenants.principals import principal_key
from claimbridge.tenants.service import TenantNotFound
from claimbridge.worklists.denials import denial_of
from claimbridge.worklists.service import InvalidPageToken, _decode, _encode

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("arn", "key"),
    [
        ("arn:aws:iam::123456789012:role/Billing", "arn:aws:iam::123456789012:role/Billing"),
        ("arn:aws:iam::123456789012:role/team/a/Billing", "arn:aws:iam::123456789012:role/Billing"),
        ("arn:aws:sts::123456789012:assumed-role/Billing/jane@example", "arn:aws:iam::123456789012:role/Billing"),
        ("arn:aws-us-gov:sts::123456789012:assumed-role/Billing/s", "arn:aws-us-gov:iam::123456789012:role/Billing"),
        ("arn:aws:iam::123456789012:user/ops/alex", "arn:aws:iam::123456789012:user/alex"),
        ("arn:aws:iam::123456789012:root", None),
        ("arn:aws:sts::123456789012:federated-user/bob", None),
        ("arn:aws:sts::12345678901:assumed-role/Billing/s", None),
        ("Billing", None),
    ],
)
def test_principal_key_maps_sessions_to_their_role_and_refuses_the_rest(arn: str, key: str | None) -> None:
    # Given / When / Then
    assert principal_key(arn) == key


def test_admin_principals_setting_is_a_comma_list_of_arns() -> None:
    # Given the template's joined parameter (empty entries when the list is empty)
    value = " arn:aws:iam::123456789012:role/Ops , ,arn:aws:iam::123456789012:user/oncall"

    # When / Then
    assert parse_admin_principals(value) == {
        "arn:aws:iam::123456789012:role/Ops",
        "arn:aws:iam::123456789012:user/oncall",
    }
    assert parse_admin_principals("") == frozenset()


def test_caller_scope_hides_other_tenants_and_forbids_unmapped_callers() -> None:
    # Given a practice's caller, an operator and a caller mapped to nothing
    practice = Caller(arn="a", tenant_id="practice-a")
    operator = Caller(arn="o", is_admin=True)
    nobody = Caller(arn="n")

    # When / Then
    assert practice.scope("practice-a") == "practice-a"
    assert operator.scope("practice-b") == "practice-b"
    with pytest.raises(TenantNotFound):
        practice.scope("practice-b")
    with pytest.raises(Forbidden):
        nobody.scope("practice-a")
    assert problem_for(TenantNotFound("tenant practice-b is not configured")).status == 404


def test_validation_problem_names_locations_never_inputs() -> None:
    # Given pydantic-style errors as Powertools reports them (with the input)
    errors = [{"loc": ("body", "providers", 0, "npi"), "msg": "Value error, NPI fails", "input": "1111111111"}]

    # When / Then
    body = validation_problem(errors)
    assert (body.status, body.errors[0].location) == (400, "/body/providers/0/npi")
    assert "1111111111" not in body.model_dump_json()


def test_page_tokens_round_trip_and_refuse_anything_else() -> None:
    # Given a token the API issued
    token = _encode({"k": "2026-03-10T12:00:00.000000+00:00#CB1", "c": "CB1"})

    # When / Then it decodes to the same position; forged or foreign tokens are refused
    assert _decode(token, ("k", "c")) == {"k": "2026-03-10T12:00:00.000000+00:00#CB1", "c": "CB1"}
    for bad in ("%%%", _encode({"k": "x"}), _encode({"k": "x", "c": "TENANT#b#CLAIM#x y"}), "eyJrIjoxfQ"):
        with pytest.raises(InvalidPageToken):
            _decode(bad, ("k", "c"))


def _denied_claim(*adjustments: Adjustment, remarks: tuple[str, ...] = ()) -> StoredClaim:
    payment = ClaimPayment(
        patient_control_number="CB1",
        status_code="4",
        charge=Decimal(100),
        paid=Decimal(0),
        adjustments=adjustments,
        remarks=remarks,
        position=1,
    )
    verdict = classify(payment)
    at = datetime(2026, 3, 10, tzinfo=UTC)
    return StoredClaim(
        tenant_id="t",
        claim_id="CB1",
        state=ClaimState.DENIED,
        revision=6,
        source_key="Claim/c",
        source_version="1",
        remittance=RemittancePosting(
            response_key="responses/t/835/r.x12",
            payment=payment,
            outcome=verdict.outcome,
            category=verdict.category,
            action=verdict.action,
            patient_responsibility=verdict.owed_by_patient,
            revision=6,
        ),
        created_at=at,
        updated_at=at,
    )


@pytest.mark.parametrize(
    ("adjustments", "remarks", "category", "action", "codes"),
    [
        pytest.param(
            (Adjustment(group="CO", reason="16", amount=Decimal(100)),),
            ("N290",),
            Category.CREDENTIALING,
            Action.RESUBMIT_CORRECTED,
            ["CO-16", "N290"],
            id="co16-n290",
        ),
        pytest.param(
            (Adjustment(group="CO", reason="197", amount=Decimal(100)),),
            (),
            Category.AUTHORIZATION,
            None,
            ["CO-197"],
            id="co197",
        ),
    ],
)
def test_denial_of_reads_the_claims_835_posting(
    adjustments: tuple[Adjustment, ...],
    remarks: tuple[str, ...],
    category: Category,
    action: Action | None,
    codes: list[str],
) -> None:
    # Given a claim denied by an 835 whose posting the claim keeps
    claim = _denied_claim(*adjustments, remarks=remarks)
    assert claim.remittance is not None

    # When the denied worklist reads it
    denial = denial_of(claim)

    # Then it shows the posting's category and action, the codes that decided it and the instruction for the biller
    assert denial is not None
    assert (denial.outcome, denial.status_code, denial.category) == ("denied", "4", category.value)
    assert denial.action == (claim.remittance.action.value if claim.remittance.action else None)
    if action is not None:
        assert denial.action == action.value
    assert denial.reason_codes == codes
    assert denial.next_action == (NEXT_ACTION_TEXT[claim.remittance.action] if claim.remittance.action else None)


def test_denial_of_is_none_without_an_835_posting() -> None:
    # Given a claim whose posting was reversed (or that was never adjudicated)
    claim = _denied_claim(Adjustment(group="CO", reason="50", amount=Decimal(100))).model_copy(
        update={"remittance": None}
    )

    # When / Then
    assert denial_of(claim) is None
