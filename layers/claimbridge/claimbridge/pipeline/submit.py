"""Submit: READY claims of one tenant become one 837P interchange per clearinghouse, archived, then sent.

Order of writes (each step survives a crash of the next): control numbers from the counter -> claims marked as
carried by the interchange (conditional) -> interchange archived at ``x12/837p/<tenant>/<ISA13>.x12`` -> submission
record (``pending``) -> the clearinghouse call with idempotency key ``<tenant>-<ISA13>`` -> claims SUBMITTED ->
Claim Submitted events. A retry after ``ClearinghouseUnavailable`` (or a crash) re-sends the same archived
interchange under the same key, so the clearinghouse never sees one claim twice under two keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from claimbridge.claim import ProfessionalClaim
from claimbridge.clearinghouse.port import SubmissionReceipt
from claimbridge.errors import ClaimsError, ClearinghouseError, ClearinghouseUnavailable, StateConflict, TenantError
from claimbridge.events import ClaimHeld, ClaimSubmitted
from claimbridge.findings import Finding, Severity
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.state.models import ClaimState, StoredClaim, SubmissionRecord
from claimbridge.tenants import TenantConfig
from claimbridge.x12 import writer
from claimbridge.x12.escaping import X12WriteError
from claimbridge.x12.reader import iter_segments

MAX_CLAIMS_PER_INTERCHANGE = 500
"""Well under the 5000 CLM per ST the 837P guide allows; keeps one Lambda invocation's work bounded."""


