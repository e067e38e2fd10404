"""``claimbridge``: the offline command line (contract section 15).

``convert`` runs the same intake, mapping and scrubber as the pipeline without AWS and writes one 837P interchange per
payer holding only READY claims, plus ``findings.json`` (every claim's outcome). ``scrub`` runs intake and the
scrubber only and prints each claim's status and findings (``--json`` for machines). Output names files, ids, rule ids,
codes and FHIR paths, never PHI. Exit status: 0 every claim READY (and written); 1 some claims HELD or rejected (the
rest written); 2 a file could not be read at all. ``remit`` reads an 835 and prints each claim's outcome, adjustments,
remarks, denial category and next action (exit 0 when the file reads, 2 when it cannot).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from claimbridge import __version__
from claimbridge.claim import ProfessionalClaim
from claimbridge.cli_admin import add_commands as add_admin_commands
from claimbridge.cli_admin import run as run_admin
from claimbridge.errors import ClaimsError, InputError, X12SyntaxError
from claimbridge.fhir import BULK_MANIFEST_NAME, SubmissionIndex, read_bulk_set, read_submission
from claimbridge.findings import Finding, Severity
from claimbridge.intake import intake_submission
from claimbridge.local.file_counter import default_state_dir, next_interchange_control
from claimbridge.remit.summary import read_remittances, remit_document, remit_text
from claimbridge.reports.command import add_report_command, run_report_command
from claimbridge.scrubber import HELD as SCRUB_HELD
from claimbridge.scrubber import InMemoryHistory, scrub
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, TenantConfigError, load_tenant_config
from claimbridge.x12 import writer

EXIT_OK = 0
EXIT_HELD = 1
EXIT_UNREADABLE = 2

READY = "READY"
HELD = "HELD"
REJECTED = "REJECTED"


@dataclass
class _Outcome:
    file: str
    source_key: str
    version: str
    outcome: str
    findings: list[Finding]
    claim: ProfessionalClaim | None = None
    interchange: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "source_key": self.source_key,
            "version": self.version,
            "claim_id": self.claim.claim_id if self.claim else None,
            "payer": self.claim.payer.key if self.claim else None,
            "outcome": self.outcome,
            "interchange": self.interchange,
            "findings": [finding.model_dump(mode="json") for finding in self.findings],
        }


@dataclass
class _Run:
    tenant: TenantConfig
    as_of: date
    state_dir: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[_Outcome] = field(default_factory=list)
    interchanges: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0
    lines_rejected: int = 0
    quiet: bool = False  # ``scrub --json``: stdout carries only the JSON document


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(f"claimbridge: {line}\n")


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claimbridge", description="FHIR R4 to X12 5010 837P, offline.")
    parser.add_argument("--version", action="version", version=f"claimbridge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="convert FHIR submissions to 837P interchanges and findings.json")
    convert.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="a FHIR R4 Bundle (.json/.json.gz), an NDJSON file (.ndjson/.ndjson.gz), or a folder with a bulk manifest",
    )
    convert.add_argument("--tenant", type=Path, help="tenant configuration JSON (default: the demo tenant)")
    convert.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: ./out)")
    convert.add_argument("--as-of", type=_parse_date, help="the date taken as today (YYYY-MM-DD)")
    convert.add_argument(
        "--state-dir", type=Path, help="control-number state (default: $CLAIMBRIDGE_STATE_DIR or ~/.claimbridge)"
    )
    scrub_cmd = commands.add_parser("scrub", help="scrub FHIR submissions and print each claim's status and findings")
    scrub_cmd.add_argument("files", nargs="+", type=Path, metavar="FILE", help="as for convert")
    scrub_cmd.add_argument("--tenant", type=Path, help="tenant configuration JSON (default: the demo tenant)")
    scrub_cmd.add_argument("--as-of", type=_parse_date, help="the date taken as today (YYYY-MM-DD)")
    scrub_cmd.add_argument("--json", action="store_true", help='print {"claims": [...]} as JSON')
    remit_cmd = commands.add_parser("remit", help="read an 835: each claim's outcome, denial category and next action")
    remit_cmd.add_argument("file", type=Path, metavar="FILE.835", help="an X12 835 (005010X221A1) file")
    remit_cmd.add_argument("--json", action="store_true", help='print {"claims": [...]} as JSON (amounts "0.00")')
    add_admin_commands(commands)  # tenants ... / claims ...: the tenant API's service layer (claimbridge.cli_admin)
    demo = commands.add_parser("demo", help="run the local end-to-end demo")
    demo.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: ./out)")
    demo.add_argument(
        "--protocol",
        choices=("http", "sftp"),
        default="http",
        help="reach the sandbox clearinghouse over its HTTP API (default) or as an SFTP mailbox",
    )
    add_report_command(commands)  # issue 9
    demo.add_argument(
        "--keep",
        action="store_true",
        help="leave the local stack and sandbox running and print the exports for `claimbridge tenants|claims`",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``claimbridge`` console script and ``python -m claimbridge``."""
    args = _parser().parse_args(argv)
    if args.command == "report":  # issue 9
        return run_report_command(args)
    if args.command in ("tenants", "claims"):
        return run_admin(args)
    if args.command == "demo":
        return _demo(args.out, args.protocol, keep=args.keep)
    if args.command == "remit":
        return remit_file(args.file, as_json=args.json)
    if args.command == "scrub":
        return scrub_files(args.files, tenant_file=args.tenant, as_of=args.as_of, as_json=args.json)
    return convert(
        args.files,
        tenant_file=args.tenant,
        out_dir=args.out,
        as_of=args.as_of,
        state_dir=args.state_dir or default_state_dir(),
    )


