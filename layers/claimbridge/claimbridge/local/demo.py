"""``make run``: the whole pipeline on this machine, from FHIR bundles in S3 to accepted claims.

moto server (template.yaml, via :mod:`claimbridge.local.stack`) + the sandbox clearinghouse (a real HTTP server) +
the handlers (run in-process by :mod:`claimbridge.local.router`). The demo tenant is stored, every example bundle
under ``events/bundles/`` is uploaded to ``s3://<inbound>/<tenant>/``, and the router drains the queues and polls the
clearinghouse until the claims' states stop moving. Then the 837P, 999 and 277CA files are copied from the archive
bucket into ``<out>/837p``, ``<out>/999`` and ``<out>/277ca`` and a table of claims (ids, payer key, state; no PHI)
is printed. ``run_demo`` also tells the sandbox how to answer each example claim (``DEMO_SCENARIO``: paid with a
copay, paid in part, denied, rejected by the 277CA), so the table shows the whole lifecycle; its exit status is 0
only if every claim ended in the state the scenario expects.
"""

from __future__ import annotations

import io
import json
import shlex
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from claimbridge.local.api_server import LocalTenantApi
from claimbridge.local.kpi_report import report_tenant
from claimbridge.local.redate import redate_bundle
from claimbridge.local.router import DrainReport, LocalRouter
from claimbridge.local.sandbox import FaultRequest, RemitControl, SandboxState
from claimbridge.local.sandbox_remits import RemitOutcome
from claimbridge.local.sandbox_sftp import SftpSandboxClearinghouse
from claimbridge.local.stack import ACCOUNT_ID, LocalStack, LocalStackError
from claimbridge.mapping import claim_id_for
from claimbridge.reports.command import REPORT_FILE
from claimbridge.reports.models import KpiReport
from claimbridge.state import ClaimState, DynamoClaimStore, StoredClaim
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, load_tenant_config

ARCHIVE_DOWNLOADS = {
    "837p": "x12/837p/{tenant}/",
    "999": "responses/{tenant}/999/",
    "277ca": "responses/{tenant}/277CA/",
    "835": "responses/{tenant}/835/",
    "claimresponse": "outbound/{tenant}/ClaimResponse/",
    "eob": "outbound/{tenant}/ExplanationOfBenefit/",
    "quarantine": "quarantine/{tenant}/",
    "reports": "reports/{tenant}/",  # issue 9: the KPI report documents
}
"""Local folder under ``out`` -> archive prefix copied into it."""

MAX_SETTLE_ROUNDS = 4
MAX_LISTED_FILES = 5


@dataclass(frozen=True)
class ClaimRow:
    """One line of the demo's claim table: identifiers, state and what the payer/clearinghouse said (codes only)."""

    source_key: str
    claim_id: str
    payer: str
    state: str
    detail: str = ""


DEMO_SCENARIO: dict[str, tuple[ClaimState, RemitOutcome | None]] = {
    "Claim/clm-1": (ClaimState.PAID, RemitOutcome(outcome="partial", patient_responsibility="PR-3")),  # copay
    "Claim/clm-2": (ClaimState.DENIED, RemitOutcome(outcome="denied", carc="CO-16", rarc="N290")),
    "Claim/clm-3": (ClaimState.PARTIALLY_PAID, RemitOutcome(outcome="paid", denied_lines=(2,), carc="CO-50")),
    "Claim/clm-cob": (ClaimState.REJECTED, None),
}
"""How the sandbox answers each example claim in ``make run``: an 835 outcome, or ``None`` = a 277CA rejection."""


def configure_sandbox(state: SandboxState, tenant_id: str) -> dict[str, ClaimState]:
    """Tell the sandbox the demo scenario (835s published with the 999/277CA); returns the expected final states."""
    outcomes = {claim_id_for(tenant_id, source): outcome for source, (_, outcome) in DEMO_SCENARIO.items() if outcome}
    rejected = [claim_id_for(tenant_id, source) for source, (_, outcome) in DEMO_SCENARIO.items() if not outcome]
    state.apply_faults(FaultRequest(remit=RemitControl(after_listings=0, claims=outcomes), reject_claims=rejected))
    return {source: expected for source, (expected, _) in DEMO_SCENARIO.items()}


