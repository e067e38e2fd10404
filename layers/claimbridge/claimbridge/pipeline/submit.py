"""Submit: READY claims of one tenant become one 837P interchange per clearinghouse, archived, then sent.

A biller's replacement or void (CORRECTED, announced by ``Claim Corrected``) is sent the same way: its stored content
already carries CLM05-3 7/8 and REF*F8, so everything below applies to it as to a READY claim.

Order of writes (each step survives a crash of the next): control numbers from the counter -> claims marked as
carried by the interchange (conditional) -> interchange archived at ``x12/837p/<tenant>/<ISA13>.x12`` -> submission
record (``pending``) -> the clearinghouse call with idempotency key ``<tenant>-<ISA13>`` -> claims SUBMITTED ->
Claim Submitted events. A retry (or a crash) re-sends the same archived interchange under the same key, so the
clearinghouse never sees one claim twice under two keys.

What each clearinghouse answer does to the interchange (its submission record) and its claims:

==========================================  ===================  ==============================================
answer                                      record               claims
==========================================  ===================  ==============================================
taken (2xx)                                 ``submitted``        SUBMITTED, ``Claim Submitted``
5xx, 429, timeout, dropped connection       ``pending``, retry   stay READY; deferred until ``next_attempt_at``
  ... the ``max_attempts``-th time          ``failed``           FAILED_TO_SEND, ``Claim Failed To Send``
401/403, no usable adapter (config)         ``failed``           FAILED_TO_SEND at once (retrying cannot help)
other 4xx (the clearinghouse refuses it)    ``refused``          HELD with a finding per clearinghouse error
==========================================  ===================  ==============================================

Retries use exponential backoff with full jitter, never sooner than a ``Retry-After`` (``claimbridge.pipeline.retry``);
the caller hides the deferred claims' messages until the retry is due. After one retryable failure the rest of the
tenant's interchanges in this call wait too, so a 429 storm is not answered with more requests. ``resend_failed``
moves a failed interchange's claims back to READY: the same file, the same key, a fresh bound of attempts.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from claimbridge.claim import ProfessionalClaim
from claimbridge.clearinghouse.errors import (
    ApiError,
    ClearinghouseAuthError,
    ClearinghouseConfigError,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
    ClearinghouseUnsupported,
)
from claimbridge.errors import ClaimsError, ClearinghouseError, ClearinghouseUnavailable, StateConflict, TenantError
from claimbridge.events import BusEventDetail, ClaimFailedToSend, ClaimHeld, ClaimSubmitted
from claimbridge.findings import Finding, Severity
from claimbridge.observability import log_context
from claimbridge.pipeline.announce import state_event
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.pipeline.retry import RetryPolicy, backoff_seconds
from claimbridge.state.models import SENDABLE_STATES, ClaimState, StoredClaim, SubmissionRecord
from claimbridge.tenants import TenantConfig
from claimbridge.x12 import writer
from claimbridge.x12.escaping import X12WriteError
from claimbridge.x12.reader import iter_segments

MAX_CLAIMS_PER_INTERCHANGE = 500
"""Well under the 5000 CLM per ST the 837P guide allows; keeps one Lambda invocation's work bounded."""
DEFAULT_RETRY_POLICY = RetryPolicy()
logger = logging.getLogger(__name__)


class Deferred(BaseModel):
    """Claims whose interchange is to be tried again in ``retry_in_seconds`` (``reason``: an error code)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    submission_id: str | None
    claim_ids: tuple[str, ...]
    retry_in_seconds: int
    reason: str


class SubmitOutcome(BaseModel):
    """What one ``submit_ready`` call did (ids and counts only).

    ``refused``: claims the clearinghouse refused for good (now HELD); ``failed_to_send``: claims moved to
    FAILED_TO_SEND; ``deferred``: claims to try again later, with when.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    submitted: int = 0
    not_ready: int = 0
    refused: int = 0
    failed_to_send: int = 0
    reannounced: int = 0
    submission_ids: tuple[str, ...] = ()
    deferred: tuple[Deferred, ...] = ()
    tenant_disabled: bool = False

    def retry_in(self, claim_id: str) -> int | None:
        """Seconds until the claim's interchange is due again; ``None`` when the claim needs no retry."""
        delays = [item.retry_in_seconds for item in self.deferred if claim_id in item.claim_ids]
        return max(delays) if delays else None


