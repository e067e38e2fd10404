"""claimbridge.remit.denials: every CARC/RARC row of the table and every precedence rule, one test row each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claimbridge.remit.denials import (
    Action,
    Category,
    ClaimOutcome,
    PatientResponsibility,
    classify,
    denial_table,
    load_denial_tables,
)
from claimbridge.remit.parser import Adjustment, ClaimPayment, ProcedureCode, ServicePayment

pytestmark = pytest.mark.unit

A = Action
C = Category


def _adjustment(group: str, reason: str, amount: str) -> Adjustment:
    return Adjustment(group=group, reason=reason, amount=Decimal(amount))


def _line(
    charge: str,
    paid: str,
    *adjustments: Adjustment,
    remarks: tuple[str, ...] = (),
    allowed: str | None = None,
    position: int = 20,
) -> ServicePayment:
    return ServicePayment(
        procedure=ProcedureCode(qualifier="HC", code="90837"),
        charge=Decimal(charge),
        paid=Decimal(paid),
        adjustments=adjustments,
        remarks=remarks,
        allowed=Decimal(allowed) if allowed is not None else None,
        position=position,
    )


def _claim(
    status: str,
    charge: str,
    paid: str,
    *lines: ServicePayment,
    adjustments: tuple[Adjustment, ...] = (),
    remarks: tuple[str, ...] = (),
    responsibility: str | None = None,
) -> ClaimPayment:
    return ClaimPayment(
        patient_control_number="CB7Q2K9D1",
        status_code=status,
        charge=Decimal(charge),
        paid=Decimal(paid),
        patient_responsibility=Decimal(responsibility) if responsibility is not None else None,
        adjustments=adjustments,
        remarks=remarks,
        lines=lines,
        position=15,
    )


def _denied_line(group: str, reason: str, *remarks: str) -> ClaimPayment:
    """A claim whose only line is fully adjusted by ``group``-``reason`` (nothing paid)."""
    return _claim("1", "150.00", "0.00", _line("150.00", "0.00", _adjustment(group, reason, "150.00"), remarks=remarks))


# --- one row per CARC row of the table (group-specific rows with their group), and per group they do not cover

CARC_ROWS: list[tuple[str, str, Category | None, Action]] = [
    ("CO", "31", C.ELIGIBILITY, A.RESUBMIT_CORRECTED),
    ("CO", "109", C.ELIGIBILITY, A.BILL_OTHER_PAYER),
    ("CO", "26", C.ELIGIBILITY, A.BILL_OTHER_PAYER),
    ("CO", "27", C.ELIGIBILITY, A.BILL_OTHER_PAYER),
    ("CO", "22", C.COB, A.BILL_OTHER_PAYER),
    ("PI", "22", None, A.WORK_QUEUE),  # group-specific: CO only
    ("OA", "18", C.DUPLICATE, A.WORK_QUEUE),
    ("CO", "18", C.DUPLICATE, A.WORK_QUEUE),
    ("PR", "18", None, A.WORK_QUEUE),  # group-specific: CO/OA only
    ("CO", "29", C.TIMELY_FILING, A.WRITE_OFF),
    ("CO", "16", C.CODING, A.RESUBMIT_CORRECTED),
    ("CO", "197", C.AUTHORIZATION, A.RESUBMIT_CORRECTED),
    ("CO", "198", C.AUTHORIZATION, A.RESUBMIT_CORRECTED),
    ("CO", "284", C.AUTHORIZATION, A.RESUBMIT_CORRECTED),
    ("CO", "296", C.AUTHORIZATION, A.RESUBMIT_CORRECTED),
    ("CO", "8", C.CREDENTIALING, A.RESUBMIT_CORRECTED),
    ("CO", "170", C.CREDENTIALING, A.RESUBMIT_CORRECTED),
    ("CO", "185", C.CREDENTIALING, A.RESUBMIT_CORRECTED),
    ("CO", "242", C.CREDENTIALING, A.APPEAL),
    ("CO", "243", C.CREDENTIALING, A.APPEAL),
    ("CO", "4", C.CODING, A.RESUBMIT_CORRECTED),
    ("CO", "5", C.CODING, A.RESUBMIT_CORRECTED),
    ("PI", "4", None, A.WORK_QUEUE),  # group-specific: CO only
    ("CO", "167", C.CODING, A.RESUBMIT_CORRECTED),
    ("CO", "97", C.CODING, A.WRITE_OFF),
    ("CO", "236", C.CODING, A.WRITE_OFF),
    ("CO", "250", C.DOCUMENTATION, A.RESUBMIT_CORRECTED),
    ("CO", "251", C.DOCUMENTATION, A.RESUBMIT_CORRECTED),
    ("CO", "252", C.DOCUMENTATION, A.RESUBMIT_CORRECTED),
    ("CO", "50", C.DOCUMENTATION, A.APPEAL),
    ("CO", "151", C.DOCUMENTATION, A.APPEAL),
    ("CO", "119", C.AUTHORIZATION, A.WRITE_OFF),
    ("PR", "119", C.AUTHORIZATION, A.BILL_PATIENT),
    ("CO", "96", C.COVERAGE, A.WRITE_OFF),
    ("PR", "96", C.COVERAGE, A.BILL_PATIENT),
    ("OA", "96", None, A.WORK_QUEUE),  # group-specific: CO/PR only
    ("CO", "204", C.COVERAGE, A.WRITE_OFF),
    ("PR", "204", C.COVERAGE, A.BILL_PATIENT),
    ("CO", "999", None, A.WORK_QUEUE),  # unknown CARC
]


@pytest.mark.parametrize(("group", "reason", "category", "action"), CARC_ROWS)
def test_classify_maps_each_carc_row(group: str, reason: str, category: Category | None, action: Action) -> None:
    # Given a claim whose only line is denied with this group and CARC
    claim = _denied_line(group, reason)
    # When it is classified
    outcome = classify(claim)
    # Then it is denied with the row's category and action, decided by that CARC
    assert (outcome.outcome, outcome.category, outcome.action, outcome.carc) == (
        ClaimOutcome.DENIED,
        category,
        action,
        f"{group}-{reason}",
    )


def test_every_carc_row_of_the_table_has_a_test_row() -> None:
    # Given the packaged table / Then each (group, code) it names is exercised above
    tested = {(group, reason) for group, reason, _, _ in CARC_ROWS}
    for row in denial_table().carc:
        for code in row.codes:
            groups = row.groups or ("CO",)
            for group in groups:
                assert (group, code) in tested, f"{group}-{code} has no test row"


# --- RARC rows: each refines CARC 16 (and 96), never other CARCs

RARC_ROWS: list[tuple[str, Category, Action]] = [
    ("MA130", C.CODING, A.RESUBMIT_NEW),  # keeps CO-16's category, turns the fix into a new claim
    ("N142", C.CODING, A.RESUBMIT_NEW),
    ("N290", C.CREDENTIALING, A.RESUBMIT_CORRECTED),
    ("N288", C.CREDENTIALING, A.RESUBMIT_CORRECTED),
    ("N257", C.CREDENTIALING, A.RESUBMIT_CORRECTED),
    ("N95", C.CREDENTIALING, A.RESUBMIT_CORRECTED),
    ("N54", C.AUTHORIZATION, A.RESUBMIT_CORRECTED),
    ("N4", C.COB, A.RESUBMIT_CORRECTED),
    ("MA04", C.COB, A.RESUBMIT_CORRECTED),
    ("N479", C.COB, A.RESUBMIT_CORRECTED),
    ("M51", C.CODING, A.RESUBMIT_CORRECTED),
    ("M20", C.CODING, A.RESUBMIT_CORRECTED),
    ("M76", C.CODING, A.RESUBMIT_CORRECTED),
    ("M127", C.DOCUMENTATION, A.RESUBMIT_CORRECTED),
    ("N179", C.ELIGIBILITY, A.WORK_QUEUE),
]


@pytest.mark.parametrize(("remark", "category", "action"), RARC_ROWS)
def test_classify_refines_co16_by_each_rarc_row(remark: str, category: Category, action: Action) -> None:
    # Given CO-16 on a line carrying this RARC
    claim = _denied_line("CO", "16", remark)
    # When it is classified
    outcome = classify(claim)
    # Then the RARC sets the category and action, and is named as deciding
    assert (outcome.category, outcome.action, outcome.carc, outcome.rarcs) == (category, action, "CO-16", (remark,))


def test_every_rarc_row_of_the_table_has_a_test_row() -> None:
    tested = {remark for remark, _, _ in RARC_ROWS}
    for row in denial_table().rarc:
        assert set(row.codes) <= tested, f"{row.codes} has no test row"
        assert set(row.refines) == {"16", "96"}


def test_classify_refines_co96_by_rarc_but_not_other_carcs() -> None:
    # Given CO-96 + N290, and CO-197 + N290
    refined = classify(_denied_line("CO", "96", "N290"))
    unrefined = classify(_denied_line("CO", "197", "N290"))
    # Then the RARC refines CARC 96 but leaves the authorization denial alone
    assert (refined.category, refined.action, refined.rarcs) == (C.CREDENTIALING, A.RESUBMIT_CORRECTED, ("N290",))
    assert (unrefined.category, unrefined.action, unrefined.rarcs) == (C.AUTHORIZATION, A.RESUBMIT_CORRECTED, ())


def test_classify_ma130_makes_any_fix_a_new_claim_and_keeps_the_category_of_the_other_remark() -> None:
    # Given CO-16 with M51 (coding) and MA130 (unprocessable)
    outcome = classify(_denied_line("CO", "16", "M51", "MA130"))
    # Then coding is the category, the action is a new claim, both remarks decided it (table order)
    assert (outcome.category, outcome.action, outcome.rarcs) == (C.CODING, A.RESUBMIT_NEW, ("MA130", "M51"))


def test_classify_reads_claim_level_moa_remarks_for_a_line_denial() -> None:
    # Given CO-16 on the line, N4 in the claim's MOA
    claim = _claim("4", "150.00", "0.00", _line("150.00", "0.00", _adjustment("CO", "16", "150.00")), remarks=("N4",))
    # Then the claim-level remark refines the line denial
    outcome = classify(claim)
    assert (outcome.category, outcome.action, outcome.rarcs) == (C.COB, A.RESUBMIT_CORRECTED, ("N4",))


# --- precedence rules


def test_classify_reversal_comes_first_and_is_not_a_denial() -> None:
    # Given a reversal (CLP02 22) that carries a CO-16 adjustment
    claim = _claim("22", "-150.00", "-100.00", adjustments=(_adjustment("CO", "16", "-50.00"),))
    # When it is classified
    outcome = classify(claim)
    # Then it is REVERSED with no category or action
    assert (outcome.outcome, outcome.category, outcome.action, outcome.denials) == (
        ClaimOutcome.REVERSED,
        None,
        None,
        (),
    )


def test_classify_normal_adjudication_is_not_a_denial_and_splits_patient_responsibility() -> None:
    # Given CO-45, PR-1/2/3 and OA-23 (prior payer impact) on a paid claim with allowed amounts
    claim = _claim(
        "1",
        "300.00",
        "80.00",
        _line(
            "200.00",
            "50.00",
            _adjustment("CO", "45", "50.00"),
            _adjustment("PR", "1", "40.00"),
            _adjustment("PR", "2", "30.00"),
            _adjustment("PR", "3", "20.00"),
            allowed="150.00",
        ),
        _line("100.00", "30.00", _adjustment("OA", "23", "70.00"), allowed="100.00"),
        responsibility="90.00",
    )
    # When it is classified
    outcome = classify(claim)
    # Then it is PAID, the patient owes the PR split, and the action is to bill the patient
    assert (outcome.outcome, outcome.category, outcome.action, outcome.carc) == (
        ClaimOutcome.PAID,
        C.PATIENT_RESPONSIBILITY,
        A.BILL_PATIENT,
        "PR-1",
    )
    assert outcome.patient_responsibility == PatientResponsibility(
        deductible=Decimal("40.00"), coinsurance=Decimal("30.00"), copay=Decimal("20.00")
    )
    assert outcome.allowed == Decimal("250.00")
    assert outcome.adjustments_by_group == {"CO": Decimal("50.00"), "PR": Decimal("90.00"), "OA": Decimal("70.00")}
    assert outcome.denials == ()


def test_classify_paid_with_nothing_owed_has_no_category_or_action() -> None:
    # Given a claim paid after a contractual adjustment only (and the Medicare sequestration reduction)
    claim = _claim(
        "1", "150.00", "98.00", adjustments=(_adjustment("CO", "45", "50.00"), _adjustment("CO", "253", "2.00"))
    )
    # Then it is PAID with no category, action or allowed amount (no AMT*B6)
    outcome = classify(claim)
    assert (outcome.outcome, outcome.category, outcome.action, outcome.allowed) == (ClaimOutcome.PAID, None, None, None)


def test_classify_partial_payment_when_some_line_is_denied() -> None:
    # Given one paid line and one line bundled away (CO-97)
    claim = _claim(
        "1",
        "250.00",
        "100.00",
        _line("150.00", "100.00", _adjustment("CO", "45", "50.00")),
        _line("100.00", "0.00", _adjustment("CO", "97", "100.00")),
    )
    # Then it is PARTIALLY_PAID, decided by the line's CARC
    outcome = classify(claim)
    assert (outcome.outcome, outcome.category, outcome.action, outcome.carc) == (
        ClaimOutcome.PARTIALLY_PAID,
        C.CODING,
        A.WRITE_OFF,
        "CO-97",
    )
    assert [(d.carc, d.line) for d in outcome.denials] == [("CO-97", 2)]


def test_classify_denied_by_status_without_a_denial_adjustment_goes_to_the_work_queue() -> None:
    # Given CLP02 4 whose only adjustment is a prior payer's impact
    claim = _claim("4", "150.00", "0.00", adjustments=(_adjustment("OA", "23", "150.00"),))
    # Then it is DENIED, no category, WORK_QUEUE
    outcome = classify(claim)
    assert (outcome.outcome, outcome.category, outcome.action, outcome.carc) == (
        ClaimOutcome.DENIED,
        None,
        A.WORK_QUEUE,
        None,
    )


def test_classify_the_first_row_of_the_table_governs_several_denials() -> None:
    # Given CO-50 (documentation) on line 1 and CO-197 (authorization) on line 2
    claim = _claim(
        "4",
        "300.00",
        "0.00",
        _line("150.00", "0.00", _adjustment("CO", "50", "150.00")),
        _line("150.00", "0.00", _adjustment("CO", "197", "150.00")),
    )
    # Then authorization governs (it comes first in the table), both denials are listed
    outcome = classify(claim)
    assert (outcome.category, outcome.action, outcome.carc) == (C.AUTHORIZATION, A.RESUBMIT_CORRECTED, "CO-197")
    assert [d.carc for d in outcome.denials] == ["CO-50", "CO-197"]


def test_classify_a_known_carc_outranks_an_unknown_one() -> None:
    # Given an unknown CARC at claim level and CO-50 on the line
    claim = _claim(
        "4",
        "150.00",
        "0.00",
        _line("150.00", "0.00", _adjustment("CO", "50", "100.00")),
        adjustments=(_adjustment("CO", "999", "50.00"),),
    )
    outcome = classify(claim)
    # Then CO-50 governs; the unknown one is still listed, unclassified
    assert (outcome.category, outcome.action, outcome.carc) == (C.DOCUMENTATION, A.APPEAL, "CO-50")
    assert [(d.carc, d.known, d.category) for d in outcome.denials] == [
        ("CO-999", False, None),
        ("CO-50", True, C.DOCUMENTATION),
    ]


def test_classify_ignores_zero_amount_adjustments() -> None:
    # Given a paid claim whose line carries a zero CO-29 (4010-era files do this)
    claim = _claim("1", "100.00", "100.00", _line("100.00", "100.00", _adjustment("CO", "29", "0")))
    # Then it is simply PAID
    assert classify(claim).outcome == ClaimOutcome.PAID


def test_classify_pr_denial_counts_as_other_patient_responsibility() -> None:
    # Given PR-204 (not covered, patient made liable) on an unpaid line
    outcome = classify(_denied_line("PR", "204"))
    # Then the patient owes it as "other", and the action is to bill the patient
    assert outcome.patient_responsibility.other == Decimal("150.00")
    assert outcome.owed_by_patient == Decimal("150.00")
    assert (outcome.outcome, outcome.category, outcome.action) == (ClaimOutcome.DENIED, C.COVERAGE, A.BILL_PATIENT)


def test_classify_reports_the_status_meaning() -> None:
    assert classify(_claim("19", "10.00", "10.00")).status_meaning == (
        "Processed as Primary, Forwarded to Additional Payer(s)"
    )


# --- the data file


def test_denial_table_labels_every_category_and_reads_older_remittances_with_its_first_edition() -> None:
    # Given the packaged file
    document = load_denial_tables()
    # Then every category has its label, and a 2005 remittance is read with the first edition
    assert set(document.categories) == set(Category)
    assert document.categories[Category.DOCUMENTATION] == "documentation/medical necessity"
    assert denial_table(date(2005, 3, 18)) == min(document.versions, key=lambda version: version.effective_from)
    assert denial_table() == max(document.versions, key=lambda version: version.effective_from)
    assert len(document.source) >= 3


def test_denial_table_normal_rows_are_the_precedence_rule() -> None:
    # Given the normal-adjudication rows / Then CO-45, PR-1/2/3 and OA-23 are among them and none is also a CARC row
    table = denial_table()
    for group, reason in (("CO", "45"), ("PR", "1"), ("PR", "2"), ("PR", "3"), ("OA", "23")):
        assert table.is_normal(_adjustment(group, reason, "1.00")), f"{group}-{reason}"
    for row in table.normal:
        for group in row.groups:
            for code in row.codes:
                assert table.carc_row(_adjustment(group, code, "1.00")) is None, f"{group}-{code}"