def _demo(out_dir: Path, protocol: str, *, keep: bool = False) -> int:
    demo = importlib.import_module("claimbridge.local.demo")
    run_demo = cast(Callable[..., int], demo.run_demo)
    return run_demo(out_dir, protocol=protocol, keep=keep)


def convert(
    files: Sequence[Path],
    *,
    tenant_file: Path | None,
    out_dir: Path,
    as_of: date | None,
    state_dir: Path,
) -> int:
    """Convert ``files`` for one tenant; returns the exit status (0, 1 or 2)."""
    tenant = _load_tenant(tenant_file)
    if tenant is None:
        return EXIT_UNREADABLE
    run = _Run(tenant=tenant, as_of=as_of or date.today(), state_dir=state_dir)
    for path in files:
        _intake_file(run, path)
    _scrub_claims(run)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_interchanges(run, out_dir)
    _write_findings(run, out_dir)
    return _exit_status(run)


def scrub_files(files: Sequence[Path], *, tenant_file: Path | None, as_of: date | None, as_json: bool) -> int:
    """Scrub ``files`` for one tenant and print every claim's source, status and findings; returns the exit status."""
    tenant = _load_tenant(tenant_file)
    if tenant is None:
        return EXIT_UNREADABLE
    run = _Run(tenant=tenant, as_of=as_of or date.today(), state_dir=default_state_dir(), quiet=as_json)
    for path in files:
        _intake_file(run, path)
    _scrub_claims(run)
    claims = [
        {
            "source": outcome.source_key,
            "status": READY if outcome.outcome == READY else HELD,
            "findings": [_finding_json(finding) for finding in outcome.findings],
        }
        for outcome in run.outcomes
    ]
    if as_json:
        _out(json.dumps({"claims": claims}, indent=2))
    else:
        for entry, outcome in zip(claims, run.outcomes, strict=True):
            claim_id = f" ({outcome.claim.claim_id})" if outcome.claim else ""
            _out(f"{entry['source']}{claim_id}: {entry['status']}")
            for finding in outcome.findings:
                where = " ".join(part for part in (finding.fhir_path, finding.x12_location) if part)
                _out(f"  {finding.severity.value:7} {finding.rule_id} {where}: {finding.message}")
                if finding.fix:
                    _out(f"          fix: {finding.fix}")
    return _exit_status(run)


def remit_file(path: Path, *, as_json: bool) -> int:
    """Print every claim of an 835 with its outcome, category and next action; 0 when the file reads, else 2."""
    try:
        remittances = read_remittances(path)
    except OSError as exc:
        _err(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})")
        return EXIT_UNREADABLE
    except X12SyntaxError as exc:
        _err(f"{path}: {exc}")  # the message starts with the X12 location (ISA, ST, ...)
        return EXIT_UNREADABLE
    if as_json:
        _out(json.dumps(remit_document(remittances), indent=2))
    else:
        for line in remit_text(remittances):
            _out(line)
    return EXIT_OK


