"""State: the DynamoDB single-table repository of tenants, claims, history, counters, submissions and responses."""

from claimbridge.state.dynamo_store import DynamoClaimStore, StoreUnavailable
from claimbridge.state.models import (
    ADJUDICATED_STATES,
    ALLOWED_TRANSITIONS,
    REPLACEABLE_STATES,
    ClaimFile,
    ClaimPageKey,
    ClaimState,
    HistoryEntry,
    RemittancePosting,
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
    "ADJUDICATED_STATES",
    "ALLOWED_TRANSITIONS",
    "REPLACEABLE_STATES",
    "ClaimFile",
    "ClaimPageKey",
    "ClaimState",
    "ClaimStorePort",
    "DynamoClaimStore",
    "HistoryEntry",
    "RemittancePosting",
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
