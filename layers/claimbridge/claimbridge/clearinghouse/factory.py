"""Which adapter a tenant's ``clearinghouse`` block asks for (tenant-config section 1).

Each call builds an adapter for one tenant with that tenant's own endpoint and credentials, so one tenant's account
is never used for another's claims.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from claimbridge.clearinghouse.errors import ClearinghouseConfigError, ClearinghouseUnsupported
from claimbridge.clearinghouse.port import ClearinghousePort
from claimbridge.clearinghouse.sftp import DEFAULT_SFTP_TIMEOUTS, SftpClearinghouse, SftpTimeouts
from claimbridge.clearinghouse.x12_api import DEFAULT_TIMEOUT, X12ApiClearinghouse
from claimbridge.tenants import TenantConfig

SANDBOX_API_KEY = "claimbridge-sandbox"
"""The key sent to the sandbox clearinghouse (it has no accounts; the adapter always sends an Authorization)."""


def adapter_for(
    tenant: TenantConfig,
    *,
    sandbox_url: str | None,
    secret_loader: Callable[[str], str] | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    client: httpx.Client | None = None,
    sftp_timeouts: SftpTimeouts = DEFAULT_SFTP_TIMEOUTS,
) -> ClearinghousePort:
    """The clearinghouse adapter for ``tenant``.

    Parameters
    ----------
    tenant
        Its ``clearinghouse.kind`` picks the adapter.
    sandbox_url
        Where the local sandbox listens; used for kind ``sandbox`` when the tenant names no endpoint.
    secret_loader
        Takes ``clearinghouse.secret_ref`` and returns the secret (what a Powertools ``parameters.get_secret``
        returns). ``x12-api``: the API key, or the JSON document ``{"api_key": ...}``; ``sftp``: the JSON document
        ``{"username", "private_key", "host_key"}``.
    timeout, client
        Passed to ``X12ApiClearinghouse``.
    sftp_timeouts
        Passed to ``SftpClearinghouse``.

    Raises
    ------
    ClearinghouseConfigError
        No endpoint for the sandbox; no endpoint, secret_ref, loader or usable secret for ``x12-api`` or ``sftp``.
    ClearinghouseUnsupported
        A kind this release has no adapter for.
    """
    settings = tenant.clearinghouse
    if settings.kind == "sandbox":
        endpoint = settings.endpoint or sandbox_url
        if not endpoint:
            raise ClearinghouseConfigError(
                f"tenant {tenant.tenant_id}: clearinghouse kind sandbox needs an endpoint or a running local sandbox"
            )
        return X12ApiClearinghouse(endpoint, SANDBOX_API_KEY, timeout=timeout, client=client)
    if settings.kind in ("x12-api", "sftp"):
        if secret_loader is None or settings.secret_ref is None or not settings.endpoint:
            raise ClearinghouseConfigError(
                f"tenant {tenant.tenant_id}: {settings.kind} clearinghouse needs an endpoint, a secret_ref and a "
                "secret loader"
            )
        secret = secret_loader(settings.secret_ref)
        if settings.kind == "sftp":
            try:
                return SftpClearinghouse.from_secret(settings.endpoint, secret, timeouts=sftp_timeouts)
            except ClearinghouseConfigError as exc:
                raise ClearinghouseConfigError(f"tenant {tenant.tenant_id}: {exc}") from exc
        api_key = _api_key(secret)
        if not api_key:
            raise ClearinghouseConfigError(f"tenant {tenant.tenant_id}: the clearinghouse secret holds no api_key")
        return X12ApiClearinghouse(settings.endpoint, api_key, timeout=timeout, client=client)
    raise ClearinghouseUnsupported(f"tenant {tenant.tenant_id}: clearinghouse kind {settings.kind} is not supported")


def _api_key(secret: str) -> str:
    """The key itself, or the ``api_key`` of a Secrets Manager JSON document."""
    text = secret.strip()
    if not text.startswith("{"):
        return text
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClearinghouseConfigError("the clearinghouse secret is not valid JSON") from exc
    key = document.get("api_key") if isinstance(document, dict) else None
    return key.strip() if isinstance(key, str) else ""
