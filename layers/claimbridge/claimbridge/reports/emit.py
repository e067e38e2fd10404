"""KPI reports as CloudWatch metrics (EMF): gauges per tenant, and the oldest claim per state across tenants.

Names (namespace ``Claimbridge``; Powertools adds the ``service`` dimension, ``reports`` in Lambda):

==============================  ==========  ===============================================================
metric                          unit        dimensions
==============================  ==========  ===============================================================
``CleanClaimRate``              Percent     tenant
``FirstPassAcceptanceRate``     Percent     tenant
``DenialRate``                  Percent     tenant
``NetCollectionRate``           Percent     tenant
``DaysInAR``                    None        tenant
``AgedAROver90Rate``            Percent     tenant
``OldestClaimAgeDays``          None        tenant, state  and  state (the maximum over tenants: the alarm's)
==============================  ==========  ===============================================================

A KPI that is null for the period (empty cohort) is not emitted: CloudWatch shows missing data, not a false zero.
``OldestClaimAgeDays`` is 0 when no claim is in the state, so the stuck-claims alarm sees data every day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from claimbridge.reports.models import KpiReport
from claimbridge.state.models import ClaimState

OLDEST_CLAIM_AGE = "OldestClaimAgeDays"
KPI_METRICS = (
    "CleanClaimRate",
    "FirstPassAcceptanceRate",
    "DenialRate",
    "NetCollectionRate",
    "DaysInAR",
    "AgedAROver90Rate",
)


class GaugePort(Protocol):
    """Where KPI values go: one value of ``name`` with exactly these dimensions."""

    def gauge(self, name: str, value: float, *, unit: str, dimensions: dict[str, str]) -> None:
        """Record one value."""
        ...


class PowertoolsGauges:
    """``GaugePort`` over Powertools: each value is its own EMF blob, so dimension sets never mix."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace

    def gauge(self, name: str, value: float, *, unit: str, dimensions: dict[str, str]) -> None:
        """Print one EMF document to stdout (CloudWatch Logs turns it into the metric)."""
        with single_metric(
            name=name, unit=MetricUnit(unit), value=value, namespace=self._namespace, default_dimensions=dimensions
        ):
            pass


@dataclass
class RecordingGauges:
    """``GaugePort`` that keeps what it was given: for tests and the CLI."""

    values: list[tuple[str, float, tuple[tuple[str, str], ...]]] = field(default_factory=list)

    def gauge(self, name: str, value: float, *, unit: str, dimensions: dict[str, str]) -> None:
        """Remember the value with its sorted dimensions."""
        self.values.append((name, value, tuple(sorted(dimensions.items()))))


def kpi_values(report: KpiReport) -> dict[str, tuple[float | None, str]]:
    """The report's per-tenant gauges: metric name -> (value or None, unit)."""
    percent, plain = MetricUnit.Percent.value, MetricUnit.NoUnit.value
    return {
        "CleanClaimRate": (report.clean_claim_rate.value, percent),
        "FirstPassAcceptanceRate": (report.first_pass_acceptance_rate.value, percent),
        "DenialRate": (report.remittance_denial_rate.value, percent),
        "NetCollectionRate": (report.net_collection_rate.value, percent),
        "DaysInAR": (report.days_in_ar.value, plain),
        "AgedAROver90Rate": (report.ar_aging.over_90.value, percent),
    }


def emit_report(report: KpiReport, gauges: GaugePort) -> int:
    """Emit one tenant's KPIs and oldest-claim ages; returns how many values were emitted."""
    emitted = 0
    tenant = {"tenant": report.tenant_id}
    for name, (value, unit) in kpi_values(report).items():
        if value is not None:
            gauges.gauge(name, value, unit=unit, dimensions=tenant)
            emitted += 1
    for oldest in report.oldest:
        dimensions = {**tenant, "state": oldest.state.value}
        gauges.gauge(OLDEST_CLAIM_AGE, oldest.age_days or 0.0, unit=MetricUnit.NoUnit.value, dimensions=dimensions)
        emitted += 1
    return emitted


def emit_fleet_oldest(reports: Iterable[KpiReport], gauges: GaugePort) -> dict[ClaimState, float]:
    """``OldestClaimAgeDays`` per state over every tenant (dimension ``state`` only): what the alarm watches."""
    oldest: dict[ClaimState, float] = {}
    for report in reports:
        for item in report.oldest:
            oldest[item.state] = max(oldest.get(item.state, 0.0), item.age_days or 0.0)
    for state, age in oldest.items():
        gauges.gauge(OLDEST_CLAIM_AGE, age, unit=MetricUnit.NoUnit.value, dimensions={"state": state.value})
    return oldest
