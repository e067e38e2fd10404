"""Claim-level rules: frequency and payer claim number (BH-CLM-01), balancing (BH-CLM-02), timely filing (BH-TF-01).

Their constants (frequency codes, warning leads, the Medicare 12-month reading, the visit codes BH-AUTH-02 counts)
live in the dated table ``claim_policy``. Its version is the one in effect on the as-of date, not on a date of service:
the constants say how a claim is filed and counted on the day it is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from claimbridge.claim import ProfessionalClaim, ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.locate import claim_path, finding, line_path, line_x12
from claimbridge.scrubber.tables import TableError

POLICY_TABLE = "claim_policy"

_CODE = r"^[0-9A-Z]{5}$"


class CodeRange(BaseModel):
    """An inclusive range of CPT/HCPCS codes of equal length (``"90785-90899"``; one code is ``"99484"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first: Annotated[str, Field(pattern=_CODE)]
    last: Annotated[str, Field(pattern=_CODE)]

    def covers(self, code: str) -> bool:
        # Codes are five upper-case alphanumerics, so string order is code order within a range such as G0017-G0018.
        return self.first <= code <= self.last


class ClaimPolicy(BaseModel):
    """The ``claim_policy`` rows of one table version, keyed by their ``key``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frequency_codes: frozenset[str]
    correction_frequency_codes: frozenset[str]
    timely_filing_warning_days: Annotated[int, Field(ge=0)]
    twelve_month_filing_days: Annotated[int, Field(ge=1)]
    visit_limit_warning_visits: Annotated[int, Field(ge=0)]
    visit_codes: tuple[CodeRange, ...]

    @field_validator("visit_codes", mode="before")
    @classmethod
    def _ranges(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        ranges = []
        for item in value:
            first, _, last = str(item).partition("-")
            ranges.append({"first": first, "last": last or first})
        return ranges

    def is_visit_code(self, code: str) -> bool:
        """Whether a line with this code makes its date of service a behavioral-health visit (BH-AUTH-02)."""
        return any(r.covers(code) for r in self.visit_codes)


_PARSED: dict[int, tuple[tuple[dict[str, Any], ...], ClaimPolicy]] = {}


def claim_policy(context: ScrubContext) -> ClaimPolicy:
    """The ``claim_policy`` version in effect on the as-of date, parsed once per table version."""
    rows = context.tables.rows(POLICY_TABLE, context.as_of)
    if not rows:
        raise TableError(f"code table {POLICY_TABLE} has no version in effect on the as-of date")
    cached = _PARSED.get(id(rows))
    if cached is not None and cached[0] is rows:
        return cached[1]
    policy = ClaimPolicy.model_validate({row["key"]: row["value"] for row in rows})
    _PARSED[id(rows)] = (rows, policy)
    return policy


def add_years(day: date, years: int) -> date:
    """The same month and day ``years`` later (or earlier); 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def filing_deadline(service_date: date, limit_days: int, policy: ClaimPolicy) -> date:
    """The last day a claim for ``service_date`` may be filed: Medicare's 12 months, or a count of days."""
    if limit_days == policy.twelve_month_filing_days:
        return add_years(service_date, 1)
    return service_date + timedelta(days=limit_days)


def _earliest_line(claim: ProfessionalClaim) -> ServiceLine:
    return min(claim.lines, key=lambda line: (line.service_date, line.sequence))


@rule(
    "BH-CLM-01",
    title="Claim frequency is 1, 7 or 8, and a replacement or void names the claim it corrects",
    reads=[Fact.FREQUENCY, Fact.SERVICE_DATES, Fact.PAYER_PROFILE, Fact.TODAY, Fact.CODE_TABLES],
    severity=(
        "error (frequency code, REF*F8 missing); "
        "warning (after the correction window, a payer number on a frequency-1 claim)"
    ),
    profile_keys=("corrected_claim_window_days",),
)
def rule_claim_frequency(context: ScrubContext) -> Iterator[Finding]:
    """CLM05-3 must be one of the ``claim_policy`` ``frequency_codes`` (1 original, 7 replacement, 8 void) [S19, S48].

    - A replacement or void (``correction_frequency_codes``: 7, 8) without the payer claim control number of the claim
      it corrects (2300 REF*F8, the 835 CLP07) is an error [S17, S19, S20].
    - When the payer profile sets ``corrected_claim_window_days``, a 7/8 sent more than that many days after the
      claim's first date of service is a warning. The payer's window runs from the prior payment or denial (Medi-Cal:
      6 months [S19]); the scrubber only knows the dates of service, so it counts from the first one. That date is never
      later than the payment, so the warning can come early but never late.
    - An original (1) that carries a payer claim control number is a warning: it was probably meant as a 7.
    """
    claim = context.claim
    policy = claim_policy(context)
    code = claim.frequency.value
    allowed = ", ".join(sorted(policy.frequency_codes))
    if code not in policy.frequency_codes:
        yield finding(
            "BH-CLM-01",
            Severity.ERROR,
            fhir_path=claim_path(claim, "related"),
            x12_location="2300 CLM05-3",
            message=f"claim frequency {code} is not accepted (CLM05-3 must be one of {allowed})",
            fix="send 1 for a new claim, 7 to replace a claim the payer adjudicated, 8 to void it",
        )
        return
    if code in policy.correction_frequency_codes:
        if not claim.payer_claim_control_number:
            yield finding(
                "BH-CLM-01",
                Severity.ERROR,
                fhir_path=claim_path(claim, "related.reference"),
                x12_location="2300 REF*F8",
                message=f"frequency {code} claim without the payer claim control number of the claim it corrects",
                fix="send Claim.related.reference.value = the payer claim control number (835 CLP07)",
            )
        window = context.profile.corrected_claim_window_days
        elapsed = (context.as_of - claim.first_service_date).days
        if window is not None and elapsed > window:
            yield finding(
                "BH-CLM-01",
                Severity.WARNING,
                fhir_path=claim_path(claim, "related"),
                x12_location="2300 CLM05-3",
                message=(
                    f"frequency {code} claim sent {elapsed} days after the first date of service; the payer accepts "
                    f"corrections within {window} days (corrected_claim_window_days)"
                ),
                fix=(
                    f"check the date of the payment or denial being corrected: if it is more than {window} days ago, "
                    "ask the payer for a reopening or appeal instead of a corrected claim"
                ),
            )
    elif claim.payer_claim_control_number:
        yield finding(
            "BH-CLM-01",
            Severity.WARNING,
            fhir_path=claim_path(claim, "related.reference"),
            x12_location="2300 REF*F8",
            message=f"frequency {code} (original) claim carries a payer claim control number (REF*F8)",
            fix=(
                "to correct a claim the payer adjudicated, send it as 7 (Claim.related prior); "
                "for a new claim, drop Claim.related"
            ),
        )


@rule("BH-CLM-02", title="CLM02 equals the sum of the line charges", reads=[Fact.CHARGES], severity="error")
def rule_claim_balances(context: ScrubContext) -> Iterator[Finding]:
    """CLM02 is always computed as the sum of the SV102 line charges (standard balancing practice; the domain
    reference marks the wording unverified), so the claim balances by construction. What is left to check is a line
    with no charge: payers reject a $0 line, so each one is an error."""
    for line in context.lines:
        if line.charge <= 0:
            yield finding(
                "BH-CLM-02",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "net"),
                x12_location=line_x12(line, "SV102"),
                message=f"line {line.sequence} ({line.procedure_code}) has no charge",
                fix="send the line's charge (Claim.item.net) or add the code to the tenant fee schedule",
            )


