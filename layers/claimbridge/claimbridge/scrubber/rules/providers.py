"""Provider rules (domain doc sections 4.1-4.5): NPI check digits (BH-NPI-01), billing TIN (BH-TIN-01), no PO box in
the billing address (BH-ADDR-01), rendering enrollment and taxonomy (BH-CRED-01/02), licensure modifiers
(BH-MOD-01) and who may bill what (BH-SCOPE-01).

The clinician who performed a line is its rendering clinician (2420A override, else 2310B); with neither, a billing
provider who is a person (sole proprietor, 2010AA) performed it, and an organisation cannot. Messages name loops,
line numbers, codes, taxonomies, modifiers and payer keys, never a clinician's name, NPI or address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from claimbridge.claim import EntityType, ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.engine import Fact, ScrubContext, rule
from claimbridge.scrubber.locate import claim_path, finding, line_path, line_x12
from claimbridge.tenants.models import Enrollment, RosterProvider
from claimbridge.validators import npi_is_valid

ENROLLMENT_ENDING_WARN_DAYS = 30
"""BH-CRED-01: warn when the rendering clinician's enrollment with the payer ends within this many days after the date
of service (domain doc section 4.5: credentialing gaps delay reimbursement for months)."""

PO_BOX = re.compile(r"\bP\.?\s*O\.?\s*BOX\b|\bPOST\s+OFFICE\s+BOX\b|\bLOCK\s?BOX\b|\bPMB\b", re.IGNORECASE)
"""BH-ADDR-01: the 2010AA street is a physical address, never ``P.?O.? BOX|LOCK ?BOX|PMB`` [S17, S18, S32]."""

TIN_TYPES = frozenset({"EI", "SY"})
"""BH-TIN-01: 2010AA REF01 is EI (employer id) or SY (social security number of an unincorporated person) [S16, S17]."""

_MODIFIER_SLOTS = 4


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class NuccTaxonomy(_Row):
    """A row of ``nucc_taxonomies``."""

    code: str
    display: str
    entity: Literal["person", "organization"]


class LicensureModifier(_Row):
    """A row of ``licensure_modifiers``."""

    modifier: str
    meaning: str
    kind: str


class ScopeService(_Row):
    """A ``scope_of_practice`` row: ``code`` may only be billed by a taxonomy group with capability ``requires``."""

    kind: Literal["service"]
    code: str
    requires: str
    alternative: str | None = None


class ScopeGroup(_Row):
    """A ``scope_of_practice`` row: the taxonomies starting with one of ``taxonomy_prefixes`` and what they may bill."""

    kind: Literal["group"]
    group: str
    display: str
    taxonomy_prefixes: tuple[str, ...]
    capabilities: tuple[str, ...] = ()


_SCOPE_ROWS: TypeAdapter[tuple[ScopeService | ScopeGroup, ...]] = TypeAdapter(
    tuple[Annotated[ScopeService | ScopeGroup, Field(discriminator="kind")], ...]
)


@dataclass(frozen=True)
class Performer:
    """Who performed a line, as the claim sends them: NPI, taxonomy (PRV03, may be missing) and the loop they sit in."""

    npi: str
    taxonomy: str | None
    loop: Literal["2310B", "2420A", "2010AA"]
    fhir_path: str

    def at(self, line: ServiceLine, element: str) -> str:
        """The X12 location of ``element`` (``NM109``, ``PRV03``) of this performer for ``line``."""
        return line_x12(line, f"2420A {element}") if self.loop == "2420A" else f"{self.loop} {element}"

    @property
    def role(self) -> str:
        return "billing provider" if self.loop == "2010AA" else f"rendering clinician ({self.loop})"


def performer(context: ScrubContext, line: ServiceLine) -> Performer | None:
    """The line's rendering clinician, else the billing provider when a person; None for an organisation alone."""
    claim = context.claim
    rendering = context.rendering_for(line)
    if rendering is not None:
        loop: Literal["2310B", "2420A"] = "2420A" if line.rendering_override is not None else "2310B"
        default = line_path(claim, line, "careTeam") if loop == "2420A" else claim_path(claim, "careTeam")
        return Performer(rendering.npi, rendering.taxonomy, loop, rendering.fhir_path or default)
    billing = claim.billing_provider
    if billing.entity == EntityType.PERSON:
        return Performer(billing.npi, billing.taxonomy, "2010AA", claim_path(claim, "provider"))
    return None