class ResendOutcome(BaseModel):
    """What one ``resend_failed`` call did."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    submission_id: str
    resent: int
    max_attempts: int


class SubmissionNotFound(ClaimsError):
    """No submission record with this id for the tenant."""

    code = "CB-SUBMISSION-NOT-FOUND"


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


def submit_ready(
    tenant_id: str,
    claim_ids: Sequence[str],
    deps: PipelineDeps,
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    rng: Callable[[], float] | None = None,
) -> SubmitOutcome:
    """Send the tenant's READY claims among ``claim_ids``.

    Parameters
    ----------
    tenant_id
        The tenant (a disabled tenant submits nothing; its claims stay READY).
    claim_ids
        Claims announced by ``Claim Ready`` events; claims no longer READY are counted and left alone.
    deps
        Ports.
    policy
        Bound and backoff of the attempts of a new interchange (a stored interchange keeps its own bound).
    rng
        Jitter source (tests pin it).

    Returns
    -------
    SubmitOutcome
        ``deferred`` names the claims to retry and when; nothing is raised for a clearinghouse failure.
    """
    try:
        tenant = deps.store.get_tenant_config(tenant_id)
    except TenantError:
        deps.metrics.count("SubmissionsSkipped", tenant_id=tenant_id)
        return SubmitOutcome(tenant_id=tenant_id, not_ready=len(claim_ids), tenant_disabled=True)

    unique_ids = list(dict.fromkeys(claim_ids))
    loaded = [c for c in (deps.store.get_claim(tenant_id, cid) for cid in unique_ids) if c is not None]
    ready = [c for c in loaded if c.state in SENDABLE_STATES and c.claim is not None]
    unannounced = [
        c
        for c in loaded
        if not c.announced
        and (
            (c.state == ClaimState.SUBMITTED and c.submission_id)
            or (c.state == ClaimState.FAILED_TO_SEND and c.pending_submission_id)
        )
    ]
    pending: dict[str, list[StoredClaim]] = defaultdict(list)
    fresh: list[StoredClaim] = []
    for claim in ready:
        if claim.pending_submission_id:
            pending[claim.pending_submission_id].append(claim)
        else:
            fresh.append(claim)

    run = _SubmitRun(tenant, deps, policy, rng)
    for submission_id in sorted(pending):
        fresh.extend(run.resume(submission_id))
    for batch in interchange_batches(fresh, split_by_payer=tenant.clearinghouse.split_by_payer):
        run.send_new(batch)

    reannounced = _reannounce(tenant, unannounced, deps)
    deps.metrics.count("ClaimsSubmitted", run.submitted, tenant_id=tenant_id)
    deps.metrics.count("ClaimsNotReady", len(unique_ids) - len(ready), tenant_id=tenant_id)
    deps.metrics.count("ClaimsReannounced", reannounced, tenant_id=tenant_id)
    deps.metrics.count("ClaimsDeferred", sum(len(d.claim_ids) for d in run.deferred), tenant_id=tenant_id)
    return SubmitOutcome(
        tenant_id=tenant_id,
        submitted=run.submitted,
        not_ready=len(unique_ids) - len(ready),
        refused=run.refused,
        failed_to_send=run.failed_to_send,
        reannounced=reannounced,
        submission_ids=tuple(dict.fromkeys(run.submission_ids)),
        deferred=tuple(run.deferred),
    )


class _SubmitRun:
    """One ``submit_ready`` call's interchanges, counts and retry state."""

    def __init__(
        self, tenant: TenantConfig, deps: PipelineDeps, policy: RetryPolicy, rng: Callable[[], float] | None
    ) -> None:
        self.tenant = tenant
        self.deps = deps
        self.policy = policy
        self.rng = rng
        self.submitted = self.refused = self.failed_to_send = 0
        self.submission_ids: list[str] = []
        self.deferred: list[Deferred] = []
        self.backing_off: tuple[int, str] | None = None
        """(seconds, reason) once a retryable failure happened: the rest of this call waits as long, untried."""

    def defer(self, claims: Sequence[StoredClaim], seconds: int, submission_id: str | None, reason: str) -> None:
        if claims:
            self.deferred.append(
                Deferred(
                    submission_id=submission_id,
                    claim_ids=tuple(c.claim_id for c in claims),
                    retry_in_seconds=seconds,
                    reason=reason,
                )
            )

    def resume(self, submission_id: str) -> list[StoredClaim]:
        """Finish an interchange an earlier attempt left pending: same archived text, same idempotency key.

        Returns the claims released for a new interchange: marked for an interchange that was never recorded.
        """
        deps, tenant_id = self.deps, self.tenant.tenant_id
        record = deps.store.get_submission(tenant_id, submission_id)
        if record is None:
            marked = [
                c
                for state in sorted(SENDABLE_STATES)
                for c in deps.store.claims_in_state(tenant_id, state, limit=1000)
                if c.pending_submission_id == submission_id
            ]
            return [deps.store.detach_pending_submission(c) for c in marked]
        carried = [
            claim
            for claim in (deps.store.get_claim(tenant_id, claim_id) for claim_id in record.claim_ids)
            if claim is not None and claim.state in SENDABLE_STATES and claim.pending_submission_id == submission_id
        ]
        self.submission_ids.append(submission_id)
        if record.outcome == "submitted":
            # The clearinghouse took it before a crash: only the claim transitions are missing.
            self.submitted += _mark_submitted(self.tenant, record, carried, deps)
        elif record.outcome == "refused":
            self._hold(record, carried, _findings_for(record.last_error or "CH-REJECTED", ()))
        elif record.outcome == "failed":
            self._fail_to_send(record, carried)
        elif self.backing_off is not None:
            seconds, reason = self.backing_off
            self.defer(carried, seconds, submission_id, reason)
        elif record.next_attempt_at is not None and deps.clock() < record.next_attempt_at:
            # Back early (another claim's message of this interchange, or a redelivery): wait out the schedule.
            wait = math.ceil((record.next_attempt_at - deps.clock()).total_seconds())
            self.defer(carried, max(1, wait), submission_id, "not-due")
        else:
            x12_text = deps.objects.get(deps.archive_bucket, record.archive_key).decode("utf-8")
            self.deliver(record, x12_text, carried)
        return []

    def send_new(self, claims: Sequence[StoredClaim]) -> None:
        """Write, archive, record and send a new interchange (unless this call is already backing off)."""
        if self.backing_off is not None:
            seconds, reason = self.backing_off
            self.defer(claims, seconds, None, reason)
            return
        prepared = _prepare(self.tenant, claims, self.deps, max_attempts=self.policy.max_attempts)
        if prepared is None:
            return
        record, x12_text, carried = prepared
        self.submission_ids.append(record.submission_id)
        self.deliver(record, x12_text, carried)

    def deliver(self, record: SubmissionRecord, x12_text: str, claims: Sequence[StoredClaim]) -> None:
        """One call to the clearinghouse; every log line of it names the interchange (ids only)."""
        with log_context(
            submission_id=record.submission_id,
            interchange_control_number=f"{record.interchange_control_number:09d}",
        ):
            self._deliver(record, x12_text, claims)

    def _deliver(self, record: SubmissionRecord, x12_text: str, claims: Sequence[StoredClaim]) -> None:
        """What the clearinghouse's answer does to the record and the claims."""
        deps, tenant_id = self.deps, self.tenant.tenant_id
        try:
            adapter = deps.clearinghouse_for(self.tenant)
            with _timed_call(deps, record.receiver_id):
                receipt = adapter.submit(x12_text, idempotency_key=record.idempotency_key)
        except ClearinghouseUnavailable as exc:
            self._count_failure(record)
            logger.warning(
                "clearinghouse unavailable: interchange kept for a retry",
                extra={"error_code": error_code(exc), "attempt": record.attempts + 1, "claims": len(claims)},
            )
            self._retry_later(record, claims, exc)
            return
        except (ClearinghouseAuthError, ClearinghouseConfigError, ClearinghouseUnsupported) as exc:
            # The account or the tenant's clearinghouse block is wrong: every retry would fail the same way.
            self._count_failure(record)
            logger.error(
                "clearinghouse account or configuration refused: claims FAILED_TO_SEND",
                extra={"error_code": error_code(exc), "claims": len(claims)},
            )
            failed = deps.store.record_submission_attempt(record, outcome="failed", error=error_code(exc))
            self._fail_to_send(failed, claims)
            return
        except ClearinghouseError as exc:
            logger.warning(
                "clearinghouse refused the interchange: claims HELD",
                extra={"error_code": error_code(exc), "claims": len(claims)},
            )
            deps.store.record_submission_attempt(record, outcome="refused", error=error_code(exc))
            errors = exc.errors if isinstance(exc, ClearinghouseRejected) else ()
            self._hold(record, claims, _findings_for(error_code(exc), errors))
            deps.metrics.count("SubmissionsRefused", tenant_id=tenant_id)
            return
        record = deps.store.record_submission_attempt(
            record, outcome="submitted", clearinghouse_reference=receipt.submission_id
        )
        deps.metrics.count("InterchangesSubmitted", tenant_id=tenant_id)
        self.submitted += _mark_submitted(self.tenant, record, claims, deps)
        logger.info("interchange taken by the clearinghouse", extra={"claims": len(claims)})

    def _count_failure(self, record: SubmissionRecord) -> None:
        """An attempt that failed on the clearinghouse side (unreachable, erroring, throttling, refusing the account).

        A refusal of the interchange's content is ``SubmissionsRefused`` instead: a data problem, not an outage.
        """
        self.deps.metrics.count("SubmissionsFailed", tenant_id=self.tenant.tenant_id)
        self.deps.metrics.count("SubmissionsFailed", dimensions={"clearinghouse": record.receiver_id})

    def _retry_later(
        self, record: SubmissionRecord, claims: Sequence[StoredClaim], exc: ClearinghouseUnavailable
    ) -> None:
        deps = self.deps
        code = error_code(exc)
        attempts = record.attempts + 1
        if attempts >= record.max_attempts:
            failed = deps.store.record_submission_attempt(record, outcome="failed", error=code)
            self._fail_to_send(failed, claims)
            return
        retry_after = exc.retry_after if isinstance(exc, ClearinghouseRetryLater) else None
        seconds = backoff_seconds(attempts, self.policy, retry_after=retry_after, rng=self.rng)
        deps.store.record_submission_attempt(
            record, outcome="pending", error=code, next_attempt_at=deps.clock() + timedelta(seconds=seconds)
        )
        deps.metrics.count("SubmissionsDeferred", tenant_id=self.tenant.tenant_id)
        self.backing_off = (seconds, code)
        self.defer(claims, seconds, record.submission_id, code)

    def _fail_to_send(self, record: SubmissionRecord, claims: Sequence[StoredClaim]) -> None:
        """Retries exhausted (or pointless): the claims wait in FAILED_TO_SEND, still carried by this interchange."""
        deps, tenant_id = self.deps, self.tenant.tenant_id
        moved_claims = []
        events: list[BusEventDetail] = []
        for claim in claims:
            moved = deps.store.transition(
                claim,
                ClaimState.FAILED_TO_SEND,
                reason=(
                    f"interchange {record.submission_id} not delivered after {record.attempts} attempt(s): "
                    f"{record.last_error or 'unknown error'}"
                ),
                actor=deps.actor,
            )
            moved_claims.append(moved)
            events.append(_failed_event(tenant_id, record, moved))
        deps.events.publish(events)
        for claim in moved_claims:
            deps.store.mark_announced(claim)
        deps.metrics.count("SubmissionsFailedToSend", tenant_id=tenant_id)
        deps.metrics.count("ClaimsFailedToSend", len(moved_claims), tenant_id=tenant_id)
        self.failed_to_send += len(moved_claims)

    def _hold(self, record: SubmissionRecord, claims: Sequence[StoredClaim], findings: Sequence[Finding]) -> None:
        """The clearinghouse refused the interchange for good: its claims go to the worklist with the reasons."""
        _hold_claims(
            self.tenant,
            claims,
            findings,
            reason=f"interchange {record.submission_id} refused by the clearinghouse ({record.last_error or ''})",
            deps=self.deps,
        )
        self.deps.metrics.count("ClaimsRefusedByClearinghouse", len(claims), tenant_id=self.tenant.tenant_id)
        self.refused += len(claims)


