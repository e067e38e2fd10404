"""Time-based and repeat-evaluation rules (BH-TIME-01..06, BH-FREQ-01), and the two code tables they and ``pairs``
read: ``bh_codes`` (domain section 1.1: kind, time band, units, add-on primaries, repeat window per code) and
``ptp_pairs`` (table 1.3: same-day pairs).

Minutes are the line's own ``documented_minutes`` (mapping fills them from ``servicedPeriod`` or the psychotherapy
``Procedure.performedPeriod``, and never from the Encounter when an E/M is on the claim), so an add-on billed with an
E/M is checked against its own psychotherapy minutes only (BH-TIME-03). Codes, bands, unit limits and windows come
from the tables in effect on the line's date of service; a code the table does not list on that date is not checked.
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.locate import finding, line_path, line_x12
from claimbridge.scrubber.tables import DatedTable, TableError

CODES_TABLE = "bh_codes"
PAIRS_TABLE = "ptp_pairs"

# bh_codes families the rules key on (the codes themselves are data).
PSYCHOTHERAPY = "psychotherapy"
PSYCHOTHERAPY_WITH_EM = "psychotherapy_with_em"
BANDED_PSYCHOTHERAPY = (PSYCHOTHERAPY, PSYCHOTHERAPY_WITH_EM)
FAMILY_PSYCHOTHERAPY = "family_psychotherapy"
EM = "em"
CRISIS = "crisis"

_TABLE_ROW = ConfigDict(frozen=True, extra="forbid")
CodeText = Annotated[str, Field(pattern=r"^[0-9A-Z]{5}$")]


# --- code tables ----------------------------------------------------------------------------------------------------


class CodeRow(BaseModel):
    """One ``bh_codes`` row: what a behavioral-health code is and the time/unit rules that apply to it."""

    model_config = _TABLE_ROW

    code: CodeText
    meaning: str
    kind: Literal["timed", "untimed", "crisis", "em"]
    family: str | None = None
    add_on: bool = False
    primaries: tuple[CodeText, ...] = ()
    primary_kinds: tuple[str, ...] = ()
    min_minutes: Annotated[int, Field(ge=0)] | None = None
    max_minutes: Annotated[int, Field(ge=0)] | None = None
    block_minutes: Annotated[int, Field(ge=1)] | None = None
    time_severity: Severity | None = None
    requires_minutes: bool = False
    unit_rule: str
    max_units_per_day: Annotated[int, Field(ge=1)] | None = None
    multi_unit_pos: tuple[str, ...] = ()
    repeat_window_months: Annotated[int, Field(ge=1)] | None = None
    effective_from: date
    effective_to: date | None = None
    verified: bool
    note: str | None = None
    sources: tuple[str, ...] = ()

    def in_effect(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def covers(self, minutes: int) -> bool:
        """Whether ``minutes`` fall in the code's inclusive time band."""
        return (self.min_minutes is None or minutes >= self.min_minutes) and (
            self.max_minutes is None or minutes <= self.max_minutes
        )

    @property
    def band(self) -> str:
        """``16-37``, ``53 or more``: the band as a biller reads it."""
        if self.max_minutes is None:
            return f"{self.min_minutes or 0} or more"
        return f"{self.min_minutes or 0}-{self.max_minutes}"

    @property
    def time_finding_severity(self) -> Severity:
        """Minutes outside the band: the row's severity when the domain doc verifies it, else a warning."""
        if self.verified and self.time_severity is not None:
            return self.time_severity
        return Severity.WARNING


