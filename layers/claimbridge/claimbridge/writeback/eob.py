"""ExplanationOfBenefit for one 835 claim payment (contract §11, CARIN BB professional conventions, no conformance
claimed), validated as FHIR R4 with fhir.resources.

The EHR posts payments from it: per line the submitted, allowed and paid amounts and every CAS adjustment (group,
CARC, amount) and RARC; per claim the totals (submitted, paid to provider, member liability = CLP05) and the payment
(CLP04, BPR16 date, TRN02 trace). Lines are matched to our service lines by REF*6R (the line control number we sent),
else by position.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from claimbridge.remit import ClaimPayment, Outcome, Remittance
from claimbridge.state.models import StoredClaim
from claimbridge.tenants import TenantConfig
from claimbridge.writeback.adjudication import (
    CARIN_ADJUDICATION_SYSTEM,
    category,
    claim_adjudication,
    line_adjudication,
    line_sequences,
    money,
    payment_entry,
)
from claimbridge.writeback.claim_response import (
    CLAIM_ID_SYSTEM,
    CLAIM_TYPE_SYSTEM,
    NPI_SYSTEM,
    PAYER_ID_SYSTEM,
    patient_reference_of,
)

CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"


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
        resource["adjudication"] = claim_adjudication(payment)
    resource["payment"] = payment_entry(payment.paid, remittance.payment_date, remittance.trace_number)
    ExplanationOfBenefit.model_validate(resource)
    return resource


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
        {"category": category("submitted"), "amount": money(payment.charge)},
        {"category": category("benefit"), "amount": money(payment.paid)},
        {"category": category("paidtoprovider", CARIN_ADJUDICATION_SYSTEM), "amount": money(payment.paid)},
    ]
    if payment.patient_responsibility is not None:
        totals.append(
            {
                "category": category("memberliability", CARIN_ADJUDICATION_SYSTEM),
                "amount": money(payment.patient_responsibility),
            }
        )
    return totals


def _items(stored: StoredClaim, payment: ClaimPayment) -> list[dict[str, Any]]:
    items = []
    ours = stored.claim.lines if stored.claim else ()
    for sequence, line in zip(line_sequences(ours, payment), payment.lines, strict=True):
        item: dict[str, Any] = {
            "sequence": sequence,
            "productOrService": {"coding": [{"system": CPT_SYSTEM, "code": line.procedure.code}]},
            "adjudication": line_adjudication(line),
        }
        if line.procedure.modifiers:
            item["modifier"] = [{"coding": [{"system": CPT_SYSTEM, "code": m}]} for m in line.procedure.modifiers]
        day = line.service_date or line.service_from
        if day is not None:
            item["servicedDate"] = day.isoformat()
        items.append(item)
    return items