@contextmanager
def _timed_call(deps: PipelineDeps, receiver_id: str) -> Iterator[None]:
    """Measure one clearinghouse call, whatever its outcome (a timeout is the slowest answer of all)."""
    started = deps.monotonic()
    try:
        yield
    finally:
        elapsed_ms = (deps.monotonic() - started) * 1000
        deps.metrics.timing("SubmissionLatency", elapsed_ms, dimensions={"clearinghouse": receiver_id})


def error_code(exc: ClaimsError) -> str:
    """A data-free code for the submission record and the audit trail, e.g. ``CH-UNAVAILABLE:http-503``."""
    if isinstance(exc, ClearinghouseRetryLater):
        return f"{exc.code}:{f'http-{exc.status_code}' if exc.status_code else exc.reason}"
    if isinstance(exc, ClearinghouseRejected):
        return f"{exc.code}:http-{exc.status_code}"
    return exc.code


def _findings_for(code: str, errors: Sequence[ApiError]) -> list[Finding]:
    """One finding per clearinghouse error (its code and location, never its description: it may echo data)."""
    fix = "correct what the clearinghouse error names, then send a new version of the claim"
    findings = [
        Finding(
            rule_id="CH-REJECTED",
            severity=Severity.ERROR,
            x12_location=error.location,
            message=f"the clearinghouse refused the interchange ({code}): error {error.code}",
            fix=fix,
        )
        for error in errors
    ]
    return findings or [
        Finding(
            rule_id="CH-REJECTED",
            severity=Severity.ERROR,
            message=f"the clearinghouse refused the interchange ({code})",
            fix=fix,
        )
    ]


