"""KPI reports as CloudWatch metrics (EMF): gauges per tenant, and the oldest claim per state across tenants.

Each value is its own EMF document (Powertools ``single_metric``, which adds the ``service`` dimension: ``reports``
in Lambda), so dimension sets never mix. Names and dimensions are literal at each call, as every metric of the project
is (``tests/contract`` reads them from the source):

==============================  ==========  =======================================================================
metric                          unit        dimensions (besides ``service``)
==============================  ==========  =======================================================================
``CleanClaimRate``              Percent     tenant
``FirstPassAcceptanceRate``     Percent     tenant
``DenialRate``                  Percent     tenant
``NetCollectionRate``           Percent     tenant
``AgedAROver90Rate``            Percent     tenant
``DaysInAR``                    None        tenant
``OldestClaimAgeDays``          None        tenant, state  and  state alone (the maximum over tenants: the alarm's)
==============================  ==========  =======================================================================

A KPI that is null for the period (empty cohort) is not emitted: CloudWatch shows missing data, not a false zero.
``OldestClaimAgeDays`` is 0 when no claim is in the state, so the stuck-claims alarm sees data every day.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from claimbridge.observability import NAMESPACE
from claimbridge.reports.models import KpiReport
from claimbridge.state.models import ClaimState


def emit_report(report: KpiReport, *, namespace: str = NAMESPACE) -> int:
    """Emit one tenant's KPIs (those not null) and oldest-claim ages; returns how many values were emitted."""
    tenant = report.tenant_id
    emitted = 0
    if (value := report.clean_claim_rate.value) is not None:
        with single_metric(
            name="CleanClaimRate",
            unit=MetricUnit.Percent,
            value=value,
            namespace=namespace,
            default_dimensions={"tenant": tenant},
        ):
            emitted += 1
    if (value := report.first_pass_acceptance_rate.value) is not None:
        with single_metric(
            name="FirstPassAcceptanceRate",
            unit=MetricUnit.Percent,
            value=value,
            namespace=namespace,
            default_dimensions={"tenant": tenant},
        ):
            emitted += 1
    if (value := report.remittance_denial_rate.value) is not None:
        with single_metric(
            name="DenialRate",
            unit=MetricUnit.Percent,
            value=value,
            namespace=namespace,
            default_dimensions={"tenant": tenant},
        ):
            emitted += 1
    if (value := report.net_collection_rate.value) is not None:
        with single_metric(
            name="NetCollectionRate",
            unit=MetricUnit.Percent,
            value=value,
            namespace=namespace,
            default_dimensions={"tenant": tenant},
        ):
            emitted += 1
    if (value := report.ar_aging.over_90.value) is not None:
        with single_metric(
            name="AgedAROver90Rate",
            unit=MetricUnit.Percent,
            value=value,
            namespace=namespace,
            default_dimensions={"tenant": tenant},
        ):
            emitted += 1
    if (days := report.days_in_ar.value) is not None:
        with single_metric(
            name="DaysInAR",
            unit=MetricUnit.NoUnit,
            value=days,
            namespace=namespace,
            default_dimensions={"tenant": tenant},
        ):
            emitted += 1
    for oldest in report.oldest:
        with single_metric(
            name="OldestClaimAgeDays",
            unit=MetricUnit.NoUnit,
            value=oldest.age_days or 0.0,
            namespace=namespace,
            default_dimensions={"tenant": tenant, "state": oldest.state.value},
        ):
            emitted += 1
    return emitted


def fleet_oldest(reports: Iterable[KpiReport]) -> dict[ClaimState, float]:
    """Per state, the oldest claim's age over every tenant (0 for a state no tenant has a claim in)."""
    oldest: dict[ClaimState, float] = {}
    for report in reports:
        for item in report.oldest:
            oldest[item.state] = max(oldest.get(item.state, 0.0), item.age_days or 0.0)
    return oldest


def emit_fleet_oldest(reports: Iterable[KpiReport], *, namespace: str = NAMESPACE) -> dict[ClaimState, float]:
    """``OldestClaimAgeDays`` per state over every tenant (dimension ``state`` only): what the alarm watches."""
    oldest = fleet_oldest(reports)
    for state, age in oldest.items():
        with single_metric(
            name="OldestClaimAgeDays",
            unit=MetricUnit.NoUnit,
            value=age,
            namespace=namespace,
            default_dimensions={"state": state.value},
        ):
            pass
    return oldest
