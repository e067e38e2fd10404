"""Same-day pair rules (BH-PTP-01..07) and add-ons without their primary (BH-ADD-01).

Pairs come from the dated ``ptp_pairs`` table (domain table 1.3) and look at the patient's whole day: this claim's
lines and the lines of the patient's other claims with the same date of service (claim history; voided claims do not
count), because a pair split across two claims is still a pair. A row counts a pair only for one rendering NPI unless
the row says otherwise. The payer profile's ``ptp_overrides`` ([{pair, action allow|warn|error}]) replace the outcome
of that exact code pair in every PTP rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from claimbridge.claim import ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.locate import finding, line_path, line_x12
from claimbridge.scrubber.rules.timing import (
    EM,
    PSYCHOTHERAPY,
    CodeBook,
    CodeRow,
    PairRow,
    code_book,
    pair_rows,
)

_PAIR_READS = [
    Fact.CODES,
    Fact.SERVICE_DATES,
    Fact.PROVIDERS,
    Fact.HISTORY,
    Fact.PAYER_PROFILE,
    Fact.CODE_TABLES,
]
_KIND_LABELS = {EM: "a qualifying E/M"}


@dataclass(frozen=True)
class _DayService:
    """A service of the patient's day: a line of this claim (``line`` set) or of another claim."""

    code: str
    rendering_npi: str
    modifiers: tuple[str, ...]
    claim_id: str
    line: ServiceLine | None

    @property
    def where(self) -> str:
        return f"line {self.line.sequence}" if self.line is not None else f"claim {self.claim_id}"


def _day_services(context: ScrubContext, day: date) -> list[_DayService]:
    """This claim's lines on ``day`` (in line order), then the patient's non-voided services on other claims."""
    own = [
        _DayService(
            code=line.procedure_code,
            rendering_npi=context.rendering_npi_for(line),
            modifiers=line.modifiers,
            claim_id=context.claim.claim_id,
            line=line,
        )
        for line in context.lines
        if line.service_date == day
    ]
    others = [
        _DayService(
            code=record.procedure_code,
            rendering_npi=record.rendering_npi,
            modifiers=record.modifiers,
            claim_id=record.claim_id,
            line=None,
        )
        for record in context.other_services()
        if record.service_date == day and not record.voided
    ]
    return own + others


def _orient(row: PairRow, book: CodeBook, first: _DayService, second: _DayService) -> tuple[_DayService, ...]:
    """``(a, b)`` with ``a`` in the row's set A and ``b`` in set B; when both orders fit, the later service is ``b``."""
    if row.in_a(book, first.code) and row.in_b(book, second.code):
        return (first, second)
    if row.in_a(book, second.code) and row.in_b(book, first.code):
        return (second, first)
    return ()


def _pair_findings(context: ScrubContext, rule_id: str) -> Iterator[Finding]:
    """Every same-day pair of ``rule_id``'s rows that involves a line of this claim, after payer overrides."""
    overrides = {frozenset(o.pair): o.action for o in context.profile.ptp_overrides}
    for day in sorted({line.service_date for line in context.lines}):
        rows = [row for row in pair_rows(context, day) if row.rule == rule_id]
        if not rows:
            continue
        book = code_book(context, day)
        services = _day_services(context, day)
        for row in rows:
            for first, second in combinations(services, 2):
                if first.line is None and second.line is None:
                    continue
                oriented = _orient(row, book, first, second)
                if not oriented:
                    continue
                yield from _pair_finding(
                    context, row, a=oriented[0], b=oriented[1], services=services, overrides=overrides
                )


def _pair_finding(
    context: ScrubContext,
    row: PairRow,
    *,
    a: _DayService,
    b: _DayService,
    services: list[_DayService],
    overrides: Mapping[frozenset[str], str],
) -> Iterator[Finding]:
    if a.line is not None and b.line is not None and a.code == b.code:
        return  # the same code twice on one claim is a unit question (BH-TIME-04)
    if row.same_provider and a.rendering_npi != b.rendering_npi:
        return
    if row.unless_present and any(
        s.code in row.unless_present and (not row.same_provider or s.rendering_npi == a.rendering_npi) for s in services
    ):
        return
    action = overrides.get(frozenset((a.code, b.code)))
    if action == "allow":
        return
    if action is None:
        if row.distinct_modifiers and set(row.distinct_modifiers) & set(a.modifiers + b.modifiers):
            return
        severity = row.severity
    else:
        severity = Severity.WARNING if action == "warn" else Severity.ERROR
    preferred, fallback = (a, b) if row.report_on == "a" else (b, a)
    flagged, other = (preferred, fallback) if preferred.line is not None else (fallback, preferred)
    line = flagged.line
    if line is None:  # pragma: no cover - a pair without a line of this claim is skipped by the caller
        return
    provider = " by the same rendering clinician" if row.same_provider else ""
    override = f" (payer profile ptp_overrides: {action})" if action is not None else ""
    fix = row.fix.format(code=flagged.code, other=other.code)
    if other.line is None:
        fix += f"; {other.code} is on claim {other.claim_id}: correct that claim instead if it holds the wrong code"
    yield finding(
        row.rule,
        severity,
        fhir_path=line_path(context.claim, line, "productOrService"),
        x12_location=line_x12(line, "SV101-2"),
        message=(
            f"line {line.sequence}: {flagged.code} is billed with {other.code} ({other.where}) for the same date of "
            f"service{provider}: {row.reason}{override}"
        ),
        fix=fix,
    )


