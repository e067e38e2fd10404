"""``claimbridge tenants|claims`` against the local stack, configured only by the exports ``make run KEEP=1`` prints."""

from __future__ import annotations

import io
import json
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claimbridge.cli import main
from claimbridge.local.demo import PipelinePump, export_lines
from claimbridge.local.router import LocalRouter
from claimbridge.local.stack import LocalStack
from claimbridge.mapping import claim_id_for
from claimbridge.tenants import DEMO_TENANT_FILE

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TENANT = "demo-practice"
CLAIM_ID = claim_id_for(TENANT, "Claim/clm-2")  # intake-90791: Medicare, rendered by 1000000004


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(parameters={"ClearinghouseSandboxUrl": "http://127.0.0.1:9"}) as local:
        yield local


@pytest.fixture
def exported(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of another shell after pasting the printed export lines."""
    variables = {}
    for line in export_lines(stack):
        name, _, value = line.removeprefix("export ").partition("=")
        variables[name] = shlex.split(value)[0]
        monkeypatch.setenv(name, variables[name])
    return variables


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out.strip() else None, captured.err


def test_cli_exports_name_the_stack_and_nothing_else(stack: LocalStack, exported: dict[str, str]) -> None:
    # Given / When the printed exports
    # Then they point boto3 at moto and name the stack's table, buckets and bus
    assert exported["AWS_ENDPOINT_URL"] == stack.endpoint_url
    assert exported["CLAIMS_TABLE"] == stack.claims_table
    assert exported["ARCHIVE_BUCKET"] == stack.archive_bucket
    assert exported["EVENT_BUS_NAME"] == stack.event_bus_name
    assert "POWERTOOLS_SERVICE_NAME" not in exported


def test_cli_manages_a_tenant_and_resubmits_its_held_claim_on_the_local_stack(
    stack: LocalStack, exported: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the demo practice's document with clinician 1000000004 not enrolled with Medicare
    document = json.loads(DEMO_TENANT_FILE.read_text(encoding="utf-8"))
    document["providers"][2]["enrolled_payers"] = ["COMM-A"]
    tenant_file = tmp_path / "tenant.json"
    tenant_file.write_text(json.dumps(document), encoding="utf-8")

    # When an operator stores it, then tries to store it again without saying which version it replaces
    created = cli(capsys, "tenants", "put", str(tenant_file), "--if-match", "0")
    blind = cli(capsys, "tenants", "put", str(tenant_file))

    # Then the first is version 1, the second is refused
    assert (created[0], created[1]["config_version"], created[1]["created"]) == (0, 1, True)
    assert blind[0] == 1 and "CB-IF-MATCH-REQUIRED" in blind[2]

    # When the EHR drops a Medicare claim rendered by that clinician, and the stack's wiring runs ingest
    body = (REPO / "events" / "bundles" / "intake-90791.json").read_bytes()
    stack.s3().put_object(Bucket=stack.inbound_bucket, Key=f"{TENANT}/intake.json", Body=body)
    LocalRouter(stack, log_stream=io.StringIO()).drain(poll=False)
    capsys.readouterr()
    status, worklist, _ = cli(capsys, "claims", "worklist", "--tenant", TENANT, "held")

    # Then the held worklist shows it with the credentialing finding
    assert status == 0
    (item,) = worklist["items"]
    assert item["claim"]["claim_id"] == CLAIM_ID
    assert any(rule.startswith("BH-CRED") for rule in item["claim"]["error_rule_ids"])

    # When the biller resubmits it with an enrolled rendering clinician
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"rendering_npi": "1111111112"}), encoding="utf-8")
    status, result, _ = cli(
        capsys,
        "claims",
        "resubmit",
        "--tenant",
        TENANT,
        CLAIM_ID,
        "--reason",
        "LCSW rendered",
        "--overrides",
        str(overrides),
    )

    # Then it is READY, and the claim's history names the CLI actor
    assert (status, result["from_state"], result["state"]) == (0, "HELD", "READY")
    status, detail, _ = cli(capsys, "claims", "show", "--tenant", TENANT, CLAIM_ID)
    assert detail["state"] == "READY"
    assert any(entry["actor"].startswith("cli") for entry in detail["history"])

    # When the stack keeps running as after `make run KEEP=1`: the pump delivers what the resubmit announced
    pump = PipelinePump(LocalRouter(stack, log_stream=io.StringIO()), interval=0.2)
    pump.start()
    try:
        for _ in range(100):
            with pump.lock:  # the router redirects this process's stdout while it runs a function
                detail = cli(capsys, "claims", "show", "--tenant", TENANT, CLAIM_ID)[1]
            if detail["pending_submission_id"] or detail["state"] != "READY":
                break
            time.sleep(0.2)
    finally:
        pump.stop()

    # Then submit_claims took the claim into an interchange (this stack's clearinghouse is unreachable: it waits there
    # for its retry)
    assert detail["pending_submission_id"] is not None or detail["state"] == "SUBMITTED"

    # When the practice is disabled, and its versions listed
    cli(capsys, "tenants", "disable", "--tenant", TENANT)
    status, versions, _ = cli(capsys, "tenants", "versions", "--tenant", TENANT)

    # Then each change is a version
    assert [(v["config_version"], v["enabled"]) for v in versions] == [(1, True), (2, False)]


def test_cli_refusals_and_missing_configuration(
    stack: LocalStack, exported: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # When a claim that does not exist is shown, and then the table is not configured at all
    missing = cli(capsys, "claims", "show", "--tenant", "nobody-here", "CBNOPE")
    monkeypatch.delenv("CLAIMS_TABLE")
    unconfigured = cli(capsys, "tenants", "list")

    # Then: refused (1) with the code, not configured (2) naming the variable
    assert missing[0] == 1 and "CB-CLAIM-NOT-FOUND" in missing[2]
    assert unconfigured[0] == 2 and "CLAIMS_TABLE" in unconfigured[2]
