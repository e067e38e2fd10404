"""The KPI report document (``reports/<tenant>/<date>.json`` and the HTML report's data), validated on write and read.

Rates are percentages with two decimals; money is a string with two decimals (``"140.00"``), exact like the
``remit --json`` amounts. A KPI whose denominator is empty has ``value: null`` and a ``reason``, never a division by
zero. Ids, payer keys, states, categories, counts and amounts only: no patient data, no dates of service.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.state.models import ClaimState

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

REPORT_SCHEMA_VERSION: Final = "1"
AGING_BUCKETS = ("0-30", "31-60", "61-90", "91-120", ">120")
"""A/R aging buckets, in days since the claim was first submitted (``docs/kpis.md``)."""

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$")]
Percent = Annotated[float, Field(ge=0, le=100)]


class ReportPeriod(BaseModel):
    """Inclusive UTC dates; ``as_of`` is the moment balances and ages are taken at (end of period, or now)."""

    model_config = _FROZEN
    start: date
    end: date
    days: Annotated[int, Field(ge=1)]
    as_of: datetime


class Rate(BaseModel):
    """A count-based percentage with the counts it came from."""

    model_config = _FROZEN
    value: Percent | None
    numerator: Annotated[int, Field(ge=0)]
    denominator: Annotated[int, Field(ge=0)]
    reason: str | None = None


class CleanClaimRate(Rate):
    """CL-1: claims first scrubbed in the period that passed without manual change."""

    held_on_first_scrub: Annotated[int, Field(ge=0)] = 0
    changed_before_submission: Annotated[int, Field(ge=0)] = 0


class FirstPassAcceptanceRate(Rate):
    """Claims first submitted in the period, accepted on that first submission; unanswered ones are left out."""

    awaiting_answer: Annotated[int, Field(ge=0)] = 0


class DenialsByCategory(BaseModel):
    """Denied and partly denied claims of one category; ``rate``: denied / all remitted claims of the period."""

    model_config = _FROZEN
    category: str
    denied: Annotated[int, Field(ge=0)]
    partially_denied: Annotated[int, Field(ge=0)]
    rate: Percent | None


class DenialsByPayer(BaseModel):
    """Remitted, denied and partly denied claims of one payer key."""

    model_config = _FROZEN
    payer: str
    remitted: Annotated[int, Field(ge=0)]
    denied: Annotated[int, Field(ge=0)]
    partially_denied: Annotated[int, Field(ge=0)]
    rate: Percent | None


class RemittanceDenialRate(Rate):
    """AR-5: claims whose 835 posting in the period denied them, over every claim posted in the period."""

    partially_denied: Annotated[int, Field(ge=0)] = 0
    by_category: tuple[DenialsByCategory, ...] = ()
    by_payer: tuple[DenialsByPayer, ...] = ()


class DaysInAR(BaseModel):
    """Gross days in payer A/R: open balance at ``as_of`` / average daily charges first billed in the period."""

    model_config = _FROZEN
    value: Annotated[float, Field(ge=0)] | None
    balance: Money
    billed: Money
    days: Annotated[int, Field(ge=1)]
    reason: str | None = None


class AgingBucket(BaseModel):
    model_config = _FROZEN
    bucket: str
    claims: Annotated[int, Field(ge=0)]
    amount: Money


class AgingRow(BaseModel):
    """One payer key's open A/R in the aging buckets (``payer`` ``"(total)"`` for the sum row)."""

    model_config = _FROZEN
    payer: str
    buckets: tuple[AgingBucket, ...]
    claims: Annotated[int, Field(ge=0)]
    amount: Money


class ARAging(BaseModel):
    """Open payer A/R at ``as_of`` by days since first submission; ``over_90`` is AR-1 at 90 days (percent)."""

    model_config = _FROZEN
    basis: Literal["days since first submission"] = "days since first submission"
    by_payer: tuple[AgingRow, ...]
    total: AgingRow
    over_90: Rate


class NetCollectionRate(BaseModel):
    """Payer paid / (charges - contractual adjustments - patient responsibility) over claims posted in the period."""

    model_config = _FROZEN
    value: Annotated[float, Field(ge=0)] | None
    paid: Money
    expected: Money
    claims: Annotated[int, Field(ge=0)]
    reason: str | None = None


class StateCounts(BaseModel):
    """Claims in each state at the end of one day (states with no claim left out)."""

    model_config = _FROZEN
    day: date
    counts: dict[ClaimState, Annotated[int, Field(ge=1)]]


class OldestClaim(BaseModel):
    """The claim longest in ``state`` at ``as_of`` (days since it entered the state); none: ``age_days`` null."""

    model_config = _FROZEN
    state: ClaimState
    age_days: Annotated[float, Field(ge=0)] | None
    claim_id: str | None = None
    claims: Annotated[int, Field(ge=0)]


class KpiReport(BaseModel):
    """Every KPI of one tenant for one period (``docs/kpis.md``)."""

    model_config = _FROZEN
    schema_version: Literal["1"] = REPORT_SCHEMA_VERSION
    tenant_id: str
    generated_at: datetime
    period: ReportPeriod
    claims: Annotated[int, Field(ge=0)]
    truncated: bool = False
    """True when a state held more claims than the collector reads; the KPIs then cover a part of the tenant."""
    clean_claim_rate: CleanClaimRate
    first_pass_acceptance_rate: FirstPassAcceptanceRate
    remittance_denial_rate: RemittanceDenialRate
    days_in_ar: DaysInAR
    ar_aging: ARAging
    net_collection_rate: NetCollectionRate
    claims_by_state: tuple[StateCounts, ...]
    oldest: tuple[OldestClaim, ...]

    def summary(self) -> dict[str, Any]:
        """The headline values (what ``make run`` prints): rates, days, money, denials and open A/R by payer."""
        denials = self.remittance_denial_rate
        return {
            "tenant_id": self.tenant_id,
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "claims": self.claims,
            "clean_claim_rate": self.clean_claim_rate.value,
            "first_pass_acceptance_rate": self.first_pass_acceptance_rate.value,
            "remittance_denial_rate": denials.value,
            "denials_by_category": {c.category: c.denied + c.partially_denied for c in denials.by_category},
            "days_in_ar": self.days_in_ar.value,
            "net_collection_rate": self.net_collection_rate.value,
            "open_ar_by_payer": {row.payer: row.amount for row in self.ar_aging.by_payer},
            "oldest_days": {item.state.value: item.age_days for item in self.oldest},
        }