@dataclass
class PipelineRun:
    """What one local run did and where it ended."""

    tenant_id: str
    uploaded: list[str] = field(default_factory=list)
    drains: list[DrainReport] = field(default_factory=list)
    claims: list[ClaimRow] = field(default_factory=list)
    files: dict[str, list[Path]] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    kpis: KpiReport | None = None  # issue 9: the reports function's document for the tenant

    @property
    def settled(self) -> bool:
        return bool(self.drains) and self.drains[-1].settled

    expected: dict[str, ClaimState] = field(default_factory=dict)

    @property
    def all_accepted(self) -> bool:
        return bool(self.claims) and all(row.state == ClaimState.ACCEPTED for row in self.claims)

    @property
    def as_expected(self) -> int:
        """Claims in the state the scenario expects (ACCEPTED for a claim the scenario does not name)."""
        return sum(row.state == self.expected.get(row.source_key, ClaimState.ACCEPTED) for row in self.claims)


def example_bundles(repo_root: Path) -> list[Path]:
    """The demo's input: ``events/bundles/*.json`` (the ``bad/`` examples are for the tests)."""
    return sorted((repo_root / "events" / "bundles").glob("*.json"))


def store_tenant(stack: LocalStack, tenant: TenantConfig) -> None:
    """Enable the tenant the way an admin would: its configuration document in the claims table."""
    DynamoClaimStore(stack.dynamodb(), stack.claims_table).put_tenant_config(tenant, actor="local-demo")


def upload_bundles(stack: LocalStack, tenant_id: str, bundles: Iterable[Path]) -> list[str]:
    """Drop each file at ``s3://<inbound>/<tenant>/<name>``, as an EHR integration would, re-dated to this week."""
    s3 = stack.s3()
    keys = []
    for path in bundles:
        key = f"{tenant_id}/{path.name}"
        body = redate_bundle(path.read_bytes())
        s3.put_object(Bucket=stack.inbound_bucket, Key=key, Body=body, ContentType="application/fhir+json")
        keys.append(key)
    return keys


def list_claims(stack: LocalStack, tenant_id: str) -> list[ClaimRow]:
    """Every claim of the tenant, whatever its state, ordered by source."""
    store = DynamoClaimStore(stack.dynamodb(), stack.claims_table)
    rows = [
        ClaimRow(claim.source_key, claim.claim_id, claim.payer_key or "-", str(claim.state), _detail(claim))
        for state in ClaimState
        for claim in store.claims_in_state(tenant_id, state, limit=1000)
    ]
    return sorted(rows, key=lambda row: (row.source_key, row.claim_id))


def _detail(claim: StoredClaim) -> str:
    """The latest clearinghouse or payer verdict of a claim (rule id + message: codes, never PHI)."""
    verdicts = [f for f in claim.findings if f.rule_id in ("REMIT-835", "ACK-277CA", "ACK-999")]
    return verdicts[-1].message if verdicts else ""


def settle(stack: LocalStack, router: LocalRouter, tenant_id: str) -> tuple[list[DrainReport], list[ClaimRow]]:
    """Drain (which also polls the clearinghouse) until two drains in a row leave every claim where it was."""
    drains: list[DrainReport] = []
    claims = list_claims(stack, tenant_id)
    for _ in range(MAX_SETTLE_ROUNDS):
        report = router.drain(poll=True)
        drains.append(report)
        after = list_claims(stack, tenant_id)
        if after == claims and report.settled:
            break
        claims = after
    return drains, claims


def download_archive(stack: LocalStack, tenant_id: str, out_dir: Path) -> dict[str, list[Path]]:
    """Copy the archive's 837P / 999 / 277CA (and any quarantined input) of the tenant into ``out_dir``."""
    s3 = stack.s3()
    files: dict[str, list[Path]] = {}
    for folder, prefix_template in ARCHIVE_DOWNLOADS.items():
        shutil.rmtree(out_dir / folder, ignore_errors=True)  # only this run's files, not an earlier run's
        prefix = prefix_template.format(tenant=tenant_id)
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=stack.archive_bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                target = out_dir / folder / item["Key"].removeprefix(prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=stack.archive_bucket, Key=item["Key"])["Body"].read())
                files.setdefault(folder, []).append(target)
    return files


def run_pipeline(
    stack: LocalStack,
    bundles: Sequence[Path],
    *,
    out_dir: Path,
    tenant: TenantConfig | None = None,
    log_stream: IO[str] | None = None,
) -> PipelineRun:
    """Store the tenant, upload ``bundles``, settle, download the results into ``out_dir``."""
    config = tenant or load_tenant_config(DEMO_TENANT_FILE)
    run = PipelineRun(tenant_id=config.tenant_id)
    router = LocalRouter(stack, log_stream=log_stream)
    store_tenant(stack, config)
    run.uploaded = upload_bundles(stack, config.tenant_id, bundles)
    run.drains, run.claims = settle(stack, router, config.tenant_id)
    run.kpis = report_tenant(stack, router, config.tenant_id, out_dir)  # issue 9: out/report.html
    run.files = download_archive(stack, config.tenant_id, out_dir)
    run.dead_letters = router.dead_letters()
    return run


