"""Corrected (7) and void (8) claims from the state store: REF*F8 from the recorded payer number, pyx12-clean."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from claimbridge.claim import ClaimFrequency, ProfessionalClaim
from claimbridge.corrections import CorrectionError, correction_for
from claimbridge.state import ClaimState, StoredClaim
from claimbridge.x12 import writer
from claimbridge.x12.validate import validate_837p
from tests.unit.x12_builders import CONTROL, CREATED, claim, demo_tenant, line

pytestmark = pytest.mark.unit

NOW = datetime(2026, 4, 1, tzinfo=UTC)


def stored(state: ClaimState = ClaimState.DENIED, **overrides: Any) -> StoredClaim:
    original = claim("CBCORR0001", lines=(line(claim_id="CBCORR0001"), line(2, claim_id="CBCORR0001")))
    values: dict[str, Any] = {
        "tenant_id": original.tenant_id,
        "claim_id": original.claim_id,
        "state": state,
        "revision": 4,
        "source_key": "Claim/clm-corr",
        "source_version": "1",
        "claim": original,
        "payer_claim_control_number": "ICN2026000123",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return StoredClaim(**(values | overrides))


def _written(built: ProfessionalClaim) -> list[str]:
    text = writer.write_837p([built], tenant=demo_tenant(), control=CONTROL, created=CREATED)
    assert validate_837p(text) == []
    return text.split("~")


def test_replacement_repeats_every_line_with_the_recorded_payer_number() -> None:
    # Given a denied claim whose payer number was recorded, and its corrected content (units fixed on line 2)
    current = stored()
    assert current.claim is not None
    fixed_lines = (current.claim.lines[0], current.claim.lines[1].model_copy(update={"charge": Decimal("90.00")}))
    corrected = current.claim.model_copy(update={"lines": fixed_lines})
    # When the replacement is built and written
    built = correction_for(current, ClaimFrequency.REPLACEMENT, corrected=corrected)
    segments = _written(built)
    # Then CLM01 is unchanged, CLM05-3 is 7, REF*F8 carries the payer number and both lines go out
    assert built.claim_id == "CBCORR0001"
    assert next(s for s in segments if s.startswith("CLM*")) == "CLM*CBCORR0001*270***11:B:7*Y*A*Y*Y"
    assert "REF*F8*ICN2026000123" in segments
    assert sum(s.startswith("LX*") for s in segments) == 2


def test_void_repeats_the_stored_claim_whatever_content_is_offered() -> None:
    current = stored(ClaimState.PAID)
    other = claim("CBCORR0001", lines=(line(claim_id="CBCORR0001", charge=Decimal(1)),))
    built = correction_for(current, ClaimFrequency.VOID, corrected=other)
    assert built.frequency == ClaimFrequency.VOID and built.lines == current.claim.lines  # type: ignore[union-attr]
    assert "REF*F8*ICN2026000123" in _written(built)


def test_a_number_read_off_the_eob_overrides_a_missing_recorded_one() -> None:
    built = correction_for(
        stored(payer_claim_control_number=None), ClaimFrequency.REPLACEMENT, payer_claim_control_number="EOB55"
    )
    assert built.payer_claim_control_number == "EOB55"


@pytest.mark.parametrize(
    ("current", "frequency", "rule_id"),
    [
        pytest.param(stored(payer_claim_control_number=None), ClaimFrequency.REPLACEMENT, "BH-CLM-01", id="no-number"),
        pytest.param(stored(), ClaimFrequency.ORIGINAL, "BH-CLM-01", id="frequency-1"),
        pytest.param(stored(ClaimState.READY), ClaimFrequency.VOID, "CB-LIFECYCLE", id="never-answered"),
        pytest.param(stored(ClaimState.SUBMITTED), ClaimFrequency.REPLACEMENT, "CB-LIFECYCLE", id="in-flight"),
        pytest.param(stored(claim=None), ClaimFrequency.VOID, "CB-LIFECYCLE", id="no-content"),
    ],
)
def test_corrections_that_cannot_be_built_say_why(
    current: StoredClaim, frequency: ClaimFrequency, rule_id: str
) -> None:
    with pytest.raises(CorrectionError) as raised:
        correction_for(current, frequency)
    assert raised.value.rule_id == rule_id


def test_corrected_content_of_another_claim_is_refused() -> None:
    with pytest.raises(CorrectionError, match="another claim"):
        correction_for(stored(), ClaimFrequency.REPLACEMENT, corrected=claim("CBOTHER001"))
