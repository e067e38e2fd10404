"""Diagnosis rules (domain doc section 3): format (BH-DX-01), validity and billability for the date of service
(BH-DX-02), count and duplicates (BH-DX-03), line pointers (BH-DX-04) and the primary-diagnosis policy (BH-DX-05).

Codes are reported without the dot, as X12 carries them, with the dotted form in messages for billers. Diagnosis
``n`` (1-based) is ``2300 HI0n-2``; a line's pointer ``k`` is ``2400 LX*m SV107-k``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

from pydantic import BaseModel, ConfigDict

from claimbridge.claim import ProfessionalClaim, ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.icd10cm import EditionChoice, IcdEdition, dotted, edition_for
from claimbridge.scrubber.locate import claim_path, finding, line_path, line_x12

MAX_DIAGNOSES = 12
"""HI01-HI12: at most 12 diagnosis codes per claim (S16, S17, S45)."""
MAX_POINTERS = 4
"""SV107-1..4: at most 4 diagnosis pointers per line (S16, S32, S46)."""
SUGGESTIONS_SHOWN = 8
"""How many more specific codes a fix lists before it says how many more there are."""

_DX_FORMAT = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
"""BH-DX-01 (S31): 3-7 characters; letter, digit, then letters/digits; no decimal point in X12 (S17)."""


class FirstListedOnly(BaseModel):
    """A row of ``icd10cm_first_listed_only``: a Z code (prefix) the guidelines allow only as first-listed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    prefix: str
    except_: tuple[str, ...] = ()

    def matches(self, code: str) -> bool:
        return code.startswith(self.prefix) and not any(code.startswith(e) for e in self.except_)

    @classmethod
    def parse(cls, raw: dict[str, object]) -> FirstListedOnly:
        return cls.model_validate({**raw, "except_": raw.get("except", ())})


class PrimaryPolicy(BaseModel):
    """A row of ``dx_primary_policy``: procedure codes starting ``procedure_prefix`` expect a primary dx in a range."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    procedure_prefix: str
    primary_from: str
    primary_to: str
    severity: Severity = Severity.WARNING
    expected: str = ""

    def applies_to(self, procedure_code: str) -> bool:
        return procedure_code.startswith(self.procedure_prefix)

    def accepts(self, code: str) -> bool:
        category = code[:3]
        return self.primary_from <= category <= self.primary_to


def _show(code: str) -> str:
    """``F328 (F32.8)``: the X12 form and, when it differs, the dotted form billers read."""
    shown = dotted(code)
    return code if shown == code else f"{code} ({shown})"


def _hi(position: int) -> str:
    return f"2300 HI{position:02d}-2"


def _dx_path(claim: ProfessionalClaim, position: int) -> str:
    return claim_path(claim, f"diagnosis[{position - 1}].diagnosisCodeableConcept")


def _pointer_path(claim: ProfessionalClaim, line: ServiceLine, index: int) -> str:
    return line_path(claim, line, f"diagnosisSequence[{index}]")


def _prefixes(values: list[str]) -> tuple[str, ...]:
    """Profile prefixes as codes compare: upper case, no dot (``f32.`` -> ``F32``), blanks dropped."""
    return tuple(p for p in (v.replace(".", "").strip().upper() for v in values) if p)


def _primary(claim: ProfessionalClaim, line: ServiceLine) -> str | None:
    """The line's primary diagnosis: the code its first pointer names, if that is a populated position."""
    if not line.diagnosis_pointers:
        return None
    position = line.diagnosis_pointers[0]
    if 1 <= position <= len(claim.diagnoses):
        return claim.diagnoses[position - 1].replace(".", "")
    return None


