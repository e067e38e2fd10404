"""claimbridge.mapping.ids.claim_id_for: CLM01 is deterministic, short, upper-case and tenant-scoped."""

from __future__ import annotations

import re

import pytest

from claimbridge.mapping.ids import claim_id_for

pytestmark = pytest.mark.unit


def test_claim_id_for_is_deterministic_and_fits_clm01() -> None:
    # Given a tenant and a source key
    # When the id is derived twice
    first = claim_id_for("demo-practice", "Claim/clm-1")
    second = claim_id_for("demo-practice", "Claim/clm-1")
    # Then it is the same, at most 20 characters of A-Z0-9
    assert first == second
    assert re.fullmatch(r"[A-Z0-9]{1,20}", first)
    assert first.startswith("CB")


@pytest.mark.parametrize(
    ("tenant", "source_key"),
    [("other-practice", "Claim/clm-1"), ("demo-practice", "Claim/clm-2"), ("demo-practice", "Encounter/clm-1")],
)
def test_claim_id_for_differs_per_tenant_and_source(tenant: str, source_key: str) -> None:
    assert claim_id_for(tenant, source_key) != claim_id_for("demo-practice", "Claim/clm-1")


def test_claim_id_for_has_no_collisions_in_a_large_sample() -> None:
    ids = {claim_id_for("demo-practice", f"Claim/{n}") for n in range(20_000)}
    assert len(ids) == 20_000
