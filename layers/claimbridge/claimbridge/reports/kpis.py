"""Revenue-cycle KPIs of one tenant and period, computed from claim facts (pure; definitions in ``docs/kpis.md``).

Each function answers one KPI from a sequence of :class:`ClaimFacts`; ``compute_report`` puts them into the report
document. Cohorts are chosen by when the event that defines them happened (first scrub, first submission, 835
posting) in the period; balances and ages are taken at ``as_of``. An empty cohort gives a null value with a reason.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from claimbridge.reports.facts import ClaimFacts
from claimbridge.reports.models import (
    AGING_BUCKETS,
    AgingBucket,
    AgingRow,
    ARAging,
    CleanClaimRate,
    DaysInAR,
    DenialsByCategory,
    DenialsByPayer,
    FirstPassAcceptanceRate,
    KpiReport,
    NetCollectionRate,
    OldestClaim,
    Rate,
    RemittanceDenialRate,
    ReportPeriod,
    StateCounts,
)
from claimbridge.state.models import ClaimState

_S = ClaimState
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
NO_PAYER = "(none)"
TOTAL_ROW = "(total)"
UNCATEGORISED = "uncategorised"

OPEN_STATES = frozenset(
    {_S.SUBMITTED, _S.ACCEPTED, _S.REJECTED, _S.CORRECTED, _S.FAILED_TO_SEND, _S.RECEIVED, _S.HELD, _S.READY}
)
"""Billed and not adjudicated: the whole charge is owed by the payer (RECEIVED/HELD/READY count only for a claim
already submitted once: a rejected claim being fixed and sent again)."""
REMAINDER_STATES = frozenset({_S.DENIED, _S.PARTIALLY_PAID})
"""Adjudicated with a denied part the practice can still correct or appeal: that part is owed."""
AGED_STATES = (_S.SUBMITTED, _S.ACCEPTED)
"""States whose oldest claim is reported (and alarmed on: ``OldestClaimAgeDays``)."""
_AGING_UPPER = (30, 60, 90, 120)
_LIFECYCLE_ORDER = {state: index for index, state in enumerate(ClaimState)}


class Period(BaseModel):
    """Inclusive UTC dates ``start``..``end``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        return self

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The calendar month."""
        start = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(start=start, end=following - timedelta(days=1))

    @classmethod
    def trailing(cls, end: date, days: int) -> Period:
        """``days`` days ending with ``end``."""
        return cls(start=end - timedelta(days=days - 1), end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def opens(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def closes(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.opens <= moment < self.closes

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]


def money(amount: Decimal) -> str:
    """Two decimals, half up."""
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):f}"


def percent(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    """``100 * numerator / denominator`` to two decimals; ``None`` for an empty denominator."""
    if not denominator:
        return None
    value = Decimal(100) * Decimal(numerator) / Decimal(denominator)
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _rate(numerator: int, denominator: int, empty: str) -> dict[str, object]:
    value = percent(numerator, denominator)
    return {
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "reason": empty if value is None else None,
    }


# ----------------------------------------------------------------------------------------------- claims process


def clean_claim_rate(claims: Iterable[ClaimFacts], period: Period) -> CleanClaimRate:
    """Claims first scrubbed in the period that passed without manual change (HFMA MAP Key CL-1)."""
    scrubbed = [c for c in claims if (first := c.first_scrub) is not None and period.contains(first.at)]
    clean = sum(c.clean for c in scrubbed)
    held = sum(c.first_scrub is not None and c.first_scrub.to_state == _S.HELD for c in scrubbed)
    return CleanClaimRate.model_validate(
        {
            **_rate(clean, len(scrubbed), "no claim was first scrubbed in the period"),
            "held_on_first_scrub": held,
            "changed_before_submission": len(scrubbed) - clean - held,
        }
    )


def first_pass_acceptance_rate(claims: Iterable[ClaimFacts], period: Period) -> FirstPassAcceptanceRate:
    """Claims first submitted in the period and answered: those with no rejection before their first adjudication."""
    submitted = [c for c in claims if period.contains(c.first_submission)]
    answered = [c.first_answers for c in submitted if c.first_answers]
    accepted = sum(all(change.to_state != _S.REJECTED for change in answers) for answers in answered)
    return FirstPassAcceptanceRate.model_validate(
        {
            **_rate(accepted, len(answered), "no claim first submitted in the period has been answered yet"),
            "awaiting_answer": len(submitted) - len(answered),
        }
    )


def _posted(claims: Iterable[ClaimFacts], period: Period) -> list[tuple[ClaimFacts, ClaimState]]:
    """Claims whose current 835 posting happened in the period, with the state it posted."""
    posted = []
    for claim in claims:
        posting = claim.posting
        if posting is not None and period.contains(posting.at):
            posted.append((claim, posting.to_state))
    return posted


def remittance_denial_rate(claims: Iterable[ClaimFacts], period: Period) -> RemittanceDenialRate:
    """Denied claims over every claim posted in the period (HFMA MAP Key AR-5), by category and by payer."""
    posted = _posted(claims, period)
    denied = [claim for claim, state in posted if state == _S.DENIED]
    partial = [claim for claim, state in posted if state == _S.PARTIALLY_PAID]

    def category(claim: ClaimFacts) -> str:
        return (claim.remittance.category if claim.remittance else None) or UNCATEGORISED

    denied_by_category = Counter(category(c) for c in denied)
    partial_by_category = Counter(category(c) for c in partial)
    by_category = tuple(
        DenialsByCategory(
            category=name,
            denied=denied_by_category[name],
            partially_denied=partial_by_category[name],
            rate=percent(denied_by_category[name], len(posted)),
        )
        for name in sorted(denied_by_category.keys() | partial_by_category.keys())
    )
    per_payer: dict[str, Counter[ClaimState]] = defaultdict(Counter)
    for claim, state in posted:
        per_payer[claim.payer_key or NO_PAYER][state] += 1
    by_payer = tuple(
        DenialsByPayer(
            payer=payer,
            remitted=counts.total(),
            denied=counts[_S.DENIED],
            partially_denied=counts[_S.PARTIALLY_PAID],
            rate=percent(counts[_S.DENIED], counts.total()),
        )
        for payer, counts in sorted(per_payer.items())
    )
    return RemittanceDenialRate.model_validate(
        {
            **_rate(len(denied), len(posted), "no 835 posting in the period"),
            "partially_denied": len(partial),
            "by_category": by_category,
            "by_payer": by_payer,
        }
    )


# --------------------------------------------------------------------------------------------------------- A/R


def open_balance(claim: ClaimFacts, as_of: datetime) -> Decimal:
    """What the payer still owes on the claim at ``as_of`` (zero for a claim never submitted by then)."""
    submitted = claim.first_submission
    if submitted is None or submitted >= as_of:
        return _ZERO
    state = claim.state_at(as_of)
    if state in OPEN_STATES:
        return claim.charge
    if state in REMAINDER_STATES:
        return claim.remittance.unpaid if claim.remittance is not None else claim.charge
    return _ZERO


def days_in_ar(claims: Sequence[ClaimFacts], period: Period, as_of: datetime) -> DaysInAR:
    """Gross days in payer A/R: open balance at ``as_of`` over the average daily charges first billed in the period."""
    balance = sum((open_balance(c, as_of) for c in claims), _ZERO)
    billed = sum((c.charge for c in claims if period.contains(c.first_submission)), _ZERO)
    value: float | None = None
    reason: str | None = "no charges were billed in the period"
    if billed > 0:
        daily = billed / period.days
        value = float((balance / daily).quantize(_CENT, rounding=ROUND_HALF_UP))
        reason = None
    return DaysInAR(value=value, balance=money(balance), billed=money(billed), days=period.days, reason=reason)


def aging_bucket(age_days: int) -> str:
    """The bucket label of an age in whole days."""
    for upper, label in zip(_AGING_UPPER, AGING_BUCKETS, strict=False):
        if age_days <= upper:
            return label
    return AGING_BUCKETS[-1]


def _aging_row(payer: str, items: Sequence[tuple[str, Decimal]]) -> AgingRow:
    counts: Counter[str] = Counter()
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for bucket, amount in items:
        counts[bucket] += 1
        amounts[bucket] += amount
    return AgingRow(
        payer=payer,
        buckets=tuple(
            AgingBucket(bucket=label, claims=counts[label], amount=money(amounts[label])) for label in AGING_BUCKETS
        ),
        claims=len(items),
        amount=money(sum((amount for _, amount in items), _ZERO)),
    )


def ar_aging(claims: Iterable[ClaimFacts], as_of: datetime) -> ARAging:
    """Open payer A/R at ``as_of`` in buckets of days since first submission, per payer key and in total."""
    by_payer: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for claim in claims:
        balance = open_balance(claim, as_of)
        submitted = claim.first_submission
        if balance <= 0 or submitted is None:
            continue
        by_payer[claim.payer_key or NO_PAYER].append((aging_bucket((as_of - submitted).days), balance))
    every = [item for items in by_payer.values() for item in items]
    over_90 = [amount for bucket, amount in every if bucket in AGING_BUCKETS[3:]]
    total = sum((amount for _, amount in every), _ZERO)
    over_90_amount = sum(over_90, _ZERO)
    return ARAging(
        by_payer=tuple(_aging_row(payer, items) for payer, items in sorted(by_payer.items())),
        total=_aging_row(TOTAL_ROW, every),
        over_90=Rate(
            value=percent(over_90_amount, total),
            numerator=len(over_90),
            denominator=len(every),
            reason=None if total else "no open A/R",
        ),
    )


def net_collection_rate(claims: Iterable[ClaimFacts], period: Period) -> NetCollectionRate:
    """Payer paid over what it should have paid (charges - contractual - patient share), claims posted in the period."""
    remittances = [claim.remittance for claim, _ in _posted(claims, period) if claim.remittance is not None]
    paid = sum((r.paid for r in remittances), _ZERO)
    expected = sum((r.expected for r in remittances), _ZERO)
    value = percent(paid, expected) if expected > 0 else None
    reason = None
    if not remittances:
        reason = "no 835 posting in the period"
    elif value is None:
        reason = "nothing was collectible from the payers (contractual adjustments and patient shares only)"
    return NetCollectionRate(
        value=value, paid=money(paid), expected=money(expected), claims=len(remittances), reason=reason
    )


# ------------------------------------------------------------------------------------------------- over time


def claims_by_state(claims: Sequence[ClaimFacts], period: Period, as_of: datetime) -> tuple[StateCounts, ...]:
    """Claims in each state at the end of every day of the period, up to ``as_of``."""
    series = []
    for day in period.dates():
        opens = datetime.combine(day, time(), UTC)
        if opens >= as_of:
            break
        moment = min(opens + timedelta(days=1), as_of)
        counts = Counter(state for c in claims if (state := c.state_at(moment)) is not None)
        ordered = dict(sorted(counts.items(), key=lambda item: _LIFECYCLE_ORDER[item[0]]))
        series.append(StateCounts(day=day, counts=ordered))
    return tuple(series)


def oldest_claims(
    claims: Sequence[ClaimFacts], as_of: datetime, states: Sequence[ClaimState] = AGED_STATES
) -> tuple[OldestClaim, ...]:
    """Per state, the claim that has been in it longest at ``as_of`` (days, two decimals)."""
    result = []
    for state in states:
        ages = [
            (as_of - entered, claim.claim_id)
            for claim in claims
            if claim.state_at(as_of) == state and (entered := claim.entered_current_state(as_of)) is not None
        ]
        if not ages:
            result.append(OldestClaim(state=state, age_days=None, claim_id=None, claims=0))
            continue
        age, claim_id = max(ages)
        days = Decimal(age.total_seconds()) / Decimal(86400)
        result.append(
            OldestClaim(
                state=state,
                age_days=float(days.quantize(_CENT, rounding=ROUND_HALF_UP)),
                claim_id=claim_id,
                claims=len(ages),
            )
        )
    return tuple(result)


# --------------------------------------------------------------------------------------------------- report


class ReportRequest(BaseModel):
    """Whose report, for which period; ``now`` bounds ``as_of`` for a period that has not ended yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tenant_id: Annotated[str, Field(min_length=1)]
    period: Period
    now: datetime


def compute_report(claims: Sequence[ClaimFacts], request: ReportRequest, *, truncated: bool = False) -> KpiReport:
    """Every KPI of ``claims`` (one tenant's) for the request's period."""
    period = request.period
    as_of = min(period.closes, request.now)
    return KpiReport(
        tenant_id=request.tenant_id,
        generated_at=request.now,
        period=ReportPeriod(start=period.start, end=period.end, days=period.days, as_of=as_of),
        claims=len(claims),
        truncated=truncated,
        clean_claim_rate=clean_claim_rate(claims, period),
        first_pass_acceptance_rate=first_pass_acceptance_rate(claims, period),
        remittance_denial_rate=remittance_denial_rate(claims, period),
        days_in_ar=days_in_ar(claims, period, as_of),
        ar_aging=ar_aging(claims, as_of),
        net_collection_rate=net_collection_rate(claims, period),
        claims_by_state=claims_by_state(claims, period, as_of),
        oldest=oldest_claims(claims, as_of),
    )
