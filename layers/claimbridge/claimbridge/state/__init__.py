"""State: the DynamoDB single-table repository of tenants, claims, history, counters, submissions and responses."""

from claimbridge.state.dynamo_store import DynamoClaimStore, StoreUnavailable
from claimbridge.state.models import (
    ALLOWED_TRANSITIONS,
    REPLACEABLE_STATES,
    ClaimFile,
    ClaimPageKey,
    ClaimState,
    HistoryEntry,
    ResponseCursor,
    SourceIndex,
    StoredClaim,
    SubmissionRecord,
    TenantRecord,
    TenantVersion,
    UnmatchedResponse,
    transition_allowed,
)
from claimbridge.state.ports import ClaimStorePort

__all__ = [
    "ALLOWED_TRANSITIONS",
    "REPLACEABLE_STATES",
    "ClaimFile",
    "ClaimPageKey",
    "ClaimState",
    "ClaimStorePort",
    "DynamoClaimStore",
    "HistoryEntry",
    "ResponseCursor",
    "SourceIndex",
    "StoreUnavailable",
    "StoredClaim",
    "SubmissionRecord",
    "TenantRecord",
    "TenantVersion",
    "UnmatchedResponse",
    "transition_allowed",
]
