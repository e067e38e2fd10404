"""ClaimResponse for one state change of a claim (contract §11), validated as FHIR R4 with fhir.resources.

The EHR reads these to show billers where each claim stands: ``outcome`` says queued / error / complete,
``disposition`` the state and the next action, ``processNote`` every intake or scrubber finding (rule id, 837P
location, FHIR path, message), ``error`` the clearinghouse's 277CA status codes, and ``item`` each line with its
submitted amount and the notes that concern it. The change an 835 posted adds the payer's adjudication per line
(eligible, benefit, patient share, CAS, RARC), the claim-level CAS/RARC and the ``payment`` (CLP04, BPR16, TRN02).
The document goes to the EHR's own outbound prefix, so it may point at the EHR's Patient; it is never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from fhir.resources.R4B.claimresponse import ClaimResponse

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding
from claimbridge.state.models import ADJUDICATED_STATES, ClaimState, RemittancePosting, StoredClaim
from claimbridge.tenants import TenantConfig
from claimbridge.writeback.adjudication import (
    category,
    claim_adjudication,
    line_adjudication,
    line_sequences,
    money,
    payment_entry,
)

CLAIM_ID_SYSTEM = "urn:claimbridge:claim-id"
SOURCE_SYSTEM = "urn:claimbridge:source"
PAYER_ID_SYSTEM = "urn:claimbridge:payer-id"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
CLAIM_STATUS_CODE_SYSTEM = "https://codesystem.x12.org/external/508"

Outcome = Literal["queued", "complete", "error", "partial"]
_S = ClaimState
OUTCOME_BY_STATE: Mapping[ClaimState, Outcome] = {
    _S.RECEIVED: "queued",
    _S.READY: "queued",
    _S.SUBMITTED: "queued",
    _S.ACCEPTED: "queued",
    _S.HELD: "error",
    _S.FAILED_TO_SEND: "error",
    _S.REJECTED: "error",
    _S.PAID: "complete",
    _S.PARTIALLY_PAID: "complete",
    _S.DENIED: "complete",
    _S.CORRECTED: "queued",
    _S.VOIDED: "complete",
    _S.CLOSED: "complete",
}
"""``ClaimResponse.outcome`` per lifecycle state (contract §11); a state not listed reads ``queued``."""

NEXT_STEP: Mapping[ClaimState, str] = {
    _S.RECEIVED: "being scrubbed",
    _S.READY: "clean; waits for the next 837P batch",
    _S.HELD: "fix the error findings in the EHR and send a new version of the claim",
    _S.SUBMITTED: "sent to the clearinghouse; waiting for its acknowledgement",
    _S.FAILED_TO_SEND: "the clearinghouse could not be reached after every retry; resend it (nothing was lost)",
    _S.ACCEPTED: "accepted into adjudication; waiting for the payer's remittance",
    _S.REJECTED: "never adjudicated: correct it and send a new version (a new original claim, frequency 1)",
    _S.PAID: "paid",
    _S.PARTIALLY_PAID: "partly paid: work the denied lines",
    _S.DENIED: "denied: see the denial category and next action",
    _S.CORRECTED: "a corrected or void claim is on its way to the payer",
    _S.VOIDED: "voided at the payer",
    _S.CLOSED: "closed",
}

_STATUS_COMPOSITE = re.compile(r"\bA[0-9]:[0-9]{1,5}(?::[0-9A-Z]{2,3})?\b")
_LINE_LOCATION = re.compile(r"^2400 LX\*(?P<line>[0-9]+)\b")


def claim_response_key(tenant_id: str, claim_id: str, version: int) -> str:
    """``outbound/<tenant>/ClaimResponse/<claim>/<n>.json`` (contract §11)."""
    return f"outbound/{tenant_id}/ClaimResponse/{claim_id}/{version}.json"


def build_claim_response(
    stored: StoredClaim,
    *,
    state: ClaimState,
    version: int,
    changed_at: datetime,
    tenant: TenantConfig,
) -> dict[str, Any]:
    """The ClaimResponse of ``stored`` as it was after change ``version`` (to ``state``), as R4 JSON.

    Raises ``pydantic.ValidationError`` if the document would not be valid R4 (a defect, never bad input).
    """
    claim = stored.claim
    findings = stored.findings
    notes = [_note(number, finding) for number, finding in enumerate(findings, 1)]
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": stored.claim_id,
        "meta": {"versionId": str(version), "lastUpdated": fhir_instant(changed_at)},
        "identifier": [
            {"system": CLAIM_ID_SYSTEM, "value": stored.claim_id},
            {"system": SOURCE_SYSTEM, "value": f"{stored.source_key}|{stored.source_version}"},
        ],
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional"}]},
        "use": "claim",
        "patient": patient_reference_of(stored),
        "created": fhir_instant(changed_at),
        "insurer": _insurer(stored, tenant),
        "requestor": {"identifier": {"system": NPI_SYSTEM, "value": tenant.billing_provider.npi}},
        "outcome": OUTCOME_BY_STATE.get(state, "queued"),
        "disposition": f"{state.value}: {NEXT_STEP.get(state, state.value.lower())}",
    }
    if stored.source_key.startswith("Claim/"):
        resource["request"] = {"reference": stored.source_key}
    if notes:
        resource["processNote"] = notes
    posting = _posting_of(stored, state, version)
    if claim is not None:
        resource["item"] = _items(claim, findings, posting)
    if posting is not None:
        if posting.payment.adjustments or posting.payment.remarks:
            resource["adjudication"] = claim_adjudication(posting.payment)
        resource["payment"] = {
            # payment.type is required in R4: the payer's full payment of the claim, not an advance.
            "type": {"coding": [{"system": PAYMENT_TYPE_SYSTEM, "code": "complete"}]},
            **payment_entry(posting.payment.paid, posting.payment_date, posting.trace_number),
        }
    errors = _status_errors(findings) if state == ClaimState.REJECTED else []
    if errors:
        resource["error"] = errors
    ClaimResponse.model_validate(resource)
    return resource


def fhir_instant(moment: datetime) -> str:
    """A FHIR ``instant``/``dateTime`` in UTC to the second: ``2026-03-02T21:05:14Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def patient_reference_of(stored: StoredClaim) -> dict[str, Any]:
    """The EHR's Patient as the claim's source named it (a display when an older claim did not record it)."""
    reference = stored.claim.source.patient_reference if stored.claim else None
    if reference:
        return {"reference": reference}
    return {"display": f"the patient of {stored.source_key}"}