@dataclass(frozen=True)
class CodeBook:
    """The ``bh_codes`` rows in effect on one date of service, by code."""

    rows: Mapping[str, CodeRow]

    def get(self, code: str) -> CodeRow | None:
        return self.rows.get(code)

    def kind(self, code: str) -> str | None:
        row = self.rows.get(code)
        return row.kind if row is not None else None

    def family(self, code: str) -> str | None:
        row = self.rows.get(code)
        return row.family if row is not None else None

    def matches(self, code: str, codes: Iterable[str], kinds: Iterable[str]) -> bool:
        """``code`` is one of ``codes`` or of a kind in ``kinds`` (``em`` = every E/M row)."""
        kind = self.kind(code)
        return code in codes or (kind is not None and kind in kinds)

    def in_family(self, family: str) -> list[CodeRow]:
        return sorted((r for r in self.rows.values() if r.family == family), key=lambda r: r.min_minutes or 0)

    def band_code(self, family: str, minutes: int) -> CodeRow | None:
        """The code of ``family`` whose band holds ``minutes`` (None: below every band)."""
        return next((r for r in self.in_family(family) if r.covers(minutes)), None)

    def shortest(self, family: str) -> int:
        """The first minute any code of ``family`` covers."""
        return min((r.min_minutes or 0 for r in self.in_family(family)), default=0)

    def crisis_add_ons(self, primary: str) -> list[CodeRow]:
        """Add-ons counted in blocks beyond ``primary``'s band (+90840 for 90839)."""
        return [r for r in self.rows.values() if r.add_on and r.block_minutes and primary in r.primaries]


class PairRow(BaseModel):
    """One ``ptp_pairs`` row: codes of set A not billable with codes of set B on the same day."""

    model_config = _TABLE_ROW

    rule: Annotated[str, Field(pattern=r"^BH-PTP-[0-9]{2}$")]
    a_codes: tuple[CodeText, ...] = ()
    a_kinds: tuple[str, ...] = ()
    b_codes: tuple[CodeText, ...] = ()
    b_kinds: tuple[str, ...] = ()
    same_provider: bool
    severity: Severity
    reason: str
    fix: str
    unless_present: tuple[CodeText, ...] = ()
    distinct_modifiers: tuple[str, ...] = ()
    report_on: Literal["a", "b"] = "b"
    verified: bool
    note: str | None = None
    sources: tuple[str, ...] = ()

    def in_a(self, book: CodeBook, code: str) -> bool:
        return book.matches(code, self.a_codes, self.a_kinds)

    def in_b(self, book: CodeBook, code: str) -> bool:
        return book.matches(code, self.b_codes, self.b_kinds)

    def pairs(self, book: CodeBook, first: str, second: str) -> bool:
        """Whether the row lists the two codes as a pair (either order)."""
        return (self.in_a(book, first) and self.in_b(book, second)) or (
            self.in_a(book, second) and self.in_b(book, first)
        )


_Row = TypeVar("_Row", bound=BaseModel)
_PARSED: dict[tuple[str, int, date], tuple[DatedTable, tuple[Any, ...]]] = {}


def _rows(context: ScrubContext, name: str, day: date, model: type[_Row]) -> tuple[_Row, ...]:
    """The version of table ``name`` in effect on ``day`` as typed rows, parsed once per table version."""
    table = context.tables.table(name)
    version = table.version_on(day)
    if version is None:
        return ()
    key = (name, id(table), version.effective_from)
    cached = _PARSED.get(key)
    if cached is None or cached[0] is not table:  # id() of a dropped test table may be reused
        cached = (table, tuple(model.model_validate(row) for row in version.rows))
        _PARSED[key] = cached
    return cached[1]


def code_book(context: ScrubContext, day: date) -> CodeBook:
    """The ``bh_codes`` rows in effect on ``day``; two rows of one code in effect together are a table error."""
    rows: dict[str, CodeRow] = {}
    for row in _rows(context, CODES_TABLE, day, CodeRow):
        if row.in_effect(day):
            if row.code in rows:
                raise TableError(f"code table {CODES_TABLE}: code {row.code} has two rows in effect")
            rows[row.code] = row
    return CodeBook(rows)


def pair_rows(context: ScrubContext, day: date) -> tuple[PairRow, ...]:
    """The ``ptp_pairs`` rows in effect on ``day``."""
    return _rows(context, PAIRS_TABLE, day, PairRow)


# --- helpers --------------------------------------------------------------------------------------------------------


def _same_day(lines: Sequence[ServiceLine], line: ServiceLine) -> list[ServiceLine]:
    """The claim's other lines with ``line``'s date of service."""
    return [other for other in lines if other is not line and other.service_date == line.service_date]


def _by_date(lines: Sequence[ServiceLine]) -> dict[date, list[ServiceLine]]:
    grouped: dict[date, list[ServiceLine]] = defaultdict(list)
    for line in lines:
        grouped[line.service_date].append(line)
    return grouped


