"""Claims by state, one claim with its findings, history and files, and the biller's worklists.

Read-only and scoped to one tenant: every store key starts with the tenant id the caller was authorised for, so a
claim id of another tenant is simply not found. Paging tokens are opaque to callers (base64url JSON of where the
next page starts); a token only ever positions a query inside the tenant's own partition.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from claimbridge.errors import ClaimsError
from claimbridge.pipeline.actions import ClaimNotFound
from claimbridge.pipeline.ports import ObjectStorePort
from claimbridge.state.models import ClaimPageKey, ClaimState, StoredClaim
from claimbridge.state.ports import ClaimStorePort
from claimbridge.worklists.denials import denial_of
from claimbridge.worklists.models import (
    WORKLIST_STATES,
    ClaimDetail,
    ClaimPage,
    ClaimSummary,
    FileRef,
    HistoryItem,
    SendFailure,
    UnmatchedItem,
    UnmatchedList,
    Worklist,
    WorklistItem,
    WorklistName,
)

MAX_PAGE = 100
DEFAULT_PAGE = 25
_TOKEN_PART = re.compile(r"^[A-Za-z0-9:.+#_-]{1,100}$")
WRITE_BACK_FOLDERS = ("ClaimResponse", "ExplanationOfBenefit")


class InvalidPageToken(ClaimsError):
    """The ``next`` token was not one this API handed out."""

    code = "CB-PAGE-TOKEN"


def _encode(payload: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str, fields: tuple[str, ...]) -> dict[str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidPageToken("the page token cannot be read") from None
    if (
        not isinstance(payload, dict)
        or set(payload) != set(fields)
        or not all(isinstance(payload[name], str) and _TOKEN_PART.fullmatch(payload[name]) for name in fields)
    ):
        raise InvalidPageToken("the page token is not one this API issued")
    return {name: str(payload[name]) for name in fields}


def summary_of(claim: StoredClaim) -> ClaimSummary:
    """The list view of a stored claim."""
    return ClaimSummary(
        claim_id=claim.claim_id,
        state=claim.state,
        revision=claim.revision,
        source_key=claim.source_key,
        source_version=claim.source_version,
        payer_key=claim.payer_key,
        config_version=claim.config_version,
        related_claim_id=claim.related_claim_id,
        error_rule_ids=list(dict.fromkeys(claim.error_rule_ids)),
        updated_at=claim.updated_at,
    )


@dataclass(frozen=True)
class ClaimsView:
    """The tenant-scoped read side of claims."""

    store: ClaimStorePort
    objects: ObjectStorePort
    archive_bucket: str

    def page(
        self, tenant_id: str, state: ClaimState, *, limit: int = DEFAULT_PAGE, after: str | None = None
    ) -> ClaimPage:
        """The tenant's claims in ``state``, oldest change first, ``limit`` at a time."""
        claims, next_key = self._claims(tenant_id, state, limit, after)
        return ClaimPage(state=state, items=[summary_of(c) for c in claims], next=_claim_token(next_key))

    def detail(self, tenant_id: str, claim_id: str) -> ClaimDetail:
        """One claim with findings, full history and the keys of its files."""
        claim = self.get(tenant_id, claim_id)
        content = claim.claim
        return ClaimDetail(
            claim_id=claim.claim_id,
            state=claim.state,
            revision=claim.revision,
            source_key=claim.source_key,
            source_version=claim.source_version,
            payer_key=claim.payer_key,
            config_version=claim.config_version,
            frequency=content.frequency.value if content else None,
            total_charge=content.total_charge if content else None,
            line_count=len(content.lines) if content else None,
            submission_id=claim.submission_id,
            pending_submission_id=claim.pending_submission_id,
            related_claim_id=claim.related_claim_id,
            payer_claim_control_number=claim.payer_claim_control_number,
            created_at=claim.created_at,
            updated_at=claim.updated_at,
            findings=list(claim.findings),
            history=[
                HistoryItem.model_validate(entry.model_dump())
                for entry in self.store.history(tenant_id, claim.claim_id)
            ],
            files=self.files(tenant_id, claim.claim_id),
        )

    def get(self, tenant_id: str, claim_id: str) -> StoredClaim:
        """The stored claim, or ``ClaimNotFound``."""
        claim = self.store.get_claim(tenant_id, claim_id)
        if claim is None:
            raise ClaimNotFound(f"tenant {tenant_id}: no claim {claim_id}")
        return claim

    def files(self, tenant_id: str, claim_id: str) -> list[FileRef]:
        """The claim's 837P interchanges and responses (linked as they were handled) and its FHIR write-back."""
        linked = [FileRef(kind=f.kind, key=f.key) for f in self.store.claim_files(tenant_id, claim_id)]
        written = [
            FileRef(kind=folder, key=key)  # type: ignore[arg-type]  # folder is one of the two literals
            for folder in WRITE_BACK_FOLDERS
            for key in self.objects.list_keys(self.archive_bucket, f"outbound/{tenant_id}/{folder}/{claim_id}/")
        ]
        order = {"837P": 0, "999": 1, "277CA": 2, "835": 3, "ClaimResponse": 4, "ExplanationOfBenefit": 5}
        return sorted(linked, key=lambda ref: (order[ref.kind], ref.key)) + written

    def worklist(
        self, tenant_id: str, name: WorklistName, *, limit: int = DEFAULT_PAGE, after: str | None = None
    ) -> Worklist:
        """A worklist page: each claim with its findings, plus the 835 verdict (denied) or the send failure."""
        state = WORKLIST_STATES[name]
        claims, next_key = self._claims(tenant_id, state, limit, after)
        items = []
        for claim in claims:
            failure = None
            if name == WorklistName.FAILED_TO_SEND and claim.pending_submission_id:
                record = self.store.get_submission(tenant_id, claim.pending_submission_id)
                if record is not None:
                    failure = SendFailure(
                        submission_id=record.submission_id,
                        attempts=record.attempts,
                        max_attempts=record.max_attempts,
                        last_error=record.last_error,
                    )
            items.append(
                WorklistItem(
                    claim=summary_of(claim),
                    findings=list(claim.findings),
                    denial=denial_of(claim) if name == WorklistName.DENIED else None,
                    send_failure=failure,
                )
            )
        return Worklist(name=name, state=state, items=items, next=_claim_token(next_key))

    def unmatched(self, tenant_id: str, *, limit: int = DEFAULT_PAGE, after: str | None = None) -> UnmatchedList:
        """Response parts that matched nothing the tenant sent, oldest first."""
        start = _decode(after, ("u",))["u"] if after else None
        parts, next_sk = self.store.unmatched_page(tenant_id, limit=_bounded(limit), after=start)
        return UnmatchedList(
            items=[UnmatchedItem.model_validate(part.model_dump(exclude={"tenant_id"})) for part in parts],
            next=_encode({"u": next_sk}) if next_sk else None,
        )

    def _claims(
        self, tenant_id: str, state: ClaimState, limit: int, after: str | None
    ) -> tuple[list[StoredClaim], ClaimPageKey | None]:
        start = None
        if after:
            fields = _decode(after, ("k", "c"))
            start = ClaimPageKey(sort_key=fields["k"], claim_id=fields["c"])
        return self.store.claims_page(tenant_id, state, limit=_bounded(limit), after=start)


def _bounded(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def _claim_token(key: ClaimPageKey | None) -> str | None:
    return _encode({"k": key.sort_key, "c": key.claim_id}) if key else None
