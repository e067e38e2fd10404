"""The state store port: what the pipeline needs from persistence, so services can be tested with any store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding
from claimbridge.scrubber.history import ServiceRecord
from claimbridge.state.models import (
    ClaimFile,
    ClaimPageKey,
    ClaimState,
    FileKind,
    HistoryEntry,
    RemittancePosting,
    ResponseCursor,
    SourceIndex,
    StoredClaim,
    SubmissionOutcome,
    SubmissionRecord,
    TenantRecord,
    TenantVersion,
    UnmatchedResponse,
)
from claimbridge.tenants import TenantConfig
from claimbridge.x12.writer import InterchangeControl


class ClaimStorePort(Protocol):
    """Tenants, claims with their history, control numbers, submissions, cursors and response markers."""

    # tenants
    def put_tenant_config(
        self, config: TenantConfig, *, actor: str = "system", expected_version: int | None = None
    ) -> int:
        """Store ``config`` as the tenant's next version; return that version number. With ``expected_version``
        (0: the tenant must be new) a tenant stored at another version is refused with ``StateConflict``."""
        ...

    def get_tenant(self, tenant_id: str, *, include_disabled: bool = False) -> TenantRecord:
        """The enabled tenant's current document and version; ``TenantError`` (IN-TENANT) if unknown or disabled.

        ``include_disabled``: a disabled tenant's document too (responses to claims already sent are still processed
        and written back, tenant-config section 1)."""
        ...

    def get_tenant_config(self, tenant_id: str) -> TenantConfig:
        """The enabled tenant's current document; ``TenantError`` (IN-TENANT) if unknown or disabled."""
        ...

    def list_enabled_tenants(self) -> list[TenantConfig]:
        """Every tenant whose current document has ``enabled: true``."""
        ...

    def list_tenants(self) -> list[TenantConfig]:
        """Every configured tenant, enabled or not."""
        ...

    def tenants_for_event_source(self, account: str, source: str) -> list[str]:
        """Ids of every tenant, enabled or not, whose ``inbound.event_sources`` lists (``account``, ``source``)."""
        ...

    # tenant administration (tenant_api)
    def get_tenant_record(self, tenant_id: str) -> TenantRecord | None:
        """The tenant's current document whether enabled or not; None when unknown."""
        ...

    def list_tenant_records(self) -> list[TenantRecord]:
        """Every tenant, enabled or not, by id."""
        ...

    def tenant_versions(self, tenant_id: str) -> list[TenantVersion]:
        """Every stored version of the tenant's document, oldest first."""
        ...

    def get_tenant_version(self, tenant_id: str, version: int) -> TenantConfig | None:
        """One stored version of the tenant's document."""
        ...

    def tenant_for_principal(self, principal: str) -> str | None:
        """The tenant an API principal key is mapped to, if any."""
        ...

    def claims_page(
        self, tenant_id: str, state: ClaimState, *, limit: int, after: ClaimPageKey | None = None
    ) -> tuple[list[StoredClaim], ClaimPageKey | None]:
        """One page of a state worklist and where the next one starts (None: no more)."""
        ...

    def unmatched_page(
        self, tenant_id: str, *, limit: int, after: str | None = None
    ) -> tuple[list[UnmatchedResponse], str | None]:
        """One page of unmatched response parts and the key the next page follows (None: no more)."""
        ...

    def link_claim_files(self, tenant_id: str, claim_ids: Sequence[str], *, kind: FileKind, key: str) -> None:
        """Record that an archive object (837P, 999, 277CA, 835) carries or answers each of the claims."""
        ...

    def claim_files(self, tenant_id: str, claim_id: str) -> list[ClaimFile]:
        """The archive objects recorded for the claim."""
        ...

    # claims
    def lookup_source(self, tenant_id: str, source_key: str) -> SourceIndex | None:
        """Which claim a FHIR source currently maps to, if any."""
        ...

    def get_claim(self, tenant_id: str, claim_id: str) -> StoredClaim | None:
        """The claim's STATE item, if it exists."""
        ...

    def patient_services(self, tenant_id: str, patient_key: str) -> list[ServiceRecord]:
        """The patient's stored service lines (scrubber history); lines of voided or withdrawn claims are ``voided``."""
        ...

    def create_claim(
        self,
        *,
        tenant_id: str,
        claim_id: str,
        source_key: str,
        version: str,
        claim: ProfessionalClaim | None,
        findings: Sequence[Finding],
        payer_key: str | None,
        config_version: int | None,
        previous_source: SourceIndex | None,
        related_claim_id: str | None = None,
        source_stamp: str | None = None,
        reason: str,
        actor: str,
    ) -> StoredClaim:
        """Store a new claim in RECEIVED and point the source index at it, in one transaction."""
        ...

    def replace_claim(
        self,
        current: StoredClaim,
        *,
        version: str,
        claim: ProfessionalClaim | None,
        findings: Sequence[Finding],
        payer_key: str | None,
        config_version: int | None,
        previous_source: SourceIndex,
        source_stamp: str | None = None,
        reason: str,
        actor: str,
    ) -> StoredClaim:
        """Replace a not-yet-submitted claim with a new source version; it goes back to RECEIVED."""
        ...

    def transition(
        self,
        current: StoredClaim,
        to_state: ClaimState,
        *,
        reason: str,
        actor: str,
        findings: Sequence[Finding] | None = None,
        submission_id: str | None = None,
        payer_claim_control_number: str | None = None,
        claim: ProfessionalClaim | None = None,
        config_version: int | None = None,
        written_off: Decimal | None = None,
        remittance: RemittancePosting | None = None,
    ) -> StoredClaim:
        """Move a claim along the lifecycle (conditional on ``current``); refuse and record a move not allowed.
        Optionally record the payer's claim number, replace the claim content (an override or a correction) with
        the tenant configuration version it was scrubbed with, record the balance written off, or record the 835
        posting of an adjudicated state; a reversal (adjudicated -> ACCEPTED) clears the posting."""
        ...

    def record_refusal(self, current: StoredClaim, to_state: ClaimState, *, reason: str, actor: str) -> None:
        """Record a refused attempt in the claim's history (an action its state or data does not allow)."""
        ...

    def mark_announced(self, current: StoredClaim) -> StoredClaim:
        """Record that the event for the claim's current state was published (no-op if the claim moved on)."""
        ...

    def attach_pending_submission(self, current: StoredClaim, submission_id: str) -> StoredClaim:
        """Mark a READY (or CORRECTED) claim as carried by an interchange that is being sent."""
        ...

    def detach_pending_submission(self, current: StoredClaim) -> StoredClaim:
        """Release a READY (or CORRECTED) claim from an interchange the clearinghouse refused for good."""
        ...

    def history(self, tenant_id: str, claim_id: str) -> list[HistoryEntry]:
        """Every audit item of the claim, oldest first (refused attempts included)."""
        ...

    def claims_in_state(self, tenant_id: str, state: ClaimState, *, limit: int = 100) -> list[StoredClaim]:
        """A worklist: the tenant's claims in ``state``, oldest change first."""
        ...

    # submissions
    def next_interchange_control(self, tenant_id: str, receiver_id: str) -> InterchangeControl:
        """Fresh ISA13/GS06 for (tenant, receiver); never handed out twice."""
        ...

    def create_submission(self, record: SubmissionRecord) -> None:
        """Store a new submission record (refused if its id exists)."""
        ...

    def get_submission(self, tenant_id: str, submission_id: str) -> SubmissionRecord | None:
        """A submission record by id."""
        ...

    def find_submission_by_group(self, tenant_id: str, group_control_number: int) -> SubmissionRecord | None:
        """The submission whose GS06 a 999 acknowledges (the latest one if several receivers used the number)."""
        ...

    def record_submission_attempt(
        self,
        record: SubmissionRecord,
        *,
        outcome: SubmissionOutcome,
        clearinghouse_reference: str | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> SubmissionRecord:
        """Count one send attempt and its outcome (``pending`` after a retryable failure, due at ``next_attempt_at``);
        conditional on the attempts count read, so two racing senders cannot both record the same attempt."""
        ...

    def reopen_submission(self, record: SubmissionRecord, *, max_attempts: int) -> SubmissionRecord:
        """A ``failed`` interchange becomes ``pending`` again with a new bound (a resend; same file, same key)."""
        ...

    # polling and responses
    def get_cursor(self, tenant_id: str) -> ResponseCursor:
        """Where polling stopped for the tenant (cursor None: never polled)."""
        ...

    def put_cursor(self, tenant_id: str, cursor: str | None) -> None:
        """Remember where polling stopped."""
        ...

    def response_processed(self, tenant_id: str, response_key: str) -> bool:
        """Whether the response object was processed already."""
        ...

    def mark_response_processed(self, tenant_id: str, response_key: str, *, kind: str, changed: int) -> bool:
        """Mark a response object as processed; False if another run marked it first."""
        ...

    def record_unmatched(self, tenant_id: str, *, response_key: str, kind: str, reference: str, reason: str) -> None:
        """Keep a response part that matched no claim or submission, for follow-up."""
        ...

    def list_unmatched(self, tenant_id: str) -> list[UnmatchedResponse]:
        """The unmatched response parts recorded for the tenant, oldest first."""
        ...

    # quarantine replay
    def quarantine_replayed(self, tenant_id: str, quarantine_key: str) -> bool:
        """Whether the quarantined input was sent back to ingest already."""
        ...

    def mark_quarantine_replayed(self, tenant_id: str, quarantine_key: str, *, actor: str) -> bool:
        """Mark a quarantined input as replayed; False if another replay marked it first."""
        ...
