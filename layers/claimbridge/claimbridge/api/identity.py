"""Who is calling, and which tenant the call may touch.

The caller is the IAM identity API Gateway authenticated (``AWS_IAM`` authorizer: ``requestContext.identity``
``userArn``), never anything in the path, query or body. Its principal key (``claimbridge.tenants.principals``) is
looked up in the principal -> tenant index the tenant documents maintain (``api.principals``); operators are the
principals of ``CLAIMBRIDGE_ADMIN_PRINCIPALS`` and may act on every tenant and create new ones. A path naming
another tenant is answered exactly like a tenant that does not exist (404), so callers learn nothing about others.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from claimbridge.api.problems import Forbidden
from claimbridge.state.ports import ClaimStorePort
from claimbridge.tenants.principals import principal_key, principal_keys
from claimbridge.tenants.service import TenantNotFound


class Caller(BaseModel):
    """The authenticated caller: its ARN (the audit actor), the tenant it is mapped to, whether it is an operator."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    arn: str
    tenant_id: str | None = None
    is_admin: bool = False

    def scope(self, tenant_id: str) -> str:
        """``tenant_id`` if this caller may act on it; else 404 (another tenant's) or 403 (no tenant at all)."""
        if self.is_admin or self.tenant_id == tenant_id:
            return tenant_id
        if self.tenant_id is None:
            raise Forbidden("the caller is not mapped to a tenant")
        raise TenantNotFound(f"tenant {tenant_id} is not configured")

    def require_admin(self) -> None:
        """Only operators may create tenants."""
        if not self.is_admin:
            raise Forbidden("only operator principals may do this")


def parse_admin_principals(value: str) -> frozenset[str]:
    """``CLAIMBRIDGE_ADMIN_PRINCIPALS``: comma-separated role/user ARNs -> principal keys (blank entries ignored)."""
    return principal_keys(tuple(part.strip() for part in value.split(",") if part.strip()))


def identify(user_arn: str | None, *, store: ClaimStorePort, admins: Iterable[str]) -> Caller:
    """The caller behind an API Gateway IAM identity; an identity without a usable ARN is refused (403)."""
    if not user_arn:
        raise Forbidden("the request carries no IAM identity")
    key = principal_key(user_arn)
    if key is None:
        raise Forbidden("the caller's identity is not an IAM role session or user")
    if key in frozenset(admins):
        return Caller(arn=user_arn, is_admin=True)
    return Caller(arn=user_arn, tenant_id=store.tenant_for_principal(key))