@rule(
    "BH-PTP-01",
    title="90791/90792 not with an E/M by the same clinician on the same day",
    reads=_PAIR_READS,
    severity="error, or the ptp_overrides action (allow, warn, error)",
    profile_keys=("ptp_overrides",),
)
def rule_evaluation_with_em(context: ScrubContext) -> Iterator[Finding]:
    """A psychiatric diagnostic evaluation (90791/90792) and any E/M (``bh_codes`` kind ``em``) for the same patient,
    date of service and rendering NPI, on this claim or another one. Error (S2, S3). ``ptp_pairs`` row BH-PTP-01;
    payer ``ptp_overrides`` change the outcome of a pair."""
    yield from _pair_findings(context, "BH-PTP-01")


@rule(
    "BH-PTP-02",
    title="90791/90792 not with psychotherapy on the same day",
    reads=_PAIR_READS,
    severity="error, or the ptp_overrides action (allow, warn, error)",
    profile_keys=("ptp_overrides",),
)
def rule_evaluation_with_psychotherapy(context: ScrubContext) -> Iterator[Finding]:
    """A psychiatric diagnostic evaluation (90791/90792) and psychotherapy 90832-90838 for the same patient and date
    of service, by any clinician (LCD L34616 names no same-provider condition), on this claim or another one. Error
    (S2). Some Medicaid plans may allow the pair (unverified, domain section 10): payer ``ptp_overrides``.
    ``ptp_pairs`` row BH-PTP-02."""
    yield from _pair_findings(context, "BH-PTP-02")


@rule(
    "BH-PTP-03",
    title="90791/90792 not with crisis psychotherapy on the same day",
    reads=_PAIR_READS,
    severity="error, or the ptp_overrides action (allow, warn, error)",
    profile_keys=("ptp_overrides",),
)
def rule_evaluation_with_crisis(context: ScrubContext) -> Iterator[Finding]:
    """A psychiatric diagnostic evaluation (90791/90792) and crisis psychotherapy 90839/+90840 for the same patient,
    date of service and rendering NPI. Error (S4). The domain doc lists the pair again under BH-PTP-05; it is reported
    here only. ``ptp_pairs`` row BH-PTP-03; payer ``ptp_overrides``."""
    yield from _pair_findings(context, "BH-PTP-03")


@rule(
    "BH-PTP-04",
    title="One psychotherapy code per session",
    reads=_PAIR_READS,
    severity="error, or the ptp_overrides action (allow, warn, error)",
    profile_keys=("ptp_overrides",),
)
def rule_second_psychotherapy_code(context: ScrubContext) -> Iterator[Finding]:
    """A standalone psychotherapy code (90832/90834/90837) with an add-on psychotherapy code (+90833/+90836/+90838)
    or a second psychotherapy code for the same patient, date of service and rendering NPI, on this claim or another
    one (the same code twice on one claim is BH-TIME-04's). Error (S4, S6). ``ptp_pairs`` row BH-PTP-04; payer
    ``ptp_overrides``."""
    yield from _pair_findings(context, "BH-PTP-04")


@rule(
    "BH-PTP-05",
    title="Crisis psychotherapy not with other psychotherapy or 90785/90863",
    reads=_PAIR_READS,
    severity="error, or the ptp_overrides action (allow, warn, error)",
    profile_keys=("ptp_overrides",),
)
def rule_crisis_with_other_services(context: ScrubContext) -> Iterator[Finding]:
    """Crisis psychotherapy 90839/+90840 with psychotherapy 90832-90838, interactive complexity +90785 or
    pharmacologic management +90863 for the same patient, date of service and rendering NPI. Error (S4, S7). The
    90791/90792 pairs of this row are reported by BH-PTP-03. ``ptp_pairs`` row BH-PTP-05; payer ``ptp_overrides``."""
    yield from _pair_findings(context, "BH-PTP-05")