def performer_taxonomy(context: ScrubContext, who: Performer) -> str | None:
    """The taxonomy that drives licensure and scope: as sent, else the roster's, else the tenant billing provider's."""
    if who.taxonomy:
        return who.taxonomy
    roster = context.roster(who.npi)
    if roster is not None:
        return roster.taxonomy
    if who.loop == "2010AA" and who.npi == context.tenant.billing_provider.npi:
        return context.tenant.billing_provider.taxonomy
    return None


def _taxonomy_label(context: ScrubContext, code: str, day: date) -> str:
    rows = (NuccTaxonomy.model_validate(r) for r in context.tables.rows("nucc_taxonomies", day))
    known = next((row for row in rows if row.code == code), None)
    return f"{code} ({known.display})" if known else code


def _modifier_meanings(context: ScrubContext, day: date) -> dict[str, LicensureModifier]:
    rows = (LicensureModifier.model_validate(r) for r in context.tables.rows("licensure_modifiers", day))
    return {row.modifier: row for row in rows}


@rule("BH-NPI-01", title="Every NPI on the claim passes the NPI check digit", reads=[Fact.PROVIDERS], severity="error")
def rule_npi_check_digit(context: ScrubContext) -> Iterator[Finding]:
    """Each NPI the 837P carries (2010AA billing, 2310A referring, 2310B rendering, 2310C service facility, 2310D
    supervising, and per line 2420A rendering and 2420D supervising, NM109 with NM108 XX) is 10 digits, starts with 1
    or 2 and ends with the Luhn check digit computed over ``80840`` + the first nine digits [S25]; a wrong digit is a
    front-end reject. Uses ``claimbridge.validators.npi_is_valid``. Reads: the claim's providers."""
    claim = context.claim
    tenant_fix = "correct billing_provider.npi in the tenant configuration (check it in NPPES)"
    clinician_fix = "correct the clinician's NPI identifier in the source record (check it in NPPES)"
    checks: list[tuple[str, str, str, str, str]] = [
        (claim.billing_provider.npi, "billing provider", "2010AA NM109", claim_path(claim, "provider"), tenant_fix)
    ]
    for loop, role, who in (
        ("2310A", "referring provider", claim.referring),
        ("2310B", "rendering clinician", claim.rendering),
        ("2310D", "supervising clinician", claim.supervising),
    ):
        if who is not None:
            path = who.fhir_path or claim_path(claim, "careTeam")
            checks.append((who.npi, role, f"{loop} NM109", path, clinician_fix))
    facility = claim.service_facility
    if facility is not None and facility.npi is not None:
        path = facility.fhir_path or claim_path(claim, "facility")
        fix = "correct the Location's (or its Organization's) NPI identifier, or leave it out"
        checks.append((facility.npi, "service facility", "2310C NM109", path, fix))
    for line in claim.lines:
        for loop, role, who in (
            ("2420A", "line rendering clinician", line.rendering_override),
            ("2420D", "line supervising clinician", line.supervising_override),
        ):
            if who is not None:
                path = who.fhir_path or line_path(claim, line, "careTeam")
                checks.append(
                    (who.npi, f"{role} of line {line.sequence}", line_x12(line, f"{loop} NM109"), path, clinician_fix)
                )
    for npi, role, location, path, fix in checks:
        if not npi_is_valid(npi):
            yield finding(
                "BH-NPI-01",
                Severity.ERROR,
                fhir_path=path,
                x12_location=location,
                message=f"the {role} NPI fails the NPI check (10 digits, first 1 or 2, Luhn check digit)",
                fix=fix,
            )


