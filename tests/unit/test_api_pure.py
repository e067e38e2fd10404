"""Pure parts of the tenant API: principal keys, operator settings, caller scoping, page tokens, and the denial
read back from a claim's REMIT-835 finding (round-tripped through the function that writes it)."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

import pytest

from claimbridge.api.identity import Caller, parse_admin_principals
from claimbridge.api.problems import Forbidden, problem_for, validation_problem
from claimbridge.findings import Finding, Severity
from claimbridge.pipeline.responses import remittance_finding
from claimbridge.remit import Action, Category, ClaimOutcome, Outcome, PatientResponsibility
from claimbridge.remit.denials import DenialReason
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


def _outcome(category: Category, action: Action) -> Outcome:
    reason = DenialReason(
        group="CO", reason="16", amount=Decimal(100), category=category, action=action, known=True, precedence=1
    )
    return Outcome(
        patient_control_number="CB1",
        status_code="4",
        outcome=ClaimOutcome.DENIED,
        charge=Decimal(100),
        paid=Decimal(0),
        patient_responsibility=PatientResponsibility(),
        adjustments_by_group={"CO": Decimal(100)},
        category=category,
        action=action,
        carc="CO-16",
        rarcs=("N290",),
        denials=(reason,),
    )


@pytest.mark.parametrize(("category", "action"), list(product(Category, Action)))
def test_denial_of_reads_back_what_remittance_finding_writes(category: Category, action: Action) -> None:
    # Given the finding process_responses stores for a denial with this category and action
    finding = remittance_finding(_outcome(category, action))
    assert finding is not None

    # When the denied worklist reads it back (after an unrelated later finding)
    denial = denial_of([finding, Finding(rule_id="ACK-277CA", severity=Severity.ERROR, message="m")])

    # Then category, action, codes and the next-action text survive
    assert denial is not None
    assert (denial.category, denial.action, denial.status_code) == (category.value, action.value, "4")
    assert denial.reason_codes == ["CO-16", "N290"]
    assert denial.next_action == finding.fix


def test_denial_of_is_none_without_an_835_verdict() -> None:
    # Given / When / Then
    assert denial_of([Finding(rule_id="BH-CRED-01", severity=Severity.ERROR, message="not enrolled")]) is None
