"""schemathesis against docs/openapi.json on the tenant API served locally (claimbridge.local.api_server) over moto.

Every operation gets a bounded number of generated requests (valid and invalid); each answer must not be a 5xx and
must conform to the document: status code documented, content type, body schema, headers. The caller is the demo
practice's billing role, and path parameters name the demo practice and its claim often enough to reach the
services, not only the 404 of an unknown tenant.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from moto import mock_aws
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from claimbridge.local.api_server import LocalTenantApi
from claimbridge.settings import get_settings
from claimbridge.state import ClaimState, DynamoClaimStore
from claimbridge.tenants import parse_tenant_config
from functions.tenant_api import app as tenant_api_app
from tests.integration.api_support import demo_document, role, session
from tests.support.sam import sam_resource, table_create_kwargs

pytestmark = pytest.mark.integration

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
TENANT = "demo-practice"
CLAIM_ID = "CBSCHEMA0001"
schema = schemathesis.openapi.from_path(str(OPENAPI))


@schema.hook("map_path_parameters")
def _demo_practice(context: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Half the time (by the generated value's parity) name the practice and claim that exist."""
    if path_parameters and "tenant_id" in path_parameters and len(str(path_parameters["tenant_id"])) % 2 == 0:
        path_parameters["tenant_id"] = TENANT
        if "claim_id" in path_parameters:
            path_parameters["claim_id"] = CLAIM_ID
    return path_parameters


def _not_a_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, whatever was sent."""
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    return None


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    """moto with the template's table and buckets, the demo practice with a held claim, the API on 127.0.0.1."""
    variables = {
        "CLAIMS_TABLE": "claims-schema",
        "ARCHIVE_BUCKET": "archive-schema",
        "INBOUND_BUCKET": "inbound-schema",
        "EVENT_BUS_NAME": "claimbridge-schema",
        "CLAIMBRIDGE_ADMIN_PRINCIPALS": "",
    }
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="claims-schema", **table_create_kwargs(sam_resource("ClaimsTable")["Properties"])
        )
        for bucket in ("archive-schema", "inbound-schema"):
            boto3.client("s3").create_bucket(Bucket=bucket)
        boto3.client("events").create_event_bus(Name="claimbridge-schema")
        store = DynamoClaimStore(dynamodb, "claims-schema")
        store.put_tenant_config(parse_tenant_config(demo_document(TENANT, principals=(role("DemoPracticeBilling"),))))
        claim = store.create_claim(
            tenant_id=TENANT, claim_id=CLAIM_ID, source_key="Claim/schema", version="1", claim=None, findings=[],
            payer_key=None, config_version=1, previous_source=None, reason="received", actor="test",
        )  # fmt: skip
        store.transition(claim, ClaimState.HELD, reason="held", actor="test")
        get_settings.cache_clear()
        tenant_api_app.get_deps.cache_clear()
        with LocalTenantApi(tenant_api_app.lambda_handler, user_arn=session("DemoPracticeBilling")) as server:
            yield server.url
    tenant_api_app.get_deps.cache_clear()
    get_settings.cache_clear()
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_tenant_api_answers_every_operation_as_documented(case: schemathesis.Case[Any], api_url: str) -> None:
    # Given a generated request for one operation of docs/openapi.json
    # When it is sent to the locally served API
    # Then the answer is no 5xx, and its status, content type, headers and body are the documented ones
    response = case.call_and_validate(
        base_url=api_url,
        checks=[
            _not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
    if response.status_code >= 400:
        assert json.loads(response.text)["code"].startswith("CB-")