@rule(
    "BH-TIN-01",
    title="The billing provider carries a 9-digit EI or SY tax id",
    reads=[Fact.PROVIDERS],
    severity="error",
)
def rule_billing_tin(context: ScrubContext) -> Iterator[Finding]:
    """2010AA ``REF*EI`` (employer id) or ``REF*SY`` (social security number of an unincorporated individual) with the
    payee's 9-digit TIN, no hyphen, is required [S16, S17]. The claim model already demands 9 digits, so this guards
    it. Reads: the billing provider (tenant ``billing_provider.tin``/``tin_type``)."""
    billing = context.claim.billing_provider
    path = claim_path(context.claim, "provider")
    fix = "set billing_provider.tin (9 digits, no hyphen) and tin_type (EI or SY) in the tenant configuration"
    if not billing.tin:
        yield finding(
            "BH-TIN-01",
            Severity.ERROR,
            fhir_path=path,
            x12_location="2010AA REF02",
            message="the billing provider has no tax id (TIN)",
            fix=fix,
        )
    elif len(billing.tin) != 9 or not billing.tin.isdigit():
        yield finding(
            "BH-TIN-01",
            Severity.ERROR,
            fhir_path=path,
            x12_location="2010AA REF02",
            message=f"the billing provider's TIN has {len(billing.tin)} characters, not 9 digits",
            fix=fix,
        )
    if billing.tin_type not in TIN_TYPES:
        yield finding(
            "BH-TIN-01",
            Severity.ERROR,
            fhir_path=path,
            x12_location="2010AA REF01",
            message=f"the billing provider's TIN qualifier is {billing.tin_type}, not EI or SY",
            fix=fix,
        )


@rule(
    "BH-ADDR-01",
    title="The billing provider address is a street address, not a PO box",
    reads=[Fact.ADDRESS],
    severity="error",
)
def rule_billing_address(context: ScrubContext) -> Iterator[Finding]:
    """The 2010AA N3 billing address must be a physical street address: a line matching ``P.?O.? BOX``, ``LOCK ?BOX``
    or ``PMB`` (also ``POST OFFICE BOX``) is an error; a PO box belongs in the pay-to address (2010AB), which is sent
    when it differs from the billing address [S17, S18, S32]. Reads: the billing address (tenant
    ``billing_provider.address``, ``pay_to``)."""
    claim = context.claim
    for index, text in enumerate(claim.billing_provider.address.lines):
        match = PO_BOX.search(text)
        if match is None:
            continue
        yield finding(
            "BH-ADDR-01",
            Severity.ERROR,
            fhir_path=claim_path(claim, "provider"),
            x12_location=f"2010AA N30{index + 1}",
            message=f"billing provider address line {index + 1} is a {match.group(0).upper()}, not a street address",
            fix="move it to pay_to (2010AB) and give billing_provider.address the practice's street address",
        )


def _coverage_end(enrollments: list[Enrollment], payer_key: str, day: date) -> tuple[bool, date | None]:
    """Whether enrollments with ``payer_key`` cover ``day``, and the last day of the unbroken coverage (None: open).

    Back-to-back enrollments (one ending the day before the next starts) are one coverage."""
    spans = sorted((e.from_ or date.min, e.to or date.max) for e in enrollments if e.payer == payer_key)
    merged: list[list[date]] = []
    for start, end in spans:
        if merged and (merged[-1][1] == date.max or start <= merged[-1][1] + timedelta(days=1)):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        if start <= day <= end:
            return True, None if end == date.max else end
    return False, None


def _not_enrolled_reason(enrollments: list[Enrollment], payer_key: str, day: date) -> str:
    """Why the roster shows no enrollment on ``day``, in days relative to it (never the dates themselves)."""
    with_payer = [e for e in enrollments if e.payer == payer_key]
    if not with_payer:
        return f"has no enrollment with payer {payer_key}"
    later = [e.from_ for e in with_payer if e.from_ is not None and e.from_ > day]
    if later:
        return f"enrollment with payer {payer_key} starts {(min(later) - day).days} day(s) after the date of service"
    earlier = [e.to for e in with_payer if e.to is not None and e.to < day]
    ended = (day - max(earlier)).days if earlier else 0
    return f"enrollment with payer {payer_key} ended {ended} day(s) before the date of service"