@rule(
    "BH-DX-01",
    title="Diagnosis codes are well-formed ICD-10-CM without a decimal point",
    reads=[Fact.DIAGNOSES],
    severity="error",
)
def rule_dx_format(context: ScrubContext) -> Iterator[Finding]:
    """Each diagnosis in 2300 HI01-2..HI12-2 is 3-7 characters: a letter, a digit, then letters or digits, with no
    decimal point (X12 implies it) [S17, S31]. Mapping normalises ``F41.1`` to ``F411``, so this guards the claim
    model. A code the loaded ICD-10-CM edition lists is never a format error (FY2026 lists ``QA0`` codes, whose second
    character is a letter); BH-DX-02 judges validity. Reads: diagnoses and the ``icd10cm_editions`` table."""
    claim = context.claim
    code_set = edition_for(context.tables, claim.first_service_date).edition.code_set()
    for position, code in enumerate(claim.diagnoses, start=1):
        if "." in code:
            yield finding(
                "BH-DX-01",
                Severity.ERROR,
                fhir_path=_dx_path(claim, position),
                x12_location=_hi(position),
                message=f"diagnosis {position} carries a decimal point ({code}); X12 implies it",
                fix=f"send {code.replace('.', '')} (the code without the dot)",
            )
        elif not _DX_FORMAT.match(code) and not code_set.is_valid(code):
            yield finding(
                "BH-DX-01",
                Severity.ERROR,
                fhir_path=_dx_path(claim, position),
                x12_location=_hi(position),
                message=f"diagnosis {position} ({code}, {len(code)} characters) is not shaped like an ICD-10-CM code",
                fix="send an ICD-10-CM code: 3-7 characters, a letter, a digit, then letters or digits (e.g. F411)",
            )


def _edition_choices(context: ScrubContext, position: int) -> list[EditionChoice]:
    """How diagnosis ``position`` is judged: one choice per date of the lines pointing at it (or the claim's first
    date of service when no line does)."""
    claim = context.claim
    days: set[date] = {line.service_date for line in claim.lines if position in line.diagnosis_pointers}
    return [edition_for(context.tables, day) for day in sorted(days or {claim.first_service_date})]


def _more_specific(edition: IcdEdition, code: str) -> str:
    children = edition.code_set().billable_descendants(code)
    shown = ", ".join(children[:SUGGESTIONS_SHOWN])
    more = f" and {len(children) - SUGGESTIONS_SHOWN} more" if len(children) > SUGGESTIONS_SHOWN else ""
    return f"use a more specific code ({shown}{more})"


