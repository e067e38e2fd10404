"""Telehealth rules (domain reference section 2): place of service, the CMS telehealth list, audio-only, modifiers,
payer conventions and the in-person requirement for Medicare mental-health telehealth (BH-TEL-01 … BH-TEL-06).

A line is telehealth when its documented facts say the encounter was virtual (``line.telehealth.virtual``) or its
POS is a telehealth POS of the CMS code set (02, 10). The facts are only compared with what is billed, never used to
rewrite it. Payer differences come from the profile (``telehealth.modifier``/``pos_style``, ``audio_only.*``); Medicare
facts come from three dated tables: ``place_of_service`` (CMS POS code set), ``cms_telehealth_list`` (which codes
Medicare pays as telehealth, applied to the filing indicators its rows name) and ``telehealth_policy`` (modifier
meanings, legacy GT/GQ, audio-only allowance and the in-person requirement by date of service).

Unknown conventions: when a payer's ``telehealth`` block is not set in the tenant configuration, the MCR defaults
are only a guess, so findings that depend on nothing but ``telehealth.modifier``/``pos_style`` are warnings
(BH-TEL-05). Findings that follow from code definitions (POS 10 = patient's home, 93 = audio-only, 95 = video) keep
their severity.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.history import ServiceRecord
from claimbridge.scrubber.locate import finding, line_path, line_x12

POS_TABLE = "place_of_service"
LIST_TABLE = "cms_telehealth_list"
POLICY_TABLE = "telehealth_policy"

_ROW = ConfigDict(frozen=True, extra="forbid")
_Code = Annotated[str, Field(pattern=r"^[0-9A-Z]{5}$")]
_Mod = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]


class PlaceOfService(BaseModel):
    """One row of the CMS POS code set; without dates it is assigned for the whole table version."""

    model_config = _ROW
    code: Annotated[str, Field(pattern=r"^[0-9]{2}$")]
    name: Annotated[str, Field(min_length=1)]
    effective_from: date | None = None
    effective_to: date | None = None
    telehealth: bool = False
    patient_home: bool = False
    note: str = ""

    def assigned_on(self, day: date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )


class TelehealthListEntry(BaseModel):
    """A code of the CMS telehealth list extract: status, audio-only column, and whether it is a mental-health
    service (for the in-person requirement). ``verified`` is false where the domain doc calls the detail unverified."""

    model_config = _ROW
    code: _Code
    descriptor: str
    status: Literal["permanent", "provisional", "not_telehealth_service"]
    audio_only: bool
    mental_health: bool
    filing_indicators: tuple[Annotated[str, Field(min_length=2, max_length=2)], ...]
    verified: bool
    note: str = ""


class ModifierMeanings(BaseModel):
    model_config = _ROW
    audio_video: tuple[_Mod, ...]
    audio_only: tuple[_Mod, ...]
    store_and_forward: tuple[_Mod, ...]


class LegacyModifier(BaseModel):
    """A telehealth modifier only some payers take: GT (dropped 2018 by CR10152) and GQ (Alaska/Hawaii demos)."""

    model_config = _ROW
    modifier: _Mod
    restricted_from: date | None
    demonstration_states: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], ...] = ()
    reason: str
    source: str


class AudioOnlyPolicy(BaseModel):
    """Which Medicare telehealth services may be audio-only: none, the list's per-code column, or (from CY2025)
    any listed service to a patient at home."""

    model_config = _ROW
    scope: Literal["none", "list_column", "any_home_service"]
    verified: bool
    source: str
    note: str = ""


class InPersonPolicy(BaseModel):
    """The in-person visit required before (and then regularly during) mental-health telehealth."""

    model_config = _ROW
    required: bool
    months_before_first: Annotated[int, Field(ge=1)]
    months_subsequent: Annotated[int, Field(ge=1)]
    filing_indicators: tuple[str, ...]
    mental_health_dx_prefixes: tuple[str, ...]
    verified: bool
    source: str
    note: str = ""


class TelehealthPolicy(BaseModel):
    """The Medicare telehealth policy in effect on a date of service (one row per table version)."""

    model_config = _ROW
    modifiers: ModifierMeanings
    legacy_modifiers: tuple[LegacyModifier, ...]
    audio_only: AudioOnlyPolicy
    in_person: InPersonPolicy

    def legacy(self, modifier: str) -> LegacyModifier | None:
        return next((m for m in self.legacy_modifiers if m.modifier == modifier), None)


_T = TypeVar("_T")
_Rows = tuple[dict[str, Any], ...]


class _ParsedRows(Generic[_T]):
    """Rows of a table version parsed once; keyed by the identity of the version's rows (kept alive here)."""

    def __init__(self, parse: Callable[[_Rows], _T]) -> None:
        self._parse = parse
        self._entries: dict[int, tuple[_Rows, _T]] = {}

    def __call__(self, rows: _Rows) -> _T:
        hit = self._entries.get(id(rows))
        if hit is not None and hit[0] is rows:
            return hit[1]
        value = self._parse(rows)
        self._entries[id(rows)] = (rows, value)
        return value