def _finding_json(finding: Finding) -> dict[str, str]:
    """The ``scrub --json`` shape of a finding."""
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "fhir_path": finding.fhir_path,
        "x12_location": finding.x12_location,
        "message": finding.message,
        "fix": finding.fix,
    }


def _load_tenant(tenant_file: Path | None) -> TenantConfig | None:
    tenant_path = tenant_file or DEMO_TENANT_FILE
    try:
        return load_tenant_config(tenant_path)
    except (OSError, ValueError) as exc:
        _err(f"{tenant_path}: tenant configuration cannot be read ({type(exc).__name__})")
    except TenantConfigError as exc:
        for pointer, rule in exc.problems:
            _err(f"{tenant_path}: {pointer}: {rule}")
    return None


def _scrub_claims(run: _Run) -> None:
    """Scrub every mapped claim (the pipeline's RECEIVED -> READY/HELD step); an error finding holds the claim.

    As in the pipeline, each claim's history is the claims scrubbed before it (in file order): a visit limit counts
    the visits already billed, and a same-day pair split over two claims is reported on the second.
    """
    history = InMemoryHistory()
    for outcome in run.outcomes:
        if outcome.claim is None:
            continue
        result = scrub(outcome.claim, tenant=run.tenant, as_of=run.as_of, history=history)
        history.add(outcome.claim)
        outcome.findings.extend(f for f in result.findings if f not in outcome.findings)
        if result.status == SCRUB_HELD:
            outcome.outcome = HELD


def _read_submission(path: Path) -> SubmissionIndex:
    """A file (Bundle, or NDJSON by its name) streamed from disk, or a folder holding a bulk export's manifest."""
    if path.is_dir():
        manifest = path / BULK_MANIFEST_NAME
        return read_bulk_set(
            manifest.read_bytes(), file_name=str(manifest), open_file=lambda relative: (path / relative).open("rb")
        )
    with path.open("rb") as stream:
        return read_submission(stream, file_name=str(path))


def _intake_file(run: _Run, path: Path) -> None:
    name = str(path)
    try:
        index = _read_submission(path)
    except OSError as exc:
        _err(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})")
        run.unreadable += 1
        run.files.append(
            {"file": name, "status": "unreadable", "error": {"rule_id": "IN-FORMAT", "message": "cannot be read"}}
        )
        return
    except InputError as exc:
        where = exc.fhir_path if exc.fhir_path.startswith(name) else f"{name}: {exc.fhir_path}"
        _err(f"{where}: {exc.in_code} {exc.message}")
        run.unreadable += 1
        run.files.append(
            {
                "file": name,
                "status": "unreadable",
                "error": {"rule_id": exc.in_code, "fhir_path": exc.fhir_path, "message": exc.message},
            }
        )
        return
    with index:
        result = intake_submission(index, tenant=run.tenant)
        lines_rejected = index.line_error_count
    for finding in result.line_errors:
        _err(f"{finding.fhir_path}: {finding.rule_id} {finding.message}")
    run.lines_rejected += lines_rejected
    for withdrawal in result.withdrawn:
        run.outcomes = [o for o in run.outcomes if o.source_key != withdrawal.source_key]
    duplicates = 0
    for mapped in result.claims:
        held = any(finding.severity == Severity.ERROR for finding in mapped.findings)
        duplicates += _record(
            run,
            _Outcome(
                file=name,
                source_key=mapped.claim.source.key,
                version=mapped.claim.source.version,
                outcome=HELD if held else READY,
                findings=list(mapped.findings),
                claim=mapped.claim,
            ),
        )
    for rejected in result.rejected:
        duplicates += _record(
            run,
            _Outcome(
                file=name,
                source_key=rejected.source_key,
                version=rejected.version,
                outcome=REJECTED,
                findings=list(rejected.findings),
            ),
        )
    run.files.append(
        {
            "file": name,
            "status": "read",
            "claims": len(result.claims),
            "rejected": len(result.rejected),
            "skipped": result.skipped,
            "withdrawn": len(result.withdrawn),
            "duplicates": duplicates,
            "line_errors": [finding.model_dump(mode="json", exclude_defaults=True) for finding in result.line_errors],
        }
    )
    (_err if run.quiet else _out)(
        f"{name}: {len(result.claims)} claim(s) mapped, {len(result.rejected)} rejected, {result.skipped} skipped"
        + (f", {len(result.withdrawn)} withdrawn" if result.withdrawn else "")
        + (f", {duplicates} duplicate(s)" if duplicates else "")
        + (f", {lines_rejected} line(s) not FHIR resources" if lines_rejected else "")
    )