def render_report(run: PipelineRun, out_dir: Path) -> str:
    """The table and file summary ``make run`` prints (identifiers, payer keys and states only)."""
    header = ClaimRow("source", "claim id", "payer", "state", "clearinghouse / payer said")
    rows = [header, *run.claims]
    names = ("source_key", "claim_id", "payer", "state", "detail")
    widths = [max(len(getattr(row, name)) for row in rows) for name in names]

    def line(row: ClaimRow) -> str:
        cells = (row.source_key, row.claim_id, row.payer, row.state, row.detail)
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    lines = [
        f"uploaded {len(run.uploaded)} bundle(s) for tenant {run.tenant_id}",
        "",
        line(header),
        "  ".join("-" * width for width in widths),
        *(line(row) for row in run.claims),
        "",
    ]
    for folder in ARCHIVE_DOWNLOADS:
        paths = run.files.get(folder, [])
        if paths or folder != "quarantine":
            lines.append(f"{folder:<11}{len(paths):>3} file(s) in {out_dir / folder}")
            lines.extend(f"{'':<14}{path}" for path in paths[:MAX_LISTED_FILES])
            if len(paths) > MAX_LISTED_FILES:
                lines.append(f"{'':<14}... and {len(paths) - MAX_LISTED_FILES} more")
    dead = {queue: count for queue, count in run.dead_letters.items() if count}
    if dead:
        lines.append(f"dead letters: {', '.join(f'{queue}={count}' for queue, count in sorted(dead.items()))}")
    if not run.settled:
        lines.append("the pipeline did not settle within the round limit")
    by_state = Counter(row.state for row in run.claims)
    lines.append("states: " + ", ".join(f"{count} {state}" for state, count in sorted(by_state.items())))
    if run.expected:
        lines.append(f"{run.as_expected}/{len(run.claims)} claim(s) in the state the demo scenario expects")
    else:
        accepted = sum(row.state == ClaimState.ACCEPTED for row in run.claims)
        lines.append(f"{accepted}/{len(run.claims)} claim(s) ACCEPTED")
    return "\n".join(lines) + "\n"


SFTP_SECRET_NAME = "claimbridge/{tenant}/clearinghouse"  # noqa: S105 - a name, not a secret


def sftp_tenant(stack: LocalStack, sftp: SftpSandboxClearinghouse, base: TenantConfig) -> TenantConfig:
    """``base`` pointed at the SFTP sandbox mailbox, its key pair stored in the local Secrets Manager."""
    name = SFTP_SECRET_NAME.format(tenant=base.tenant_id)
    stack.client("secretsmanager").create_secret(Name=name, SecretString=sftp.tenant_secret())
    clearinghouse = base.clearinghouse.model_copy(update={"kind": "sftp", "endpoint": sftp.url, "secret_ref": name})
    return base.model_copy(update={"clearinghouse": clearinghouse})


KEPT_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "CLAIMS_TABLE",
    "ARCHIVE_BUCKET",
    "INBOUND_BUCKET",
    "EVENT_BUS_NAME",
    "CLAIMBRIDGE_SANDBOX_URL",
)
"""What ``claimbridge tenants|claims`` needs in another shell to work against the kept local stack."""


def export_lines(stack: LocalStack) -> list[str]:
    """``export NAME=value`` lines for the kept stack (the tenant API function's environment, dummy credentials)."""
    env = stack.env("TenantApiFunction")
    return [f"export {name}={shlex.quote(env[name])}" for name in KEPT_VARIABLES if env.get(name)]


def wait_until_interrupted(banner: str) -> None:
    """Print ``banner`` and block until Ctrl-C (the caller's ``finally`` stops the servers)."""
    sys.stdout.write(banner)
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sys.stdout.write("\nstopping the local stack\n")


LOCAL_OPERATOR = f"arn:aws:iam::{ACCOUNT_ID}:role/ClaimbridgeLocalOperator"
"""The template's ``AdminPrincipals`` in the local stack: the identity the locally served tenant API acts as."""