def _parse_pos(rows: _Rows) -> tuple[PlaceOfService, ...]:
    return tuple(PlaceOfService.model_validate(row) for row in rows)


def _parse_list(rows: _Rows) -> dict[str, TelehealthListEntry]:
    return {entry.code: entry for entry in (TelehealthListEntry.model_validate(row) for row in rows)}


def _parse_policy(rows: _Rows) -> TelehealthPolicy | None:
    return TelehealthPolicy.model_validate(rows[0]) if rows else None


_pos_rows = _ParsedRows(_parse_pos)
_list_rows = _ParsedRows(_parse_list)
_policy_rows = _ParsedRows(_parse_policy)


class _PosCodes:
    """The POS code set on one day: which codes are assigned, which mean telehealth, which mean 'patient at home'."""

    def __init__(self, rows: tuple[PlaceOfService, ...], day: date) -> None:
        self.covered = bool(rows)
        self.assigned = {row.code: row for row in rows if row.assigned_on(day)}
        self.telehealth = frozenset(code for code, row in self.assigned.items() if row.telehealth)
        self.home = next((code for code, row in self.assigned.items() if row.telehealth and row.patient_home), None)
        self.away = next((code for code, row in self.assigned.items() if row.telehealth and not row.patient_home), None)

    def unassigned(self, code: str) -> bool:
        return self.covered and code not in self.assigned

    def for_location(self, at_home: bool) -> str | None:
        """The telehealth POS for the patient's location (before POS 10 existed, 02 served both)."""
        return (self.home or self.away) if at_home else self.away


def _pos_codes(context: ScrubContext, day: date) -> _PosCodes:
    return _PosCodes(_pos_rows(context.tables.rows(POS_TABLE, day)), day)


def _telehealth_list(context: ScrubContext, day: date) -> dict[str, TelehealthListEntry]:
    return _list_rows(context.tables.rows(LIST_TABLE, day))


def _policy(context: ScrubContext, day: date) -> TelehealthPolicy | None:
    return _policy_rows(context.tables.rows(POLICY_TABLE, day))


def _pos(context: ScrubContext, line: ServiceLine) -> str:
    return line.place_of_service or context.claim.place_of_service


def _pos_x12(line: ServiceLine) -> str:
    """SV105 when the line carries its own POS, else the claim's CLM05-1."""
    return line_x12(line, "SV105") if line.place_of_service else "2300 CLM05-1"


def _modifier_x12(line: ServiceLine, modifier: str) -> str:
    """SV101-3 … SV101-6: where a modifier sits (or where a missing one goes)."""
    position = line.modifiers.index(modifier) if modifier in line.modifiers else min(len(line.modifiers), 3)
    return line_x12(line, f"SV101-{3 + position}")


def _is_telehealth(context: ScrubContext, line: ServiceLine, codes: _PosCodes | None = None) -> bool:
    codes = codes or _pos_codes(context, line.service_date)
    return line.telehealth.virtual or _pos(context, line) in codes.telehealth


def _is_audio_only(line: ServiceLine, policy: TelehealthPolicy | None) -> bool:
    """Documented audio-only, or no documented modality and an audio-only modifier billed."""
    if line.telehealth.modality == "audio-only":
        return True
    if line.telehealth.modality == "audio-video" or policy is None:
        return False
    return any(m in policy.modifiers.audio_only for m in line.modifiers)


def _convention_known(context: ScrubContext) -> bool:
    """Whether the payer's ``telehealth`` block was set in the tenant configuration (not the MCR default)."""
    return "telehealth" in context.profile.model_fields_set


