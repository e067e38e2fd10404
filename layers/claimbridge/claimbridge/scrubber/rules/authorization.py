"""Prior-authorization rules: codes the payer authorizes (BH-AUTH-01) and visit limits (BH-AUTH-02).

2300 REF*G1 carries the claim's authorization number, 2400 REF*G1 a line's (domain reference section 5). Which codes
need one and how many visits a patient may have without one are payer profile keys (``auth.required_codes``,
``auth.visit_limit``); which codes make a visit and how early to warn are in the ``claim_policy`` table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

from claimbridge.claim import ClaimFrequency, ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.locate import claim_path, finding, line_x12
from claimbridge.scrubber.rules.claim_level import add_years, claim_policy
from claimbridge.tenants.models import VisitLimit

_PERIOD_TEXT = {
    "calendar_year": "in the calendar year",
    "rolling_12_months": "in the 12 months ending on its date of service",
}
_SCOPE_TEXT = {
    "all_providers": "across all providers",
    "billing_provider": "for this billing provider",
    "rendering_provider": "for this rendering clinician",
}


@rule(
    "BH-AUTH-01",
    title="A code the payer authorizes carries a prior authorization number",
    reads=[Fact.CODES, Fact.AUTHORIZATION, Fact.FREQUENCY, Fact.PAYER_PROFILE],
    severity="error",
    profile_keys=("auth.required_codes",),
)
def rule_required_authorization(context: ScrubContext) -> Iterator[Finding]:
    """A line whose code is in the payer profile's ``auth.required_codes`` needs a prior authorization number: its
    own (2400 REF*G1) or the claim's (2300 REF*G1). Without either it is an error, one per line [S16, S17; section 5].
    Which services need authorization is payer-specific (psychological testing, IOP/PHP, ABA, TMS ... are examples
    only). A void (frequency 8) only cancels a claim and is not checked.
    """
    claim = context.claim
    required = set(context.profile.auth.required_codes)
    if not required or claim.prior_authorization or claim.frequency == ClaimFrequency.VOID:
        return
    for line in context.lines:
        if line.procedure_code in required and not line.prior_authorization:
            yield finding(
                "BH-AUTH-01",
                Severity.ERROR,
                fhir_path=claim_path(claim, "insurance.preAuthRef"),
                x12_location=line_x12(line, "REF*G1"),
                message=(
                    f"line {line.sequence} ({line.procedure_code}) needs prior authorization with this payer "
                    "(auth.required_codes) and neither the line nor the claim has an authorization number"
                ),
                fix=(
                    "send the payer's authorization number in Claim.insurance.preAuthRef (2300 REF*G1) or on the "
                    "line (2400 REF*G1); without one, obtain the authorization (or a retro-authorization) first"
                ),
            )


def _scope_key(limit: VisitLimit, *, billing_npi: str, rendering_npi: str) -> str:
    """Which provider's visits count together: everyone's (``""``), the billing NPI's or the rendering NPI's."""
    if limit.scope == "billing_provider":
        return billing_npi
    if limit.scope == "rendering_provider":
        return rendering_npi
    return ""


def _window(limit: VisitLimit, day: date) -> tuple[date, date]:
    """The inclusive period a visit on ``day`` is counted in."""
    if limit.period == "calendar_year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    return add_years(day, -1) + timedelta(days=1), day


def _lines_text(lines: list[ServiceLine]) -> str:
    numbers = ", ".join(str(line.sequence) for line in lines)
    codes = ", ".join(dict.fromkeys(line.procedure_code for line in lines))
    return f"line{'s' if len(lines) > 1 else ''} {numbers} ({codes})"


@rule(
    "BH-AUTH-02",
    title="Visits beyond the payer's visit limit carry a prior authorization number",
    reads=[
        Fact.CODES,
        Fact.SERVICE_DATES,
        Fact.AUTHORIZATION,
        Fact.PROVIDERS,
        Fact.FREQUENCY,
        Fact.PAYER_PROFILE,
        Fact.HISTORY,
        Fact.CODE_TABLES,
    ],
    severity="error beyond the limit; warning within 3 visits of it",
    profile_keys=("auth.visit_limit",),
)
def rule_visit_limit(context: ScrubContext) -> Iterator[Finding]:
    """The payer profile's ``auth.visit_limit`` {``count``, ``period``, ``scope``} caps the behavioral-health visits
    a patient may have under the billed payer without prior authorization (e.g. Texas Medicaid: 30 outpatient BH
    encounters per calendar year across all providers [S28]; section 5).

    A visit is one distinct date of service with at least one line whose code is a ``claim_policy`` ``visit_codes``
    entry (psychiatry 90785-90899, 96127-96139, 99484, 99492-99494, G0017/G0018 and the Medicaid H-codes; E/M codes
    alone do not make a visit). Visits count per patient under the billed payer key, for the providers ``scope``
    names (the billing NPI, or the line's rendering NPI); the patient's other claims count whether held or rejected,
    voided ones do not. ``calendar_year`` counts every visit of the visit's calendar year on other claims, since the
    payer has received those already, plus this claim's visits up to that date; ``rolling_12_months`` counts the
    visits in the 12 months ending on the visit's date (a visit exactly one year earlier is outside).

    A visit of this claim beyond ``count`` without a prior authorization number (the claim's, or one of the visit's
    lines') is an error, one per visit; otherwise a visit within ``visit_limit_warning_visits`` (3) of ``count`` is
    one warning for the claim's latest such visit. A void (frequency 8) is not checked.
    """
    claim = context.claim
    limit = context.profile.auth.visit_limit
    if limit is None or claim.frequency == ClaimFrequency.VOID:
        return
    policy = claim_policy(context)
    billing_npi = claim.billing_provider.npi
    own: dict[str, dict[date, list[ServiceLine]]] = defaultdict(lambda: defaultdict(list))
    for line in context.lines:
        if policy.is_visit_code(line.procedure_code):
            key = _scope_key(limit, billing_npi=billing_npi, rendering_npi=context.rendering_npi_for(line))
            own[key][line.service_date].append(line)
    if not own:
        return
    others: dict[str, set[date]] = defaultdict(set)
    for record in context.other_services():
        if record.payer_key == claim.payer.key and not record.voided and policy.is_visit_code(record.procedure_code):
            key = _scope_key(limit, billing_npi=record.billing_npi, rendering_npi=record.rendering_npi)
            others[key].add(record.service_date)
    period = _PERIOD_TEXT[limit.period]
    scope = _SCOPE_TEXT[limit.scope]
    for key in sorted(own):
        visits = own[key]
        over_limit = False
        nearest: tuple[int, list[ServiceLine]] | None = None
        for day in sorted(visits):
            lines = visits[day]
            if claim.prior_authorization or any(line.prior_authorization for line in lines):
                continue
            start, end = _window(limit, day)
            counted = {d for d in others[key] if start <= d <= end} | {d for d in visits if start <= d <= day}
            number = len(counted)
            if number > limit.count:
                over_limit = True
                yield finding(
                    "BH-AUTH-02",
                    Severity.ERROR,
                    fhir_path=claim_path(claim, "insurance.preAuthRef"),
                    x12_location="2300 REF*G1",
                    message=(
                        f"{_lines_text(lines)}: visit {number} {period} under this payer {scope}; "
                        f"the visit limit is {limit.count} without prior authorization (auth.visit_limit)"
                    ),
                    fix=(
                        f"obtain a prior authorization for the visits beyond {limit.count} and send its number in "
                        "Claim.insurance.preAuthRef (2300 REF*G1) or on the visit's lines (2400 REF*G1)"
                    ),
                )
            elif number >= limit.count - policy.visit_limit_warning_visits:
                nearest = (number, lines)
        if nearest is not None and not over_limit:
            number, lines = nearest
            yield finding(
                "BH-AUTH-02",
                Severity.WARNING,
                fhir_path=claim_path(claim, "insurance.preAuthRef"),
                x12_location="2300 REF*G1",
                message=(
                    f"{_lines_text(lines)}: visit {number} of {limit.count} allowed {period} under this payer "
                    f"{scope}; {limit.count - number} left before prior authorization is needed"
                ),
                fix=f"request a prior authorization now so that visits after {limit.count} are covered",
            )