class SubmitOutcome(BaseModel):
    """What one ``submit_ready`` call did (ids and counts only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    submitted: int = 0
    not_ready: int = 0
    refused: int = 0
    reannounced: int = 0
    submission_ids: tuple[str, ...] = ()
    tenant_disabled: bool = False


class InterchangeMismatch(ClaimsError):
    """The written interchange does not carry exactly the claims handed to the writer (a writer defect)."""

    code = "CB-INTERCHANGE-MISMATCH"


def transactions_of(x12_text: str) -> dict[str, tuple[str, ...]]:
    """ST02 -> CLM01s of every 837 transaction set in an interchange (what a 999 and a 277CA refer back to)."""
    transactions: dict[str, list[str]] = {}
    current: list[str] | None = None
    for segment in iter_segments(x12_text):
        if segment.tag == "ST":
            current = transactions.setdefault(segment.element(2), []) if segment.element(1) == "837" else None
        elif segment.tag == "CLM" and current is not None:
            current.append(segment.element(1))
        elif segment.tag == "SE":
            current = None
    return {st02: tuple(claim_ids) for st02, claim_ids in transactions.items()}


def interchange_batches(claims: Sequence[StoredClaim], *, split_by_payer: bool) -> list[list[StoredClaim]]:
    """The claims of one interchange each: ordered by payer and claim id, at most ``MAX_CLAIMS_PER_INTERCHANGE``, and
    one payer per interchange when the clearinghouse wants that (``clearinghouse.split_by_payer``)."""
    ordered = sorted(claims, key=lambda c: (c.payer_key or "", c.claim_id))
    groups: list[list[StoredClaim]] = []
    if split_by_payer:
        by_payer: dict[str, list[StoredClaim]] = defaultdict(list)
        for claim in ordered:
            by_payer[claim.payer_key or ""].append(claim)
        groups = list(by_payer.values())
    elif ordered:
        groups = [ordered]
    return [
        group[start : start + MAX_CLAIMS_PER_INTERCHANGE]
        for group in groups
        for start in range(0, len(group), MAX_CLAIMS_PER_INTERCHANGE)
    ]


def submit_ready(tenant_id: str, claim_ids: Sequence[str], deps: PipelineDeps) -> SubmitOutcome:
    """Send the tenant's READY claims among ``claim_ids``.

    Parameters
    ----------
    tenant_id
        The tenant (a disabled tenant submits nothing; its claims stay READY).
    claim_ids
        Claims announced by ``Claim Ready`` events; claims no longer READY are counted and left alone.
    deps
        Ports.

    Raises
    ------
    ClearinghouseUnavailable
        The clearinghouse could not take the interchange now; claims stay READY and the retry re-sends it.
    """
    try:
        tenant = deps.store.get_tenant_config(tenant_id)
    except TenantError:
        deps.metrics.count("SubmissionsSkipped", tenant_id=tenant_id)
        return SubmitOutcome(tenant_id=tenant_id, not_ready=len(claim_ids), tenant_disabled=True)

    unique_ids = list(dict.fromkeys(claim_ids))
    loaded = [c for c in (deps.store.get_claim(tenant_id, cid) for cid in unique_ids) if c is not None]
    ready = [c for c in loaded if c.state == ClaimState.READY and c.claim is not None]
    unannounced = [c for c in loaded if c.state == ClaimState.SUBMITTED and not c.announced and c.submission_id]
    not_ready = len(unique_ids) - len(ready)

    submitted = refused = 0
    submission_ids: list[str] = []
    pending: dict[str, list[StoredClaim]] = defaultdict(list)
    fresh: list[StoredClaim] = []
    for claim in ready:
        if claim.pending_submission_id:
            pending[claim.pending_submission_id].append(claim)
        else:
            fresh.append(claim)

    for submission_id in sorted(pending):
        sent, refused_now, released = _resend(tenant, submission_id, deps)
        submitted += sent
        refused += refused_now
        fresh.extend(released)
        if sent or refused_now:
            submission_ids.append(submission_id)

    for batch in interchange_batches(fresh, split_by_payer=tenant.clearinghouse.split_by_payer):
        prepared = _prepare(tenant, batch, deps)
        if prepared is None:
            continue
        record, x12_text, carried = prepared
        sent, refused_now = _deliver(tenant, record, x12_text, carried, deps)
        submitted += sent
        refused += refused_now
        submission_ids.append(record.submission_id)

    reannounced = _reannounce(tenant, unannounced, deps)
    deps.metrics.count("ClaimsSubmitted", submitted, tenant_id=tenant_id)
    deps.metrics.count("ClaimsNotReady", not_ready, tenant_id=tenant_id)
    deps.metrics.count("ClaimsReannounced", reannounced, tenant_id=tenant_id)
    return SubmitOutcome(
        tenant_id=tenant_id,
        submitted=submitted,
        not_ready=not_ready,
        refused=refused,
        reannounced=reannounced,
        submission_ids=tuple(submission_ids),
    )


def _prepare(
    tenant: TenantConfig, claims: Sequence[StoredClaim], deps: PipelineDeps
) -> tuple[SubmissionRecord, str, list[StoredClaim]] | None:
    """Claim the claims for a new interchange, then write, archive and record it (``None``: the writer refused all).

    The claims are marked first (conditional on the revision read): when two deliveries race for the same claim,
    one loses here, before anything was written for it, releases what it marked and is retried.
    """
    tenant_id = tenant.tenant_id
    receiver_id = tenant.clearinghouse.receiver.id
    control = deps.store.next_interchange_control(tenant_id, receiver_id)
    isa13 = f"{control.interchange_number:09d}"
    submission_id = f"{receiver_id}-{isa13}"
    carried: list[StoredClaim] = []
    try:
        for claim in claims:
            carried.append(deps.store.attach_pending_submission(claim, submission_id))
    except StateConflict:
        for claim in carried:
            deps.store.detach_pending_submission(claim)
        raise
    created = deps.clock()
    while True:
        payloads: list[ProfessionalClaim] = [c.claim for c in carried if c.claim is not None]
        try:
            x12_text = writer.write_837p(payloads, tenant=tenant, control=control, created=created)
            break
        except X12WriteError as exc:
            # Nothing was sent: hold the claim the writer refused and write the others under the same numbers.
            refused = [c for c in carried if c.claim_id == exc.claim_id] or list(carried)
            _hold_refused(tenant, refused, exc, deps)
            carried = [c for c in carried if c not in refused]
            if not carried:
                return None
    transactions = transactions_of(x12_text)
    written = sorted(claim_id for ids in transactions.values() for claim_id in ids)
    if written != sorted(c.claim_id for c in carried):
        raise InterchangeMismatch(f"interchange {isa13} does not carry the claims it was given")
    archive_key = f"x12/837p/{tenant_id}/{isa13}.x12"
    deps.objects.put(deps.archive_bucket, archive_key, x12_text.encode("utf-8"), content_type="application/edi-x12")
    record = SubmissionRecord(
        tenant_id=tenant_id,
        submission_id=submission_id,
        receiver_id=receiver_id,
        interchange_control_number=control.interchange_number,
        group_control_number=control.group_number,
        transaction_claims=transactions,
        archive_key=archive_key,
        idempotency_key=f"{tenant_id}-{isa13}",
        created_at=created,
        updated_at=created,
    )
    deps.store.create_submission(record)
    return record, x12_text, carried


def _hold_refused(tenant: TenantConfig, claims: Sequence[StoredClaim], exc: X12WriteError, deps: PipelineDeps) -> None:
    """A claim the 837P writer refuses (a value no valid 837P can carry) goes back to HELD with the reason, so one bad
    claim never blocks the tenant's other claims nor loops in the queue."""
    finding = Finding(
        rule_id=exc.code,
        severity=Severity.ERROR,
        x12_location=exc.x12_location,
        message=exc.reason,
        fix="correct the source so the element fits the 837P, then send a new version",
    )
    events = []
    for claim in claims:
        released = deps.store.detach_pending_submission(claim)
        reason = f"refused by the 837P writer at {exc.x12_location}"
        received = deps.store.transition(released, ClaimState.RECEIVED, reason=reason, actor=deps.actor)
        held = deps.store.transition(
            received, ClaimState.HELD, reason=reason, actor=deps.actor, findings=(*claim.findings, finding)
        )
        events.append(
            ClaimHeld(
                tenant_id=tenant.tenant_id,
                claim_id=held.claim_id,
                source_key=held.source_key,
                source_version=held.source_version,
                rule_ids=(exc.code,),
                error_count=1,
            )
        )
    deps.events.publish(events)
    deps.metrics.count("ClaimsRefusedByWriter", len(claims), tenant_id=tenant.tenant_id)


