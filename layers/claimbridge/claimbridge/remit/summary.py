"""What ``claimbridge remit`` shows: per claim (CLP01) status, money, adjustments, remarks, category and next action.

Output carries ids, codes and amounts only: no patient, insured, payer or payee names and no member ids (the parser
never reads NM1*QC/IL/74). CLP01 is the practice's own claim id. In the JSON document amounts are strings with two
decimals (``"12.50"``, ``"-42.58"``): exact, unlike a JSON number read as a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from claimbridge.errors import X12SyntaxError
from claimbridge.remit.denials import DenialTable, Outcome, classify, denial_table
from claimbridge.remit.parser import ClaimPayment, Remittance, balance_problems, parse_835

_CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    """Two decimals, half up: ``Decimal("12.5")`` -> ``"12.50"``."""
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):f}"


def read_remittances(path: Path) -> list[Remittance]:
    """Every 835 transaction set of the file; raises ``OSError``, or ``X12SyntaxError`` naming the X12 location."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # X12 extended character sets are single-byte
    remittances = parse_835(text)
    if not remittances:
        raise X12SyntaxError("ST", "the file holds no 835 transaction set (ST01 = 835)")
    return remittances


def summed_adjustments(claim: ClaimPayment) -> list[tuple[str, str, Decimal]]:
    """(group, CARC, amount) summed over the claim and its lines, in first-seen order; zero totals left out."""
    totals: dict[tuple[str, str], Decimal] = {}
    for adjustment in claim.all_adjustments:
        key = (adjustment.group, adjustment.reason)
        totals[key] = totals.get(key, Decimal(0)) + adjustment.amount
    return [(group, reason, amount) for (group, reason), amount in totals.items() if amount != 0]


def claim_json(claim: ClaimPayment, outcome: Outcome) -> dict[str, Any]:
    """The ``remit --json`` shape of one claim; ``patient_responsibility`` is CLP05, or the PR sum without one."""
    return {
        "patient_control_number": claim.patient_control_number,
        "status_code": claim.status_code,
        "paid": money(claim.paid),
        "patient_responsibility": money(outcome.owed_by_patient),
        "adjustments": [
            {"group": group, "reason": reason, "amount": money(amount)}
            for group, reason, amount in summed_adjustments(claim)
        ],
        "remarks": list(claim.all_remarks),
        "category": outcome.category.value if outcome.category else None,
        "action": outcome.action.value if outcome.action else None,
    }


def remit_document(remittances: Sequence[Remittance], table: DenialTable | None = None) -> dict[str, Any]:
    """``{"claims": [...]}`` for every claim of every remittance, in file order."""
    return {
        "claims": [
            claim_json(claim, classify(claim, table=table or _table_for(remittance)))
            for remittance in remittances
            for claim in remittance.claims
        ]
    }


def _table_for(remittance: Remittance) -> DenialTable:
    return denial_table(remittance.payment_date or remittance.production_date)


def remit_text(remittances: Sequence[Remittance], table: DenialTable | None = None) -> list[str]:
    """The human report: one block per remittance, one per claim, then what fails to balance."""
    lines: list[str] = []
    for remittance in remittances:
        lines.append(
            f"835 ST {remittance.transaction_control_number} (ISA {remittance.interchange_control_number or '-'}, "
            f"GS {remittance.group_control_number or '-'}): trace {remittance.trace_number or '-'}, "
            f"BPR02 {money(remittance.total_paid)} {remittance.payment_method or ''}".rstrip()
            + f", {len(remittance.claims)} claim(s), {remittance.service_line_count} line(s), "
            f"{len(remittance.provider_adjustments)} PLB adjustment(s)"
        )
        edition = table or _table_for(remittance)
        for claim in remittance.claims:
            outcome = classify(claim, table=edition)
            meaning = f" ({outcome.status_meaning})" if outcome.status_meaning else ""
            lines.append(
                f"  {claim.patient_control_number}: status {claim.status_code}{meaning}, "
                f"charge {money(claim.charge)}, paid {money(claim.paid)}, "
                f"patient {money(outcome.owed_by_patient)} -> {outcome.outcome.value}"
            )
            adjustments = summed_adjustments(claim)
            if adjustments:
                lines.append(
                    "    adjustments: " + ", ".join(f"{g}-{r} {money(amount)}" for g, r, amount in adjustments)
                )
            if claim.all_remarks:
                lines.append("    remarks: " + ", ".join(claim.all_remarks))
            if outcome.action is not None:
                decided = " + ".join(code for code in (outcome.carc, *outcome.rarcs) if code)
                category = outcome.category.value if outcome.category else "unclassified"
                lines.append(
                    f"    category: {category}, action: {outcome.action.value}"
                    + (f" (decided by {decided})" if decided else "")
                )
        for problem in remittance.problems:
            lines.append(f"  read: {problem}")
        for problem in balance_problems(remittance):
            lines.append(f"  balance: {problem}")
    return lines