def _convention(context: ScrubContext, severity: Severity) -> Severity:
    return severity if _convention_known(context) else Severity.WARNING


def _assumed(context: ScrubContext) -> str:
    return "" if _convention_known(context) else " (payer telehealth conventions not configured; defaults assumed)"


@rule(
    "BH-TEL-01",
    title="Place of service is assigned and follows the patient's location on telehealth lines",
    reads=[Fact.PLACE_OF_SERVICE, Fact.PATIENT_LOCATION, Fact.PAYER_PROFILE, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error; warning when the payer's telehealth convention is not configured",
    profile_keys=("telehealth.pos_style",),
)
def rule_telehealth_place_of_service(context: ScrubContext) -> Iterator[Finding]:
    """The POS must be assigned in the CMS Place of Service code set on the date of service (table
    ``place_of_service``; error, any line). On telehealth lines it must follow the payer's ``telehealth.pos_style``
    [S9]: with ``02_10`` the patient's documented location decides (at home -> 10, elsewhere -> 02; error); a
    virtual visit billed with an in-person POS is an error (a warning when the payer's telehealth block is not
    configured, since it may want the in-person POS). With ``original_pos`` the POS must be the one that would apply
    in person, never 02/10 (error). Location is only compared when the encounter is documented as virtual."""
    reported: set[str] = set()
    for line in context.lines:
        pos, day = _pos(context, line), line.service_date
        codes = _pos_codes(context, day)
        style = context.profile.telehealth.pos_style
        if codes.unassigned(pos):
            where = _pos_x12(line)
            if where in reported:
                continue
            reported.add(where)
            expected = codes.for_location(line.telehealth.patient_at_home) if line.telehealth.virtual else None
            hint = f"bill POS {expected} for this telehealth visit" if expected and style == "02_10" else None
            yield finding(
                "BH-TEL-01",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "locationCodeableConcept"),
                x12_location=where,
                message=f"line {line.sequence}: POS {pos} is not an assigned CMS place of service on its service date",
                fix=hint
                or "use an assigned POS from the CMS code set (e.g. 11 office, 12 home, 53 CMHC; 02/10 telehealth)",
            )
            continue
        if not _is_telehealth(context, line, codes):
            continue
        if style == "original_pos":
            if pos in codes.telehealth:
                in_person = context.tenant.defaults.place_of_service
                example = in_person if in_person not in codes.telehealth else "11"
                modifier = context.profile.telehealth.modifier
                with_modifier = f" with modifier {modifier}" if modifier != "none" else ""
                yield finding(
                    "BH-TEL-01",
                    Severity.ERROR,
                    fhir_path=line_path(context.claim, line, "locationCodeableConcept"),
                    x12_location=_pos_x12(line),
                    message=(
                        f"line {line.sequence}: telehealth POS {pos} sent to a payer that wants the in-person POS "
                        "(telehealth.pos_style=original_pos)"
                    ),
                    fix=f"bill the POS that would apply in person (e.g. {example}){with_modifier}",
                )
            continue
        if not line.telehealth.virtual:
            continue  # POS 02/10 without documented telehealth facts: the patient's location is unknown
        at_home = line.telehealth.patient_at_home
        expected = codes.for_location(at_home)
        if expected is None or pos == expected:
            continue
        where_patient = "at home" if at_home else "not at home"
        if pos in codes.telehealth:
            severity, message = (
                Severity.ERROR,
                f"line {line.sequence}: telehealth with the patient {where_patient} billed with POS {pos}",
            )
        else:
            severity = _convention(context, Severity.ERROR)
            message = (
                f"line {line.sequence}: virtual visit billed with in-person POS {pos}; this payer uses POS 02/10 "
                f"(telehealth.pos_style=02_10){_assumed(context)}"
            )
        yield finding(
            "BH-TEL-01",
            severity,
            fhir_path=line_path(context.claim, line, "locationCodeableConcept"),
            x12_location=_pos_x12(line),
            message=message,
            fix=f"the patient was {where_patient}: bill POS {expected} ({codes.assigned[expected].name})",
        )