@rule(
    "BH-CRED-01",
    title="The rendering clinician is enrolled with the billed payer on the date of service",
    reads=[Fact.PROVIDERS, Fact.ROSTER, Fact.SERVICE_DATES],
    severity="error (not enrolled on the date); warning (enrollment ends within 30 days)",
)
def rule_rendering_enrolled(context: ScrubContext) -> Iterator[Finding]:
    """The clinician who rendered each line (2420A, else 2310B; a sole-proprietor billing provider, else none) must be
    on the tenant roster and enrolled with the payer billed on the line's date of service, per
    ``providers[].enrolled_payers`` (a bare payer key is open-ended; ``{payer, from, to}`` is inclusive) [domain doc
    4.5]. Not on the roster, or not enrolled that day -> error (payers deny with CO-185/CO-170/CO-8, N290/N95). A
    line of an organisation billing provider without any rendering clinician -> error (credentialing cannot be
    checked). Enrollment ending within ``ENROLLMENT_ENDING_WARN_DAYS`` (30) days after the date of service ->
    warning. Reads: the roster, the claim's payer key, line dates."""
    claim = context.claim
    payer_key = claim.payer.key
    unrostered: set[tuple[str, str]] = set()
    for line in claim.lines:
        who = performer(context, line)
        if who is None:
            yield finding(
                "BH-CRED-01",
                Severity.ERROR,
                fhir_path=line_path(claim, line, "careTeamSequence"),
                x12_location="2310B NM109",
                message=f"line {line.sequence} ({line.procedure_code}) has no rendering clinician and the billing "
                "provider is an organisation",
                fix="send the clinician who rendered the service (Claim.careTeam, role primary/performing)",
            )
            continue
        roster = context.roster(who.npi)
        if roster is None:
            key = (who.loop, who.npi) if who.loop != "2420A" else (f"{who.loop}:{line.sequence}", who.npi)
            if key in unrostered:
                continue
            unrostered.add(key)
            yield finding(
                "BH-CRED-01",
                Severity.ERROR,
                fhir_path=who.fhir_path,
                x12_location=who.at(line, "NM109"),
                message=f"the {who.role} of line {line.sequence} is not on the tenant's provider roster, so its "
                f"enrollment with payer {payer_key} is unknown",
                fix="add the clinician to providers[] with enrolled_payers, or correct the rendering NPI",
            )
            continue
        yield from _enrollment_findings(context, line, who, roster)


def _enrollment_findings(
    context: ScrubContext, line: ServiceLine, who: Performer, roster: RosterProvider
) -> Iterator[Finding]:
    payer_key = context.claim.payer.key
    day = line.service_date
    enrollments = roster.enrollments()
    covered, end = _coverage_end(enrollments, payer_key, day)
    subject = f"line {line.sequence} ({line.procedure_code}): the {who.role}"
    if not covered:
        yield finding(
            "BH-CRED-01",
            Severity.ERROR,
            fhir_path=who.fhir_path,
            x12_location=who.at(line, "NM109"),
            message=f"{subject} {_not_enrolled_reason(enrollments, payer_key, day)}",
            fix=f"bill the line under a clinician enrolled with {payer_key} on that date, or record the enrollment "
            "in providers[].enrolled_payers once the payer confirms it",
        )
    elif end is not None and (end - day).days <= ENROLLMENT_ENDING_WARN_DAYS:
        yield finding(
            "BH-CRED-01",
            Severity.WARNING,
            fhir_path=who.fhir_path,
            x12_location=who.at(line, "NM109"),
            message=f"{subject} is enrolled with payer {payer_key} only until {(end - day).days} day(s) after the "
            f"date of service (within {ENROLLMENT_ENDING_WARN_DAYS})",
            fix=f"confirm re-credentialing with {payer_key} and extend providers[].enrolled_payers once renewed",
        )


