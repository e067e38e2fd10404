"""Behavioral-health scrubber: every ``BH-*`` rule of the domain reference as data-driven checks over a claim."""

from claimbridge.scrubber import rules as _rules  # noqa: F401  (importing registers every rule)
from claimbridge.scrubber.engine import (
    HELD,
    INTERNAL_RULE_ID,
    READY,
    Fact,
    Rule,
    ScrubContext,
    ScrubResult,
    registered_rules,
    rule,
    scrub,
)
from claimbridge.scrubber.history import ClaimHistory, InMemoryHistory, NoHistory, ServiceRecord, service_records
from claimbridge.scrubber.tables import CodeTables, DatedTable, load_table, packaged_table_names, parse_table

__all__ = [
    "HELD",
    "INTERNAL_RULE_ID",
    "READY",
    "ClaimHistory",
    "CodeTables",
    "DatedTable",
    "Fact",
    "InMemoryHistory",
    "NoHistory",
    "Rule",
    "ScrubContext",
    "ScrubResult",
    "ServiceRecord",
    "load_table",
    "packaged_table_names",
    "parse_table",
    "registered_rules",
    "rule",
    "scrub",
    "service_records",
]
