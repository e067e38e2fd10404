"""Ingest: one FHIR object in the inbound bucket becomes stored claims (READY or HELD) and bus events.

Idempotency and versions follow contract section 8: the same source version is a counted no-op; a new version
replaces a claim that was not sent yet; a new version of a sent claim becomes a new claim linked to it, held with
``IN-VERSION`` unless it is a corrected (7) or void (8) claim. A file that cannot be read at all is quarantined
with an error report and an OperationOutcome; nothing is raised for such permanent errors, so the rest of the SQS
batch goes on. Retryable errors (S3, DynamoDB, EventBridge) propagate for SQS to retry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict

from claimbridge import intake
from claimbridge.claim import ClaimFrequency, ProfessionalClaim
from claimbridge.errors import InputError, StateConflict, TenantError
from claimbridge.events import BusEventDetail, ClaimHeld, ClaimReady
from claimbridge.findings import Finding, Severity
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline.outcomes import (
    RejectedSubmission,
    operation_outcome,
    quarantine_submission,
    submission_id_for,
)
from claimbridge.pipeline.ports import ObjectMissing, ObjectStorePort, PipelineDeps
from claimbridge.state.models import REPLACEABLE_STATES, ClaimState, SourceIndex, StoredClaim, TenantRecord

_SOURCE_KEY = re.compile(r"^(Claim|Encounter)/[A-Za-z0-9\-.]{1,64}$")


class IngestOutcome(BaseModel):
    """What one object produced (ids and counts only: safe to log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    submission_id: str
    ready: int = 0
    held: int = 0
    duplicates: int = 0
    resumed: int = 0
    reannounced: int = 0
    skipped: int = 0
    reported_without_id: int = 0
    quarantined: bool = False
    error_codes: tuple[str, ...] = ()


def derive_claim_id(tenant_id: str, source_key: str, version: str) -> str:
    """The CLM01 of a new version of a claim already sent (the original keeps ``claim_id_for(tenant, source)``).

    ``CB`` + 18 base32 characters over (tenant, source, version): stable across retries, unique per version.
    """
    digest = hashlib.sha256(f"{tenant_id}|{source_key}|{version}".encode()).digest()
    return "CB" + base64.b32encode(digest).decode().rstrip("=")[:18]


def with_claim_id(claim: ProfessionalClaim, claim_id: str) -> ProfessionalClaim:
    """The claim renumbered: CLM01 and the REF*6R line control numbers built from it."""
    if claim.claim_id == claim_id:
        return claim
    lines = tuple(
        line.model_copy(update={"line_control_number": f"{claim_id}-{line.sequence}"})
        if line.line_control_number.startswith(claim.claim_id)
        else line
        for line in claim.lines
    )
    return ProfessionalClaim.model_validate(
        {**claim.model_dump(exclude={"total_charge"}), "claim_id": claim_id, "lines": [ln.model_dump() for ln in lines]}
    )


def _tenant_segment(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def _read(objects: ObjectStorePort, bucket: str, key: str) -> tuple[str, bytes]:
    """The object and its real key: S3 notifications may carry the key URL-encoded (``red+flower.json``)."""
    try:
        return key, objects.get(bucket, key)
    except ObjectMissing:
        decoded = unquote_plus(key)
        if decoded == key:
            raise
        return decoded, objects.get(bucket, decoded)


def ingest_object(bucket: str, key: str, deps: PipelineDeps) -> IngestOutcome:
    """Read and map every claim of one inbound object, store each READY or HELD, announce it on the bus.

    Parameters
    ----------
    bucket, key
        The object an ``Object Created`` event announced; the tenant is the key's first segment.
    deps
        Ports and settings values.

    Returns
    -------
    IngestOutcome
        Counts; ``quarantined`` when the whole object was rejected (unknown tenant, unreadable file).
    """
    tenant_id = _tenant_segment(key)
    submission_id = submission_id_for(bucket, key)
    try:
        if not tenant_id:
            raise TenantError("object key", "the object key has no tenant segment")
        tenant = deps.store.get_tenant(tenant_id)
        key, raw = _read(deps.objects, bucket, key)
        # intake reads plain and gzip-compressed JSON alike (contract section 1: .json and .json.gz)
        result = intake.intake_bundle(raw, file_name=key.rsplit("/", 1)[-1], tenant=tenant.config)
    except ObjectMissing:
        deps.metrics.count("InputMissing", tenant_id=tenant_id or None)
        return IngestOutcome(tenant_id=tenant_id, submission_id=submission_id, error_codes=("CB-OBJECT-MISSING",))
    except InputError as exc:
        return _quarantine(bucket, key, tenant_id=tenant_id, submission_id=submission_id, exc=exc, deps=deps)

    ingest = _Ingest(tenant, deps)
    for mapped in result.claims:
        ingest.store_mapped(mapped.claim, mapped.findings)
    reported: list[Finding] = []
    for rejected in result.rejected:
        if _SOURCE_KEY.match(rejected.source_key):
            ingest.store_rejected(rejected.source_key, rejected.version, rejected.findings)
        else:
            reported.extend(rejected.findings)
    if reported:
        outcome = operation_outcome(submission_id, reported)
        deps.objects.put(
            deps.archive_bucket,
            f"outbound/{tenant_id}/OperationOutcome/{submission_id}.json",
            _json_bytes(outcome),
            content_type="application/fhir+json",
        )
    ingest.publish()
    counts = ingest.counts
    deps.metrics.count("ClaimsReceived", counts["received"], tenant_id=tenant_id)
    deps.metrics.count("ClaimsReady", counts["ready"], tenant_id=tenant_id)
    deps.metrics.count("ClaimsHeld", counts["held"], tenant_id=tenant_id)
    deps.metrics.count("ClaimsDuplicate", counts["duplicates"], tenant_id=tenant_id)
    deps.metrics.count("ClaimsReannounced", counts["reannounced"], tenant_id=tenant_id)
    deps.metrics.count("SourcesSkipped", result.skipped, tenant_id=tenant_id)
    deps.metrics.count("SourcesRejectedWithoutId", len(reported), tenant_id=tenant_id)
    return IngestOutcome(
        tenant_id=tenant_id,
        submission_id=submission_id,
        ready=counts["ready"],
        held=counts["held"],
        duplicates=counts["duplicates"],
        resumed=counts["resumed"],
        reannounced=counts["reannounced"],
        skipped=result.skipped,
        reported_without_id=len(reported),
    )


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


class _Ingest:
    """Stores the claims of one submission and collects their events."""

    def __init__(self, tenant: TenantRecord, deps: PipelineDeps) -> None:
        self.tenant = tenant
        self.tenant_id = tenant.config.tenant_id
        self.deps = deps
        self.events: list[BusEventDetail] = []
        self.to_mark: list[StoredClaim] = []
        self.counts = {"received": 0, "ready": 0, "held": 0, "duplicates": 0, "resumed": 0, "reannounced": 0}

    def publish(self) -> None:
        """Put the collected events on the bus, then record them as announced."""
        self.deps.events.publish(self.events)
        for claim in self.to_mark:
            self.deps.store.mark_announced(claim)

    def store_mapped(self, claim: ProfessionalClaim, findings: Sequence[Finding]) -> None:
        """One mapped claim through the version table, then classified."""
        self._store(
            source_key=claim.source.key,
            version=claim.source.version,
            claim=claim,
            findings=tuple(findings),
            fhir_path=claim.source.fhir_path,
        )

    def store_rejected(self, source_key: str, version: str, findings: Sequence[Finding]) -> None:
        """A source that could not become a claim is kept HELD with its IN-* findings (the worklist shows it)."""
        self._store(source_key=source_key, version=version, claim=None, findings=tuple(findings), fhir_path="")

    def _store(
        self,
        *,
        source_key: str,
        version: str,
        claim: ProfessionalClaim | None,
        findings: tuple[Finding, ...],
        fhir_path: str,
    ) -> None:
        store = self.deps.store
        existing = store.lookup_source(self.tenant_id, source_key)
        if existing is not None and existing.version == version:
            self._duplicate(existing)
            return
        try:
            stored = self._receive(
                existing, source_key=source_key, version=version, claim=claim, findings=findings, fhir_path=fhir_path
            )
        except StateConflict:
            # Another delivery of the same object won the race: if it stored this version, this one is a duplicate.
            again = store.lookup_source(self.tenant_id, source_key)
            if again is not None and again.version == version:
                self._duplicate(again)
                return
            raise
        self.counts["received"] += 1
        self._classify(stored)

    def _duplicate(self, existing: SourceIndex) -> None:
        current = self.deps.store.get_claim(self.tenant_id, existing.claim_id)
        if current is not None and current.state == ClaimState.RECEIVED:
            # An earlier delivery stopped between RECEIVED and READY/HELD: finish it instead of leaving it stuck.
            self.counts["resumed"] += 1
            self._classify(current)
            return
        self.counts["duplicates"] += 1
        if current is not None and current.state in (ClaimState.READY, ClaimState.HELD) and not current.announced:
            # Its event was lost (the bus failed after the state write): announce it now, or it would never be sent.
            self.counts["reannounced"] += 1
            self._announce(current)

    def _receive(
        self,
        existing: SourceIndex | None,
        *,
        source_key: str,
        version: str,
        claim: ProfessionalClaim | None,
        findings: tuple[Finding, ...],
        fhir_path: str,
    ) -> StoredClaim:
        store = self.deps.store
        payer_key = claim.payer.key if claim else None
        config_version = self.tenant.config_version
        actor = self.deps.actor
        current = store.get_claim(self.tenant_id, existing.claim_id) if existing else None
        if existing is None or current is None:
            claim_id = claim.claim_id if claim else claim_id_for(self.tenant_id, source_key)
            return store.create_claim(
                tenant_id=self.tenant_id,
                claim_id=claim_id,
                source_key=source_key,
                version=version,
                claim=with_claim_id(claim, claim_id) if claim else None,
                findings=findings,
                previous_source=existing,
                reason=f"received {source_key} version {version}",
                payer_key=payer_key,
                config_version=config_version,
                actor=actor,
            )
        if current.state in REPLACEABLE_STATES and current.pending_submission_id is None:
            return store.replace_claim(
                current,
                version=version,
                claim=with_claim_id(claim, current.claim_id) if claim else None,
                findings=findings,
                previous_source=existing,
                reason=f"replaced by {source_key} version {version}",
                payer_key=payer_key,
                config_version=config_version,
                actor=actor,
            )
        # Already sent: the new version is a new claim linked to the original (contract section 8).
        claim_id = derive_claim_id(self.tenant_id, source_key, version)
        corrective = claim is not None and claim.frequency in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID)
        if not corrective:
            findings = (
                *findings,
                Finding(
                    rule_id="IN-VERSION",
                    severity=Severity.ERROR,
                    fhir_path=fhir_path or source_key,
                    message=f"changed after submission (claim {current.claim_id} is {current.state.value})",
                    fix="send Claim.related with relationship 'prior' for a corrected claim, or a void",
                ),
            )
        return store.create_claim(
            tenant_id=self.tenant_id,
            claim_id=claim_id,
            source_key=source_key,
            version=version,
            claim=with_claim_id(claim, claim_id) if claim else None,
            findings=findings,
            previous_source=existing,
            related_claim_id=current.claim_id,
            reason=f"received {source_key} version {version} after claim {current.claim_id} was submitted",
            payer_key=payer_key,
            config_version=config_version,
            actor=actor,
        )

    def _classify(self, stored: StoredClaim) -> None:
        """RECEIVED -> HELD (any error finding, or nothing to bill) or READY, then its event."""
        errors = [f for f in stored.findings if f.severity == Severity.ERROR]
        if errors or stored.claim is None:
            rule_ids = ", ".join(dict.fromkeys(f.rule_id for f in errors)) or "intake"
            moved = self.deps.store.transition(
                stored, ClaimState.HELD, reason=f"held by {rule_ids}", actor=self.deps.actor
            )
            self.counts["held"] += 1
        else:
            moved = self.deps.store.transition(stored, ClaimState.READY, reason="scrubbed clean", actor=self.deps.actor)
            self.counts["ready"] += 1
        self._announce(moved)

    def _announce(self, claim: StoredClaim) -> None:
        """Queue the Claim Ready / Claim Held event of a READY / HELD claim."""
        if claim.state == ClaimState.HELD:
            errors = [f for f in claim.findings if f.severity == Severity.ERROR]
            self.events.append(
                ClaimHeld(
                    tenant_id=self.tenant_id,
                    claim_id=claim.claim_id,
                    source_key=claim.source_key,
                    source_version=claim.source_version,
                    rule_ids=tuple(dict.fromkeys(f.rule_id for f in errors)),
                    error_count=len(errors),
                )
            )
        else:
            self.events.append(
                ClaimReady(
                    tenant_id=self.tenant_id,
                    claim_id=claim.claim_id,
                    source_key=claim.source_key,
                    source_version=claim.source_version,
                    payer_key=claim.payer_key,
                    config_version=claim.config_version,
                    warning_count=len(claim.findings),
                )
            )
        self.to_mark.append(claim)


def _quarantine(
    bucket: str, key: str, *, tenant_id: str, submission_id: str, exc: InputError, deps: PipelineDeps
) -> IngestOutcome:
    """Keep the object aside with an error report, tell the EHR (OperationOutcome + event), count it."""

    def keep(quarantine_key: str) -> None:
        try:
            deps.objects.copy(bucket, key, deps.archive_bucket, quarantine_key)
        except ObjectMissing:
            deps.metrics.count("InputMissing", tenant_id=tenant_id or None)

    rejected = RejectedSubmission(
        tenant_id=tenant_id,
        submission_id=submission_id,
        quarantine_path=key,
        source={"bucket": bucket, "key": key},
        keep=keep,
        source_bucket=bucket,
        source_key=key,
    )
    quarantine_submission(rejected, exc, deps)
    return IngestOutcome(tenant_id=tenant_id, submission_id=submission_id, quarantined=True, error_codes=(exc.in_code,))
