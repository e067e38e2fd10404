"""Responses: a 999, 277CA or 835 file in ``responses/<tenant>/<kind>/<id>.x12`` moves the claims it answers.

Matching: a 999 names our GS06 (AK102) and ST02s (AK202) -> the submission record -> the claims of each ST; a
277CA names each claim by its patient control number (CLM01 = claim id; a biller's replacement or void keeps it, and
a void the 277CA accepts becomes VOIDED); an 835 names it in CLP01 and moves it to
PAID / PARTIALLY_PAID / DENIED with the denial category and next action (``claimbridge.remit``), recording the
payer's claim number (CLP07). What matches nothing is recorded as an unmatched item with a metric, never dropped.
A file processed once changes nothing the second time (a marker per object key; claims already in the target
state are skipped, so a retry after a partial run is safe too).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from claimbridge.claim import ClaimFrequency
from claimbridge.errors import StateConflict, TenantError, X12SyntaxError
from claimbridge.events import (
    BusEventDetail,
    ClaimAccepted,
    ClaimAdjudicated,
    ClaimRejected,
    ExplanationOfBenefitWritten,
)
from claimbridge.findings import Finding, Severity
from claimbridge.pipeline.ports import PipelineDeps, archived
from claimbridge.remit import (
    Action,
    ClaimOutcome,
    ClaimPayment,
    Outcome,
    Remittance,
    classify,
    pair_reversals,
    parse_835,
)
from claimbridge.state.models import (
    ADJUDICATED_STATES,
    ClaimState,
    FileKind,
    RemittancePosting,
    StoredClaim,
    SubmissionRecord,
    transition_allowed,
)
from claimbridge.writeback import build_eob, eob_key, fhir_instant
from claimbridge.x12 import acks

ACCEPTED_277CA = frozenset({"A1", "A2", "A5"})
"""A1 acknowledged/forwarded, A2 accepted into adjudication, A5 accepted after a split: all keep the claim alive."""
REJECTED_277CA = frozenset({"A3", "A6", "A7", "A8"})
"""Returned as unprocessable, rejected for missing / invalid information, rejected for relational fields."""
KINDS = ("999", "277CA", "835")


class ResponseOutcome(BaseModel):
    """What one response file did (ids and counts only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    response_key: str
    kind: str
    accepted: int = 0
    rejected: int = 0
    adjudicated: int = 0
    reversals: int = 0
    unchanged: int = 0
    unmatched: int = 0
    refused: int = 0
    duplicate: bool = False
    ignored_reason: str | None = None


class _Apply:
    """Applies one response file's verdicts to the tenant's claims."""

    def __init__(self, tenant_id: str, response_key: str, kind: str, deps: PipelineDeps) -> None:
        self.tenant_id = tenant_id
        self.response_key = response_key
        self.kind = kind
        self.deps = deps
        self.events: list[BusEventDetail] = []
        self.to_mark: list[StoredClaim] = []
        self.counts = {
            "accepted": 0,
            "rejected": 0,
            "adjudicated": 0,
            "reversals": 0,
            "unchanged": 0,
            "unmatched": 0,
            "refused": 0,
        }
        self.adjudicated: Counter[str] = Counter()
        """Claims posted by an 835, per outcome (PAID / PARTIALLY_PAID / DENIED)."""
        self.denied_by_category: Counter[str] = Counter()
        self.reversed = 0
        """Postings undone by a reversal (CLP02 22) of this file."""

    def unmatched(self, reference: str, reason: str) -> None:
        self.deps.store.record_unmatched(
            self.tenant_id, response_key=self.response_key, kind=self.kind, reference=reference, reason=reason
        )
        self.counts["unmatched"] += 1

    def link(self, *claim_ids: str) -> None:
        """Record this response file among the claims' files (tenant API: a claim's 999 / 277CA / 835)."""
        kind: FileKind = "999" if self.kind == "999" else "277CA" if self.kind == "277CA" else "835"
        self.deps.store.link_claim_files(self.tenant_id, claim_ids, kind=kind, key=self.response_key)

    def move(
        self,
        claim_id: str,
        target: ClaimState,
        *,
        codes: Sequence[str],
        finding: Finding | None,
        payer_claim_control_number: str | None = None,
        adjudication: Outcome | None = None,
        remittance: RemittancePosting | None = None,
    ) -> None:
        """Move one claim to ACCEPTED / REJECTED; skip when already there; refuse (recorded) when not allowed."""
        claim = self.deps.store.get_claim(self.tenant_id, claim_id)
        if claim is None:
            self.unmatched(f"CLM01 {claim_id}", "no claim with this id for the tenant")
            return
        self.link(claim_id)
        if claim.state == target:
            if claim.announced:
                self.counts["unchanged"] += 1
            else:
                # Moved by an earlier run whose event publication failed: announce it now.
                self._announce(claim, target, codes, adjudication)
            return
        allowed = transition_allowed(claim.state, target)
        findings = (*claim.findings, finding) if finding else None
        try:
            moved = self.deps.store.transition(
                claim,
                target,
                reason=f"{self.kind} {self.response_key}: {' '.join(codes) or 'accepted'}",
                actor=f"clearinghouse-{self.kind}",
                findings=findings,
                payer_claim_control_number=payer_claim_control_number,
                remittance=remittance,
            )
        except StateConflict:
            if allowed:
                raise  # lost a race: the message is retried and re-reads the claim
            self.counts["refused"] += 1
            self.deps.metrics.count("TransitionsRefused", tenant_id=self.tenant_id)
            return
        self._announce(moved, target, codes, adjudication)

    def publish(self) -> None:
        """Put the collected events on the bus, then record them as announced."""
        self.deps.events.publish(self.events)
        for claim in self.to_mark:
            self.deps.store.mark_announced(claim)

    def _announce(
        self, claim: StoredClaim, target: ClaimState, codes: Sequence[str], adjudication: Outcome | None = None
    ) -> None:
        self.to_mark.append(claim)
        kind: Literal["999", "277CA"] = "999" if self.kind == "999" else "277CA"
        if adjudication is not None and target in ADJUDICATED_STATES:
            self.counts["adjudicated"] += 1
            self.adjudicated[target.value] += 1
            if target == ClaimState.DENIED:
                category = adjudication.category.value if adjudication.category else "uncategorised"
                self.denied_by_category[category] += 1
            self.events.append(
                ClaimAdjudicated(
                    tenant_id=self.tenant_id,
                    claim_id=claim.claim_id,
                    outcome=adjudication.outcome.value,  # type: ignore[arg-type]  # REVERSED never gets here
                    response_key=self.response_key,
                    category=adjudication.category.value if adjudication.category else None,
                    action=adjudication.action.value if adjudication.action else None,
                    reason_codes=tuple(codes),
                )
            )
        elif target in (ClaimState.ACCEPTED, ClaimState.VOIDED):
            self.counts["accepted"] += 1
            self.events.append(
                ClaimAccepted(
                    tenant_id=self.tenant_id,
                    claim_id=claim.claim_id,
                    response_kind=kind,
                    response_key=self.response_key,
                    status_codes=tuple(codes),
                )
            )
        else:
            self.counts["rejected"] += 1
            self.events.append(
                ClaimRejected(
                    tenant_id=self.tenant_id,
                    claim_id=claim.claim_id,
                    response_kind=kind,
                    response_key=self.response_key,
                    status_codes=tuple(codes),
                )
            )

    # ------------------------------------------------------------------ 999
    def apply_999(self, groups: Sequence[acks.FunctionalGroupAck]) -> None:
        for group in groups:
            if not group.group_control_number.isdigit():
                self.unmatched(f"GS06 {group.group_control_number[:20]}", "AK102 is not a group control number")
                continue
            record = self.deps.store.find_submission_by_group(self.tenant_id, int(group.group_control_number))
            if record is None:
                self.unmatched(f"GS06 {int(group.group_control_number)}", "no submission with this group number")
                continue
            if not group.transactions:
                # AK9 without AK2: the verdict covers every transaction set of the group.
                if group.status == "R":
                    for every_st02 in sorted(record.transaction_claims):
                        self._reject_transaction(record, every_st02, group.error_codes, (), location="AK9")
                else:
                    self.link(*record.claim_ids)
                    self.counts["unchanged"] += len(record.claim_ids)
                continue
            for transaction in group.transactions:
                st02 = _find_st02(record, transaction.control_number)
                if st02 is None:
                    self.unmatched(
                        f"GS06 {record.group_control_number} ST02 {transaction.control_number[:9]}",
                        "the submission has no transaction set with this control number",
                    )
                    continue
                if transaction.accepted:
                    # 999 A/E only says the syntax was fine: the claims wait for the 277CA.
                    self.link(*record.transaction_claims[st02])
                    self.counts["unchanged"] += len(record.transaction_claims[st02])
                    continue
                segment_codes = tuple(
                    f"IK3:{error.segment_id}@{error.position}:{error.code or ''}"
                    for error in transaction.segment_errors
                )
                self._reject_transaction(record, st02, transaction.error_codes, segment_codes, location="IK5")

    def _reject_transaction(
        self,
        record: SubmissionRecord,
        st02: str,
        error_codes: Sequence[str],
        segment_codes: Sequence[str],
        *,
        location: str,
    ) -> None:
        codes = (f"{location}:R", *(f"{location}02:{code}" for code in error_codes), *segment_codes)
        finding = Finding(
            rule_id="ACK-999",
            severity=Severity.ERROR,
            x12_location=f"999 {location} (GS06 {record.group_control_number} ST02 {st02})",
            message=f"transaction set rejected by the clearinghouse: {' '.join(codes)}",
            fix="correct the claim and send a new version; IK3/IK4 name the 837P segment and element",
        )
        for claim_id in record.transaction_claims[st02]:
            self.move(claim_id, ClaimState.REJECTED, codes=codes, finding=finding)

    # ------------------------------------------------------------------ 277CA
    def apply_277ca(self, statuses: Sequence[acks.ClaimStatusAck]) -> None:
        for status in statuses:
            composites = tuple(code.composite(":") for code in status.statuses)
            categories = {code.category for code in status.statuses}
            if categories & REJECTED_277CA:
                finding = Finding(
                    rule_id="ACK-277CA",
                    severity=Severity.ERROR,
                    x12_location="277CA 2200D STC01",
                    message=f"claim rejected before adjudication: {' '.join(composites)}",
                    fix="look the status codes up (external code list 507/508), correct and send a new version",
                )
                self.move(status.patient_control_number, ClaimState.REJECTED, codes=composites, finding=finding)
            elif categories & ACCEPTED_277CA:
                self.move(
                    status.patient_control_number,
                    self._accepted_state(status.patient_control_number),
                    codes=composites,
                    finding=None,
                    payer_claim_control_number=status.payer_claim_control_number,
                )
            elif self.deps.store.get_claim(self.tenant_id, status.patient_control_number) is None:
                self.unmatched(f"CLM01 {status.patient_control_number[:20]}", "no claim with this id for the tenant")
            else:
                self.link(status.patient_control_number)
                self.counts["unchanged"] += 1

    def _accepted_state(self, claim_id: str) -> ClaimState:
        """A void (frequency 8) the 277CA accepts is VOIDED (the payer took the cancellation); any other claim is
        ACCEPTED."""
        claim = self.deps.store.get_claim(self.tenant_id, claim_id)
        if claim is not None and claim.claim is not None and claim.claim.frequency == ClaimFrequency.VOID:
            return ClaimState.VOIDED
        return ClaimState.ACCEPTED

    def apply_835(self, remittances: Sequence[Remittance]) -> None:
        """Post every claim payment: PAID / PARTIALLY_PAID / DENIED by ``claimbridge.remit.classify``.

        A reversal (CLP02 22) undoes the claim's posting first (PAID / PARTIALLY_PAID / DENIED -> ACCEPTED, audited);
        the corrected claim the payer pairs with it (same CLP01) then posts like any other payment.
        """
        for remittance in remittances:
            for pair in pair_reversals(remittance.claims):
                self.counts["reversals"] += 1
                self._reverse(pair.reversal.patient_control_number[:50])
            for payment in remittance.claims:
                outcome = classify(payment)
                if outcome.outcome == ClaimOutcome.REVERSED:
                    continue
                codes = tuple(dict.fromkeys(d.carc for d in outcome.denials)) + outcome.rarcs
                claim_id = payment.patient_control_number[:50]
                self.move(
                    claim_id,
                    ClaimState(outcome.outcome.value),
                    codes=codes,
                    finding=remittance_finding(outcome),
                    payer_claim_control_number=payment.payer_claim_control_number,
                    adjudication=outcome,
                    remittance=RemittancePosting(
                        response_key=self.response_key,
                        payment=payment,
                        outcome=outcome.outcome,
                        category=outcome.category,
                        action=outcome.action,
                        patient_responsibility=outcome.owed_by_patient,
                        payer_id=remittance.payer_id,
                        payment_date=remittance.payment_date,
                        trace_number=remittance.trace_number,
                    ),
                )
                self._write_eob(claim_id, payment, outcome, remittance)

    def _reverse(self, claim_id: str) -> None:
        """Undo the posting of an adjudicated claim (a later file's reversal; unknown claims go to unmatched)."""
        claim = self.deps.store.get_claim(self.tenant_id, claim_id)
        if claim is None:
            self.unmatched(f"CLM01 {claim_id}", "reversal (CLP02 22) for no claim of the tenant")
            return
        self.link(claim_id)
        if claim.state not in ADJUDICATED_STATES:
            self.counts["unchanged"] += 1  # nothing posted to undo (or undone by an earlier run of this file)
            return
        # A lost race raises StateConflict: the message is retried and re-reads the claim.
        self.deps.store.transition(
            claim,
            ClaimState.ACCEPTED,
            reason=f"{self.kind} {self.response_key}: reversal (CLP02 22) of the earlier posting",
            actor=f"clearinghouse-{self.kind}",
        )
        self.reversed += 1

    def _write_eob(self, claim_id: str, payment: ClaimPayment, outcome: Outcome, remittance: Remittance) -> None:
        """The ExplanationOfBenefit of one posted payment, once per (claim, 835 file, CLP position)."""
        stored = self.deps.store.get_claim(self.tenant_id, claim_id)
        if stored is None or outcome.outcome == ClaimOutcome.REVERSED:
            return
        try:
            # A disabled tenant's responses are still processed and written back (tenant-config section 1).
            tenant = self.deps.store.get_tenant(self.tenant_id, include_disabled=True).config
        except TenantError:
            return
        stem = self.response_key.rsplit("/", 1)[-1].removesuffix(".x12")
        remit_id = f"{stem}-{payment.position}"
        key = eob_key(self.tenant_id, claim_id, remit_id)
        if archived(self.deps, key):
            return  # written by an earlier run of this file
        document = build_eob(
            stored,
            payment=payment,
            outcome=outcome,
            remittance=remittance,
            remit_id=remit_id,
            tenant=tenant,
            created=fhir_instant(self.deps.clock()),
        )
        self.deps.objects.put(
            self.deps.archive_bucket, key, json.dumps(document).encode("utf-8"), content_type="application/fhir+json"
        )
        self.events.append(
            ExplanationOfBenefitWritten(
                tenant_id=self.tenant_id,
                claim_id=claim_id,
                remit_id=remit_id,
                outcome=outcome.outcome.value,  # type: ignore[arg-type]  # REVERSED returned above
                key=key,
            )
        )


NEXT_ACTION_TEXT = {
    Action.RESUBMIT_CORRECTED: "correct the claim and send a replacement (frequency 7, REF*F8 = the payer's number)",
    Action.RESUBMIT_NEW: "correct the claim and send it as a new original claim (frequency 1)",
    Action.APPEAL: "appeal with the records that support the service",
    Action.BILL_PATIENT: "bill the patient their responsibility",
    Action.BILL_OTHER_PAYER: "bill the payer that is responsible (coordination of benefits)",
    Action.WRITE_OFF: "write the amount off",
    Action.WORK_QUEUE: "review it in the denial work queue",
}


def remittance_finding(outcome: Outcome) -> Finding | None:
    """What the biller must do after an 835: denials as errors (DENIED) or warnings (PARTIALLY_PAID), a patient
    balance as a warning; a claim paid with nothing left to do gets none. Codes only, never amounts or names."""
    if outcome.category is None and outcome.action is None:
        return None
    share = outcome.patient_responsibility
    owed = (("PR-1", share.deductible), ("PR-2", share.coinsurance), ("PR-3", share.copay))
    patient = " ".join(code for code, amount in owed if amount)
    reasons = " ".join((*(d.carc for d in outcome.denials), *outcome.rarcs)) or patient or "no CARC"
    category = outcome.category.value if outcome.category else "uncategorised"
    return Finding(
        rule_id="REMIT-835",
        severity=Severity.ERROR if outcome.outcome == ClaimOutcome.DENIED else Severity.WARNING,
        x12_location="835 2100 CLP",
        message=f"{outcome.outcome.value.lower()} (CLP02 {outcome.status_code}): {category}, {reasons}"
        + (f" -> {outcome.action.value}" if outcome.action else ""),
        fix=NEXT_ACTION_TEXT.get(outcome.action, "") if outcome.action else "",
    )


def _find_st02(record: SubmissionRecord, control_number: str) -> str | None:
    if control_number in record.transaction_claims:
        return control_number
    if control_number.isdigit():
        for st02 in record.transaction_claims:
            if st02.isdigit() and int(st02) == int(control_number):
                return st02
    return None


def process_response_object(bucket: str, key: str, deps: PipelineDeps) -> ResponseOutcome:
    """Apply one response file.

    Parameters
    ----------
    bucket, key
        ``responses/<tenant>/<kind>/<id>.x12`` in the archive bucket.
    deps
        Ports.
    """
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "responses" or parts[2] not in KINDS or not parts[1]:
        deps.metrics.count("ResponsesIgnored")
        return ResponseOutcome(tenant_id="", response_key=key, kind="", ignored_reason="key is not a response key")
    tenant_id, kind = parts[1], parts[2]
    if deps.store.response_processed(tenant_id, key):
        deps.metrics.count("ResponsesDuplicate", tenant_id=tenant_id)
        return ResponseOutcome(tenant_id=tenant_id, response_key=key, kind=kind, duplicate=True)
    text = deps.objects.get(bucket, key).decode("latin-1")
    apply = _Apply(tenant_id, key, kind, deps)
    try:
        if kind == "999":
            apply.apply_999(acks.parse_999(text))
        elif kind == "277CA":
            apply.apply_277ca(acks.parse_277ca(text))
        else:
            apply.apply_835(parse_835(text))
    except X12SyntaxError as exc:
        apply.unmatched(exc.x12_location, "the response file could not be read as X12")
    apply.publish()
    counts = apply.counts
    changed = counts["accepted"] + counts["rejected"] + counts["adjudicated"]
    deps.store.mark_response_processed(tenant_id, key, kind=kind, changed=changed)
    deps.metrics.count("ClaimsAccepted", counts["accepted"], tenant_id=tenant_id)
    deps.metrics.count("ClaimsAdjudicated", counts["adjudicated"], tenant_id=tenant_id)
    deps.metrics.count("ClaimsPaid", apply.adjudicated[ClaimState.PAID.value], tenant_id=tenant_id)
    deps.metrics.count("ClaimsPartiallyPaid", apply.adjudicated[ClaimState.PARTIALLY_PAID.value], tenant_id=tenant_id)
    deps.metrics.count("ClaimsDenied", apply.adjudicated[ClaimState.DENIED.value], tenant_id=tenant_id)
    for category, denied in sorted(apply.denied_by_category.items()):
        deps.metrics.count("ClaimsDenied", denied, dimensions={"category": category})
    deps.metrics.count("ClaimsReversed", apply.reversed, tenant_id=tenant_id)
    deps.metrics.count("ClaimsRejected", counts["rejected"], tenant_id=tenant_id)
    deps.metrics.count("ResponsesUnmatched", counts["unmatched"], tenant_id=tenant_id)
    deps.metrics.count("ResponsesProcessed", tenant_id=tenant_id)
    return ResponseOutcome(
        tenant_id=tenant_id,
        response_key=key,
        kind=kind,
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        adjudicated=counts["adjudicated"],
        reversals=counts["reversals"],
        unchanged=counts["unchanged"],
        unmatched=counts["unmatched"],
        refused=counts["refused"],
    )
