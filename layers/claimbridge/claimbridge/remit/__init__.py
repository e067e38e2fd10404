"""Remittance (835): the reader, denial categories and next actions as data, and the summaries the CLI prints."""

from claimbridge.remit.denials import (
    Action,
    Category,
    ClaimOutcome,
    DenialReason,
    DenialTable,
    Outcome,
    PatientResponsibility,
    classify,
    denial_table,
)
from claimbridge.remit.parser import (
    Adjustment,
    ClaimPayment,
    ProcedureCode,
    ProviderAdjustment,
    Remittance,
    ReversalPair,
    ServicePayment,
    balance_problems,
    pair_reversals,
    parse_835,
)

__all__ = [
    "Action",
    "Adjustment",
    "Category",
    "ClaimOutcome",
    "ClaimPayment",
    "DenialReason",
    "DenialTable",
    "Outcome",
    "PatientResponsibility",
    "ProcedureCode",
    "ProviderAdjustment",
    "Remittance",
    "ReversalPair",
    "ServicePayment",
    "balance_problems",
    "classify",
    "denial_table",
    "pair_reversals",
    "parse_835",
]