@rule(
    "BH-TEL-02",
    title="Telehealth code is on the CMS Telehealth Services List for the date of service",
    reads=[
        Fact.CODES,
        Fact.MODALITY,
        Fact.PATIENT_LOCATION,
        Fact.PLACE_OF_SERVICE,
        Fact.SERVICE_DATES,
        Fact.CODE_TABLES,
    ],
    severity="error; warning when the list entry is unverified",
)
def rule_telehealth_list(context: ScrubContext) -> Iterator[Finding]:
    """For filing indicators the ``cms_telehealth_list`` rows name (MB, Medicare Part B), a telehealth line's code
    must be on the list in effect on its date of service (error; a code the behavioral-health extract does not hold
    counts as not listed; care-management codes marked ``not_telehealth_service`` are exempt). An audio-only line
    also needs the code's audio-only column, or (``telehealth_policy`` ``audio_only.scope`` ``any_home_service``,
    CY2025 on) the patient at home; before March 2020 no audio-only telehealth [S13; per-code detail unverified:
    a finding that rests on an unverified table entry is a warning and says so]. No list for the date: no finding."""
    fi = context.claim.payer.claim_filing_indicator
    for line in context.lines:
        day = line.service_date
        codes = _pos_codes(context, day)
        if not _is_telehealth(context, line, codes):
            continue
        entries = _telehealth_list(context, day)
        if not any(fi in entry.filing_indicators for entry in entries.values()):
            continue
        entry = entries.get(line.procedure_code)
        if entry is None:
            yield finding(
                "BH-TEL-02",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "productOrService"),
                x12_location=line_x12(line, "SV101-2"),
                message=(
                    f"line {line.sequence}: {line.procedure_code} is not on the CMS Telehealth Services List for its "
                    f"date of service (filing indicator {fi})"
                ),
                fix=(
                    f"Medicare does not pay {line.procedure_code} as telehealth: bill it only for an in-person visit "
                    "(in-person POS, no telehealth modifier), or bill the listed code that describes the service"
                ),
            )
            continue
        policy = _policy(context, day)
        if entry.status == "not_telehealth_service" or policy is None or not _is_audio_only(line, policy):
            continue
        at_home = line.telehealth.patient_at_home or _pos(context, line) == codes.home
        scope = policy.audio_only.scope
        allowed = scope != "none" and (entry.audio_only or (scope == "any_home_service" and at_home))
        if allowed:
            continue
        verified = entry.verified and policy.audio_only.verified
        note = "" if verified else " (table entry unverified: confirm on the CMS list for the year)"
        yield finding(
            "BH-TEL-02",
            Severity.ERROR if verified else Severity.WARNING,
            fhir_path=line_path(context.claim, line, "productOrService"),
            x12_location=line_x12(line, "SV101-2"),
            message=(
                f"line {line.sequence}: {line.procedure_code} may not be furnished audio-only under the telehealth "
                f"policy for its date of service{note}"
            ),
            fix=(
                "audio-only is covered only for codes the list marks audio-only (and, from 2025, any listed service "
                "with the patient at home): bill only a visit that used video, or bill the service in person"
            ),
        )