def resend_failed(
    tenant_id: str,
    submission_id: str,
    deps: PipelineDeps,
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    actor: str | None = None,
    note: str | None = None,
) -> ResendOutcome:
    """Send a failed interchange again: its FAILED_TO_SEND claims go back to READY and are announced (Claim Ready).

    ``submit_claims`` then finds them READY and still carried by the interchange, and sends the archived file under
    its idempotency key: a clearinghouse that took it after all answers with the same submission, never a copy.
    If the practice closed one of its claims meanwhile, the file is not sent again (it would carry that claim): the
    waiting claims leave the interchange and go out in the next batch as a new one. ``note`` (a biller's reason) is
    appended to each claim's audit entry.

    Raises
    ------
    SubmissionNotFound
        No such submission for the tenant.
    StateConflict
        The interchange was taken or refused: nothing to resend.
    """
    record = deps.store.get_submission(tenant_id, submission_id)
    if record is None:
        raise SubmissionNotFound(f"tenant {tenant_id}: no submission {submission_id}")
    if record.outcome not in ("failed", "pending"):  # pending: an earlier resend stopped before moving every claim
        raise StateConflict(f"submission {submission_id} is {record.outcome}: nothing to resend")
    waiting = [
        claim
        for claim in (deps.store.get_claim(tenant_id, claim_id) for claim_id in record.claim_ids)
        if claim is not None
        and claim.state == ClaimState.FAILED_TO_SEND
        and claim.pending_submission_id == submission_id
    ]
    closed = [
        claim_id
        for claim_id in record.claim_ids
        if (claim := deps.store.get_claim(tenant_id, claim_id)) is not None and claim.state == ClaimState.CLOSED
    ]
    if waiting and record.outcome == "failed" and not closed:
        record = deps.store.reopen_submission(record, max_attempts=record.attempts + policy.max_attempts)
    how = (
        f"interchange {submission_id} carries {len(closed)} claim(s) the practice closed: sent in a new interchange"
        if closed
        else f"resend of interchange {submission_id} (same file, same idempotency key)"
    )
    moved_claims = []
    events: list[BusEventDetail] = []
    for claim in waiting:
        moved = deps.store.transition(
            claim, ClaimState.READY, reason=how + (f": {note}" if note else ""), actor=actor or deps.actor
        )
        if closed:
            # The archived file would send the closed claim too: this one leaves it and goes into the next batch.
            moved = deps.store.detach_pending_submission(moved)
        moved_claims.append(moved)
        event = state_event(moved)
        if event is not None:
            events.append(event)
    deps.events.publish(events)
    for claim in moved_claims:
        deps.store.mark_announced(claim)
    deps.metrics.count("SubmissionsResent", tenant_id=tenant_id)
    return ResendOutcome(
        tenant_id=tenant_id, submission_id=submission_id, resent=len(moved_claims), max_attempts=record.max_attempts
    )