@rule(
    "BH-CRED-02",
    title="The rendering clinician's taxonomy is sent when required and matches the roster",
    reads=[Fact.PROVIDERS, Fact.ROSTER, Fact.PAYER_PROFILE],
    severity="error (no taxonomy while PRV is required); warning (taxonomy differs from the roster)",
    profile_keys=("require_rendering_prv",),
)
def rule_rendering_taxonomy(context: ScrubContext) -> Iterator[Finding]:
    """The rendering clinician's taxonomy (2310B/2420A ``PRV*PE*PXC``) is required when the payer profile sets
    ``require_rendering_prv``: none -> error [S17, domain doc 4.4-4.5]. A taxonomy that differs from the roster's
    ``providers[].taxonomy`` for that NPI -> warning (payers match claims to the taxonomy the clinician enrolled
    under). Reads: payer profile ``require_rendering_prv``; the roster; table ``nucc_taxonomies`` for labels."""
    claim = context.claim
    seen: set[tuple[str, str]] = set()
    for line in claim.lines:
        who = performer(context, line)
        if who is None or who.loop == "2010AA":
            continue
        key = (who.at(line, "PRV03"), who.npi)
        if key in seen:
            continue
        seen.add(key)
        if who.taxonomy is None:
            if context.profile.require_rendering_prv:
                yield finding(
                    "BH-CRED-02",
                    Severity.ERROR,
                    fhir_path=who.fhir_path,
                    x12_location=who.at(line, "PRV03"),
                    message=f"the {who.role} of line {line.sequence} has no taxonomy and payer {claim.payer.key} "
                    "requires the rendering PRV (require_rendering_prv)",
                    fix="send the clinician's NUCC taxonomy (Claim.careTeam.qualification) or set "
                    "providers[].taxonomy in the tenant roster",
                )
            continue
        roster = context.roster(who.npi)
        if roster is not None and roster.taxonomy != who.taxonomy:
            sent = _taxonomy_label(context, who.taxonomy, line.service_date)
            expected = _taxonomy_label(context, roster.taxonomy, line.service_date)
            yield finding(
                "BH-CRED-02",
                Severity.WARNING,
                fhir_path=who.fhir_path,
                x12_location=who.at(line, "PRV03"),
                message=f"the {who.role} of line {line.sequence} is sent with taxonomy {sent}, the roster has "
                f"{expected}",
                fix=f"send the taxonomy the clinician is enrolled under ({roster.taxonomy}) or correct "
                "providers[].taxonomy",
            )


@rule(
    "BH-MOD-01",
    title="Lines carry the licensure modifier the payer expects for the rendering clinician",
    reads=[Fact.MODIFIERS, Fact.PROVIDERS, Fact.ROSTER, Fact.PAYER_PROFILE],
    severity="error",
    profile_keys=("licensure_modifiers",),
)
def rule_licensure_modifier(context: ScrubContext) -> Iterator[Finding]:
    """When the payer profile's ``licensure_modifiers`` map (taxonomy -> modifier) is non-empty, each line must carry
    the expected modifier in SV101-3..6: ``licensure_modifiers[rendering taxonomy]``, else the roster provider's
    ``licensure_modifier``; missing -> error naming the modifier (AH clinical psychologist, AJ clinical social
    worker ...) [S27, S27b, S27c]. An empty map means the payer wants none: no check (Medicare default). A rendering
    taxonomy with no expected modifier is not checked. Reads: payer profile ``licensure_modifiers``; the roster;
    tables ``licensure_modifiers`` (meanings) and ``nucc_taxonomies``."""
    claim = context.claim
    mapping = context.profile.licensure_modifiers
    if not mapping:
        return
    for line in claim.lines:
        who = performer(context, line)
        if who is None:
            continue
        taxonomy = performer_taxonomy(context, who)
        roster = context.roster(who.npi)
        expected = mapping.get(taxonomy or "") or (roster.licensure_modifier if roster is not None else None)
        if expected is None or expected in line.modifiers:
            continue
        meanings = _modifier_meanings(context, line.service_date)
        meaning = f" ({meanings[expected].meaning})" if expected in meanings else ""
        wrong = next(((i, m) for i, m in enumerate(line.modifiers) if m in meanings and m != expected), None)
        if wrong is not None:
            slot, present = wrong
            detail = f"; it carries {present} ({meanings[present].meaning}) instead"
            fix = f"replace modifier {present} with {expected} in SV101-{slot + 3}"
        elif len(line.modifiers) < _MODIFIER_SLOTS:
            slot, detail = len(line.modifiers), ""
            fix = f"add modifier {expected} in SV101-{slot + 3}"
        else:
            slot, detail = 0, "; all four modifier slots are used"
            fix = f"add modifier {expected}: free a slot by dropping a modifier the payer does not need"
        source = f"licensure_modifiers[{taxonomy}]" if taxonomy in mapping else "the roster's licensure_modifier"
        label = _taxonomy_label(context, taxonomy, line.service_date) if taxonomy else "unknown taxonomy"
        yield finding(
            "BH-MOD-01",
            Severity.ERROR,
            fhir_path=line_path(claim, line, "modifier"),
            x12_location=line_x12(line, f"SV101-{slot + 3}"),
            message=f"line {line.sequence} ({line.procedure_code}) lacks licensure modifier {expected}{meaning} "
            f"that payer {claim.payer.key} expects for rendering taxonomy {label} ({source}){detail}",
            fix=fix,
        )


