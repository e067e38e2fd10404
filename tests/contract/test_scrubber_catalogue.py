"""The scrubber implements every BH rule of the domain reference, each with a table-driven test, and the committed
catalogue (docs/scrubber-rules.md) is what the registry and tables say today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claimbridge.scrubber import registered_rules
from claimbridge.scrubber.catalogue import render
from tests.unit.scrubber.support import DOMAIN_RULE_IDS

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DOC = ROOT.parent / "shared" / "domain" / "behavioral-health-billing.md"
SCRUBBER_TESTS = ROOT / "tests" / "unit" / "scrubber"


def test_the_list_of_domain_rule_ids_matches_the_domain_reference() -> None:
    if not DOMAIN_DOC.exists():
        pytest.skip("../shared/domain is not present")
    found = set(re.findall(r"\bBH-[A-Z]+-\d{2}\b", DOMAIN_DOC.read_text(encoding="utf-8")))
    assert found == DOMAIN_RULE_IDS


def test_every_domain_rule_is_registered_and_nothing_else_uses_a_bh_id() -> None:
    registered = {rule_id for rule_id in registered_rules() if rule_id.startswith("BH-")}
    assert registered == DOMAIN_RULE_IDS


def test_every_rule_has_a_table_driven_test() -> None:
    tests = "\n".join(path.read_text(encoding="utf-8") for path in SCRUBBER_TESTS.glob("test_*.py"))
    untested = sorted(rule_id for rule_id in registered_rules() if f'"{rule_id}"' not in tests)
    assert untested == []


def test_the_committed_catalogue_is_current() -> None:
    committed = (ROOT / "docs" / "scrubber-rules.md").read_text(encoding="utf-8")
    assert committed == render(), "run `make docs` and commit docs/scrubber-rules.md"
