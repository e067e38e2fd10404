"""Handlers log JSON lines with correlation keys; an inbound file name never reaches a log line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.observability import inbound_key_ref
from claimbridge.tenants import TenantConfig
from functions.ingest_fhir import app as ingest_app
from functions.submit_claims import app as submit_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import FakeLambdaContext, ingest_event, sqs_event_from_bus_events

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
FILE_NAME = "ZQXSMITH-JOHN-1961-07-13.json"  # what an EHR might call a file


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' not in line]


@pytest.mark.usefixtures("demo_tenant")
def test_handlers_log_correlation_keys_and_only_a_reference_to_the_inbound_key(
    infra: Infra, sandbox: SandboxClearinghouse, capsys: pytest.CaptureFixture[str], demo_tenant: TenantConfig
) -> None:
    # Given a bundle dropped under a file name that names a patient
    key = f"{TENANT}/2026/{FILE_NAME}"
    boto3.client("s3").put_object(
        Bucket=infra.inbound_bucket, Key=key, Body=(BUNDLES / "intake-90791.json").read_bytes()
    )

    # When it is ingested and submitted
    assert ingest_app.lambda_handler(ingest_event([(infra.inbound_bucket, key)]), FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    bodies = drain(infra.queue_urls["SubmitQueue"])
    for body in bodies:
        body.setdefault("account", "123456789012")
    event = sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json")
    assert submit_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}

    # Then the ingest line names the object by its tenant and hash only ...
    output = capsys.readouterr().out
    lines = _lines(output)
    (ingested,) = [line for line in lines if line["message"] == "inbound object ingested"]
    assert ingested["inbound_key_ref"] == inbound_key_ref(key)
    assert (ingested["tenant_id"], ingested["ready"]) == (TENANT, 1)
    assert "ZQXSMITH" not in output and "1961" not in output
    # ... and the package's line about the clearinghouse call carries the tenant and the interchange
    (taken,) = [line for line in lines if line["message"] == "interchange taken by the clearinghouse"]
    assert (taken["tenant_id"], taken["interchange_control_number"], taken["submission_id"], taken["claims"]) == (
        TENANT,
        "000000001",
        "CBSANDBOX-000000001",
        1,
    )