def _insurer(stored: StoredClaim, tenant: TenantConfig) -> dict[str, Any]:
    payer_key = stored.payer_key or (stored.claim.payer.key if stored.claim else None)
    if payer_key is None:
        return {"display": "payer not identified"}
    try:
        payer_id = tenant.payer(payer_key).payer_id
    except KeyError:
        return {"display": f"payer {payer_key}"}
    return {"identifier": {"system": PAYER_ID_SYSTEM, "value": payer_id}}


def _note(number: int, finding: Finding) -> dict[str, Any]:
    where = " ".join(part for part in (finding.x12_location, finding.fhir_path) if part)
    text = f"{finding.rule_id} {where}: {finding.message}" if where else f"{finding.rule_id}: {finding.message}"
    if finding.fix:
        text += f" (fix: {finding.fix})"
    return {"number": number, "type": "display", "text": text}


def _posting_of(stored: StoredClaim, state: ClaimState, version: int) -> RemittancePosting | None:
    """The 835 posting that change ``version`` made, if it is still the claim's (a reversal clears it)."""
    posting = stored.remittance
    if state in ADJUDICATED_STATES and posting is not None and posting.revision == version:
        return posting
    return None


def _items(
    claim: ProfessionalClaim, findings: tuple[Finding, ...], posting: RemittancePosting | None
) -> list[dict[str, Any]]:
    """One item per line: the submitted amount (or the payer's adjudication of it), and the notes that name it."""
    paid_lines = {}
    if posting is not None:
        matched = line_sequences(claim.lines, posting.payment)
        paid_lines = dict(zip(matched, posting.payment.lines, strict=True))
    items = []
    for line in sorted(claim.lines, key=lambda line: line.sequence):
        paid = paid_lines.get(line.sequence)
        item: dict[str, Any] = {
            "itemSequence": line.sequence,
            "adjudication": (
                line_adjudication(paid)
                if paid is not None
                else [{"category": category("submitted"), "amount": money(line.charge)}]
            ),
        }
        numbers = [
            number
            for number, finding in enumerate(findings, 1)
            if (match := _LINE_LOCATION.match(finding.x12_location)) and int(match["line"]) == line.sequence
        ]
        if numbers:
            item["noteNumber"] = numbers
        items.append(item)
    return items


def _status_errors(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    """277CA status composites (``A7:562:85``) of the rejection findings, as ClaimResponse.error (code set 508)."""
    errors = []
    for finding in findings:
        for composite in _STATUS_COMPOSITE.findall(finding.message):
            status = composite.split(":")[1]
            errors.append(
                {"code": {"coding": [{"system": CLAIM_STATUS_CODE_SYSTEM, "code": status}], "text": composite}}
            )
    return errors
