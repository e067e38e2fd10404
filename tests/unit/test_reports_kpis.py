"""KPIs over hand-built claim timelines; every expected value is worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from claimbridge.reports.facts import ClaimFacts, StateChange
from claimbridge.reports.kpis import (
    Period,
    ReportRequest,
    aging_bucket,
    ar_aging,
    claims_by_state,
    clean_claim_rate,
    compute_report,
    days_in_ar,
    first_pass_acceptance_rate,
    net_collection_rate,
    oldest_claims,
    percent,
    remittance_denial_rate,
)
from claimbridge.reports.models import KpiReport
from claimbridge.state.models import ClaimState
from tests.support.kpi_facts import Step, at, claim, remit

S = ClaimState
MARCH = Period.month(2026, 3)
APRIL_1 = datetime(2026, 4, 1, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------------ basics


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(1, 3, 33.33), (2, 3, 66.67), (0, 5, 0.0), (5, 5, 100.0), (0, 0, None), (Decimal("180"), Decimal("380"), 47.37)],
)
def test_percent_rounds_half_up_and_never_divides_by_zero(numerator, denominator, expected) -> None:
    assert percent(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("period", "start", "end", "days"),
    [
        (Period.month(2026, 2), date(2026, 2, 1), date(2026, 2, 28), 28),
        (Period.month(2024, 2), date(2024, 2, 1), date(2024, 2, 29), 29),
        (Period.month(2026, 12), date(2026, 12, 1), date(2026, 12, 31), 31),
        (Period.trailing(date(2026, 3, 10), 30), date(2026, 2, 9), date(2026, 3, 10), 30),
    ],
)
def test_period_bounds(period: Period, start: date, end: date, days: int) -> None:
    assert (period.start, period.end, period.days) == (start, end, days)


def test_period_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Period(start=date(2026, 3, 2), end=date(2026, 3, 1))


@pytest.mark.parametrize(
    ("age", "bucket"),
    [(0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "91-120"),
     (120, "91-120"), (121, ">120"), (400, ">120")],
)  # fmt: skip
def test_aging_bucket_edges(age: int, bucket: str) -> None:
    assert aging_bucket(age) == bucket


def test_state_change_times_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        StateChange(at=datetime(2026, 3, 1, 9), from_state=None, to_state=S.RECEIVED)


# ------------------------------------------------------------------------------------------- clean claim rate

CLEAN_CASES = [
    claim("a", (at(3, 1), S.READY), (at(3, 2), S.SUBMITTED)),  # clean
    claim("b", (at(3, 1), S.HELD), (at(3, 3), S.RECEIVED), (at(3, 3), S.READY)),  # held on first scrub
    claim("c", (at(3, 2), S.READY), (at(3, 4), S.RECEIVED), (at(3, 4), S.READY), (at(3, 5), S.SUBMITTED)),  # re-scrub
    claim("d", (at(3, 5), S.READY), (at(3, 6), S.CLOSED, True)),  # a person closed it before it was sent
    claim("e", (at(2, 27), S.READY)),  # first scrubbed before the period
    # clean: the person only acted after the first submission (a rejection is first-pass acceptance's business)
    claim("f", (at(3, 2), S.READY), (at(3, 3), S.SUBMITTED), (at(3, 4), S.REJECTED), (at(3, 5), S.CORRECTED, True)),
]


def test_clean_claim_rate_counts_first_scrubs_in_the_period() -> None:
    # Given a, b, c, d, f first scrubbed in March (e in February); only a and f passed without a change
    # When
    rate = clean_claim_rate(CLEAN_CASES, MARCH)
    # Then 2 / 5
    assert (rate.value, rate.numerator, rate.denominator) == (40.0, 2, 5)
    assert (rate.held_on_first_scrub, rate.changed_before_submission) == (1, 2)
    assert rate.reason is None


def test_clean_claim_rate_of_an_empty_period_is_null_with_a_reason() -> None:
    rate = clean_claim_rate(CLEAN_CASES, Period.month(2026, 4))
    assert (rate.value, rate.numerator, rate.denominator) == (None, 0, 0)
    assert rate.reason == "no claim was first scrubbed in the period"


# ---------------------------------------------------------------------------------- first-pass acceptance

FIRST_PASS_CASES = [
    claim("a", (at(3, 1), S.READY), (at(3, 2), S.SUBMITTED), (at(3, 3), S.ACCEPTED), (at(3, 10), S.PAID)),  # yes
    claim("f", (at(3, 2), S.READY), (at(3, 3), S.SUBMITTED), (at(3, 4), S.REJECTED)),  # no
    claim("g", (at(3, 3), S.READY), (at(3, 4), S.SUBMITTED)),  # no answer yet
    claim("h", (at(3, 1), S.READY), (at(3, 2), S.FAILED_TO_SEND), (at(3, 3), S.ACCEPTED)),  # taken after all: yes
    claim("i", (at(3, 4), S.READY), (at(3, 5), S.SUBMITTED), (at(3, 6), S.ACCEPTED), (at(3, 7), S.REJECTED)),  # no
    claim("j", (at(2, 1), S.READY), (at(2, 2), S.SUBMITTED), (at(3, 2), S.ACCEPTED)),  # submitted in February
    claim("k", (at(3, 8), S.READY)),  # never submitted
]


def test_first_pass_acceptance_leaves_unanswered_claims_out() -> None:
    # Given a, f, g, h, i first submitted in March; g not answered; a and h accepted without a rejection
    rate = first_pass_acceptance_rate(FIRST_PASS_CASES, MARCH)
    # Then 2 / 4, one awaiting
    assert (rate.value, rate.numerator, rate.denominator, rate.awaiting_answer) == (50.0, 2, 4, 1)


def test_first_pass_acceptance_with_only_unanswered_claims_is_null() -> None:
    rate = first_pass_acceptance_rate([FIRST_PASS_CASES[2]], MARCH)
    assert (rate.value, rate.awaiting_answer) == (None, 1)
    assert rate.reason == "no claim first submitted in the period has been answered yet"


# ----------------------------------------------------------------------------- denials and collections


def _adjudicated(claim_id: str, payer: str, *tail: Step, charge: str = "100.00", remittance=None) -> ClaimFacts:
    head: tuple[Step, ...] = ((at(3, 1), S.READY), (at(3, 2), S.SUBMITTED))
    return claim(claim_id, *head, *tail, payer=payer, charge=charge, remittance=remittance)


POSTED_CASES = [
    _adjudicated("p1", "MCR", (at(3, 10), S.PAID), remittance=remit("100", "80", contractual="10", patient="10")),
    _adjudicated("p2", "MCR", (at(3, 11), S.DENIED), remittance=remit("100", "0", category="credentialing")),
    _adjudicated(
        "p3",
        "COMM-A",
        (at(3, 12), S.PARTIALLY_PAID),
        charge="200",
        remittance=remit("200", "100", category="documentation"),
    ),
    _adjudicated("p4", "COMM-A", (at(3, 12), S.DENIED), (at(3, 13), S.ACCEPTED)),  # reversed: not a posting
    _adjudicated("p5", "COMM-A", (at(3, 14), S.DENIED)),  # no remittance kept: uncategorised
    claim("p6", (at(2, 1), S.READY), (at(2, 2), S.SUBMITTED), (at(2, 20), S.PAID), remittance=remit("100", "100")),
]


def test_remittance_denial_rate_by_category_and_payer() -> None:
    # Given p1, p2, p3, p5 posted in March (p4 reversed, p6 in February); p2 and p5 denied, p3 denied in part
    rate = remittance_denial_rate(POSTED_CASES, MARCH)
    # Then 2 / 4
    assert (rate.value, rate.numerator, rate.denominator, rate.partially_denied) == (50.0, 2, 4, 1)
    assert [(c.category, c.denied, c.partially_denied, c.rate) for c in rate.by_category] == [
        ("credentialing", 1, 0, 25.0),
        ("documentation", 0, 1, 0.0),
        ("uncategorised", 1, 0, 25.0),
    ]
    assert [(p.payer, p.remitted, p.denied, p.partially_denied, p.rate) for p in rate.by_payer] == [
        ("COMM-A", 2, 1, 1, 50.0),
        ("MCR", 2, 1, 0, 50.0),
    ]


def test_net_collection_rate_over_postings_with_remittances() -> None:
    # paid 80 + 0 + 100 = 180; expected (100 - 10 - 10) + 100 + 200 = 380 -> 47.37 %
    rate = net_collection_rate(POSTED_CASES, MARCH)
    assert (rate.value, rate.paid, rate.expected, rate.claims, rate.reason) == (47.37, "180.00", "380.00", 3, None)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ([], "no 835 posting in the period"),
        (
            [
                _adjudicated(
                    "z", "MCR", (at(3, 10), S.PAID), remittance=remit("100", "0", contractual="60", patient="40")
                )
            ],
            "nothing was collectible from the payers (contractual adjustments and patient shares only)",
        ),
    ],
)
def test_net_collection_rate_without_a_collectible_amount_is_null(claims: list[ClaimFacts], reason: str) -> None:
    rate = net_collection_rate(claims, MARCH)
    assert (rate.value, rate.reason) == (None, reason)


def test_remittance_denial_rate_of_an_empty_period_is_null() -> None:
    rate = remittance_denial_rate(POSTED_CASES, Period.month(2026, 5))
    assert (rate.value, rate.denominator, rate.by_category, rate.by_payer) == (None, 0, (), ())
    assert rate.reason == "no 835 posting in the period"


# -------------------------------------------------------------------------------------------------- A/R

AR_CASES = [
    claim("x1", (at(3, 19), S.READY), (at(3, 20), S.SUBMITTED)),  # 11 days, 100 open
    claim("x2", (at(1, 14), S.READY), (at(1, 15), S.SUBMITTED), (at(1, 16), S.ACCEPTED), charge="200"),  # 75 days
    claim(  # 151 days, denied in full: 300 open
        "x3",
        (at(10, 31, year=2025), S.READY),
        (at(11, 1, year=2025), S.SUBMITTED),
        (at(12, 1, year=2025), S.DENIED),
        payer="COMM-A",
        charge="300",
        remittance=remit("300", "0", category="eligibility"),
    ),
    claim(  # 26 days, 400 - 50 - 20 - 250 = 80 open
        "x4",
        (at(3, 4), S.READY),
        (at(3, 5), S.SUBMITTED),
        (at(3, 20), S.PARTIALLY_PAID),
        payer="COMM-A",
        charge="400",
        remittance=remit("400", "250", contractual="50", patient="20", category="coding"),
    ),
    claim("x5", (at(3, 9), S.READY), (at(3, 10), S.SUBMITTED), (at(3, 25), S.PAID), charge="500"),  # paid: 0
    claim("x6", (at(3, 9), S.READY), charge="50"),  # never billed
    claim("x7", (at(4, 1), S.READY), (at(4, 2), S.SUBMITTED), payer="MCD-TX", charge="60"),  # after as_of
    claim(  # 101 days, rejected: 70 open
        "x8",
        (at(12, 19, year=2025), S.READY),
        (at(12, 20, year=2025), S.SUBMITTED),
        (at(12, 21, year=2025), S.REJECTED),
        charge="70",
    ),
]


def test_days_in_ar_is_open_balance_over_average_daily_billing() -> None:
    # balance 100 + 200 + 300 + 80 + 70 = 750; billed in March x1 + x4 + x5 = 1000 over 31 days; 750 / (1000/31) = 23.25
    dar = days_in_ar(AR_CASES, MARCH, APRIL_1)
    assert (dar.value, dar.balance, dar.billed, dar.days, dar.reason) == (23.25, "750.00", "1000.00", 31, None)


def test_days_in_ar_without_billing_in_the_period_is_null() -> None:
    dar = days_in_ar(AR_CASES, Period.month(2026, 2), datetime(2026, 3, 1, tzinfo=UTC))
    # x2 (200), x3 (300), x8 (70) were open on 1 March; nothing was first billed in February
    assert (dar.value, dar.balance, dar.billed, dar.reason) == (
        None,
        "570.00",
        "0.00",
        "no charges were billed in the period",
    )


def test_ar_aging_by_payer_in_days_since_first_submission() -> None:
    aging = ar_aging(AR_CASES, APRIL_1)

    def amounts(row) -> list[tuple[str, int, str]]:
        return [(b.bucket, b.claims, b.amount) for b in row.buckets]

    assert [row.payer for row in aging.by_payer] == ["COMM-A", "MCR"]
    comm, mcr = aging.by_payer
    assert amounts(comm) == [("0-30", 1, "80.00"), ("31-60", 0, "0.00"), ("61-90", 0, "0.00"), ("91-120", 0, "0.00"),
                             (">120", 1, "300.00")]  # fmt: skip
    assert amounts(mcr) == [("0-30", 1, "100.00"), ("31-60", 0, "0.00"), ("61-90", 1, "200.00"),
                            ("91-120", 1, "70.00"), (">120", 0, "0.00")]  # fmt: skip
    assert (comm.claims, comm.amount, mcr.claims, mcr.amount) == (2, "380.00", 3, "370.00")
    assert (aging.total.payer, aging.total.claims, aging.total.amount) == ("(total)", 5, "750.00")
    # over 90 days: x8 70 + x3 300 = 370 of 750 -> 49.33 %
    assert (aging.over_90.value, aging.over_90.numerator, aging.over_90.denominator) == (49.33, 2, 5)


def test_a_rejected_claim_being_fixed_is_still_open_ar_but_a_claim_never_sent_is_not() -> None:
    # Given a claim rejected, sent back to RECEIVED by a biller and held again; and one held before it was ever sent
    fixing = claim(
        "r1",
        (at(3, 1), S.READY),
        (at(3, 2), S.SUBMITTED),
        (at(3, 3), S.REJECTED),
        (at(3, 4), S.RECEIVED, True),
        (at(3, 4), S.HELD),
        charge="90",
    )
    never_sent = claim("r2", (at(3, 1), S.HELD), charge="50")
    # Then only the first is owed: 90, 29 days after its first submission
    aging = ar_aging([fixing, never_sent], APRIL_1)
    assert (aging.total.claims, aging.total.amount, aging.total.buckets[0].amount) == (1, "90.00", "90.00")


def test_ar_aging_with_nothing_open() -> None:
    aging = ar_aging([AR_CASES[4], AR_CASES[5]], APRIL_1)
    assert (aging.by_payer, aging.total.claims, aging.total.amount) == ((), 0, "0.00")
    assert (aging.over_90.value, aging.over_90.reason) == (None, "no open A/R")


def test_oldest_claim_per_state() -> None:
    # SUBMITTED: x1 since 20 March 09:00 -> 11 days 15 h = 11.625 -> 11.63; ACCEPTED: x2 since 16 January 09:00 -> 74.63
    submitted, accepted = oldest_claims(AR_CASES, APRIL_1)
    assert (submitted.state, submitted.age_days, submitted.claim_id, submitted.claims) == (S.SUBMITTED, 11.63, "x1", 1)
    assert (accepted.state, accepted.age_days, accepted.claim_id, accepted.claims) == (S.ACCEPTED, 74.63, "x2", 1)


def test_oldest_claim_of_an_empty_state_is_null() -> None:
    (submitted,) = oldest_claims([AR_CASES[4]], APRIL_1, states=[S.SUBMITTED])
    assert (submitted.age_days, submitted.claim_id, submitted.claims) == (None, None, 0)


# -------------------------------------------------------------------------------------------- over time

TIMELINE = [
    claim("c1", (at(3, 1), S.READY), (at(3, 2), S.SUBMITTED)),
    claim("c2", (at(3, 2), S.HELD)),
]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (
            datetime(2026, 3, 4, tzinfo=UTC),
            [
                (date(2026, 3, 1), {S.READY: 1}),
                (date(2026, 3, 2), {S.HELD: 1, S.SUBMITTED: 1}),
                (date(2026, 3, 3), {S.HELD: 1, S.SUBMITTED: 1}),
            ],
        ),
        # the period is still running: the last day is counted up to now (8:00, before either change of the 2nd)
        (datetime(2026, 3, 2, 8, tzinfo=UTC), [(date(2026, 3, 1), {S.READY: 1}), (date(2026, 3, 2), {S.READY: 1})]),
    ],
)
def test_claims_by_state_counts_each_day_end(
    as_of: datetime, expected: list[tuple[date, dict[ClaimState, int]]]
) -> None:
    period = Period(start=date(2026, 3, 1), end=date(2026, 3, 3))
    series = claims_by_state(TIMELINE, period, as_of)
    assert [(point.day, point.counts) for point in series] == expected
    assert [list(point.counts) for point in series] == [list(counts) for _, counts in expected]  # lifecycle order


# ----------------------------------------------------------------------------------------------- report


def test_report_of_a_month_round_trips_as_json() -> None:
    # Given every case above
    claims = [*CLEAN_CASES, *POSTED_CASES, *AR_CASES]
    request = ReportRequest(tenant_id="demo-practice", period=MARCH, now=datetime(2026, 4, 15, tzinfo=UTC))
    # When
    report = compute_report(claims, request)
    # Then as_of is the end of the month, not now, and the document validates back
    assert report.period.as_of == APRIL_1
    assert (report.claims, report.period.days, len(report.claims_by_state)) == (len(claims), 31, 31)
    assert KpiReport.model_validate_json(report.model_dump_json()) == report


def test_report_of_an_empty_tenant_has_null_kpis_and_no_division_by_zero() -> None:
    request = ReportRequest(tenant_id="t-empty", period=MARCH, now=datetime(2026, 3, 10, 12, tzinfo=UTC))
    report = compute_report([], request)
    assert report.period.as_of == datetime(2026, 3, 10, 12, tzinfo=UTC)
    values = [
        report.clean_claim_rate.value,
        report.first_pass_acceptance_rate.value,
        report.remittance_denial_rate.value,
        report.days_in_ar.value,
        report.net_collection_rate.value,
        report.ar_aging.over_90.value,
    ]
    assert values == [None] * 6
    assert len(report.claims_by_state) == 10  # 1..10 March, nothing after now
    assert all(point.counts == {} for point in report.claims_by_state)
    assert [(o.state, o.age_days) for o in report.oldest] == [(S.SUBMITTED, None), (S.ACCEPTED, None)]
