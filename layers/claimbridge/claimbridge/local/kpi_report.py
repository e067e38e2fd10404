"""``make run``'s last step: the reports function fired through its schedule, its JSON rendered as ``report.html``.

The function runs exactly as the template wires it (the router fires its ``Schedule`` rule); the page is rendered
from the very document it wrote to ``reports/<tenant>/<date>.json`` in the archive bucket, so the HTML and the
metrics agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claimbridge.local.router import LocalRouter
from claimbridge.local.stack import LocalStack
from claimbridge.reports.command import write_report
from claimbridge.reports.models import KpiReport

REPORTS_FUNCTION = "ReportsFunction"


def run_reports_function(router: LocalRouter) -> list[str]:
    """Fire the reports schedule once; the archive keys it wrote."""
    keys: list[str] = []
    for result in router.run_schedule(REPORTS_FUNCTION):
        summary: dict[str, Any] = result
        keys.extend(key for key in summary.get("keys", []) if key)
    return keys


def fetch_report(stack: LocalStack, tenant_id: str, keys: list[str]) -> KpiReport | None:
    """The tenant's report document among ``keys``, validated by the report model."""
    prefix = f"reports/{tenant_id}/"
    key = next((key for key in keys if key.startswith(prefix)), None)
    if key is None:
        return None
    body = stack.s3().get_object(Bucket=stack.archive_bucket, Key=key)["Body"].read()
    return KpiReport.model_validate_json(body)


def report_tenant(stack: LocalStack, router: LocalRouter, tenant_id: str, out_dir: Path) -> KpiReport | None:
    """Run the reports function, then write ``<out_dir>/report.html`` from the tenant's document."""
    report = fetch_report(stack, tenant_id, run_reports_function(router))
    if report is not None:
        write_report([report], out_dir)
    return report
