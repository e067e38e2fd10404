"""Biller actions on one claim: resubmit a fixed claim, correct (7) or void (8) an answered one, write off, close,
resend; and replay a tenant's quarantined inputs once it is enabled again.

Every action is a conditional transition (``ClaimStorePort.transition``) with an audit history entry naming the
action, the actor and the biller's reason. A refused action (the claim's state does not allow it, no payer claim
number, a claim already acted on) raises ``ActionRefused`` after recording the refusal in the claim's history, and
changes nothing else. The reason is free text typed by staff: it lands in the history only, never in logs,
events, metrics or error messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError

from claimbridge.claim import ClaimFrequency, ProfessionalClaim
from claimbridge.corrections import CORRECTABLE_STATES, CorrectionError, correction_for
from claimbridge.errors import ClaimsError, StateConflict, TenantError
from claimbridge.events import (
    BusEventDetail,
    ClaimClosed,
    FhirBundleSubmittedEvent,
)
from claimbridge.findings import Finding, Severity
from claimbridge.overrides import ClaimOverrides, LineOverride, OverrideError, apply_overrides
from claimbridge.pipeline.announce import state_event
from claimbridge.pipeline.ingest import scrub_with_store
from claimbridge.pipeline.ports import ObjectMissing, PipelineDeps
from claimbridge.pipeline.submit import SubmissionNotFound, resend_failed
from claimbridge.pipeline.submitted import accept_submitted_event
from claimbridge.remit.denials import denial_table
from claimbridge.state.models import ADJUDICATED_STATES, ALLOWED_TRANSITIONS, ClaimState, StoredClaim, TenantRecord

__all__ = [
    "ActionRefused",
    "ActionResult",
    "ClaimNotFound",
    "ClaimOverrides",
    "InvalidOverride",
    "LineOverride",
    "ReplayResult",
    "close_claim",
    "correct_claim",
    "replay_quarantined",
    "resend_claim",
    "resubmit_claim",
    "write_off_claim",
]

Action = Literal["resubmit", "correct", "void", "write_off", "close", "resend"]


class ClaimNotFound(ClaimsError):
    """No claim with this id for the tenant (the API answers 404)."""

    code: ClassVar[str] = "CB-CLAIM-NOT-FOUND"


class ActionRefused(ClaimsError):
    """The claim's state (or its data) does not allow the action; nothing changed (the API answers 409).

    ``findings`` are what would hold the claim when the refusal comes from the scrubber (ids and locations only).
    """

    code: ClassVar[str] = "CB-ACTION-REFUSED"

    def __init__(self, message: str, *, findings: tuple[Finding, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings


class InvalidOverride(ActionRefused):
    """The overrides do not fit the claim (a line it lacks, an NPI off the roster, a pointer past the diagnoses)."""

    code: ClassVar[str] = "CB-OVERRIDE-INVALID"


class ActionResult(BaseModel):
    """What an action did to the claim (ids, states and findings: safe to return and log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    claim_id: str
    action: Action
    from_state: ClaimState
    state: ClaimState
    revision: int
    findings: tuple[Finding, ...] = ()
    related_claim_id: str | None = None


class ReplayResult(BaseModel):
    """What a replay of a tenant's quarantined inputs did: the input keys sent back through ingest, and counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    replayed: tuple[str, ...] = ()
    skipped: int = 0
    already_replayed: int = 0
    missing: int = 0


RESUBMITTABLE_STATES = frozenset({ClaimState.HELD, ClaimState.REJECTED})
"""HELD: the scrubber (or the clearinghouse) held it before the payer saw it; REJECTED: a 999/277CA refused it."""
WRITE_OFF_STATES = ADJUDICATED_STATES
"""Claims with an adjudicated balance (an 835 posted to them)."""
QUARANTINE_REPLAY_CODE = "IN-TENANT"


def _load(tenant_id: str, claim_id: str, deps: PipelineDeps) -> StoredClaim:
    claim = deps.store.get_claim(tenant_id, claim_id)
    if claim is None:
        raise ClaimNotFound(f"tenant {tenant_id}: no claim {claim_id}")
    return claim


def _audit(action: str, actor: str, reason: str, paths: Sequence[str] = ()) -> str:
    """The history reason: the action, who, the overridden field paths (never values) and the biller's own words."""
    overridden = f" (overridden: {', '.join(paths)})" if paths else ""
    return f"{action} by {actor}{overridden}: {reason}"


def _refuse(
    current: StoredClaim,
    target: ClaimState,
    *,
    action: Action,
    why: str,
    reason: str,
    actor: str,
    deps: PipelineDeps,
    findings: tuple[Finding, ...] = (),
    error: type[ActionRefused] = ActionRefused,
) -> NoReturn:
    """Record the refused attempt in the claim's history, count it, raise (``why`` names states and ids only)."""
    deps.store.record_refusal(current, target, reason=_audit(action, actor, f"{why}; {reason}"), actor=actor)
    deps.metrics.count("ClaimActionsRefused", tenant_id=current.tenant_id)
    raise error(f"claim {current.claim_id}: {why}", findings=findings)


def _tenant(
    current: StoredClaim, target: ClaimState, *, action: Action, reason: str, actor: str, deps: PipelineDeps
) -> TenantRecord:
    """The claim's tenant, enabled: nothing is scrubbed or sent for a disabled tenant."""
    try:
        return deps.store.get_tenant(current.tenant_id)
    except TenantError:
        _refuse(current, target, action=action, why="the tenant is disabled", reason=reason, actor=actor, deps=deps)


def _transition(
    current: StoredClaim, target: ClaimState, *, action: Action, deps: PipelineDeps, **changes: Any
) -> StoredClaim:
    """The conditional move; a claim changed meanwhile (another biller, a response) is refused, not overwritten."""
    try:
        return deps.store.transition(current, target, **changes)
    except StateConflict as exc:
        raise ActionRefused(f"claim {current.claim_id} changed meanwhile: read it again ({action})") from exc


def _scrub(claim: ProfessionalClaim, tenant: TenantRecord, deps: PipelineDeps) -> tuple[Finding, ...]:
    """The scrubber exactly as ingest runs it: tenant document, pinned or current date, the store's history."""
    return scrub_with_store(claim, tenant.config, deps)


def _intake_findings(claim: StoredClaim) -> tuple[Finding, ...]:
    """What intake said (``IN-*``) stays; scrubber, clearinghouse and payer findings are evaluated again."""
    return tuple(f for f in claim.findings if f.rule_id.startswith("IN-"))


def _errors(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.severity == Severity.ERROR)


def _overridden(
    current: StoredClaim,
    overrides: ClaimOverrides | None,
    tenant: TenantRecord,
    *,
    target: ClaimState,
    action: Action,
    reason: str,
    actor: str,
    deps: PipelineDeps,
) -> tuple[ProfessionalClaim | None, tuple[str, ...]]:
    """The stored content with ``overrides`` applied (None: nothing overridden), and the overridden paths."""
    if overrides is None or current.claim is None:
        return None, ()
    try:
        claim, paths = apply_overrides(current.claim, overrides, tenant=tenant.config)
    except OverrideError as exc:
        _refuse(
            current, target, action=action, why=str(exc), reason=reason, actor=actor, deps=deps, error=InvalidOverride
        )
    return (claim, paths) if paths else (None, ())


def _result(action: Action, before: StoredClaim, after: StoredClaim) -> ActionResult:
    return ActionResult(
        tenant_id=after.tenant_id,
        claim_id=after.claim_id,
        action=action,
        from_state=before.state,
        state=after.state,
        revision=after.revision,
        findings=after.findings,
        related_claim_id=after.related_claim_id,
    )


def _announce(deps: PipelineDeps, claim: StoredClaim, detail: BusEventDetail | None = None) -> StoredClaim:
    """Publish ``detail`` (default: the event of the claim's state) and record it; a lost one is swept later."""
    event = detail or state_event(claim)
    if event is not None:
        deps.events.publish([event])
    return deps.store.mark_announced(claim)


def resubmit_claim(
    tenant_id: str,
    claim_id: str,
    *,
    reason: str,
    actor: str,
    deps: PipelineDeps,
    overrides: ClaimOverrides | None = None,
) -> ActionResult:
    """A HELD (or REJECTED) claim, fixed by ``overrides``, scrubbed again: READY (Claim Ready) or HELD (Claim Held).

    The claim goes back through RECEIVED with its new content and the tenant configuration version it is scrubbed
    with, then exactly as ingest classifies it: intake findings (``IN-*``) stay, everything else is found again by
    the scrubber over the store's history. It keeps its CLM01 and frequency: a REJECTED claim never reached the
    payer's books, so it goes out again as billed. Without overrides this is a re-scrub (after a configuration fix).
    A new FHIR version of a HELD claim needs no action: ingest replaces the claim (and these overrides) itself.

    Raises
    ------
    ClaimNotFound
        No such claim for the tenant.
    ActionRefused
        Not HELD or REJECTED, no claim content (intake could not map it), a disabled tenant, or a concurrent change;
        ``InvalidOverride`` when the overrides do not fit the claim.
    """
    action: Action = "resubmit"
    current = _load(tenant_id, claim_id, deps)
    target = ClaimState.RECEIVED
    if current.state not in RESUBMITTABLE_STATES:
        _refuse(
            current,
            target,
            action=action,
            why=f"{current.state.value} cannot be resubmitted (HELD or REJECTED only)",
            reason=reason,
            actor=actor,
            deps=deps,
        )
    if current.claim is None:
        _refuse(
            current,
            target,
            action=action,
            why="no claim content (intake findings): send a new FHIR version",
            reason=reason,
            actor=actor,
            deps=deps,
        )
    tenant = _tenant(current, target, action=action, reason=reason, actor=actor, deps=deps)
    changed, paths = _overridden(
        current, overrides, tenant, target=target, action=action, reason=reason, actor=actor, deps=deps
    )
    kept = _intake_findings(current)
    received = _transition(
        current,
        target,
        action=action,
        deps=deps,
        reason=_audit(action, actor, reason, paths),
        actor=actor,
        findings=kept,
        claim=changed,
        config_version=tenant.config_version,
    )
    content = changed or current.claim
    findings = tuple(dict.fromkeys((*kept, *_scrub(content, tenant, deps))))
    errors = _errors(findings)
    rule_ids = tuple(dict.fromkeys(f.rule_id for f in errors))
    moved = _transition(
        received,
        ClaimState.HELD if errors else ClaimState.READY,
        action=action,
        deps=deps,
        reason=f"held by {', '.join(rule_ids)}" if errors else "scrubbed clean",
        actor=actor,
        findings=findings,
    )
    moved = _announce(deps, moved)
    deps.metrics.count("ClaimsResubmitted", tenant_id=tenant_id)
    return _result(action, current, moved)


def correct_claim(
    tenant_id: str,
    claim_id: str,
    *,
    frequency: Literal["7", "8"],
    reason: str,
    actor: str,
    deps: PipelineDeps,
    overrides: ClaimOverrides | None = None,
) -> ActionResult:
    """A replacement (7) or void (8) of a claim the payer answered, with REF*F8, queued for the submit flow.

    The claim keeps its CLM01 (the payer pairs the new claim with the old one by REF*F8 = its claim number, and our
    999/277CA/835 matching keeps working on CLM01/CLP01); its content becomes the frequency-7/8 claim and it moves to
    CORRECTED, announced by ``Claim Corrected`` for the submit flow. A replacement carries the overrides and must
    scrub clean (the findings come back in the refusal otherwise); a void repeats the claim as it was sent.

    Raises
    ------
    ClaimNotFound
        No such claim for the tenant.
    ActionRefused
        The payer has not answered the claim (REJECTED/PAID/PARTIALLY_PAID/DENIED only), no payer claim number
        (BH-CLM-01), scrubber errors in the replacement, overrides on a void, a disabled tenant, a concurrent change.
    """
    action: Action = "correct" if frequency == "7" else "void"
    current = _load(tenant_id, claim_id, deps)
    target = ClaimState.CORRECTED
    if current.state not in CORRECTABLE_STATES:
        _refuse(
            current,
            target,
            action=action,
            why=f"{current.state.value} cannot be corrected or voided (the payer has not answered it)",
            reason=reason,
            actor=actor,
            deps=deps,
        )
    if frequency == "8" and overrides is not None:
        _refuse(
            current,
            target,
            action=action,
            why="a void repeats the claim as sent: no overrides",
            reason=reason,
            actor=actor,
            deps=deps,
            error=InvalidOverride,
        )
    tenant = _tenant(current, target, action=action, reason=reason, actor=actor, deps=deps)
    changed, paths = _overridden(
        current, overrides, tenant, target=target, action=action, reason=reason, actor=actor, deps=deps
    )
    try:
        built = correction_for(current, ClaimFrequency(frequency), corrected=changed)
    except CorrectionError as exc:
        _refuse(current, target, action=action, why=f"{exc.rule_id}: {exc}", reason=reason, actor=actor, deps=deps)
    findings: tuple[Finding, ...] = ()
    if frequency == "7":
        findings = tuple(dict.fromkeys((*_intake_findings(current), *_scrub(built, tenant, deps))))
        if _errors(findings):
            rule_ids = ", ".join(dict.fromkeys(f.rule_id for f in _errors(findings)))
            _refuse(
                current,
                target,
                action=action,
                why=f"the replacement does not scrub clean ({rule_ids})",
                reason=reason,
                actor=actor,
                deps=deps,
                findings=findings,
            )
    moved = _transition(
        current,
        target,
        action=action,
        deps=deps,
        reason=_audit(f"{action} (frequency {frequency}, REF*F8 = the payer's claim number)", actor, reason, paths),
        actor=actor,
        findings=findings,
        claim=built,
        config_version=tenant.config_version,
    )
    moved = _announce(deps, moved)
    deps.metrics.count("ClaimsCorrected" if action == "correct" else "ClaimsVoided", tenant_id=tenant_id)
    return _result(action, current, moved)


def write_off_claim(tenant_id: str, claim_id: str, *, reason: str, actor: str, deps: PipelineDeps) -> ActionResult:
    """An adjudicated balance the practice will not pursue: CLOSED, the written-off amount recorded.

    The amount is what the claim's 835 posting left open (``open_balance``); ``None`` without a posting. It feeds the
    net collection rate (issue 9). Only PAID / PARTIALLY_PAID / DENIED claims have such a balance; anything else is
    closed instead.
    """
    action: Action = "write_off"
    current = _load(tenant_id, claim_id, deps)
    target = ClaimState.CLOSED
    if current.state not in WRITE_OFF_STATES:
        _refuse(
            current,
            target,
            action=action,
            why=f"{current.state.value} has no adjudicated balance to write off",
            reason=reason,
            actor=actor,
            deps=deps,
        )
    amount = open_balance(current)
    moved = _transition(
        current, target, action=action, deps=deps, reason=_audit(action, actor, reason), actor=actor, written_off=amount
    )
    moved = _announce(deps, moved, ClaimClosed(tenant_id=tenant_id, claim_id=claim_id, action="write_off"))
    deps.metrics.count("ClaimsWrittenOff", tenant_id=tenant_id)
    return _result(action, current, moved)


def open_balance(claim: StoredClaim) -> Decimal | None:
    """What the claim's 835 posting left for the practice to collect from the payer: charge - paid - patient
    responsibility - the payer's normal contractual adjustments (CO-45, CO-253 ... of the CARC table's ``normal``
    rows: never collectible, so never a write-off); never below 0. ``None`` without a posting."""
    posting = claim.remittance
    if posting is None:
        return None
    payment = posting.payment
    table = denial_table(posting.payment_date)
    contractual = sum(
        (a.amount for a in payment.all_adjustments if a.group != "PR" and table.is_normal(a)),
        Decimal(0),
    )
    balance = payment.charge - payment.paid - posting.patient_responsibility - contractual
    return max(balance, Decimal(0)).quantize(Decimal("0.01"))


def close_claim(tenant_id: str, claim_id: str, *, reason: str, actor: str, deps: PipelineDeps) -> ActionResult:
    """Stop working a claim: CLOSED with the reason (any state the lifecycle lets close; not while in flight)."""
    action: Action = "close"
    current = _load(tenant_id, claim_id, deps)
    target = ClaimState.CLOSED
    if current.state == ClaimState.READY and current.pending_submission_id is not None:
        _refuse(
            current, target, action=action, why="its interchange is being sent", reason=reason, actor=actor, deps=deps
        )
    if current.state == target or target not in ALLOWED_TRANSITIONS[current.state]:
        _refuse(
            current,
            target,
            action=action,
            why=f"{current.state.value} cannot be closed",
            reason=reason,
            actor=actor,
            deps=deps,
        )
    moved = _transition(current, target, action=action, deps=deps, reason=_audit(action, actor, reason), actor=actor)
    moved = _announce(deps, moved, ClaimClosed(tenant_id=tenant_id, claim_id=claim_id, action="close"))
    deps.metrics.count("ClaimsClosed", tenant_id=tenant_id)
    return _result(action, current, moved)


def resend_claim(tenant_id: str, claim_id: str, *, reason: str, actor: str, deps: PipelineDeps) -> ActionResult:
    """A FAILED_TO_SEND claim's interchange sent again (same file, same idempotency key): READY.

    This is ``resend_failed`` of the claim's interchange, so every claim still waiting in it goes back to READY too
    (one file, one idempotency key: the clearinghouse never sees a claim twice under two keys).
    """
    action: Action = "resend"
    current = _load(tenant_id, claim_id, deps)
    target = ClaimState.READY
    if current.state != ClaimState.FAILED_TO_SEND or current.pending_submission_id is None:
        _refuse(
            current,
            target,
            action=action,
            why=f"{current.state.value} has no failed interchange to resend",
            reason=reason,
            actor=actor,
            deps=deps,
        )
    _tenant(current, target, action=action, reason=reason, actor=actor, deps=deps)
    try:
        resend_failed(tenant_id, current.pending_submission_id, deps, actor=actor, note=_audit(action, actor, reason))
    except (SubmissionNotFound, StateConflict) as exc:
        raise ActionRefused(f"claim {claim_id}: interchange {current.pending_submission_id} cannot be resent") from exc
    moved = _load(tenant_id, claim_id, deps)
    return _result(action, current, moved)


def replay_quarantined(tenant_id: str, *, actor: str, deps: PipelineDeps) -> ReplayResult:
    """Send every input quarantined for the tenant as ``IN-TENANT`` back through ingest, each once.

    Reads the error reports under ``quarantine/<tenant>/``: an S3 drop is copied back to where it came from (its
    key under the tenant's inbound prefix, so ``Object Created`` takes it through ingest again, with its metadata);
    a ``FHIR Bundle Submitted`` event is accepted again into the inbound bucket. Each is marked replayed after it went
    back (a second replay skips it; ingest counts a claim seen twice as a duplicate). Inputs quarantined for another
    reason (``IN-FORMAT``: the file itself is wrong) are skipped. ``replayed`` holds the quarantine keys.

    Raises
    ------
    ActionRefused
        The tenant is still disabled or unknown.
    """
    try:
        deps.store.get_tenant(tenant_id)
    except TenantError as exc:
        raise ActionRefused(f"tenant {tenant_id} is disabled or unknown: enable it before replaying") from exc
    prefix = f"quarantine/{tenant_id}/"
    replayed: list[str] = []
    counts = {"skipped": 0, "already": 0, "missing": 0}
    for report_key in deps.objects.list_keys(deps.archive_bucket, prefix):
        if not report_key.endswith(".error.json"):
            continue
        report = _report(deps, report_key)
        quarantine_key = str(report.get("quarantine_key", "")) if report else ""
        if report is None or not quarantine_key.startswith(prefix) or QUARANTINE_REPLAY_CODE not in _codes(report):
            counts["skipped"] += 1
            continue
        if deps.store.quarantine_replayed(tenant_id, quarantine_key):
            counts["already"] += 1
            continue
        outcome = _replay_one(tenant_id, quarantine_key, report.get("source") or {}, deps)
        if outcome != "replayed":
            counts[outcome] += 1
            continue
        if deps.store.mark_quarantine_replayed(tenant_id, quarantine_key, actor=actor):
            replayed.append(quarantine_key)
        else:
            counts["already"] += 1
    deps.metrics.count("QuarantineReplayed", len(replayed), tenant_id=tenant_id)
    return ReplayResult(
        tenant_id=tenant_id,
        replayed=tuple(replayed),
        skipped=counts["skipped"],
        already_replayed=counts["already"],
        missing=counts["missing"],
    )


def _report(deps: PipelineDeps, key: str) -> dict[str, Any] | None:
    try:
        document = json.loads(deps.objects.get(deps.archive_bucket, key))
    except (ObjectMissing, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _codes(report: dict[str, Any]) -> set[str]:
    """The ``IN-*`` codes of the report's OperationOutcome."""
    issues = (report.get("operation_outcome") or {}).get("issue", [])
    return {coding.get("code", "") for issue in issues for coding in (issue.get("details") or {}).get("coding", [])}


def _replay_one(
    tenant_id: str, quarantine_key: str, source: dict[str, Any], deps: PipelineDeps
) -> Literal["replayed", "skipped", "missing"]:
    """Put one quarantined input back where ingest takes it; only ever under the tenant's own inbound prefix."""
    if "event_id" in source:
        if deps.inbound_bucket is None:
            return "skipped"
        try:
            event = FhirBundleSubmittedEvent.model_validate_json(deps.objects.get(deps.archive_bucket, quarantine_key))
        except ObjectMissing:
            return "missing"
        except ValidationError:
            return "skipped"
        outcome = accept_submitted_event(event, deps, inbound_bucket=deps.inbound_bucket)
        return "skipped" if outcome.quarantined or outcome.tenant_id != tenant_id else "replayed"
    bucket, key = str(source.get("bucket", "")), str(source.get("key", ""))
    if not bucket or not key.startswith(f"{tenant_id}/"):
        return "skipped"
    try:
        deps.objects.copy(deps.archive_bucket, quarantine_key, bucket, key)
    except ObjectMissing:
        return "missing"
    return "replayed"
