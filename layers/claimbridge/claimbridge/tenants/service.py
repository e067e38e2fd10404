"""Tenant administration: what the tenant API and ``claimbridge tenants`` do with a practice's configuration.

Every write is a whole new validated version (tenant-config sections 3 and 4): the document is checked by the models
(unknown keys, NPI check digits, payer keys, cross-references), then against the world (the clearinghouse secret
exists, no other tenant registers the same EHR sender or API principal, no inline secret material), then stored
conditionally on the version the writer read. Sub-resources (enabled, a provider, a payer profile) are edits of the
current document that go through the same path. Errors name JSON pointers and rules, never values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from claimbridge.errors import ClaimsError, StateConflict
from claimbridge.state.models import TenantRecord, TenantVersion
from claimbridge.state.ports import ClaimStorePort
from claimbridge.tenants.models import (
    PayerProfile,
    RosterProvider,
    TenantConfig,
    TenantConfigError,
    parse_tenant_config,
)
from claimbridge.tenants.principals import principal_key
from claimbridge.tenants.secrets import SecretDirectoryPort

PEM_MARKER = "-----BEGIN"


class NotFound(ClaimsError):
    """A tenant, version, provider or payer that does not exist (or that the caller may not know exists)."""

    code = "CB-NOT-FOUND"


class TenantNotFound(NotFound):
    """No such tenant (also what a caller of another tenant is told)."""

    code = "CB-TENANT-NOT-FOUND"


class VersionConflict(ClaimsError):
    """The document changed since the writer read it (``If-Match`` is stale), or a racing write won."""

    code = "CB-VERSION-CONFLICT"


class PreconditionRequired(ClaimsError):
    """An existing tenant's document is replaced only with ``If-Match: <config_version>`` (nothing merged blindly)."""

    code = "CB-IF-MATCH-REQUIRED"


