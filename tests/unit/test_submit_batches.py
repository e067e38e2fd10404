"""Interchange batching: ordered by payer, at most MAX_CLAIMS_PER_INTERCHANGE, one payer per file when asked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from claimbridge.pipeline.submit import MAX_CLAIMS_PER_INTERCHANGE, interchange_batches
from claimbridge.state import ClaimState, StoredClaim

pytestmark = pytest.mark.unit

NOW = datetime(2026, 4, 1, tzinfo=UTC)


def ready(claim_id: str, payer_key: str) -> StoredClaim:
    return StoredClaim(
        tenant_id="demo-practice",
        claim_id=claim_id,
        state=ClaimState.READY,
        revision=2,
        source_key=f"Claim/{claim_id}",
        source_version="1",
        payer_key=payer_key,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("split", "counts", "expected"),
    [
        pytest.param(False, {"MCR": 2, "COMM-A": 1}, [[("COMM-A", 1), ("MCR", 2)]], id="one-file"),
        pytest.param(True, {"MCR": 2, "COMM-A": 1}, [[("COMM-A", 1)], [("MCR", 2)]], id="per-payer"),
        pytest.param(
            False,
            {"MCR": MAX_CLAIMS_PER_INTERCHANGE + 1},
            [[("MCR", MAX_CLAIMS_PER_INTERCHANGE)], [("MCR", 1)]],
            id="bounded",
        ),
        pytest.param(False, {}, [], id="nothing"),
    ],
)
def test_interchange_batches(split: bool, counts: dict[str, int], expected: list[list[tuple[str, int]]]) -> None:
    claims = [ready(f"CB{payer[:3]}{n:05d}", payer) for payer, count in counts.items() for n in range(count)]
    batches = interchange_batches(claims, split_by_payer=split)
    summary = [
        [(payer, sum(1 for c in batch if c.payer_key == payer)) for payer in dict.fromkeys(c.payer_key for c in batch)]
        for batch in batches
    ]
    assert summary == expected
    assert sorted(c.claim_id for batch in batches for c in batch) == sorted(c.claim_id for c in claims)
