"""Tenants: configuration models and (later) the versioned tenant service."""

from claimbridge.tenants.models import (
    DEMO_TENANT_FILE,
    PayerProfile,
    TenantConfig,
    TenantConfigError,
    TenantPayer,
    load_tenant_config,
    parse_tenant_config,
)

__all__ = [
    "DEMO_TENANT_FILE",
    "PayerProfile",
    "TenantConfig",
    "TenantConfigError",
    "TenantPayer",
    "load_tenant_config",
    "parse_tenant_config",
]
