"""``claimbridge report``: the KPI report as one self-contained HTML page (``<out>/report.html``).

Reads the state store (``--table``, else the functions' settings: ``CLAIMS_TABLE`` and the rest of their environment;
boto3 finds the endpoint and credentials as usual, e.g. the local stack's ``AWS_ENDPOINT_URL``), or report documents
written by the reports function (``--json``). The period is ``--month YYYY-MM``, or ``--from``/``--to``, else the 30
days ending today (UTC).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import ValidationError

from claimbridge.errors import ClaimsError
from claimbridge.reports.html import render_html
from claimbridge.reports.kpis import Period
from claimbridge.reports.models import KpiReport
from claimbridge.reports.service import REPORT_DAYS, tenant_report
from claimbridge.state.ports import ClaimStorePort

REPORT_FILE = "report.html"
PIPELINE_ACTOR = "claimbridge"


def _month(value: str) -> Period:
    try:
        year, month = (int(part) for part in value.split("-", 1))
        return Period.month(year, month)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM") from None


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD") from None


def add_report_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report`` on the ``claimbridge`` parser."""
    report = commands.add_parser("report", help="write the KPI report (charts and tables) as one HTML file")
    report.add_argument("--tenant", action="append", help="a tenant id (repeatable; default: every enabled tenant)")
    report.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: ./out)")
    report.add_argument("--month", type=_month, help="the calendar month YYYY-MM")
    report.add_argument("--from", dest="start", type=_day, help="first day YYYY-MM-DD (with --to)")
    report.add_argument("--to", dest="end", type=_day, help="last day YYYY-MM-DD (default: today)")
    report.add_argument(
        "--json", type=Path, nargs="+", metavar="REPORT.json", help="render report documents instead of the store"
    )
    report.add_argument("--table", help="the claims table (default: $CLAIMS_TABLE, as the functions read it)")


def period_of(args: argparse.Namespace, today: date) -> Period:
    """The period the arguments name; ``ValueError`` for an end before the start."""
    if args.month is not None:
        if args.start or args.end:
            raise ValueError("--month cannot be combined with --from/--to")
        period: Period = args.month
        return period
    end = args.end or today
    if args.start is None:
        return Period.trailing(end, REPORT_DAYS)
    return Period(start=args.start, end=end)


def reports_from_store(
    store: ClaimStorePort, tenants: Sequence[str] | None, period: Period, *, now: datetime
) -> list[KpiReport]:
    """One report per tenant (every enabled tenant when ``tenants`` is empty)."""
    tenant_ids = list(tenants) if tenants else [tenant.tenant_id for tenant in store.list_enabled_tenants()]
    return [tenant_report(store, tenant_id, period, now=now, pipeline_actor=PIPELINE_ACTOR) for tenant_id in tenant_ids]


def write_report(reports: Sequence[KpiReport], out_dir: Path) -> Path:
    """``<out_dir>/report.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    path.write_text(render_html(reports), encoding="utf-8")
    return path


def run_report_command(args: argparse.Namespace) -> int:
    """0 when the page was written; 2 when the inputs, the period or the store could not be read."""
    now = datetime.now(UTC)
    try:
        if args.json:
            reports = [KpiReport.model_validate_json(path.read_bytes()) for path in args.json]
            if args.tenant:
                reports = [report for report in reports if report.tenant_id in args.tenant]
        else:
            store = _store(args.table)
            reports = reports_from_store(store, args.tenant, period_of(args, now.date()), now=now)
    except (OSError, ValueError, ClaimsError) as exc:
        detail = exc.errors(include_input=False, include_url=False) if isinstance(exc, ValidationError) else exc
        sys.stderr.write(f"claimbridge report: {detail}\n")
        return 2
    path = write_report(reports, args.out)
    sys.stdout.write(f"wrote {path} ({len(reports)} tenant(s))\n")
    return 0


def _store(table: str | None) -> ClaimStorePort:
    """The named table, else the one the function settings name (boto3 is imported only when the store is read)."""
    import boto3  # noqa: PLC0415

    from claimbridge.settings import get_settings  # noqa: PLC0415
    from claimbridge.state.dynamo_store import DynamoClaimStore  # noqa: PLC0415

    return DynamoClaimStore(boto3.client("dynamodb"), table or get_settings().claims_table)