@rule(
    "BH-TEL-03",
    title="Audio-only telehealth carries the payer's audio-only modifier and POS and is allowed by the payer",
    reads=[Fact.MODALITY, Fact.MODIFIERS, Fact.PLACE_OF_SERVICE, Fact.PATIENT_LOCATION, Fact.PAYER_PROFILE],
    severity="error",
    profile_keys=("audio_only.allowed", "audio_only.modifier", "audio_only.codes", "telehealth.pos_style"),
)
def rule_audio_only(context: ScrubContext) -> Iterator[Finding]:
    """An audio-only line (documented modality, or an audio-only modifier with no documented modality) needs
    ``audio_only.allowed`` (else error), its code in ``audio_only.codes`` when that list is not empty (error), the
    profile's ``audio_only.modifier`` (93, or FQ for RHC/FQHC, which may also report 93; error) and, when the payer
    uses ``telehealth.pos_style=02_10``, POS 10 (patient at home; error, a warning when the payer's telehealth block
    is not configured). An audio-video modifier (95, GT) on an audio-only visit or an audio-only modifier (93, FQ)
    on a video visit is an error [S10, S13]. Modifier meanings come from ``telehealth_policy``."""
    profile = context.profile
    for line in context.lines:
        policy = _policy(context, line.service_date)
        if policy is None:
            continue
        if line.telehealth.modality == "audio-video":
            for modifier in (m for m in line.modifiers if m in policy.modifiers.audio_only):
                wanted = profile.telehealth.modifier
                instead = f"; this payer's video modifier is {wanted}" if wanted != "none" else ""
                yield finding(
                    "BH-TEL-03",
                    Severity.ERROR,
                    fhir_path=line_path(context.claim, line, "modifier"),
                    x12_location=_modifier_x12(line, modifier),
                    message=f"line {line.sequence}: audio-only modifier {modifier} on a visit documented with video",
                    fix=f"remove modifier {modifier}{instead}",
                )
        if not _is_audio_only(line, policy):
            continue
        audio = profile.audio_only
        if not audio.allowed:
            yield finding(
                "BH-TEL-03",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "modifier"),
                x12_location=line_x12(line, "SV101-2"),
                message=f"line {line.sequence}: audio-only visit billed to a payer that does not cover audio-only",
                fix=(
                    "this payer (audio_only.allowed=false) pays telehealth only with video: "
                    "do not bill the audio-only visit to it"
                ),
            )
            continue
        if audio.codes and line.procedure_code not in audio.codes:
            yield finding(
                "BH-TEL-03",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "productOrService"),
                x12_location=line_x12(line, "SV101-2"),
                message=f"line {line.sequence}: {line.procedure_code} is not on this payer's audio-only code list",
                fix=(
                    f"audio-only is covered for {', '.join(audio.codes)} only (audio_only.codes): "
                    "bill a video visit or a listed code"
                ),
            )
        accepted = {audio.modifier} | ({"93"} if audio.modifier == "FQ" else set())
        if not accepted.intersection(line.modifiers):
            yield finding(
                "BH-TEL-03",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "modifier"),
                x12_location=_modifier_x12(line, audio.modifier),
                message=f"line {line.sequence}: audio-only visit without the audio-only modifier {audio.modifier}",
                fix=f"add modifier {audio.modifier} (audio-only) to line {line.sequence}",
            )
        for modifier in (m for m in line.modifiers if m in policy.modifiers.audio_video):
            yield finding(
                "BH-TEL-03",
                Severity.ERROR,
                fhir_path=line_path(context.claim, line, "modifier"),
                x12_location=_modifier_x12(line, modifier),
                message=f"line {line.sequence}: audio-video modifier {modifier} on an audio-only visit",
                fix=f"remove modifier {modifier}; audio-only is billed with {audio.modifier}",
            )
        codes = _pos_codes(context, line.service_date)
        pos = _pos(context, line)
        if profile.telehealth.pos_style == "02_10" and codes.home is not None and pos != codes.home:
            at_home = line.telehealth.patient_at_home
            yield finding(
                "BH-TEL-03",
                _convention(context, Severity.ERROR),
                fhir_path=line_path(context.claim, line, "locationCodeableConcept"),
                x12_location=_pos_x12(line),
                message=(
                    f"line {line.sequence}: audio-only visit billed with POS {pos}; audio-only telehealth needs the "
                    f"patient at home (POS {codes.home}){_assumed(context)}"
                ),
                fix=(
                    f"the patient was at home: bill POS {codes.home}"
                    if at_home
                    else "audio-only is covered only with the patient at home; a patient elsewhere needs a video visit"
                ),
            )


