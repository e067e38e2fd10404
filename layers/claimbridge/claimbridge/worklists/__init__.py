"""Worklists: the biller's read side of claims (by state, in detail with files, held/rejected/denied/unsent)."""

from claimbridge.worklists.models import (
    ClaimDetail,
    ClaimPage,
    ClaimSummary,
    Worklist,
    WorklistName,
)
from claimbridge.worklists.service import ClaimNotFound, ClaimsView, InvalidPageToken

__all__ = [
    "ClaimDetail",
    "ClaimNotFound",
    "ClaimPage",
    "ClaimSummary",
    "ClaimsView",
    "InvalidPageToken",
    "Worklist",
    "WorklistName",
]
