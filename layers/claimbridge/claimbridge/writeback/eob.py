"""ExplanationOfBenefit for one 835 claim payment (contract §11, CARIN BB professional conventions, no conformance
claimed), validated as FHIR R4 with fhir.resources.

The EHR posts payments from it: per line the submitted, allowed and paid amounts and every CAS adjustment (group,
CARC, amount) and RARC; per claim the totals (submitted, paid to provider, member liability = CLP05) and the payment
(CLP04, BPR16 date, TRN02 trace). Lines are matched to our service lines by REF*6R (the line control number we sent),
else by position.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from claimbridge.remit import Adjustment, ClaimPayment, Outcome, Remittance, ServicePayment
from claimbridge.state.models import StoredClaim
from claimbridge.tenants import TenantConfig
from claimbridge.writeback.claim_response import (
    ADJUDICATION_SYSTEM,
    CLAIM_ID_SYSTEM,
    CLAIM_TYPE_SYSTEM,
    NPI_SYSTEM,
    PAYER_ID_SYSTEM,
    patient_reference_of,
)

CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
GROUP_CODE_SYSTEM = "https://codesystem.x12.org/005010/1033"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
RARC_CATEGORY_SYSTEM = "https://codesystem.x12.org/005010/1270"
RARC_SYSTEM = "https://x12.org/codes/remittance-advice-remark-codes"
CARIN_ADJUDICATION_SYSTEM = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
PATIENT_SHARE = {"1": "deductible", "3": "copay"}  # PR-1, PR-3 have R4 adjudication codes; PR-2 is CARIN coinsurance


def eob_key(tenant_id: str, claim_id: str, remit_id: str) -> str:
    """``outbound/<tenant>/ExplanationOfBenefit/<claim>/<remit-id>.json`` (contract §11)."""
    return f"outbound/{tenant_id}/ExplanationOfBenefit/{claim_id}/{remit_id}.json"


def build_eob(
    stored: StoredClaim,
    *,
    payment: ClaimPayment,
    outcome: Outcome,
    remittance: Remittance,
    remit_id: str,
    tenant: TenantConfig,
    created: str,
) -> dict[str, Any]:
    """The ExplanationOfBenefit of ``payment`` for ``stored``, as R4 JSON (validated)."""
    resource: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": f"{stored.claim_id}-{remit_id}"[:64],
        "identifier": [
            {"system": CLAIM_ID_SYSTEM, "value": stored.claim_id},
            {"system": "urn:claimbridge:remittance", "value": remit_id},
        ],
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional"}]},
        "use": "claim",
        "patient": patient_reference_of(stored),
        "created": created,
        "insurer": _insurer(stored, tenant, remittance),
        "provider": {"identifier": {"system": NPI_SYSTEM, "value": tenant.billing_provider.npi}},
        "outcome": "complete",
        "disposition": _disposition(outcome),
        "claimResponse": {"reference": f"ClaimResponse/{stored.claim_id}"},
        "insurance": [{"focal": True, "coverage": {"display": f"coverage billed to payer {stored.payer_key or '-'}"}}],
        "total": _totals(payment),
    }
    if stored.source_key.startswith("Claim/"):
        resource["claim"] = {"reference": stored.source_key}
    if payment.payer_claim_control_number:
        resource["identifier"].append(
            {"system": "urn:claimbridge:payer-claim-control-number", "value": payment.payer_claim_control_number}
        )
    items = _items(stored, payment)
    if items:
        resource["item"] = items
    if payment.adjustments or payment.remarks:
        resource["adjudication"] = [
            *(_cas(adjustment) for adjustment in payment.adjustments),
            *(_remark(code) for code in payment.remarks),
        ]
    resource["payment"] = _payment(payment, remittance)
    ExplanationOfBenefit.model_validate(resource)
    return resource


def _money(amount: Decimal) -> dict[str, Any]:
    return {"value": float(amount), "currency": "USD"}


def _category(code: str, system: str = ADJUDICATION_SYSTEM) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _insurer(stored: StoredClaim, tenant: TenantConfig, remittance: Remittance) -> dict[str, Any]:
    payer_id: str | None
    try:
        payer_id = tenant.payer(stored.payer_key or "").payer_id
    except KeyError:
        payer_id = remittance.payer_id
    if payer_id:
        return {"identifier": {"system": PAYER_ID_SYSTEM, "value": payer_id}}
    return {"display": "the paying payer"}


def _disposition(outcome: Outcome) -> str:
    parts = [outcome.outcome.value]
    if outcome.category:
        parts.append(outcome.category.value)
    if outcome.action:
        parts.append(outcome.action.value)
    return ": ".join(parts)


def _totals(payment: ClaimPayment) -> list[dict[str, Any]]:
    totals = [
        {"category": _category("submitted"), "amount": _money(payment.charge)},
        {"category": _category("benefit"), "amount": _money(payment.paid)},
        {"category": _category("paidtoprovider", CARIN_ADJUDICATION_SYSTEM), "amount": _money(payment.paid)},
    ]
    if payment.patient_responsibility is not None:
        totals.append(
            {
                "category": _category("memberliability", CARIN_ADJUDICATION_SYSTEM),
                "amount": _money(payment.patient_responsibility),
            }
        )
    return totals


def _cas(adjustment: Adjustment) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "category": _category(adjustment.group, GROUP_CODE_SYSTEM),
        "reason": _category(adjustment.reason, CARC_SYSTEM),
        "amount": _money(adjustment.amount),
    }
    return entry


def _remark(code: str) -> dict[str, Any]:
    return {"category": _category("HE", RARC_CATEGORY_SYSTEM), "reason": _category(code, RARC_SYSTEM)}


def line_sequences(stored: StoredClaim, payment: ClaimPayment) -> list[int]:
    """Our 2400 sequence for each SVC line: by REF*6R (the line control number we sent); a payer that drops it (or
    changes the modifiers) is matched on code + date of service, else code alone, else the line's position."""
    ours = list(stored.claim.lines) if stored.claim else []
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


