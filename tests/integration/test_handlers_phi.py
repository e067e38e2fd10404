"""Fake PHI put into the bundles never reaches logs, metrics, bus events, error reports or OperationOutcomes."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import boto3
import httpx
import pytest

from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from functions.accept_submission import app as accept_app
from functions.ingest_fhir import app as ingest_app
from functions.poll_clearinghouse import app as poll_app
from functions.process_responses import app as responses_app
from functions.submit_claims import app as submit_app
from tests.integration.conftest import Infra, drain
from tests.integration.handler_events import (
    FakeLambdaContext,
    ingest_event,
    responses_event,
    sample,
    sqs_event_from_bus_events,
    submitted_events,
)

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
FAMILY = "ZQXWPHIFAMILY"
GIVEN = "QJVPHIGIVEN"
MEMBER_ID = "PHIMEMBER7731"
BIRTH_DATE = "1961-07-13"
PHI = (FAMILY, GIVEN, MEMBER_ID, BIRTH_DATE, "19610713")


def with_fake_phi(name: str) -> bytes:
    """A committed bundle with distinctive fake PHI in the patient's name, birth date and member id."""
    text = (BUNDLES / name).read_text(encoding="utf-8")
    for real, fake in (
        ("SAMPLEPATIENT", FAMILY),
        ("TESTPATIENT", FAMILY),
        ('"CASEY"', f'"{GIVEN}"'),
        ('"ALEX"', f'"{GIVEN}"'),
        ("1EG4TE5MK73", MEMBER_ID),
        ("1958-11-20", BIRTH_DATE),
        ("1990-04-02", BIRTH_DATE),
    ):
        text = text.replace(real, fake)
    assert FAMILY in text
    return text.encode()


@pytest.mark.usefixtures("demo_tenant")
def test_handlers_never_write_fake_phi_to_logs_metrics_events_or_reports(
    infra: Infra,
    sandbox: SandboxClearinghouse,
    captured_logs: StringIO,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given bundles carrying fake PHI: a good one, one with an unresolvable coverage, and a bare Patient (not a Bundle)
    s3 = boto3.client("s3")
    inputs = {
        f"{TENANT}/good.json": with_fake_phi("intake-90791.json"),
        f"{TENANT}/nocov.json": with_fake_phi("bad/claim-without-coverage.json"),
        f"{TENANT}/patient.json": with_fake_phi("bad/not-a-bundle.json"),
    }
    for key, content in inputs.items():
        s3.put_object(Bucket=infra.inbound_bucket, Key=key, Body=content)
    # ... and the same good bundle sent inline on the bus by the registered EHR, and by an unregistered one
    inline = {"bundle": json.loads(with_fake_phi("telehealth-90837-home.json"))}
    sender = ("111122223333", "com.example-ehr.demo-practice")
    submitted = {
        "Records": submitted_events([inline], account=sender[0], source=sender[1])["Records"]
        + submitted_events([inline], account="999988887777", source=sender[1])["Records"]
    }
    claim_id = claim_id_for(TENANT, "Claim/clm-2")
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"reject_claims": [claim_id]}).raise_for_status()

    # When every handler runs over them: accept submission, ingest, submit, poll, process responses
    accept_app.lambda_handler(submitted, FakeLambdaContext())
    listing = s3.list_objects_v2(Bucket=infra.inbound_bucket)["Contents"]
    ingest_app.lambda_handler(
        ingest_event([(infra.inbound_bucket, item["Key"]) for item in listing]), FakeLambdaContext()
    )
    bodies = drain(infra.queue_urls["SubmitQueue"])
    for body in bodies:
        body.setdefault("account", "123456789012")
    submit_app.lambda_handler(sqs_event_from_bus_events(bodies, "submit_claims_claim_ready.json"), FakeLambdaContext())
    poll_app.lambda_handler(sample("poll_clearinghouse_scheduled.json"), FakeLambdaContext())
    responses_app.lambda_handler(
        responses_event([(infra.archive_bucket, key) for key in infra.archive_keys("responses/")]),
        FakeLambdaContext(),
    )

    # Then the pipeline did its work (so the check below is not vacuous) ...
    kinds = {event["detail-type"] for event in infra.bus_events()}
    assert {"Claim Ready", "Claim Held", "Claim Submitted", "Claim Rejected", "FHIR Submission Rejected"} <= kinds
    assert FAMILY in infra.archive_text(f"quarantine/{TENANT}/{TENANT}/patient.json")  # the input is kept as is
    logs = captured_logs.getvalue()
    assert "inbound object ingested" in logs
    assert "submitted event handled" in logs
    assert len(listing) == len(inputs) + 1  # the registered sender's inline bundle was accepted
    assert any(key.endswith("/event.json.error.json") for key in infra.archive_keys("quarantine/_no-tenant/"))
    assert "response file processed" in logs

    # ... and no fake PHI appears in logs, metrics, stdout/stderr, bus events, error reports or OperationOutcomes
    captured = capsys.readouterr()
    outputs = {
        "handler logs": logs,
        "stdout (logs + EMF metrics)": captured.out,
        "stderr": captured.err,
        "python logging": caplog.text,
        "bus events": json.dumps(infra.bus_events()),
        **{key: infra.archive_text(key) for key in infra.archive_keys("quarantine/") if key.endswith(".error.json")},
        **{key: infra.archive_text(key) for key in infra.archive_keys("outbound/")},
    }
    assert len(outputs) > 5
    for where, text in outputs.items():
        for value in PHI:
            assert value not in text, f"{value!r} leaked into {where}"