class PipelinePump:
    """``make run KEEP=1``: keeps the template's wiring moving while the stack stays up, as Lambda would.

    Every ``interval`` seconds the router delivers what the queues hold and runs the schedules (poll every tenant's
    clearinghouse, the announce sweep), so a claim a biller corrects or resubmits through the CLI or the tenant API is
    sent to the sandbox, answered and written back. The router sets each function's environment around a call, which
    is process-wide: the pump and the API's calls take turns under one lock.
    """

    def __init__(self, router: LocalRouter, *, interval: float = 2.0) -> None:
        self.router = router
        self.interval = interval
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="claimbridge-pump", daemon=True)

    def invoke(self, function_logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Call one function of the stack (the tenant API: a proxy response), never at the same time as a delivery."""
        with self.lock:
            response: dict[str, Any] = self.router.invoke(function_logical_id, event)
        return response

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self.lock:
                self.router.drain(poll=True, max_rounds=5)


def keep_running(stack: LocalStack, tenant_id: str) -> None:
    """``make run KEEP=1``: serve the tenant API on 127.0.0.1 (as the local operator), keep the pipeline moving
    (``PipelinePump``), print how to reach the stack from another shell (CLI exports, API URL), and wait for Ctrl-C."""
    router = LocalRouter(stack, log_stream=io.StringIO())
    pump = PipelinePump(router)
    api = LocalTenantApi(
        lambda event, _context: pump.invoke("TenantApiFunction", event),
        user_arn=f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{LOCAL_OPERATOR.rsplit('/', 1)[1]}/local",
    )
    url = api.start()
    pump.start()
    try:
        cli = f"{sys.executable.rsplit('/', 1)[0]}/claimbridge"
        wait_until_interrupted(
            "\nthe local stack keeps running, and so does the pipeline; in another shell:\n\n"
            + "\n".join(export_lines(stack))
            + f"\n{cli} claims worklist --tenant {tenant_id} denied\n\n"
            f"tenant API (as the local operator): curl {url}/tenants/{tenant_id}/worklists/denied\n\n"
            "Ctrl-C stops it.\n"
        )
    finally:
        pump.stop()
        api.stop()


def run_demo(out_dir: Path, *, protocol: str = "http", keep: bool = False) -> int:
    """``claimbridge demo --out DIR [--protocol http|sftp] [--keep]``: the sandbox clearinghouse over its HTTP API (the
    demo tenant's ``sandbox`` kind) or as an SFTP mailbox (the tenant switched to ``sftp``). 0 only if every example
    claim ended in the state ``DEMO_SCENARIO`` expects (1 otherwise, 2: no stack). ``keep`` (``make run KEEP=1``):
    leave the stack and sandbox running, print the exports for ``claimbridge tenants|claims``, stop on Ctrl-C."""
    from claimbridge.local.sandbox import SandboxClearinghouse  # noqa: PLC0415 - the demo's other server

    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "logs" / "functions.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sandbox = SandboxClearinghouse()
    expected = configure_sandbox(sandbox.state, load_tenant_config(DEMO_TENANT_FILE).tenant_id)
    sftp = SftpSandboxClearinghouse(state=sandbox.state, synchronous_pickup=True) if protocol == "sftp" else None
    stack: LocalStack | None = None
    try:
        sandbox_url = sandbox.start()
        where = sftp.start() if sftp is not None else sandbox_url
        try:
            parameters = {"ClearinghouseSandboxUrl": sandbox_url, "AdminPrincipals": LOCAL_OPERATOR}
            stack = LocalStack(parameters=parameters).start()
        except LocalStackError as exc:
            sys.stderr.write(f"claimbridge demo: {exc}\n")
            return 2
        sys.stdout.write(f"local stack {stack.stack_name} on {stack.endpoint_url}, sandbox clearinghouse {where}\n")
        tenant = load_tenant_config(DEMO_TENANT_FILE)
        if sftp is not None:
            tenant = sftp_tenant(stack, sftp, tenant)
        with log_path.open("w", encoding="utf-8") as log_stream:
            run = run_pipeline(
                stack, example_bundles(stack.repo_root), out_dir=out_dir, tenant=tenant, log_stream=log_stream
            )
        run.expected = expected
        sys.stdout.write(render_report(run, out_dir))
        if run.kpis is not None:  # issue 9
            sys.stdout.write(f"KPI report: {out_dir / REPORT_FILE}\n{json.dumps(run.kpis.summary(), indent=2)}\n")
        sys.stdout.write(f"function logs: {log_path}\n")
        if keep:
            keep_running(stack, tenant.tenant_id)
    finally:
        if stack is not None:
            stack.stop()
        if sftp is not None:
            sftp.stop()
        sandbox.stop()
    return 0 if run.settled and run.claims and run.as_expected == len(run.claims) else 1