@rule(
    "BH-DX-02",
    title="Diagnosis codes are valid and billable in the ICD-10-CM edition of the date of service",
    reads=[Fact.DIAGNOSES, Fact.POINTERS, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error; warning when the edition for the date's fiscal year is not loaded",
)
def rule_dx_billable(context: ScrubContext) -> Iterator[Finding]:
    """Each diagnosis must be listed and billable (a leaf, no code extends it) in the ICD-10-CM edition governing the
    dates of service of the lines that point at it (the ICD-10-CM year starts 1 October) [S31]. A category header such
    as F32.8 (F328, non-billable since FY2021) is an error whose fix lists the billable codes under it (F3281, F3289);
    an unlisted code is an error. Dates of service outside every loaded edition are still checked, against the nearest
    edition, with one warning per fiscal year saying that year's edition is not loaded: never a silent pass.
    Reads: the ``icd10cm_editions`` table (FY2026 = 2025-10-01..2026-09-30, April 1 2026 update) and the code list of
    the pinned simple-icd-10-cm package."""
    claim = context.claim
    missing_years: dict[int, IcdEdition] = {}
    for position, raw in enumerate(claim.diagnoses, start=1):
        code = raw.replace(".", "")
        checked: dict[str, IcdEdition] = {}
        for choice in _edition_choices(context, position):
            if not choice.loaded:
                missing_years.setdefault(choice.fiscal_year, choice.edition)
            checked.setdefault(choice.edition.edition, choice.edition)
        for edition in checked.values():
            code_set = edition.code_set()
            if code_set.is_billable(code):
                continue
            if code_set.is_valid(code):
                yield finding(
                    "BH-DX-02",
                    Severity.ERROR,
                    fhir_path=_dx_path(claim, position),
                    x12_location=_hi(position),
                    message=(
                        f"diagnosis {position} {_show(code)} is a category header in ICD-10-CM "
                        f"{edition.edition}, not a billable code"
                    ),
                    fix=_more_specific(edition, code),
                )
                continue
            ancestor = code_set.nearest_listed_ancestor(code)
            hint = (
                f"; the nearest listed code is {_show(ancestor)}"
                + (f": {_more_specific(edition, ancestor)}" if not code_set.is_billable(ancestor) else "")
                if ancestor
                else ""
            )
            yield finding(
                "BH-DX-02",
                Severity.ERROR,
                fhir_path=_dx_path(claim, position),
                x12_location=_hi(position),
                message=f"diagnosis {position} {_show(code)} is not in ICD-10-CM {edition.edition}",
                fix=f"check the code against the ICD-10-CM {edition.edition} tabular list{hint}",
            )
    for year, edition in sorted(missing_years.items()):
        yield finding(
            "BH-DX-02",
            Severity.WARNING,
            fhir_path=claim_path(claim, "diagnosis"),
            x12_location="2300 HI",
            message=(
                f"the ICD-10-CM edition for fiscal year {year} is not loaded: diagnoses on lines of that year were "
                f"checked against {edition.edition}"
            ),
            fix=f"load the FY{year} ICD-10-CM code set (icd10cm_editions table) and re-scrub the claim",
        )


@rule(
    "BH-DX-03",
    title="One to twelve diagnosis codes, none repeated",
    reads=[Fact.DIAGNOSES],
    severity="error (none, more than 12); warning (a code repeated)",
)
def rule_dx_count(context: ScrubContext) -> Iterator[Finding]:
    """The claim carries 1-12 diagnoses (HI01 qualifier ABK, HI02-HI12 ABF, one code per composite) [S16, S17, S45];
    the claim model already holds it to 12, so the count check guards it. A code listed twice is a warning (no cited
    reject rule; it makes pointers ambiguous and front-end edits commonly refuse it): keep the first, re-point lines.
    Reads: diagnoses."""
    claim = context.claim
    count = len(claim.diagnoses)
    if count == 0 or count > MAX_DIAGNOSES:
        yield finding(
            "BH-DX-03",
            Severity.ERROR,
            fhir_path=claim_path(claim, "diagnosis"),
            x12_location="2300 HI",
            message=f"the claim carries {count} diagnosis codes; an 837P takes 1 to {MAX_DIAGNOSES}",
            fix=(
                "send at least the diagnosis the services treated"
                if count == 0
                else f"keep the {MAX_DIAGNOSES} diagnoses the lines point at; split the claim if more are needed"
            ),
        )
    first_seen: dict[str, int] = {}
    for position, raw in enumerate(claim.diagnoses, start=1):
        code = raw.replace(".", "")
        if code in first_seen:
            yield finding(
                "BH-DX-03",
                Severity.WARNING,
                fhir_path=_dx_path(claim, position),
                x12_location=_hi(position),
                message=f"diagnosis {position} repeats diagnosis {first_seen[code]} ({code})",
                fix=f"remove diagnosis {position} and point lines at diagnosis {first_seen[code]} instead",
            )
        else:
            first_seen[code] = position


@rule(
    "BH-DX-04",
    title="Each line has 1-4 diagnosis pointers to populated diagnosis positions",
    reads=[Fact.POINTERS, Fact.DIAGNOSES],
    severity="error",
)
def rule_dx_pointers(context: ScrubContext) -> Iterator[Finding]:
    """Each line (2400 SV107) carries 1-4 pointers, each 1-12 and pointing at a populated HI position; the first is
    the line's primary diagnosis [S16, S32, S46]. The claim model already enforces counts and the 1-12 range, so
    those checks guard it; a pointer past the last diagnosis is the case mapping can produce. Reads: pointers,
    diagnoses."""
    claim = context.claim
    populated = len(claim.diagnoses)
    available = f"diagnoses 1-{populated}" if populated > 1 else ("diagnosis 1" if populated else "no diagnoses")
    for line in claim.lines:
        pointers = line.diagnosis_pointers
        if not pointers or len(pointers) > MAX_POINTERS:
            yield finding(
                "BH-DX-04",
                Severity.ERROR,
                fhir_path=line_path(claim, line, "diagnosisSequence"),
                x12_location=line_x12(line, "SV107"),
                message=f"line {line.sequence} ({line.procedure_code}) has {len(pointers)} diagnosis pointers",
                fix=(
                    f"point the line at 1 to {MAX_POINTERS} diagnoses, the primary first"
                    if pointers
                    else "point the line at the diagnosis it treated (Claim.item.diagnosisSequence)"
                ),
            )
        for index, pointer in enumerate(pointers):
            if 1 <= pointer <= min(populated, MAX_DIAGNOSES):
                continue
            yield finding(
                "BH-DX-04",
                Severity.ERROR,
                fhir_path=_pointer_path(claim, line, index),
                x12_location=line_x12(line, f"SV107-{index + 1}"),
                message=(
                    f"line {line.sequence} ({line.procedure_code}) pointer {index + 1} is {pointer}, but the claim "
                    f"has {available}"
                ),
                fix=f"point it at one of {available}, or add the missing diagnosis to the claim"
                if populated
                else "add the diagnosis the line treated to the claim and point at it",
            )


def _first_listed_only(context: ScrubContext, day: date) -> tuple[FirstListedOnly, ...]:
    return tuple(FirstListedOnly.parse(row) for row in context.tables.rows("icd10cm_first_listed_only", day))


def _primary_policies(context: ScrubContext, day: date) -> tuple[PrimaryPolicy, ...]:
    return tuple(PrimaryPolicy.model_validate(row) for row in context.tables.rows("dx_primary_policy", day))


def _primary_findings(context: ScrubContext, line: ServiceLine) -> Iterator[Finding]:
    """At most one primary-diagnosis finding per line: payer errors first, else the default expectation."""
    claim = context.claim
    code = _primary(claim, line)
    if code is None:
        return  # BH-DX-04 reports the pointer
    fhir_path, x12_location = _pointer_path(claim, line, 0), line_x12(line, "SV107-1")
    subject = f"line {line.sequence} ({line.procedure_code}): primary diagnosis {_show(code)}"
    disallow = _prefixes(context.profile.dx.primary_disallow)
    matched = next((p for p in disallow if code.startswith(p)), None)
    if matched is not None:
        yield finding(
            "BH-DX-05",
            Severity.ERROR,
            fhir_path=fhir_path,
            x12_location=x12_location,
            message=f"{subject} is refused as primary by payer {claim.payer.key} (dx.primary_disallow {matched})",
            fix=_repoint_fix(claim, line, lambda c: not c.startswith(disallow)),
        )
        return
    covered = _prefixes(context.profile.covered_dx)
    if covered and not code.startswith(covered):
        yield finding(
            "BH-DX-05",
            Severity.ERROR,
            fhir_path=fhir_path,
            x12_location=x12_location,
            message=f"{subject} is not on payer {claim.payer.key}'s covered diagnosis list (covered_dx)",
            fix=_repoint_fix(claim, line, lambda c: c.startswith(covered)),
        )
        return
    for policy in _primary_policies(context, line.service_date):
        if policy.applies_to(line.procedure_code) and not policy.accepts(code):
            yield finding(
                "BH-DX-05",
                policy.severity,
                fhir_path=fhir_path,
                x12_location=x12_location,
                message=f"{subject} is not {policy.expected or policy.primary_from + '-' + policy.primary_to}",
                fix=_repoint_fix(claim, line, policy.accepts, keep=code),
            )
            return


def _repoint_fix(
    claim: ProfessionalClaim, line: ServiceLine, acceptable: Callable[[str], bool], *, keep: str | None = None
) -> str:
    """Name a diagnosis already on the claim that would do as the line's primary, if one exists."""
    for position, raw in enumerate(claim.diagnoses, start=1):
        code = raw.replace(".", "")
        if acceptable(code):
            also = f"; keep {keep} as a secondary pointer" if keep else ""
            return f"point SV107-1 at diagnosis {position} ({code}) if it is what line {line.sequence} treated{also}"
    return "send the diagnosis the service treated as the line's first pointer, or appeal with documentation"


@rule(
    "BH-DX-05",
    title="Primary diagnosis policy: F01-F99 for 908xx, payer disallow and covered lists, first-listed-only Z codes",
    reads=[Fact.DIAGNOSES, Fact.POINTERS, Fact.CODES, Fact.PAYER_PROFILE, Fact.CODE_TABLES],
    severity=(
        "error (dx.primary_disallow, covered_dx); "
        "warning (908xx primary outside F01-F99, first-listed-only Z code later)"
    ),
    profile_keys=("dx.primary_disallow", "covered_dx"),
)
def rule_dx_primary(context: ScrubContext) -> Iterator[Finding]:
    """The line's first pointer is its primary diagnosis [S16, S46]. Per line, at most one of: error when it matches a
    prefix in the payer profile's ``dx.primary_disallow``; error when ``covered_dx`` is non-empty and it matches none
    of its prefixes; else the default of table ``dx_primary_policy`` (warning when a 908xx psychiatry/psychotherapy
    line's primary is not F01-F99) [S30, S31]. Separately, a Z code the ICD-10-CM guidelines allow only as
    first-listed (table ``icd10cm_first_listed_only``, guideline I.C.21.c.16: Z00 except Z00.6, Z01, Z02, Z04, ...)
    in a line's pointers 2-4, or at HI02-HI12 with no line pointing at it, is a warning [S30].
    Reads: payer profile ``dx.primary_disallow``, ``covered_dx``; tables ``dx_primary_policy``,
    ``icd10cm_first_listed_only``."""
    claim = context.claim
    for line in claim.lines:
        yield from _primary_findings(context, line)
    rows = _first_listed_only(context, claim.first_service_date)
    for line in claim.lines:
        for index, position in enumerate(line.diagnosis_pointers[1:], start=1):
            if not 1 <= position <= len(claim.diagnoses):
                continue
            code = claim.diagnoses[position - 1].replace(".", "")
            if any(row.matches(code) for row in _first_listed_only(context, line.service_date)):
                yield finding(
                    "BH-DX-05",
                    Severity.WARNING,
                    fhir_path=_pointer_path(claim, line, index),
                    x12_location=line_x12(line, f"SV107-{index + 1}"),
                    message=(
                        f"line {line.sequence} ({line.procedure_code}) lists {_show(code)} as pointer "
                        f"{index + 1}; ICD-10-CM allows it only as the first-listed diagnosis"
                    ),
                    fix=f"make {code} the line's first pointer (SV107-1) or drop it from the line",
                )
    pointed = {p for line in claim.lines for p in line.diagnosis_pointers}
    for position, raw in enumerate(claim.diagnoses, start=1):
        code = raw.replace(".", "")
        if position == 1 or position in pointed:
            continue  # pointed at: the line check above judges where
        if any(row.matches(code) for row in rows):
            yield finding(
                "BH-DX-05",
                Severity.WARNING,
                fhir_path=_dx_path(claim, position),
                x12_location=_hi(position),
                message=(
                    f"diagnosis {position} {_show(code)} is not first-listed; ICD-10-CM allows it only as "
                    "the first-listed diagnosis"
                ),
                fix=f"move {code} to diagnosis 1 (HI01) or remove it",
            )
