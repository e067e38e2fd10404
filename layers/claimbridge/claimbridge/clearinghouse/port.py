"""The clearinghouse port: what the pipeline needs from any clearinghouse, whatever the wire (HTTPS API, SFTP, ...).

Adapters: ``claimbridge.clearinghouse.x12_api.X12ApiClearinghouse`` (raw-X12 HTTP API, also the local sandbox) and
``claimbridge.clearinghouse.sftp.SftpClearinghouse`` (SFTP mailbox); ``claimbridge.clearinghouse.adapter_for`` picks
one per tenant. Errors: ``claimbridge.clearinghouse.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class SubmissionReceipt(BaseModel):
    """The clearinghouse took the interchange; ``submission_id`` is its reference for it."""

    model_config = _FROZEN
    submission_id: str
    idempotency_key: str


class ResponseFile(BaseModel):
    """One response document as the clearinghouse published it (raw X12)."""

    model_config = _FROZEN
    response_id: str
    kind: Literal["999", "277CA", "835"]
    content: str


class ResponsePage(BaseModel):
    """Responses newer than a cursor, and the cursor to ask with next time."""

    model_config = _FROZEN
    responses: tuple[ResponseFile, ...]
    next_cursor: str | None


class ClearinghousePort(Protocol):
    """What every clearinghouse adapter offers."""

    def submit(self, x12: str, *, idempotency_key: str) -> SubmissionReceipt:
        """Send one 837P interchange; raise ClearinghouseError (permanent) or ClearinghouseUnavailable (retry)."""
        ...

    def fetch_responses(self, cursor: str | None) -> ResponsePage:
        """Responses published since ``cursor`` (None: from the beginning)."""
        ...

    def acknowledge(self, response_ids: Sequence[str]) -> None:
        """Tell the clearinghouse these responses are stored safely (a mailbox moves them out of the way).

        Called only after the responses are archived and the cursor is stored, so a crash before it re-fetches and
        never skips. Ids already acknowledged are no error. Raise ClearinghouseError (or ClearinghouseUnavailable)
        on failure; the caller counts it and carries on (nothing is lost: the files are already archived).
        """
        ...
