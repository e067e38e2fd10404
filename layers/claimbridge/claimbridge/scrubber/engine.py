"""The scrubber engine: rules registered under their stable ``BH-*`` id, run over one claim with its context.

A rule is a small function ``(ScrubContext) -> Iterable[Finding]`` that declares what it reads (``Fact``), so the
rule catalogue (docs/scrubber-rules.md) can say which inputs drive it. Thresholds and severities come from the payer
profile and the dated code tables in the context, never from branches on payer names. A rule that crashes does not
lose the claim: the engine turns the crash into a held ``SCRUB-INTERNAL`` finding naming the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property

from claimbridge.claim import ClaimFrequency, Clinician, ProfessionalClaim, ServiceLine
from claimbridge.findings import Finding, Severity
from claimbridge.scrubber.history import ClaimHistory, NoHistory, ServiceRecord
from claimbridge.scrubber.tables import CodeTables, default_tables
from claimbridge.tenants.models import PayerProfile, RosterProvider, TenantConfig, TenantPayer

logger = logging.getLogger(__name__)

INTERNAL_RULE_ID = "SCRUB-INTERNAL"
READY = "READY"
HELD = "HELD"


class Fact(StrEnum):
    """What a rule reads; listed per rule in the catalogue so a biller knows which input to fix."""

    CODES = "billed codes"
    MODIFIERS = "modifiers"
    UNITS = "units"
    CHARGES = "charges"
    PLACE_OF_SERVICE = "place of service"
    SERVICE_DATES = "dates of service"
    DOCUMENTED_MINUTES = "documented minutes"
    MODALITY = "telehealth modality"
    PATIENT_LOCATION = "patient location"
    DIAGNOSES = "diagnoses"
    POINTERS = "diagnosis pointers"
    PROVIDERS = "billing/rendering/supervising providers"
    ROSTER = "tenant provider roster"
    PAYER_PROFILE = "payer profile"
    AUTHORIZATION = "prior authorization"
    FREQUENCY = "claim frequency and payer claim number"
    ADDRESS = "billing address"
    HISTORY = "claim history"
    TODAY = "as-of date"
    CODE_TABLES = "dated code tables"


@dataclass(frozen=True)
class ScrubContext:
    """Everything a rule may read about one claim: the claim, the tenant and billed payer's profile, today, the dated
    code tables and the patient's other claims."""

    claim: ProfessionalClaim
    tenant: TenantConfig
    as_of: date
    tables: CodeTables
    history: ClaimHistory = field(default_factory=NoHistory)

    @cached_property
    def payer(self) -> TenantPayer | None:
        """The configured payer billed (None only for a claim built against another tenant version)."""
        try:
            return self.tenant.payer(self.claim.payer.key)
        except KeyError:
            return None

    @cached_property
    def profile(self) -> PayerProfile:
        """The billed payer's profile; omitted keys carry the Medicare FFS (MCR) defaults."""
        return self.payer.profile if self.payer is not None else PayerProfile()

    @property
    def lines(self) -> tuple[ServiceLine, ...]:
        return self.claim.lines

    def rendering_for(self, line: ServiceLine) -> Clinician | None:
        """The line's rendering clinician: 2420A override, else 2310B, else none (billing provider renders)."""
        return line.rendering_override or self.claim.rendering

    def rendering_npi_for(self, line: ServiceLine) -> str:
        """Who performed the line for same-provider rules: the rendering NPI, else the billing provider's."""
        rendering = self.rendering_for(line)
        return rendering.npi if rendering is not None else self.claim.billing_provider.npi

    def roster(self, npi: str) -> RosterProvider | None:
        return self.tenant.roster_provider(npi)

    @cached_property
    def is_correction(self) -> bool:
        return self.claim.frequency in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID)

    def other_services(self) -> list[ServiceRecord]:
        """The patient's services on other claims (this claim's own earlier versions excluded)."""
        key = self.claim.patient_key
        if key is None:
            return []
        return [s for s in self.history.services(key) if s.claim_id != self.claim.claim_id]


RuleCheck = Callable[[ScrubContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """One registered rule: stable id, a title for the catalogue, what it reads, and its check.

    ``severity`` says in words which severities the rule gives and when; ``profile_keys`` are the payer-profile keys
    (dotted) that change its outcome, shown per payer in the catalogue.
    """

    rule_id: str
    title: str
    reads: frozenset[Fact]
    check: RuleCheck
    severity: str = "error"
    profile_keys: tuple[str, ...] = ()


_REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str,
    *,
    title: str,
    reads: Iterable[Fact],
    severity: str,
    profile_keys: Iterable[str] = (),
) -> Callable[[RuleCheck], RuleCheck]:
    """Register ``check`` under ``rule_id`` (one check per id; a second registration is a programming error)."""

    def register(check: RuleCheck) -> RuleCheck:
        if rule_id in _REGISTRY:
            raise ValueError(f"rule {rule_id} is registered twice")
        _REGISTRY[rule_id] = Rule(
            rule_id=rule_id,
            title=title,
            reads=frozenset(reads),
            check=check,
            severity=severity,
            profile_keys=tuple(profile_keys),
        )
        return check

    return register


def registered_rules() -> Mapping[str, Rule]:
    """Every registered rule by id (importing ``claimbridge.scrubber`` imports the rule modules, which register)."""
    return dict(_REGISTRY)


@dataclass(frozen=True)
class ScrubResult:
    """The findings of one claim and what they mean for it: any error holds it."""

    findings: tuple[Finding, ...]

    @property
    def status(self) -> str:
        return HELD if any(f.severity == Severity.ERROR for f in self.findings) else READY

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.ERROR)


def scrub(
    claim: ProfessionalClaim,
    *,
    tenant: TenantConfig,
    as_of: date,
    history: ClaimHistory | None = None,
    tables: CodeTables | None = None,
    only: Iterable[str] | None = None,
) -> ScrubResult:
    """Run every registered rule (or ``only`` those ids) over ``claim``; findings come in rule-id order."""
    context = ScrubContext(
        claim=claim, tenant=tenant, as_of=as_of, tables=tables or default_tables(), history=history or NoHistory()
    )
    rules = registered_rules()
    selected = sorted(rules) if only is None else sorted(set(only))
    findings: list[Finding] = []
    for rule_id in selected:
        findings.extend(_run(rules[rule_id], context))
    return ScrubResult(findings=tuple(findings))


def _run(registered: Rule, context: ScrubContext) -> list[Finding]:
    try:
        return list(registered.check(context))
    except Exception as exc:  # a broken rule holds the claim instead of losing it or the batch
        logger.error(  # the type only: an exception's text may quote claim values
            "scrubber rule failed",
            extra={"rule_id": registered.rule_id, "claim_id": context.claim.claim_id, "error": type(exc).__name__},
        )
        return [
            Finding(
                rule_id=INTERNAL_RULE_ID,
                severity=Severity.ERROR,
                message=f"rule {registered.rule_id} could not run ({type(exc).__name__})",
                fix="report this to Claimbridge support; re-scrub the claim after the fix",
            )
        ]