@rule(
    "BH-TEL-04",
    title="No legacy telehealth modifiers (GT, GQ) or unneeded 95 for the payer",
    reads=[Fact.MODIFIERS, Fact.PLACE_OF_SERVICE, Fact.PAYER_PROFILE, Fact.SERVICE_DATES, Fact.CODE_TABLES],
    severity="error (GT/GQ); warning (95 where the payer wants none, GQ from AK/HI)",
    profile_keys=("telehealth.modifier",),
)
def rule_telehealth_modifiers(context: ScrubContext) -> Iterator[Finding]:
    """GT (dropped from professional claims 2018-01-01, CR10152) or GQ (store-and-forward, Alaska/Hawaii federal
    demonstrations only) on a payer whose ``telehealth.modifier`` is not GT is an error [S11]; the dates and
    demonstration states are in ``telehealth_policy``. GQ from a billing provider in a demonstration state, or any of
    them on a payer whose telehealth block is not configured, is a warning. An audio-video modifier (95) on POS 02/10
    for a payer whose ``telehealth.modifier`` is ``none`` is a warning (Medicare wants it only from hospital-based
    clinicians [S9])."""
    wanted = context.profile.telehealth.modifier
    known = _convention_known(context)
    state = context.claim.billing_provider.address.state
    for line in context.lines:
        day = line.service_date
        policy = _policy(context, day)
        if policy is None:
            continue
        for modifier in line.modifiers:
            legacy = policy.legacy(modifier)
            if legacy is None or wanted == "GT":
                continue
            if legacy.restricted_from is not None and day < legacy.restricted_from:
                continue
            demo = state in legacy.demonstration_states
            severity = Severity.ERROR if known and not demo else Severity.WARNING
            replacement = f"replace {modifier} with {wanted}" if wanted != "none" else f"remove {modifier}"
            fix = (
                "confirm the practice takes part in the federal telehealth demonstration; otherwise " + replacement
                if demo
                else f"{replacement} (telehealth.modifier={wanted}; POS 02/10 identifies telehealth)"
            )
            yield finding(
                "BH-TEL-04",
                severity,
                fhir_path=line_path(context.claim, line, "modifier"),
                x12_location=_modifier_x12(line, modifier),
                message=f"line {line.sequence}: modifier {modifier} is {legacy.reason}{_assumed(context)}",
                fix=fix,
            )
        if wanted != "none" or not known:
            continue
        codes = _pos_codes(context, day)
        pos = _pos(context, line)
        if pos not in codes.telehealth:
            continue
        current = [m for m in policy.modifiers.audio_video if policy.legacy(m) is None]
        for modifier in (m for m in line.modifiers if m in current):
            yield finding(
                "BH-TEL-04",
                Severity.WARNING,
                fhir_path=line_path(context.claim, line, "modifier"),
                x12_location=_modifier_x12(line, modifier),
                message=(
                    f"line {line.sequence}: modifier {modifier} on telehealth POS {pos} for a payer that uses "
                    "no telehealth modifier"
                ),
                fix=(
                    f"remove {modifier}: POS {pos} already identifies telehealth (telehealth.modifier=none; Medicare "
                    "expects 95 only from hospital-based clinicians with the patient at home)"
                ),
            )


@rule(
    "BH-TEL-05",
    title="Telehealth lines follow the payer's telehealth modifier convention",
    reads=[Fact.MODIFIERS, Fact.MODALITY, Fact.PLACE_OF_SERVICE, Fact.PAYER_PROFILE],
    severity="error; warning when the payer's telehealth convention is not configured",
    profile_keys=("telehealth.modifier",),
)
def rule_payer_telehealth_convention(context: ScrubContext) -> Iterator[Finding]:
    """Commercial and Medicaid payers differ (CONFIG) [S9 history, S10, S44]: when ``telehealth.modifier`` is 95 or
    GT, every telehealth line that is not audio-only must carry it (error; audio-only lines take the audio-only
    modifier instead, BH-TEL-03). When the payer's ``telehealth`` block was not set in the tenant configuration, its
    convention is unknown: one warning for the claim's telehealth lines, never an error."""
    telehealth = [line for line in context.lines if _is_telehealth(context, line)]
    if not telehealth:
        return
    if not _convention_known(context):
        first = telehealth[0]
        numbers = ", ".join(str(line.sequence) for line in telehealth)
        yield finding(
            "BH-TEL-05",
            Severity.WARNING,
            fhir_path=line_path(context.claim, first, "modifier"),
            x12_location=_modifier_x12(first, ""),
            message=(
                f"telehealth line(s) {numbers}: this payer's telehealth conventions are not configured "
                "(payers[].profile.telehealth); Medicare defaults were assumed"
            ),
            fix=(
                "confirm the payer's telehealth modifier (95, GT or none) and POS style (02_10 or original_pos) and "
                "set them in the tenant's payer profile"
            ),
        )
        return
    wanted = context.profile.telehealth.modifier
    if wanted == "none":
        return
    for line in telehealth:
        if wanted in line.modifiers or _is_audio_only(line, _policy(context, line.service_date)):
            continue
        yield finding(
            "BH-TEL-05",
            Severity.ERROR,
            fhir_path=line_path(context.claim, line, "modifier"),
            x12_location=_modifier_x12(line, wanted),
            message=f"line {line.sequence}: telehealth line without modifier {wanted}, which this payer requires",
            fix=f"add modifier {wanted} to line {line.sequence} (telehealth.modifier={wanted})",
        )


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    years, index = divmod(day.month - 1 - months, 12)
    year, month = day.year + years, index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _mental_health(
    context: ScrubContext, line: ServiceLine, entries: dict[str, TelehealthListEntry], policy: TelehealthPolicy
) -> bool:
    """A mental-health service: a code the list marks so, or a line pointing at a mental-health diagnosis."""
    entry = entries.get(line.procedure_code)
    if entry is not None and entry.mental_health:
        return True
    diagnoses = context.claim.diagnoses
    pointed = (diagnoses[p - 1] for p in line.diagnosis_pointers if p <= len(diagnoses))
    return any(dx.startswith(policy.in_person.mental_health_dx_prefixes) for dx in pointed)