@rule(
    "BH-PTP-06",
    title="Interactive complexity not with family psychotherapy or an E/M alone",
    reads=_PAIR_READS,
    severity="error, or the ptp_overrides action (allow, warn, error)",
    profile_keys=("ptp_overrides",),
)
def rule_interactive_complexity_pairs(context: ScrubContext) -> Iterator[Finding]:
    """Interactive complexity +90785 with family psychotherapy 90846/90847, or with an E/M when no psychotherapy
    (90832-90838, 90853) is billed that day by the same clinician; same patient, date of service and rendering NPI.
    Error (S4, S5, S6). The 90839/+90840 pairs of this row are reported by BH-PTP-05. ``ptp_pairs`` rows BH-PTP-06
    (``unless_present`` lists the psychotherapy codes); payer ``ptp_overrides``."""
    yield from _pair_findings(context, "BH-PTP-06")


@rule(
    "BH-PTP-07",
    title="Individual and family psychotherapy on the same day only when distinct",
    reads=[*_PAIR_READS, Fact.MODIFIERS],
    severity="warning, or the ptp_overrides action (allow, warn, error)",
    profile_keys=("ptp_overrides",),
)
def rule_individual_with_family(context: ScrubContext) -> Iterator[Finding]:
    """Warning: individual psychotherapy 90832/90834/90837 with family psychotherapy 90846/90847 for the same
    patient, date of service and rendering NPI, unless separate and distinct (S4). A distinct-service modifier on
    either line (``ptp_pairs`` ``distinct_modifiers``: 59, XE, XP, XS, XU; payer policy varies, unverified) lifts
    the warning; a payer's ``ptp_overrides`` entry for the pair decides instead, modifiers or not."""
    yield from _pair_findings(context, "BH-PTP-07")


def _needs(row: CodeRow) -> str:
    """``90839``, ``one of 96130, ...``, ``a qualifying E/M``: what an add-on needs as its primary."""
    parts = [_KIND_LABELS.get(kind, f"a {kind} code") for kind in row.primary_kinds]
    if row.primaries:
        codes = ", ".join(row.primaries)
        parts.append(codes if len(row.primaries) == 1 else f"one of {codes}")
    return " or ".join(parts)


def _standalone(book: CodeBook, row: CodeRow) -> CodeRow | None:
    """The standalone psychotherapy code with the add-on's time band (+90836 -> 90834), when there is one."""
    if EM not in row.primary_kinds:
        return None
    return next(
        (
            other
            for other in book.in_family(PSYCHOTHERAPY)
            if (other.min_minutes, other.max_minutes) == (row.min_minutes, row.max_minutes)
        ),
        None,
    )


@rule(
    "BH-ADD-01",
    title="Add-on codes are billed with their primary service",
    reads=[Fact.CODES, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error",
)
def rule_add_on_has_primary(context: ScrubContext) -> Iterator[Finding]:
    """An add-on code (``bh_codes`` ``add_on``: +90785, +90833/+90836/+90838, +90840, +90863, +96131, +96137,
    +96139, +99494, +G0018) needs one of its primaries (``primaries``, or an E/M row for ``primary_kinds`` ``em``)
    on the same claim and date of service; an add-on alone is an error (S1, S4, S43). +90833/+90836/+90838 need a
    qualifying E/M: the ``bh_codes`` E/M rows (office 99202-99215 and the facility/home E/M inside both the Novitas
    and BCBSIL lists). The fix for a psychotherapy add-on without an E/M names the standalone code of its band."""
    for line in context.lines:
        book = code_book(context, line.service_date)
        row = book.get(line.procedure_code)
        if row is None or not row.add_on:
            continue
        same_day = [other for other in context.lines if other is not line and other.service_date == line.service_date]
        if any(book.matches(other.procedure_code, row.primaries, row.primary_kinds) for other in same_day):
            continue
        standalone = _standalone(book, row)
        if standalone is not None:
            fix = (
                f"add the E/M it was billed with to this claim for the same date of service, or bill "
                f"{standalone.code} instead of {row.code} when no E/M was performed"
            )
        else:
            fix = f"bill {row.code} on the same claim and date of service as {_needs(row)}, or remove it"
        yield finding(
            "BH-ADD-01",
            Severity.ERROR,
            fhir_path=line_path(context.claim, line, "productOrService"),
            x12_location=line_x12(line, "SV101-2"),
            message=(
                f"line {line.sequence}: add-on {row.code} has no primary service on this claim for its date of "
                f"service (it needs {_needs(row)})"
            ),
            fix=fix,
        )