def _scope_group(groups: list[ScopeGroup], taxonomy: str) -> ScopeGroup | None:
    """The group whose longest prefix matches the taxonomy."""
    matches = [(len(p), g) for g in groups for p in g.taxonomy_prefixes if taxonomy.startswith(p)]
    return max(matches, key=lambda m: m[0])[1] if matches else None


@rule(
    "BH-SCOPE-01",
    title="Services reserved to medical practitioners are rendered by one (90792, E/M, +90833/6/8)",
    reads=[Fact.CODES, Fact.PROVIDERS, Fact.ROSTER, Fact.CODE_TABLES],
    severity="error; warning for a taxonomy the scope table does not know",
)
def rule_scope_of_practice(context: ScrubContext) -> Iterator[Finding]:
    """90792, E/M 99202-99215 and +90833/+90836/+90838 may be billed only by practitioners licensed for medical
    services: physicians, NPs, PAs, CNSs; clinical psychologists, social workers, counselors, MFTs and behavior
    analysts may not -> error [S2, S39; domain doc 1.4]. The rendering taxonomy (as sent, else the roster's) is
    matched to a NUCC taxonomy group of table ``scope_of_practice`` by prefix; a taxonomy in no group, or none at all,
    -> warning (scope cannot be checked). Prescribing psychologists are not modelled (state law, unverified).
    Reads: table ``scope_of_practice`` (services and groups), ``nucc_taxonomies``; the roster."""
    claim = context.claim
    for line in claim.lines:
        rows = _SCOPE_ROWS.validate_python(context.tables.rows("scope_of_practice", line.service_date))
        service = next((r for r in rows if isinstance(r, ScopeService) and r.code == line.procedure_code), None)
        if service is None:
            continue
        who = performer(context, line)
        if who is None:
            continue  # BH-CRED-01 reports a line nobody rendered
        taxonomy = performer_taxonomy(context, who)
        groups = [r for r in rows if isinstance(r, ScopeGroup)]
        group = _scope_group(groups, taxonomy) if taxonomy else None
        subject = f"line {line.sequence} ({line.procedure_code})"
        if group is None:
            shown = _taxonomy_label(context, taxonomy, line.service_date) if taxonomy else "no taxonomy"
            yield finding(
                "BH-SCOPE-01",
                Severity.WARNING,
                fhir_path=who.fhir_path,
                x12_location=who.at(line, "PRV03"),
                message=f"{subject}: the {who.role} has {shown}, which the scope-of-practice table does not know; "
                f"{line.procedure_code} needs a practitioner licensed for medical services",
                fix="check that the clinician may bill this code (physician, NP, PA or CNS), and send their NUCC "
                "taxonomy",
            )
            continue
        if service.requires in group.capabilities:
            continue
        alternative = f", or bill {service.alternative} if it fits the documentation" if service.alternative else ""
        allowed = ", ".join(g.display for g in groups if service.requires in g.capabilities)
        label = _taxonomy_label(context, taxonomy or "", line.service_date)
        yield finding(
            "BH-SCOPE-01",
            Severity.ERROR,
            fhir_path=line_path(claim, line, "productOrService"),
            x12_location=line_x12(line, "SV101-2"),
            message=f"{subject}: the {who.role} is a {group.display}, taxonomy {label}; only practitioners licensed "
            f"for medical services ({allowed}) may bill {line.procedure_code}",
            fix=f"bill it under the medical practitioner who rendered it{alternative}",
        )
