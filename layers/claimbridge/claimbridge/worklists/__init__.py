"""Worklists: the biller's read side of claims (by state, in detail with files, held/rejected/denied/unsent)."""

from claimbridge.worklists.models import (
    ClaimDetail,
    ClaimPage,
    ClaimSummary,
    Worklist,
    WorklistName,
)
from claimbridge.worklists.service import ClaimsView, InvalidPageToken

__all__ = [
    "ClaimDetail",
    "ClaimPage",
    "ClaimSummary",
    "ClaimsView",
    "InvalidPageToken",
    "Worklist",
    "WorklistName",
]
