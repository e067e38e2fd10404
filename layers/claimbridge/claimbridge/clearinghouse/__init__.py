"""Clearinghouse port and adapters: ``adapter_for(tenant, ...)`` picks one per tenant."""

from claimbridge.clearinghouse.errors import (
    ApiError,
    ClearinghouseAuthError,
    ClearinghouseConfigError,
    ClearinghouseError,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
    ClearinghouseUnavailable,
    ClearinghouseUnsupported,
)
from claimbridge.clearinghouse.factory import SANDBOX_API_KEY, adapter_for
from claimbridge.clearinghouse.port import ClearinghousePort, ResponseFile, ResponsePage, SubmissionReceipt
from claimbridge.clearinghouse.sftp import DEFAULT_SFTP_TIMEOUTS, SftpClearinghouse, SftpCredentials, SftpTimeouts
from claimbridge.clearinghouse.x12_api import DEFAULT_TIMEOUT, X12ApiClearinghouse

__all__ = [
    "DEFAULT_SFTP_TIMEOUTS",
    "DEFAULT_TIMEOUT",
    "SANDBOX_API_KEY",
    "ApiError",
    "ClearinghouseAuthError",
    "ClearinghouseConfigError",
    "ClearinghouseError",
    "ClearinghousePort",
    "ClearinghouseRejected",
    "ClearinghouseRetryLater",
    "ClearinghouseUnavailable",
    "ClearinghouseUnsupported",
    "ResponseFile",
    "ResponsePage",
    "SftpClearinghouse",
    "SftpCredentials",
    "SftpTimeouts",
    "SubmissionReceipt",
    "X12ApiClearinghouse",
    "adapter_for",
]
