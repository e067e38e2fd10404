"""Clearinghouse failures as the domain sees them: refused for good, or try again later.

Everything a message says is an HTTP status, an error code or a location: a clearinghouse may echo submitted data
in its descriptions, so those stay in ``errors`` (for an operator's screen) and out of ``str(exc)`` (for logs).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from claimbridge.errors import ClearinghouseError, ClearinghouseUnavailable

__all__ = [
    "ApiError",
    "ClearinghouseAuthError",
    "ClearinghouseConfigError",
    "ClearinghouseError",
    "ClearinghouseRejected",
    "ClearinghouseRetryLater",
    "ClearinghouseUnavailable",
    "ClearinghouseUnsupported",
]


class ApiError(BaseModel):
    """One entry of a clearinghouse's ``errors`` list."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)
    code: str = "UNKNOWN"
    description: str = ""
    location: str = ""


class ClearinghouseRejected(ClearinghouseError):
    """The clearinghouse answered 4xx: this request will never succeed as it is (bad X12, reused key, ...).

    ``status_code`` is None when the protocol has no HTTP status (an SFTP mailbox: permission denied, no such folder).
    """

    code: ClassVar[str] = "CH-REJECTED"

    def __init__(self, status_code: int | None, errors: tuple[ApiError, ...] = ()) -> None:
        summary = ", ".join(f"{error.code} at {error.location or '-'}" for error in errors) or "no error details"
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"clearinghouse refused the request{status}: {summary}")
        self.status_code = status_code
        self.errors = errors


class ClearinghouseAuthError(ClearinghouseRejected):
    """401/403 (or SSH authentication / host key refused): the tenant's credentials are missing, wrong or revoked, or
    the server is not the one pinned; fix the secret, then resubmit."""

    code: ClassVar[str] = "CH-AUTH"


class ClearinghouseConfigError(ClearinghouseError):
    """The tenant's clearinghouse block cannot make an adapter (no endpoint, no secret)."""

    code: ClassVar[str] = "CH-CONFIG"


class ClearinghouseUnsupported(ClearinghouseError):
    """A clearinghouse kind this release has no adapter for."""

    code: ClassVar[str] = "CH-UNSUPPORTED"


class ClearinghouseRetryLater(ClearinghouseUnavailable):
    """5xx, 429, a timeout or a broken connection: retry, not before ``retry_after`` seconds when the server said so.

    ``reason`` is one of ``http``, ``timeout``, ``connection``, ``bad-response``, ``server-failure`` (an SFTP server's
    generic failure status).
    """

    code: ClassVar[str] = "CH-UNAVAILABLE"

    def __init__(self, reason: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        status = f" (HTTP {status_code})" if status_code is not None else ""
        wait = f", retry after {retry_after:g}s" if retry_after is not None else ""
        super().__init__(f"clearinghouse unavailable: {reason}{status}{wait}")
        self.reason = reason
        self.status_code = status_code
        self.retry_after = retry_after