@rule(
    "BH-TF-01",
    title="The claim is filed within the payer's timely-filing limit",
    reads=[Fact.SERVICE_DATES, Fact.FREQUENCY, Fact.PAYER_PROFILE, Fact.TODAY, Fact.CODE_TABLES],
    severity="error past the limit; warning within 30 days of it",
    profile_keys=("timely_filing_days",),
)
def rule_timely_filing(context: ScrubContext) -> Iterator[Finding]:
    """Days from the claim's earliest line date (the line "From" date) to the as-of date against the payer profile's
    ``timely_filing_days`` [S29]: past the limit is an error (payers deny CO-29; Medicare gives no appeal rights);
    ``claim_policy`` ``timely_filing_warning_days`` (30) or fewer days left is a warning.

    The limit is the date of service plus ``timely_filing_days`` days, except that the value
    ``twelve_month_filing_days`` (365, the Medicare default) means Medicare's "12 months after the date of service":
    the same month and day a year later, so a leap day in between allows 366 days and a 29 February date of service
    must be filed by 28 February [S29]. Filing on the limit day itself is in time. Replacements and voids
    (``correction_frequency_codes``) are not checked here: their window is BH-CLM-01's ``corrected_claim_window_days``.
    Rejected submissions do not stop the clock, so the as-of date is the day this claim is scrubbed.
    """
    claim = context.claim
    policy = claim_policy(context)
    if claim.frequency.value in policy.correction_frequency_codes:
        return
    line = _earliest_line(claim)
    elapsed = (context.as_of - line.service_date).days
    if elapsed < 0:  # a future date of service is not a filing question
        return
    limit_days = context.profile.timely_filing_days
    deadline = filing_deadline(line.service_date, limit_days, policy)
    days_left = (deadline - context.as_of).days
    allowed = (deadline - line.service_date).days
    limit = f"{allowed} days (12 months)" if limit_days == policy.twelve_month_filing_days else f"{allowed} days"
    if days_left < 0:
        yield finding(
            "BH-TF-01",
            Severity.ERROR,
            fhir_path=line_path(claim, line, "servicedDate"),
            x12_location=line_x12(line, "DTP*472"),
            message=f"filed {elapsed} days after the date of service of line {line.sequence}; limit {limit}",
            fix=(
                "the payer will deny it as CO-29: send it only with proof of timely filing (an earlier acceptance "
                "of this claim), otherwise write the service off"
            ),
        )
    elif days_left <= policy.timely_filing_warning_days:
        yield finding(
            "BH-TF-01",
            Severity.WARNING,
            fhir_path=line_path(claim, line, "servicedDate"),
            x12_location=line_x12(line, "DTP*472"),
            message=(
                f"{days_left} days left to file: {elapsed} days since the date of service of line {line.sequence}; "
                f"limit {limit}"
            ),
            fix="send the claim now and fix any rejection at once: a rejected claim does not stop the clock",
        )