def _record(run: _Run, outcome: _Outcome) -> int:
    """Keep one outcome per source key (contract section 8): the same version again is a duplicate (returns 1),
    a new version replaces the earlier one."""
    for index, earlier in enumerate(run.outcomes):
        if earlier.source_key == outcome.source_key:
            if earlier.version == outcome.version:
                return 1
            run.outcomes[index] = outcome
            return 0
    run.outcomes.append(outcome)
    return 0


def _write_interchanges(run: _Run, out_dir: Path) -> None:
    """One interchange per payer, holding that payer's READY claims."""
    by_payer: dict[str, list[_Outcome]] = {}
    for outcome in run.outcomes:
        if outcome.outcome == READY and outcome.claim is not None:
            by_payer.setdefault(outcome.claim.payer.key, []).append(outcome)
    tenant = run.tenant
    for payer_key, outcomes in sorted(by_payer.items()):
        result = _write_payer(run, payer_key, outcomes)
        if result is None:
            continue
        control, interchange = result
        file_name = f"{tenant.tenant_id}-{payer_key}-{control:09d}.x12"
        (out_dir / file_name).write_text(interchange, encoding="ascii")
        written = [outcome for outcome in outcomes if outcome.outcome == READY]
        for outcome in written:
            outcome.interchange = file_name
        run.interchanges.append(
            {"file": file_name, "payer": payer_key, "interchange_control_number": control, "claims": len(written)}
        )
        _out(f"wrote {out_dir / file_name} ({len(written)} claim(s), payer {payer_key})")


def _write_payer(run: _Run, payer_key: str, outcomes: list[_Outcome]) -> tuple[int, str] | None:
    """The payer's interchange; a claim the writer refuses is held and the others are written without it."""
    tenant = run.tenant
    pending = list(outcomes)
    # Drawn once: a refused write sent nothing, so the retry may reuse the number.
    control = next_interchange_control(
        run.state_dir, counter_key=f"{tenant.submitter.id}:{tenant.clearinghouse.receiver.id}"
    )
    while pending:
        claims = [outcome.claim for outcome in pending if outcome.claim is not None]
        try:
            return control.interchange_number, writer.write_837p(
                claims, tenant=tenant, control=control, created=datetime.now(UTC)
            )
        except ClaimsError as exc:
            claim_id = getattr(exc, "claim_id", None)
            refused = [o for o in pending if o.claim is not None and o.claim.claim_id == claim_id] or pending
            finding = Finding(
                rule_id=str(getattr(exc, "code", "X12-WRITE")),
                severity=Severity.ERROR,
                x12_location=str(getattr(exc, "x12_location", "")),
                message=str(getattr(exc, "reason", "the 837P writer refused the claim")),
            )
            for outcome in refused:
                outcome.outcome = HELD
                outcome.findings.append(finding)
                pending.remove(outcome)
            _err(f"837P for payer {payer_key}: {len(refused)} claim(s) held ({finding.rule_id} {finding.x12_location})")
    return None


def _write_findings(run: _Run, out_dir: Path) -> None:
    counts = {state: sum(1 for o in run.outcomes if o.outcome == state) for state in (READY, HELD, REJECTED)}
    document = {
        "tenant_id": run.tenant.tenant_id,
        "as_of": run.as_of.isoformat(),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": {
            "ready": counts[READY],
            "held": counts[HELD],
            "rejected": counts[REJECTED],
            "skipped": sum(int(f.get("skipped", 0)) for f in run.files),
            "withdrawn": sum(int(f.get("withdrawn", 0)) for f in run.files),
            "lines_rejected": run.lines_rejected,
            "unreadable_files": run.unreadable,
        },
        "files": run.files,
        "interchanges": run.interchanges,
        "claims": [outcome.as_json() for outcome in run.outcomes],
    }
    path = out_dir / "findings.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    _out(f"wrote {path} ({counts[READY]} ready, {counts[HELD]} held, {counts[REJECTED]} rejected)")


def _exit_status(run: _Run) -> int:
    if run.unreadable:
        return EXIT_UNREADABLE
    if run.lines_rejected or any(outcome.outcome != READY for outcome in run.outcomes):
        return EXIT_HELD
    return EXIT_OK
