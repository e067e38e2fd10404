"""Whether a tenant's ``clearinghouse.secret_ref`` names a secret that exists (tenant-config section 3).

The tenant API only needs to know the secret is there: it describes it (``secretsmanager:DescribeSecret``) and never
reads its value. The functions that talk to the clearinghouse read it later with their own permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from claimbridge.errors import ClaimsError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

_ABSENT = {"ResourceNotFoundException", "AccessDeniedException", "InvalidRequestException"}
"""Not found; not under the prefix the API may describe; marked for deletion (both count as unusable)."""


class SecretsUnavailable(ClaimsError):
    """Secrets Manager failed or throttled: the request can be retried."""

    retryable = True
    code = "CB-SECRETS-UNAVAILABLE"


class SecretDirectoryPort(Protocol):
    """Answers whether a secret exists and is not scheduled for deletion."""

    def exists(self, name: str) -> bool:
        """True when the secret ``name`` exists and is usable."""
        ...


class SecretsManagerDirectory:
    """``SecretDirectoryPort`` over a Secrets Manager client (built by the caller, after any mock starts)."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client

    def exists(self, name: str) -> bool:
        """DescribeSecret: present and not pending deletion."""
        try:
            described = self._client.describe_secret(SecretId=name)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _ABSENT:
                return False
            raise SecretsUnavailable(f"describe_secret failed: {code}") from exc
        return "DeletedDate" not in described