def _has_em(book: CodeBook, lines: Iterable[ServiceLine]) -> bool:
    return any(book.kind(other.procedure_code) == EM for other in lines)


def _minutes(count: int) -> str:
    return f"{count} documented minute{'' if count == 1 else 's'}"


def _units(value: Decimal | int) -> str:
    text = format(Decimal(value).normalize(), "f")
    return f"{text} unit{'' if Decimal(value) == 1 else 's'}"


def _line_list(lines: Sequence[ServiceLine]) -> str:
    return ", ".join(str(line.sequence) for line in lines)


def _shift_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, clamped to the month's last day (31 Aug - 6 months = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def _crisis_session(book: CodeBook, lines: Sequence[ServiceLine], line: ServiceLine, row: CodeRow) -> list[ServiceLine]:
    """The crisis session ``line`` belongs to: its date's primary (90839) and block add-on (+90840) lines."""
    primaries = set(row.primaries) if row.add_on else {row.code}
    codes = primaries | {r.code for p in primaries for r in book.crisis_add_ons(p)}
    session = [other for other in lines if other.service_date == line.service_date and other.procedure_code in codes]
    return sorted(session, key=lambda other: (other.procedure_code not in primaries, other.sequence))


def _session_minutes(session: Sequence[ServiceLine]) -> int | None:
    """A crisis session's total minutes: the primary line's, else the first add-on line's that has them."""
    return next((line.documented_minutes for line in session if line.documented_minutes is not None), None)


# --- rules ----------------------------------------------------------------------------------------------------------


@rule(
    "BH-TIME-01",
    title="Psychotherapy code matches the documented psychotherapy minutes",
    reads=[Fact.CODES, Fact.DOCUMENTED_MINUTES, Fact.CODE_TABLES],
    severity="error",
)
def rule_psychotherapy_minutes(context: ScrubContext) -> Iterator[Finding]:
    """A timed psychotherapy code (90832/90834/90837, add-ons +90833/+90836/+90838) must match the line's documented
    psychotherapy minutes: 16-37, 38-52, 53 or more (no upper bound; one code per session). Fewer than 16 minutes is
    no psychotherapy code at all. Error; the fix names the code whose band holds the minutes (same family: standalone
    or with-E/M add-on). Sources S1, S4, S6. Reads the ``bh_codes`` bands (families ``psychotherapy`` and
    ``psychotherapy_with_em``); lines without minutes are BH-TIME-02/03's."""
    for line in context.lines:
        book = code_book(context, line.service_date)
        row = book.get(line.procedure_code)
        minutes = line.documented_minutes
        if row is None or row.family not in BANDED_PSYCHOTHERAPY or minutes is None or row.covers(minutes):
            continue
        right = book.band_code(row.family, minutes)
        if right is None:
            lowest = book.shortest(row.family)
            message = (
                f"line {line.sequence}: {_minutes(minutes)} of psychotherapy are below {lowest}, the shortest "
                f"psychotherapy code ({line.procedure_code} needs {row.band})"
            )
            fix = (
                f"{_minutes(minutes)} are below {lowest}: bill no psychotherapy code for this session "
                f"(remove line {line.sequence})"
            )
        else:
            message = (
                f"line {line.sequence}: {line.procedure_code} needs {row.band} psychotherapy minutes; "
                f"{_minutes(minutes)} do not fit"
            )
            fix = f"{_minutes(minutes)} fall in {right.band}: bill {right.code}"
        yield finding(
            "BH-TIME-01",
            row.time_finding_severity,
            fhir_path=line_path(context.claim, line, "productOrService"),
            x12_location=line_x12(line, "SV101-2"),
            message=message,
            fix=fix,
        )