@dataclass(frozen=True)
class TenantService:
    """Tenant documents: read (enabled or not), list, versions, validated writes and sub-resource edits."""

    store: ClaimStorePort
    secrets: SecretDirectoryPort

    # ------------------------------------------------------------------ reads
    def get(self, tenant_id: str) -> TenantRecord:
        """The current document, whether the tenant is enabled or not."""
        record = self.store.get_tenant_record(tenant_id)
        if record is None:
            raise TenantNotFound(f"tenant {tenant_id} is not configured")
        return record

    def all(self) -> list[TenantRecord]:
        """Every tenant, by id."""
        return self.store.list_tenant_records()

    def versions(self, tenant_id: str) -> list[TenantVersion]:
        """The tenant's version history, oldest first."""
        self.get(tenant_id)
        return self.store.tenant_versions(tenant_id)

    def version(self, tenant_id: str, version: int) -> TenantConfig:
        """One stored version of the document."""
        config = self.store.get_tenant_version(tenant_id, version)
        if config is None:
            raise NotFound(f"tenant {tenant_id} has no configuration version {version}")
        return config

    def providers(self, tenant_id: str) -> list[RosterProvider]:
        """The practice's clinician roster."""
        return list(self.get(tenant_id).config.providers)

    def provider(self, tenant_id: str, npi: str) -> RosterProvider:
        """One clinician of the roster."""
        found = self.get(tenant_id).config.roster_provider(npi)
        if found is None:
            raise NotFound(f"tenant {tenant_id} has no provider with this NPI")
        return found

    def payer_profile(self, tenant_id: str, key: str) -> PayerProfile:
        """The rules of one configured payer."""
        try:
            return self.get(tenant_id).config.payer(key).profile
        except KeyError:
            raise NotFound(f"tenant {tenant_id} has no payer {key}") from None

    # ------------------------------------------------------------------ writes
    def put(
        self,
        tenant_id: str,
        document: dict[str, Any] | TenantConfig,
        *,
        actor: str,
        expected_version: int | None,
    ) -> tuple[TenantRecord, bool]:
        """Validate ``document`` and store it as the tenant's next version; returns the record and whether the
        tenant was created. ``expected_version`` is the ``If-Match`` (required once the tenant exists)."""
        config = document if isinstance(document, TenantConfig) else parse_tenant_config(document)
        self._check(tenant_id, config)
        existing = self.store.get_tenant_record(tenant_id)
        if existing is not None and expected_version is None:
            raise PreconditionRequired(
                f"tenant {tenant_id} exists: send If-Match with the configuration version the change is based on"
            )
        try:
            self.store.put_tenant_config(config, actor=actor, expected_version=expected_version or 0)
        except StateConflict as exc:  # a stale If-Match, a racing write, or a principal taken meanwhile
            raise VersionConflict(str(exc)) from exc
        return self.get(tenant_id), existing is None

    def set_enabled(self, tenant_id: str, enabled: bool, *, actor: str) -> TenantRecord:
        """Switch the integration on or off for the practice (a new version; ``enabled: false`` acts at once)."""
        return self._edit(tenant_id, actor, lambda document: document.update(enabled=enabled))

    def put_provider(self, tenant_id: str, provider: RosterProvider, *, actor: str) -> TenantRecord:
        """Add or replace the roster entry with the provider's NPI."""
        entry = provider.model_dump(mode="json", by_alias=True)

        def change(document: dict[str, Any]) -> None:
            roster: list[dict[str, Any]] = document["providers"]
            for index, existing in enumerate(roster):
                if existing["npi"] == provider.npi:
                    roster[index] = entry
                    return
            roster.append(entry)

        return self._edit(tenant_id, actor, change)

    def delete_provider(self, tenant_id: str, npi: str, *, actor: str) -> TenantRecord:
        """Remove a clinician from the roster."""
        self.provider(tenant_id, npi)
        return self._edit(
            tenant_id,
            actor,
            lambda document: document.update(providers=[p for p in document["providers"] if p["npi"] != npi]),
        )

    def put_payer_profile(self, tenant_id: str, key: str, profile: PayerProfile, *, actor: str) -> TenantRecord:
        """Replace one payer's rules."""
        self.payer_profile(tenant_id, key)
        entry = profile.model_dump(mode="json", by_alias=True)

        def change(document: dict[str, Any]) -> None:
            for payer in document["payers"]:
                if payer["key"] == key:
                    payer["profile"] = entry

        return self._edit(tenant_id, actor, change)

    def _edit(self, tenant_id: str, actor: str, change: Callable[[dict[str, Any]], None]) -> TenantRecord:
        """Apply ``change`` to the current document and store the result, conditional on the version read."""
        current = self.get(tenant_id)
        document = current.config.model_dump(mode="json", by_alias=True)
        change(document)
        record, _ = self.put(tenant_id, document, actor=actor, expected_version=current.config_version)
        return record

    # ------------------------------------------------------------------ checks against the world
    def _check(self, tenant_id: str, config: TenantConfig) -> None:
        """What the models cannot know: the path's tenant, secrets, other tenants' senders and principals."""
        problems: list[tuple[str, str]] = []
        if config.tenant_id != tenant_id:
            problems.append(("/tenant_id", "must be the tenant named in the request path"))
        problems.extend(
            (pointer, "inline secret material is refused; store it in Secrets Manager and name it in secret_ref")
            for pointer in _pem_values(config.model_dump(mode="json", by_alias=True), "")
        )
        clearinghouse = config.clearinghouse
        if clearinghouse.kind != "sandbox" and clearinghouse.secret_ref is not None:
            if not self.secrets.exists(clearinghouse.secret_ref):
                problems.append(
                    ("/clearinghouse/secret_ref", "names no usable secret in Secrets Manager (missing or deleted)")
                )
        for index, source in enumerate(config.inbound.event_sources):
            owners = set(self.store.tenants_for_event_source(source.account, source.source)) - {config.tenant_id}
            if owners:
                problems.append((f"/inbound/event_sources/{index}", "this sender is registered by another tenant"))
        seen: set[str] = set()
        for index, arn in enumerate(config.api.principals):
            key = principal_key(arn)
            if key is None or key in seen:
                problems.append((f"/api/principals/{index}", "names the same principal as an earlier entry"))
                continue
            seen.add(key)
            owner = self.store.tenant_for_principal(key)
            if owner is not None and owner != config.tenant_id:
                problems.append((f"/api/principals/{index}", "this principal is mapped to another tenant"))
        if problems:
            raise TenantConfigError(problems)


def _pem_values(value: Any, pointer: str) -> Iterator[str]:
    """JSON pointers of string values that start like a PEM key or certificate."""
    if isinstance(value, str):
        if value.lstrip().startswith(PEM_MARKER):
            yield pointer or "/"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _pem_values(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _pem_values(item, f"{pointer}/{index}")
