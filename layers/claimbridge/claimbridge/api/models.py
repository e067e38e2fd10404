"""Tenant API bodies that are not domain models already (tenant documents, providers, payer profiles, worklists and
claims are returned as the domain's own models)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.overrides import ClaimOverrides
from claimbridge.state.models import TenantRecord, TenantVersion
from claimbridge.tenants.models import RosterProvider

_OUT = ConfigDict(frozen=True, extra="forbid")


class TenantSummary(BaseModel):
    """A tenant's current version: whether it is on, and who stored it when (the document's SHA-256)."""

    model_config = _OUT
    tenant_id: str
    config_version: int
    enabled: bool
    sha256: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, record: TenantRecord) -> TenantSummary:
        """The summary of a stored tenant record."""
        return cls(
            tenant_id=record.config.tenant_id,
            config_version=record.config_version,
            enabled=record.config.enabled,
            sha256=record.sha256,
            updated_at=record.updated_at,
            updated_by=record.updated_by,
        )


class TenantWritten(TenantSummary):
    """The version a write stored; ``created`` when it was the tenant's first."""

    created: bool = False


class TenantList(BaseModel):
    """Tenants the caller may see (operators: all)."""

    model_config = _OUT
    items: list[TenantSummary]


class VersionList(BaseModel):
    """A tenant's configuration history, oldest first."""

    model_config = _OUT
    items: list[TenantVersion]


class ProviderList(BaseModel):
    """The practice's clinician roster."""

    model_config = _OUT
    items: list[RosterProvider]


_IN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
Reason = Annotated[str, Field(min_length=1, max_length=500, description="why (kept in the claim's audit history)")]


class ReasonRequest(BaseModel):
    """An action that needs only the biller's reason (void, write off, close, resend)."""

    model_config = _IN
    reason: Reason


class FixRequest(BaseModel):
    """Resubmit or correct: the reason and, optionally, field overrides (``claimbridge.overrides``; audited by path)."""

    model_config = _IN
    reason: Reason
    overrides: ClaimOverrides | None = None
