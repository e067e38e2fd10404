"""Helpers for the table-driven scrubber tests: a tenant with a tweaked payer profile, and running one rule."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

from claimbridge.claim import ProfessionalClaim
from claimbridge.findings import Finding
from claimbridge.scrubber import ClaimHistory, scrub
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, parse_tenant_config

DOMAIN_RULE_IDS = frozenset(
    {
        *(f"BH-TIME-0{n}" for n in range(1, 7)),
        *(f"BH-PTP-0{n}" for n in range(1, 8)),
        "BH-ADD-01",
        "BH-FREQ-01",
        "BH-SCOPE-01",
        *(f"BH-TEL-0{n}" for n in range(1, 7)),
        *(f"BH-DX-0{n}" for n in range(1, 6)),
        "BH-NPI-01",
        "BH-TIN-01",
        "BH-MOD-01",
        "BH-CRED-01",
        "BH-CRED-02",
        "BH-AUTH-01",
        "BH-AUTH-02",
        "BH-CLM-01",
        "BH-CLM-02",
        "BH-ADDR-01",
        "BH-TF-01",
    }
)
"""Every rule id of ../shared/domain/behavioral-health-billing.md (the contract test checks the file when present)."""

AS_OF = date(2026, 3, 10)
"""Eight days after the builders' default date of service (2026-03-02)."""


def demo_document() -> dict[str, Any]:
    """A fresh copy of the demo tenant document to edit."""
    return copy.deepcopy(json.loads(DEMO_TENANT_FILE.read_text(encoding="utf-8")))


def tenant_with(*, profiles: dict[str, dict[str, Any]] | None = None, **top: Any) -> TenantConfig:
    """The demo tenant with ``profiles[payer_key]`` replacing that payer's profile and ``top`` keys replaced."""
    document = demo_document()
    for payer in document["payers"]:
        if profiles and payer["key"] in profiles:
            payer["profile"] = profiles[payer["key"]]
    document.update(top)
    return parse_tenant_config(document)


def run_rule(
    rule_id: str,
    claim: ProfessionalClaim,
    *,
    tenant: TenantConfig | None = None,
    as_of: date = AS_OF,
    history: ClaimHistory | None = None,
) -> list[Finding]:
    """The findings of one rule on one claim."""
    result = scrub(claim, tenant=tenant or tenant_with(), as_of=as_of, history=history, only=[rule_id])
    return list(result.findings)


def severities(findings: list[Finding]) -> list[str]:
    """``["error", "warning"]``: what a table row compares."""
    return [str(f.severity) for f in findings]