def _resend(tenant: TenantConfig, submission_id: str, deps: PipelineDeps) -> tuple[int, int, list[StoredClaim]]:
    """Finish an interchange an earlier attempt left pending: same archived text, same idempotency key.

    Returns (claims submitted, claims refused, claims released): released claims were marked for an interchange
    that was never recorded or that the clearinghouse refused; they go into a new interchange.
    """
    record = deps.store.get_submission(tenant.tenant_id, submission_id)
    if record is None:
        marked = [
            c
            for c in deps.store.claims_in_state(tenant.tenant_id, ClaimState.READY, limit=1000)
            if c.pending_submission_id == submission_id
        ]
        return 0, 0, [deps.store.detach_pending_submission(c) for c in marked]
    carried = [
        claim
        for claim in (deps.store.get_claim(tenant.tenant_id, claim_id) for claim_id in record.claim_ids)
        if claim is not None and claim.state == ClaimState.READY and claim.pending_submission_id == submission_id
    ]
    if record.outcome == "refused":
        return 0, 0, [deps.store.detach_pending_submission(claim) for claim in carried]
    if record.outcome == "submitted":
        # The clearinghouse took it before a crash: only the claim transitions are missing.
        return _mark_submitted(tenant, record, carried, deps), 0, []
    x12_text = deps.objects.get(deps.archive_bucket, record.archive_key).decode("utf-8")
    sent, refused = _deliver(tenant, record, x12_text, carried, deps)
    return sent, refused, []


def _deliver(
    tenant: TenantConfig, record: SubmissionRecord, x12_text: str, claims: Sequence[StoredClaim], deps: PipelineDeps
) -> tuple[int, int]:
    """Call the clearinghouse; return (claims submitted, claims refused)."""
    try:
        adapter = deps.clearinghouse_for(tenant)
        receipt: SubmissionReceipt = adapter.submit(x12_text, idempotency_key=record.idempotency_key)
    except ClearinghouseUnavailable as exc:
        deps.store.record_submission_attempt(record, outcome="pending", error=exc.code)
        deps.metrics.count("SubmissionsDeferred", tenant_id=tenant.tenant_id)
        raise
    except ClearinghouseError as exc:
        deps.store.record_submission_attempt(record, outcome="refused", error=exc.code)
        for claim in claims:
            deps.store.detach_pending_submission(claim)
        deps.metrics.count("SubmissionsRefused", tenant_id=tenant.tenant_id)
        return 0, len(claims)
    record = deps.store.record_submission_attempt(
        record, outcome="submitted", clearinghouse_reference=receipt.submission_id
    )
    deps.metrics.count("InterchangesSubmitted", tenant_id=tenant.tenant_id)
    return _mark_submitted(tenant, record, claims, deps), 0


def _mark_submitted(
    tenant: TenantConfig, record: SubmissionRecord, claims: Sequence[StoredClaim], deps: PipelineDeps
) -> int:
    events = []
    moved_claims = []
    for claim in claims:
        moved = deps.store.transition(
            claim,
            ClaimState.SUBMITTED,
            reason=f"sent in interchange {record.submission_id} (clearinghouse ref {record.clearinghouse_reference})",
            actor=deps.actor,
            submission_id=record.submission_id,
        )
        moved_claims.append(moved)
        events.append(_submitted_event(tenant, record, moved))
    deps.events.publish(events)
    for claim in moved_claims:
        deps.store.mark_announced(claim)
    return len(events)


def _reannounce(tenant: TenantConfig, claims: Sequence[StoredClaim], deps: PipelineDeps) -> int:
    """Publish the Claim Submitted a crash or a bus failure lost (the claim moved, its event did not go out)."""
    events = []
    for claim in claims:
        record = deps.store.get_submission(tenant.tenant_id, claim.submission_id or "")
        if record is not None:
            events.append(_submitted_event(tenant, record, claim))
    deps.events.publish(events)
    for claim in claims:
        deps.store.mark_announced(claim)
    return len(events)


def _submitted_event(tenant: TenantConfig, record: SubmissionRecord, claim: StoredClaim) -> ClaimSubmitted:
    return ClaimSubmitted(
        tenant_id=tenant.tenant_id,
        claim_id=claim.claim_id,
        submission_id=record.submission_id,
        interchange_control_number=f"{record.interchange_control_number:09d}",
        archive_key=record.archive_key,
        clearinghouse_reference=record.clearinghouse_reference,
    )