def _prepare(
    tenant: TenantConfig, claims: Sequence[StoredClaim], deps: PipelineDeps, *, max_attempts: int
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
        max_attempts=max_attempts,
        created_at=created,
        updated_at=created,
    )
    deps.store.create_submission(record)
    # The claim's files (tenant API): this interchange carries each claim, whether or not it gets through.
    deps.store.link_claim_files(tenant_id, [c.claim_id for c in carried], kind="837P", key=archive_key)
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
    _hold_claims(tenant, claims, [finding], reason=f"refused by the 837P writer at {exc.x12_location}", deps=deps)
    deps.metrics.count("ClaimsRefusedByWriter", len(claims), tenant_id=tenant.tenant_id)


def _hold_claims(
    tenant: TenantConfig, claims: Sequence[StoredClaim], findings: Sequence[Finding], *, reason: str, deps: PipelineDeps
) -> None:
    """Claims released from their interchange, back to HELD with ``findings`` (audited): READY claims through
    RECEIVED, a biller's CORRECTED claim directly (it keeps its replacement / void content for the biller to fix)."""
    events: list[BusEventDetail] = []
    rule_ids = tuple(dict.fromkeys(f.rule_id for f in findings))
    for claim in claims:
        released = deps.store.detach_pending_submission(claim)
        if released.state == ClaimState.READY:
            released = deps.store.transition(released, ClaimState.RECEIVED, reason=reason, actor=deps.actor)
        held = deps.store.transition(
            released, ClaimState.HELD, reason=reason, actor=deps.actor, findings=(*claim.findings, *findings)
        )
        events.append(
            ClaimHeld(
                tenant_id=tenant.tenant_id,
                claim_id=held.claim_id,
                source_key=held.source_key,
                source_version=held.source_version,
                rule_ids=rule_ids,
                error_count=len(findings),
            )
        )
    deps.events.publish(events)
    deps.metrics.count("ClaimsHeld", len(events), tenant_id=tenant.tenant_id)
    for rule_id in rule_ids:
        deps.metrics.count("ClaimsHeld", len(events), dimensions={"rule": rule_id})


def _mark_submitted(
    tenant: TenantConfig, record: SubmissionRecord, claims: Sequence[StoredClaim], deps: PipelineDeps
) -> int:
    events: list[BusEventDetail] = []
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
    """Publish the Claim Submitted / Claim Failed To Send a crash or a bus failure lost (the claim moved, its event
    did not go out)."""
    events: list[BusEventDetail] = []
    for claim in claims:
        submission_id = claim.submission_id if claim.state == ClaimState.SUBMITTED else claim.pending_submission_id
        record = deps.store.get_submission(tenant.tenant_id, submission_id or "")
        if record is None:
            continue
        if claim.state == ClaimState.SUBMITTED:
            events.append(_submitted_event(tenant, record, claim))
        else:
            events.append(_failed_event(tenant.tenant_id, record, claim))
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


def _failed_event(tenant_id: str, record: SubmissionRecord, claim: StoredClaim) -> ClaimFailedToSend:
    return ClaimFailedToSend(
        tenant_id=tenant_id,
        claim_id=claim.claim_id,
        submission_id=record.submission_id,
        interchange_control_number=f"{record.interchange_control_number:09d}",
        attempts=record.attempts,
        error_code=record.last_error,
    )
