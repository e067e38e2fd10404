"""Settings and dependency wiring under moto: fail-fast settings, secrets through Powertools parameters."""

from __future__ import annotations

import json

import boto3
import pytest
from pydantic import ValidationError

from claimbridge.clearinghouse.x12_api import X12ApiClearinghouse
from claimbridge.pipeline.wiring import clearinghouse_factory, secret_loader
from claimbridge.settings import Settings, get_settings
from claimbridge.tenants import TenantConfig
from tests.integration.conftest import Infra

pytestmark = pytest.mark.integration


def test_settings_missing_required_variable_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an environment without CLAIMS_TABLE
    monkeypatch.delenv("CLAIMS_TABLE", raising=False)
    monkeypatch.setenv("ARCHIVE_BUCKET", "archive")
    monkeypatch.setenv("EVENT_BUS_NAME", "bus")

    # When / Then reading the settings fails and names the variable
    with pytest.raises(ValidationError, match="CLAIMS_TABLE"):
        Settings()


def test_settings_read_the_template_contract_names(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the environment the template sets (the fixture sets the AWS names)
    monkeypatch.setenv("CLAIMBRIDGE_SANDBOX_URL", "http://127.0.0.1:8999")
    get_settings.cache_clear()

    # When the settings are read
    settings = get_settings()

    # Then every value comes from its contract variable
    assert (settings.claims_table, settings.archive_bucket, settings.inbound_bucket, settings.event_bus_name) == (
        infra.table,
        infra.archive_bucket,
        infra.inbound_bucket,
        infra.bus_name,
    )
    assert settings.sandbox_url == "http://127.0.0.1:8999"
    assert settings.metrics_namespace == "Claimbridge"


def test_wiring_x12_api_tenant_gets_its_key_from_secrets_manager(infra: Infra, demo_tenant: TenantConfig) -> None:
    # Given an x12-api tenant whose API key is a Secrets Manager JSON document
    secret_ref = "claimbridge/demo-practice/clearinghouse-wiring-test"
    boto3.client("secretsmanager").create_secret(Name=secret_ref, SecretString=json.dumps({"api_key": "k-wiring"}))
    block = demo_tenant.clearinghouse.model_copy(
        update={"kind": "x12-api", "endpoint": "https://clearinghouse.example/x12", "secret_ref": secret_ref}
    )
    tenant = demo_tenant.model_copy(update={"clearinghouse": block})

    # When the secret is loaded and the tenant's adapter is built
    loaded = secret_loader(300)(secret_ref)
    adapter = clearinghouse_factory(get_settings())(tenant)

    # Then the loader returns the document, and the adapter talks to the tenant's own endpoint
    assert json.loads(loaded) == {"api_key": "k-wiring"}
    assert isinstance(adapter, X12ApiClearinghouse)


def test_wiring_adapters_are_per_tenant_and_reused_while_unchanged(
    infra: Infra, demo_tenant: TenantConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given sandbox tenants and a factory
    monkeypatch.setenv("CLAIMBRIDGE_SANDBOX_URL", "http://127.0.0.1:8999")
    get_settings.cache_clear()
    factory = clearinghouse_factory(get_settings())
    other = demo_tenant.model_copy(update={"tenant_id": "other-practice"})

    # When adapters are asked for twice per tenant
    first, again, theirs = factory(demo_tenant), factory(demo_tenant), factory(other)

    # Then a tenant reuses its own adapter and never gets another tenant's
    assert first is again
    assert theirs is not first
