"""Submit: READY claims of one tenant become one 837P interchange per clearinghouse, archived, then sent.

Order of writes (each step survives a crash of the next): control numbers from the counter -> interchange archived
at ``x12/837p/<tenant>/<ISA13>.x12`` -> submission record (``pending``) -> claims marked as carried by it -> the
clearinghouse call with idempotency key ``<tenant>-<ISA13>`` -> claims SUBMITTED. A retry after
``ClearinghouseUnavailable`` (or a crash) re-sends the same archived interchange under the same key, so the
clearinghouse never sees one claim twice under two keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from claimbridge.claim import ProfessionalClaim
from claimbridge.clearinghouse.port import SubmissionReceipt
from claimbridge.errors import ClaimsError, ClearinghouseError, ClearinghouseUnavailable, TenantError
from claimbridge.events import ClaimSubmitted
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.state.models import ClaimState, StoredClaim, SubmissionRecord
from claimbridge.tenants import TenantConfig
from claimbridge.x12 import writer
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

    loaded = [deps.store.get_claim(tenant_id, claim_id) for claim_id in dict.fromkeys(claim_ids)]
    ready = [c for c in loaded if c is not None and c.state == ClaimState.READY and c.claim is not None]
    not_ready = len(loaded) - len(ready)

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
        sent, refused_now = _resend(tenant, submission_id, deps)
        submitted += sent
        refused += refused_now
        submission_ids.append(submission_id)

    fresh.sort(key=lambda c: (c.payer_key or "", c.claim_id))
    for start in range(0, len(fresh), MAX_CLAIMS_PER_INTERCHANGE):
        record, x12_text, carried = _prepare(tenant, fresh[start : start + MAX_CLAIMS_PER_INTERCHANGE], deps)
        sent, refused_now = _deliver(tenant, record, x12_text, carried, deps)
        submitted += sent
        refused += refused_now
        submission_ids.append(record.submission_id)

    deps.metrics.count("ClaimsSubmitted", submitted, tenant_id=tenant_id)
    deps.metrics.count("ClaimsNotReady", not_ready, tenant_id=tenant_id)
    return SubmitOutcome(
        tenant_id=tenant_id,
        submitted=submitted,
        not_ready=not_ready,
        refused=refused,
        submission_ids=tuple(submission_ids),
    )


def _prepare(
    tenant: TenantConfig, claims: Sequence[StoredClaim], deps: PipelineDeps
) -> tuple[SubmissionRecord, str, list[StoredClaim]]:
    """Number, write, archive and record one interchange; mark its claims as carried by it."""
    tenant_id = tenant.tenant_id
    receiver_id = tenant.clearinghouse.receiver.id
    control = deps.store.next_interchange_control(tenant_id, receiver_id)
    created = deps.clock()
    payloads: list[ProfessionalClaim] = [c.claim for c in claims if c.claim is not None]
    x12_text = writer.write_837p(payloads, tenant=tenant, control=control, created=created)
    transactions = transactions_of(x12_text)
    written = sorted(claim_id for ids in transactions.values() for claim_id in ids)
    if written != sorted(c.claim_id for c in claims):
        raise InterchangeMismatch(
            f"interchange {control.interchange_number:09d} does not carry the claims it was given"
        )
    isa13 = f"{control.interchange_number:09d}"
    archive_key = f"x12/837p/{tenant_id}/{isa13}.x12"
    deps.objects.put(deps.archive_bucket, archive_key, x12_text.encode("utf-8"), content_type="application/edi-x12")
    record = SubmissionRecord(
        tenant_id=tenant_id,
        submission_id=f"{receiver_id}-{isa13}",
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
    carried = [deps.store.attach_pending_submission(claim, record.submission_id) for claim in claims]
    return record, x12_text, carried


def _resend(tenant: TenantConfig, submission_id: str, deps: PipelineDeps) -> tuple[int, int]:
    """Finish an interchange an earlier attempt left pending: same archived text, same idempotency key."""
    record = deps.store.get_submission(tenant.tenant_id, submission_id)
    carried = [
        claim
        for claim in (
            deps.store.get_claim(tenant.tenant_id, claim_id) for claim_id in (record.claim_ids if record else ())
        )
        if claim is not None and claim.state == ClaimState.READY and claim.pending_submission_id == submission_id
    ]
    if record is None or record.outcome == "refused":
        for claim in carried:
            deps.store.detach_pending_submission(claim)
        return 0, 0
    if record.outcome == "submitted":
        # The clearinghouse took it before a crash: only the claim transitions are missing.
        return _mark_submitted(tenant, record, carried, deps), 0
    x12_text = deps.objects.get(deps.archive_bucket, record.archive_key).decode("utf-8")
    return _deliver(tenant, record, x12_text, carried, deps)


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
    for claim in claims:
        moved = deps.store.transition(
            claim,
            ClaimState.SUBMITTED,
            reason=f"sent in interchange {record.submission_id} (clearinghouse ref {record.clearinghouse_reference})",
            actor=deps.actor,
            submission_id=record.submission_id,
        )
        events.append(
            ClaimSubmitted(
                tenant_id=tenant.tenant_id,
                claim_id=moved.claim_id,
                submission_id=record.submission_id,
                interchange_control_number=f"{record.interchange_control_number:09d}",
                archive_key=record.archive_key,
                clearinghouse_reference=record.clearinghouse_reference,
            )
        )
    deps.events.publish(events)
    return len(events)
