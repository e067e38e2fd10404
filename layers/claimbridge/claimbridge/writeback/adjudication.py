"""835 amounts as FHIR ``adjudication``, shared by the ClaimResponse and the ExplanationOfBenefit (contract §11).

Per line: submitted (SVC02), eligible (AMT*B6), benefit (SVC03), the patient's share (deductible, copay, CARIN
coinsurance), every CAS as group + CARC + amount, every RARC (``HE``); per claim: the claim-level CAS and RARCs; the
payment: CLP04, BPR16 date, TRN02 trace. Lines are matched to our 2400 lines by REF*6R, else code + date of service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from claimbridge.claim import ServiceLine
from claimbridge.remit import Adjustment, ClaimPayment, ServicePayment

ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
GROUP_CODE_SYSTEM = "https://codesystem.x12.org/005010/1033"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
RARC_CATEGORY_SYSTEM = "https://codesystem.x12.org/005010/1270"
RARC_SYSTEM = "https://x12.org/codes/remittance-advice-remark-codes"
CARIN_ADJUDICATION_SYSTEM = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
PATIENT_SHARE = {"1": "deductible", "3": "copay"}  # PR-1, PR-3 have R4 adjudication codes; PR-2 is CARIN coinsurance


def money(amount: Decimal) -> dict[str, Any]:
    """A FHIR Money in USD."""
    return {"value": float(amount), "currency": "USD"}


def category(code: str, system: str = ADJUDICATION_SYSTEM) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    return {"coding": [{"system": system, "code": code}]}


def cas_entry(adjustment: Adjustment) -> dict[str, Any]:
    """One CAS triplet: group code as category, CARC as reason, amount."""
    return {
        "category": category(adjustment.group, GROUP_CODE_SYSTEM),
        "reason": category(adjustment.reason, CARC_SYSTEM),
        "amount": money(adjustment.amount),
    }


def remark_entry(code: str) -> dict[str, Any]:
    """One RARC (LQ*HE / MOA / MIA)."""
    return {"category": category("HE", RARC_CATEGORY_SYSTEM), "reason": category(code, RARC_SYSTEM)}


def line_adjudication(line: ServicePayment) -> list[dict[str, Any]]:
    """Every amount and code the payer gave one service line."""
    entries = [
        {"category": category("submitted"), "amount": money(line.charge)},
        {"category": category("benefit"), "amount": money(line.paid)},
    ]
    if line.allowed is not None:
        entries.append({"category": category("eligible"), "amount": money(line.allowed)})
    for adjustment in line.adjustments:
        if adjustment.group == "PR" and adjustment.reason in PATIENT_SHARE:
            entries.append({"category": category(PATIENT_SHARE[adjustment.reason]), "amount": money(adjustment.amount)})
        elif adjustment.group == "PR" and adjustment.reason == "2":
            entries.append(
                {"category": category("coinsurance", CARIN_ADJUDICATION_SYSTEM), "amount": money(adjustment.amount)}
            )
        entries.append(cas_entry(adjustment))
    entries.extend(remark_entry(code) for code in line.remarks)
    return entries


def claim_adjudication(payment: ClaimPayment) -> list[dict[str, Any]]:
    """The claim-level CAS and RARCs (MOA/MIA) of a 2100 loop."""
    return [*(cas_entry(adjustment) for adjustment in payment.adjustments), *(remark_entry(c) for c in payment.remarks)]


def payment_entry(paid: Decimal, payment_date: date | None, trace_number: str | None) -> dict[str, Any]:
    """``payment``: CLP04, BPR16, TRN02."""
    result: dict[str, Any] = {"amount": money(paid)}
    if payment_date is not None:
        result["date"] = payment_date.isoformat()
    if trace_number:
        result["identifier"] = {"system": "urn:claimbridge:payment-trace", "value": trace_number}
    return result


def line_sequences(ours: Sequence[ServiceLine], payment: ClaimPayment) -> list[int]:
    """Our 2400 sequence for each SVC line: by REF*6R (the line control number we sent); a payer that drops it (or
    changes the modifiers) is matched on code + date of service, else code alone, else the line's position."""
    by_control = {line.line_control_number: line.sequence for line in ours}
    free = {line.sequence: line for line in ours}
    found: list[int] = []
    for index, paid in enumerate(payment.lines, 1):
        sequence = by_control.get(paid.line_control_number or "")
        if sequence is None:
            day = paid.service_date or paid.service_from
            same_code = [line for line in free.values() if line.procedure_code == paid.procedure.code]
            dated = [line for line in same_code if day is None or line.service_date == day]
            candidates = dated or same_code
            sequence = candidates[0].sequence if candidates else index
        free.pop(sequence, None)
        found.append(sequence)
    return found
