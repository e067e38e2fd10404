"""docs/lifecycle.md lists exactly the lifecycle the state store enforces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claimbridge.state.models import ALLOWED_TRANSITIONS, ClaimState

pytestmark = pytest.mark.contract

_ROW = re.compile(r"^\| `([A-Z_]+)` \| `([A-Z_]+)` \| ([^|]+) \| ([^|]+) \|$")


def test_lifecycle_doc_lists_every_edge_of_the_code_and_no_other(repo_root: Path) -> None:
    # Given the table of docs/lifecycle.md and the store's ALLOWED_TRANSITIONS
    text = (repo_root / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    rows = [_ROW.match(line) for line in text.splitlines()]
    documented = [(ClaimState(m[1]), ClaimState(m[2])) for m in rows if m]
    edges = {(source, target) for source, targets in ALLOWED_TRANSITIONS.items() for target in targets}

    # Then each edge is documented once, with who moves the claim and when, and nothing else is
    assert len(documented) == len(set(documented))
    assert sorted(set(documented) - edges) == []
    assert sorted(edges - set(documented)) == []
    assert all(m[3].strip() and len(m[4].strip()) > 10 for m in rows if m)
