"""The scheduled reports run: every enabled tenant's KPIs for the trailing period -> S3 JSON + CloudWatch metrics.

The document goes to ``reports/<tenant>/<as-of date>.json`` in the archive bucket (a later run the same day
replaces it; the bucket keeps the old version). One tenant's failure does not stop the others: it is named in its
outcome, and ``raise_if_incomplete`` (called by the handler after logging the outcomes) fails the invocation, so the
function's error alarm fires and the scheduled invocation is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from claimbridge.errors import ClaimsError
from claimbridge.observability import NAMESPACE
from claimbridge.pipeline.ports import PipelineDeps
from claimbridge.reports.collect import collect_claims
from claimbridge.reports.emit import emit_fleet_oldest, emit_report
from claimbridge.reports.kpis import Period, ReportRequest, compute_report
from claimbridge.reports.models import KpiReport
from claimbridge.state.ports import ClaimStorePort

REPORT_DAYS = 30
"""The trailing period of the scheduled report, ending today (UTC)."""
REPORTS_PREFIX = "reports/"


class ReportsIncomplete(ClaimsError):
    """Some tenants' reports could not be built; the others were written."""

    retryable = True
    code = "CB-REPORTS-INCOMPLETE"


class TenantReportOutcome(BaseModel):
    """What one tenant's run did: ids and counts only."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: str
    key: str | None = None
    claims: int = 0
    metrics: int = 0
    truncated: bool = False
    error_code: str | None = None


def report_key(tenant_id: str, day: date) -> str:
    """``reports/<tenant>/<YYYY-MM-DD>.json``."""
    return f"{REPORTS_PREFIX}{tenant_id}/{day.isoformat()}.json"


def tenant_report(
    store: ClaimStorePort, tenant_id: str, period: Period, *, now: datetime, pipeline_actor: str
) -> KpiReport:
    """One tenant's KPI report for ``period`` (balances and ages at the period's end, or ``now`` if earlier)."""
    facts, truncated = collect_claims(store, tenant_id, pipeline_actor=pipeline_actor)
    request = ReportRequest(tenant_id=tenant_id, period=period, now=now)
    return compute_report(facts, request, truncated=truncated)


def run_reports(
    deps: PipelineDeps, *, namespace: str = NAMESPACE, days: int = REPORT_DAYS
) -> list[TenantReportOutcome]:
    """Report every enabled tenant for the ``days`` ending today; a tenant that failed has an ``error_code``."""
    now = deps.clock().astimezone(UTC)
    period = Period.trailing(now.date(), days)
    outcomes: list[TenantReportOutcome] = []
    reports: list[KpiReport] = []
    for tenant in deps.store.list_enabled_tenants():
        tenant_id = tenant.tenant_id
        try:
            report = tenant_report(deps.store, tenant_id, period, now=now, pipeline_actor=deps.actor)
            key = report_key(tenant_id, report.period.as_of.date())
            body = report.model_dump_json(indent=2).encode()
            deps.objects.put(deps.archive_bucket, key, body, content_type="application/json")
        except ClaimsError as exc:
            outcomes.append(TenantReportOutcome(tenant_id=tenant_id, error_code=exc.code))
            continue
        reports.append(report)
        outcomes.append(
            TenantReportOutcome(
                tenant_id=tenant_id,
                key=key,
                claims=report.claims,
                metrics=emit_report(report, namespace=namespace),
                truncated=report.truncated,
            )
        )
    emit_fleet_oldest(reports, namespace=namespace)
    return outcomes


def raise_if_incomplete(outcomes: Sequence[TenantReportOutcome]) -> None:
    """``ReportsIncomplete`` naming the tenants whose report was not written, if any."""
    failed = [outcome.tenant_id for outcome in outcomes if outcome.error_code is not None]
    if failed:
        raise ReportsIncomplete(f"reports failed for tenant(s) {', '.join(failed)}")