def _record_is_telehealth(context: ScrubContext, record: ServiceRecord, policy: TelehealthPolicy) -> bool:
    """History has no documented facts: a telehealth POS or any telehealth modifier marks a remote service."""
    modifiers = policy.modifiers
    remote = {*modifiers.audio_video, *modifiers.audio_only, *modifiers.store_and_forward}
    telehealth_pos = _pos_codes(context, record.service_date).telehealth
    return record.place_of_service in telehealth_pos or bool(remote.intersection(record.modifiers))


def _services(
    context: ScrubContext, policy: TelehealthPolicy, exclude: ServiceLine
) -> Iterable[tuple[date, str, bool]]:
    """(date, code, telehealth) of the patient's other services: stored claims (voids excluded) and this claim's
    other lines."""
    for record in context.other_services():
        if not record.voided:
            yield record.service_date, record.procedure_code, _record_is_telehealth(context, record, policy)
    for other in context.lines:
        if other is not exclude:
            yield other.service_date, other.procedure_code, _is_telehealth(context, other)


@rule(
    "BH-TEL-06",
    title="Medicare mental-health telehealth has the required in-person visit (effective-dated)",
    reads=[
        Fact.HISTORY,
        Fact.PLACE_OF_SERVICE,
        Fact.MODIFIERS,
        Fact.CODES,
        Fact.DIAGNOSES,
        Fact.SERVICE_DATES,
        Fact.CODE_TABLES,
    ],
    severity="warning",
)
def rule_in_person_requirement(context: ScrubContext) -> Iterator[Finding]:
    """From the date ``telehealth_policy`` marks the in-person requirement in effect (2028-01-01 under the CAA 2026
    [S12]) and only for the filing indicators it names (MB): a mental-health telehealth line (a list code marked
    mental health, or a line pointing at an F-chapter diagnosis) needs an in-person service of the same patient
    (non-telehealth POS, no telehealth modifier; stored claims and this claim) within ``months_before_first`` (6)
    months before it, or ``months_subsequent`` (12) when the patient already had mental-health telehealth
    (warning: the law may be extended again). Before that date: no finding."""
    fi = context.claim.payer.claim_filing_indicator
    for line in context.lines:
        day = line.service_date
        policy = _policy(context, day)
        if policy is None or not policy.in_person.required or fi not in policy.in_person.filing_indicators:
            continue
        if not _is_telehealth(context, line):
            continue
        entries = _telehealth_list(context, day)
        if not _mental_health(context, line, entries, policy):
            continue
        services = list(_services(context, policy, line))
        earlier_telehealth = any(
            remote and when < day and (entries.get(code) is not None and entries[code].mental_health)
            for when, code, remote in services
        )
        months = policy.in_person.months_subsequent if earlier_telehealth else policy.in_person.months_before_first
        start = _months_before(day, months)
        if any(not remote and start <= when <= day for when, _code, remote in services):
            continue
        kind = "a subsequent" if earlier_telehealth else "a first"
        yield finding(
            "BH-TEL-06",
            Severity.WARNING,
            fhir_path=line_path(context.claim, line),
            x12_location=line_x12(line, "SV101-2"),
            message=(
                f"line {line.sequence}: Medicare mental-health telehealth ({line.procedure_code}, {kind} telehealth "
                f"service) with no in-person visit of the patient in the prior {months} months"
            ),
            fix=(
                f"document an in-person visit within {policy.in_person.months_before_first} months before the first "
                f"mental-health telehealth service and every {policy.in_person.months_subsequent} months after; "
                "if one took place, make sure its claim is on file (the waiver may be extended again: re-check the law)"
            ),
        )