@rule(
    "BH-TIME-02",
    title="Timed codes carry documented minutes",
    reads=[Fact.CODES, Fact.DOCUMENTED_MINUTES, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error",
)
def rule_minutes_documented(context: ScrubContext) -> Iterator[Finding]:
    """A code billed by session time (``bh_codes`` ``requires_minutes``: 90832-90838, 90839/+90840, 90846/90847,
    G0017/+G0018) needs documented minutes from the clinical record (start and stop); without them the duration is
    not substantiated, a top Medicare TPE denial reason. Error. Sources S41, S1. A crisis add-on is substantiated by
    its session's minutes on the primary line (BH-TIME-05). A psychotherapy add-on billed with an E/M on the same
    date is reported by BH-TIME-03 instead. Codes whose time spans days or a month (testing, CoCM) are not checked."""
    for line in context.lines:
        book = code_book(context, line.service_date)
        row = book.get(line.procedure_code)
        if row is None or not row.requires_minutes or line.documented_minutes is not None:
            continue
        if EM in row.primary_kinds and _has_em(book, _same_day(context.lines, line)):
            continue
        if row.kind == CRISIS and _session_minutes(_crisis_session(book, context.lines, line, row)) is not None:
            continue
        yield finding(
            "BH-TIME-02",
            Severity.ERROR,
            fhir_path=line_path(context.claim, line, "servicedPeriod"),
            x12_location=line_x12(line, "SV101-2"),
            message=(
                f"duration not substantiated: line {line.sequence} bills {line.procedure_code} by time and no minutes "
                "are documented"
            ),
            fix=(
                "send the session's start and end from the clinical record (Claim.item.servicedPeriod or the "
                f"Procedure's performedPeriod) so {line.procedure_code} is backed by documented minutes"
            ),
        )


@rule(
    "BH-TIME-03",
    title="Psychotherapy add-on with an E/M counts psychotherapy minutes only",
    reads=[Fact.CODES, Fact.DOCUMENTED_MINUTES, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error (add-on without its own minutes); warning (add-on minutes equal the E/M's)",
)
def rule_add_on_minutes_exclude_em(context: ScrubContext) -> Iterator[Finding]:
    """With an E/M and a psychotherapy add-on (+90833/+90836/+90838) on the same date, only psychotherapy time counts
    (S37, S38). The add-on line's own minutes are the psychotherapy time and are what BH-TIME-01 checks; encounter
    minutes never stand in for them (mapping does not give them to lines when an E/M is on the claim). Error when the
    add-on line has no minutes of its own. Warning when its minutes equal the E/M line's: the same session time was
    probably put on both lines. Reads ``bh_codes`` (add-ons whose ``primary_kinds`` is ``em``; E/M rows)."""
    for line in context.lines:
        book = code_book(context, line.service_date)
        row = book.get(line.procedure_code)
        if row is None or EM not in row.primary_kinds or not row.requires_minutes:
            continue
        em_lines = [other for other in _same_day(context.lines, line) if book.kind(other.procedure_code) == EM]
        if not em_lines:
            continue
        if line.documented_minutes is None:
            yield finding(
                "BH-TIME-03",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "servicedPeriod"),
                x12_location=line_x12(line, "SV101-2"),
                message=(
                    f"line {line.sequence}: add-on {line.procedure_code} is billed with an E/M (line "
                    f"{_line_list(em_lines)}) but has no psychotherapy minutes of its own; E/M time does not count"
                ),
                fix=(
                    "send the psychotherapy start and end separately from the E/M (the psychotherapy Procedure's "
                    f"performedPeriod or the add-on item's servicedPeriod) for {line.procedure_code}"
                ),
            )
            continue
        same = [other for other in em_lines if other.documented_minutes == line.documented_minutes]
        if same:
            yield finding(
                "BH-TIME-03",
                Severity.WARNING,
                fhir_path=line_path(context.claim, line, "servicedPeriod"),
                x12_location=line_x12(line, "SV101-2"),
                message=(
                    f"line {line.sequence}: add-on {line.procedure_code} has the same "
                    f"{_minutes(line.documented_minutes)} as the E/M on line {_line_list(same)}; psychotherapy time "
                    "must exclude E/M time"
                ),
                fix=(
                    f"check that the {line.procedure_code} minutes are psychotherapy time only and re-send the "
                    "psychotherapy start and end if the visit's total time was used"
                ),
            )


@rule(
    "BH-TIME-04",
    title="Psychotherapy codes bill one unit per date of service",
    reads=[Fact.CODES, Fact.UNITS, Fact.PLACE_OF_SERVICE, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error",
)
def rule_units_per_day(context: ScrubContext) -> Iterator[Finding]:
    """90832-90838 are billed 1 unit per date of service; more only in (Medicare) partial hospitalization, POS 52
    (S1). The same limit applies to the other codes ``bh_codes`` caps per day (90791/90792 and crisis 90839: once a
    day; S2, S4, S7). Units of one code on one date are added over the claim's lines; lines whose POS (line, else
    claim) is in the row's ``multi_unit_pos`` are not counted. Error on the line that goes over the limit (SV104)."""
    groups: dict[tuple[str, date], list[ServiceLine]] = defaultdict(list)
    for line in context.lines:
        groups[(line.procedure_code, line.service_date)].append(line)
    for (code, day), group in groups.items():
        row = code_book(context, day).get(code)
        if row is None or row.max_units_per_day is None:
            continue
        limit = row.max_units_per_day
        claim_pos = context.claim.place_of_service
        counted = [line for line in group if (line.place_of_service or claim_pos) not in row.multi_unit_pos]
        total = sum((line.units for line in counted), Decimal(0))
        if total <= limit:
            continue
        running = Decimal(0)
        over = counted[-1]
        for line in counted:
            running += line.units
            if running > limit:
                over = line
                break
        where = f"line {over.sequence}" if len(counted) == 1 else f"lines {_line_list(counted)}"
        exception = f" (more only at POS {', '.join(row.multi_unit_pos)})" if row.multi_unit_pos else ""
        yield finding(
            "BH-TIME-04",
            Severity.ERROR,
            fhir_path=line_path(context.claim, over, "quantity"),
            x12_location=line_x12(over, "SV104"),
            message=(
                f"{where}: {code} is billed {_units(total)} for one date of service; {_units(limit)} allowed{exception}"
            ),
            fix=(
                f"bill {code} once with {_units(limit)} for the date of service; a longer session is a longer code "
                "or an add-on, not more units"
            ),
        )


@rule(
    "BH-TIME-05",
    title="Crisis psychotherapy time and +90840 units match the documented minutes",
    reads=[Fact.CODES, Fact.UNITS, Fact.DOCUMENTED_MINUTES, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error (under 30 minutes, +90840 after 74 or fewer); warning (unit count, G0017/G0018: unverified split)",
)
def rule_crisis_minutes(context: ScrubContext) -> Iterator[Finding]:
    """Crisis psychotherapy 90839 needs 30-74 minutes; under 30 is an error whose fix names 90832 (or 90833 with an
    E/M that day; none under 16) (S4, S7; domain section 10 follows 30-74 over a blog's 60-90). +90840 is one unit
    per 30-minute block beyond 74 minutes (75-104 -> 1, 105-134 -> 2): +90840 with a session of 74 minutes or less is
    an error; a unit count that differs from the minutes is a warning, because that block math is derived from S4/S7
    and unverified in CPT (``bh_codes`` ``verified: false``), as is the whole G0017/+G0018 split (S8; warnings).
    The session's minutes are the primary line's; when only the add-on line has minutes, they are taken as the whole
    session. Reads ``bh_codes`` (kind ``crisis``, ``block_minutes``)."""
    seen: set[tuple[str, date]] = set()
    for line in context.lines:
        book = code_book(context, line.service_date)
        row = book.get(line.procedure_code)
        if row is None or row.kind != CRISIS or row.add_on or (row.code, line.service_date) in seen:
            continue
        seen.add((row.code, line.service_date))
        session = _crisis_session(book, context.lines, line, row)
        minutes = _session_minutes(session)
        if minutes is None:
            continue
        if row.min_minutes is not None and minutes < row.min_minutes:
            yield _crisis_too_short(context, book, line, row, minutes)
            continue
        for add_on in book.crisis_add_ons(row.code):
            yield from _crisis_units(
                context, primary_line=line, row=row, add_on=add_on, session=session, minutes=minutes
            )


def _crisis_too_short(context: ScrubContext, book: CodeBook, line: ServiceLine, row: CodeRow, minutes: int) -> Finding:
    family = PSYCHOTHERAPY_WITH_EM if _has_em(book, _same_day(context.lines, line)) else PSYCHOTHERAPY
    right = book.band_code(family, minutes)
    if right is None:
        fix = (
            f"{_minutes(minutes)} are below {row.min_minutes} for {row.code} and below {book.shortest(family)}: "
            "bill no psychotherapy code for this session"
        )
    else:
        fix = (
            f"{_minutes(minutes)} are below {row.min_minutes} for {row.code}: bill {right.code} ({right.band} minutes)"
        )
    return finding(
        "BH-TIME-05",
        row.time_finding_severity,
        fhir_path=line_path(context.claim, line, "productOrService"),
        x12_location=line_x12(line, "SV101-2"),
        message=f"line {line.sequence}: {row.code} needs {row.band} crisis minutes; {_minutes(minutes)} do not fit",
        fix=fix,
    )


def _crisis_units(
    context: ScrubContext,
    *,
    primary_line: ServiceLine,
    row: CodeRow,
    add_on: CodeRow,
    session: Sequence[ServiceLine],
    minutes: int,
) -> Iterator[Finding]:
    block = add_on.block_minutes or 1
    threshold = row.max_minutes
    expected = 0 if threshold is None or minutes <= threshold else math.ceil((minutes - threshold) / block)
    add_on_lines = [line for line in session if line.procedure_code == add_on.code]
    billed = sum((line.units for line in add_on_lines), Decimal(0))
    if billed == expected:
        return
    where = add_on_lines[0] if add_on_lines else primary_line
    element = "SV104" if add_on_lines else "SV101-2"
    if expected == 0:
        severity = row.time_finding_severity
        message = (
            f"line {where.sequence}: {add_on.code} is billed {_units(billed)} but {_minutes(minutes)} of crisis "
            f"psychotherapy fall in {row.band}, covered by {row.code} alone"
        )
        fix = f"remove {add_on.code}: it starts at {(threshold or 0) + 1} crisis minutes"
    else:
        low, high = (threshold or 0) + (expected - 1) * block + 1, (threshold or 0) + expected * block
        severity = add_on.time_finding_severity if billed > expected else Severity.WARNING
        unverified = "" if add_on.verified else f" (block math for {add_on.code} unverified: confirm in CPT)"
        message = (
            f"line {where.sequence}: {_minutes(minutes)} of crisis psychotherapy support {_units(expected)} of "
            f"{add_on.code}; {_units(billed)} billed{unverified}"
        )
        fix = f"{_minutes(minutes)} fall in {low}-{high}: bill {_units(expected)} of {add_on.code}"
    yield finding(
        "BH-TIME-05",
        severity,
        fhir_path=line_path(context.claim, where, "quantity" if add_on_lines else "productOrService"),
        x12_location=line_x12(where, element),
        message=message,
        fix=fix,
    )


@rule(
    "BH-TIME-06",
    title="Family psychotherapy reaches 26 minutes; one timed psychotherapy code per claim and date",
    reads=[Fact.CODES, Fact.DOCUMENTED_MINUTES, Fact.SERVICE_DATES, Fact.PROVIDERS, Fact.CODE_TABLES],
    severity="warning",
)
def rule_family_minutes_and_one_code(context: ScrubContext) -> Iterator[Finding]:
    """Warnings (S6, S4). (1) Family psychotherapy 90846/90847 with fewer than 26 documented minutes (CPT mid-point
    of 50 minutes; ``bh_codes`` family ``family_psychotherapy``). (2) More than one timed psychotherapy code
    (90832-90838) on one claim for one date of service (Alma: one code per session). Pairs that a same-day rule of
    ``ptp_pairs`` covers (BH-PTP-04: same rendering clinician) are left to that rule and its payer
    ``ptp_overrides``; the same code twice is BH-TIME-04's."""
    for line in context.lines:
        book = code_book(context, line.service_date)
        row = book.get(line.procedure_code)
        minutes = line.documented_minutes
        if row is None or row.family != FAMILY_PSYCHOTHERAPY or minutes is None or row.covers(minutes):
            continue
        yield finding(
            "BH-TIME-06",
            row.time_finding_severity,
            fhir_path=line_path(context.claim, line, "productOrService"),
            x12_location=line_x12(line, "SV101-2"),
            message=(
                f"line {line.sequence}: {row.code} needs {row.band} documented minutes (mid-point of the 50-minute "
                f"service); {_minutes(minutes)} do not reach it"
            ),
            fix=f"document at least {row.min_minutes} minutes of family psychotherapy, or do not bill {row.code}",
        )
    for day, lines in _by_date(context.lines).items():
        book = code_book(context, day)
        pairs = pair_rows(context, day)
        timed = [line for line in lines if book.family(line.procedure_code) in BANDED_PSYCHOTHERAPY]
        for index, line in enumerate(timed):
            npi = context.rendering_npi_for(line)
            earlier = [
                other
                for other in timed[:index]
                if other.procedure_code != line.procedure_code
                and not any(
                    row.pairs(book, other.procedure_code, line.procedure_code)
                    and (not row.same_provider or context.rendering_npi_for(other) == npi)
                    for row in pairs
                )
            ]
            if not earlier:
                continue
            yield finding(
                "BH-TIME-06",
                Severity.WARNING,
                fhir_path=line_path(context.claim, line, "productOrService"),
                x12_location=line_x12(line, "SV101-2"),
                message=(
                    f"line {line.sequence}: {line.procedure_code} is a second timed psychotherapy code on this claim "
                    f"for the date of service (line {_line_list(earlier)}: "
                    f"{', '.join(other.procedure_code for other in earlier)})"
                ),
                fix=(
                    "bill one psychotherapy code per date of service, chosen by the total documented "
                    "psychotherapy minutes"
                ),
            )


@dataclass(frozen=True)
class _Evaluation:
    code: str
    service_date: date
    where: str


@rule(
    "BH-FREQ-01",
    title="Psychiatric diagnostic evaluation not repeated within 6 months",
    reads=[Fact.CODES, Fact.SERVICE_DATES, Fact.HISTORY, Fact.CODE_TABLES],
    severity="warning",
)
def rule_repeat_evaluation(context: ScrubContext) -> Iterator[Finding]:
    """Warning: a psychiatric diagnostic evaluation (90791/90792, ``bh_codes`` ``repeat_window_months`` 6, family
    ``diagnostic_evaluation``) billed less than 6 calendar months before or after another one for the same patient
    (L34616: once per 6 months per episode; BCBSIL: repeat only after a 6-month break; S2, S4). Counts this claim's
    other lines and the patient's other claims (claim history, any provider and payer), voided claims excluded.
    Exactly 6 months apart is a full break and passes. The episode is not known to the claim, hence a warning."""
    others = [s for s in context.other_services() if not s.voided]
    for line in context.lines:
        book = code_book(context, line.service_date)
        row = book.get(line.procedure_code)
        if row is None or row.repeat_window_months is None:
            continue
        window = row.repeat_window_months
        start, end = _shift_months(line.service_date, -window), _shift_months(line.service_date, window)
        candidates = [
            _Evaluation(o.procedure_code, o.service_date, f"line {o.sequence}")
            for o in context.lines
            if o is not line and book.family(o.procedure_code) == row.family
        ] + [
            _Evaluation(s.procedure_code, s.service_date, f"claim {s.claim_id}")
            for s in others
            if book.family(s.procedure_code) == row.family
        ]
        repeats = sorted(
            (e for e in candidates if start < e.service_date < end),
            key=lambda e: abs((e.service_date - line.service_date).days),
        )
        if not repeats:
            continue
        nearest = repeats[0]
        days = (nearest.service_date - line.service_date).days
        when = "the same day" if days == 0 else f"{abs(days)} days {'later' if days > 0 else 'earlier'}"
        more = f"; {len(repeats)} in the window" if len(repeats) > 1 else ""
        yield finding(
            "BH-FREQ-01",
            Severity.WARNING,
            fhir_path=line_path(context.claim, line, "productOrService"),
            x12_location=line_x12(line, "SV101-2"),
            message=(
                f"line {line.sequence}: {line.procedure_code} repeats a diagnostic evaluation within {window} months "
                f"({nearest.code} on {nearest.where}, {when}{more})"
            ),
            fix=(
                f"a repeat evaluation is paid after a {window}-month break (once per episode): bill the visit as "
                "psychotherapy or E/M, or document the new episode that needed a new evaluation"
            ),
        )