def _items(stored: StoredClaim, payment: ClaimPayment) -> list[dict[str, Any]]:
    items = []
    for sequence, line in zip(line_sequences(stored, payment), payment.lines, strict=True):
        item: dict[str, Any] = {
            "sequence": sequence,
            "productOrService": {"coding": [{"system": CPT_SYSTEM, "code": line.procedure.code}]},
            "adjudication": _line_adjudication(line),
        }
        if line.procedure.modifiers:
            item["modifier"] = [{"coding": [{"system": CPT_SYSTEM, "code": m}]} for m in line.procedure.modifiers]
        day = line.service_date or line.service_from
        if day is not None:
            item["servicedDate"] = day.isoformat()
        items.append(item)
    return items


def _line_adjudication(line: ServicePayment) -> list[dict[str, Any]]:
    entries = [
        {"category": _category("submitted"), "amount": _money(line.charge)},
        {"category": _category("benefit"), "amount": _money(line.paid)},
    ]
    if line.allowed is not None:
        entries.append({"category": _category("eligible"), "amount": _money(line.allowed)})
    for adjustment in line.adjustments:
        if adjustment.group == "PR" and adjustment.reason in PATIENT_SHARE:
            entries.append(
                {"category": _category(PATIENT_SHARE[adjustment.reason]), "amount": _money(adjustment.amount)}
            )
        elif adjustment.group == "PR" and adjustment.reason == "2":
            entries.append(
                {"category": _category("coinsurance", CARIN_ADJUDICATION_SYSTEM), "amount": _money(adjustment.amount)}
            )
        entries.append(_cas(adjustment))
    entries.extend(_remark(code) for code in line.remarks)
    return entries


def _payment(payment: ClaimPayment, remittance: Remittance) -> dict[str, Any]:
    result: dict[str, Any] = {"amount": _money(payment.paid)}
    if remittance.payment_date is not None:
        result["date"] = remittance.payment_date.isoformat()
    if remittance.trace_number:
        result["identifier"] = {"system": "urn:claimbridge:payment-trace", "value": remittance.trace_number}
    return result
