"""EOB lines are matched to our service lines by REF*6R, else code + date (a payer that drops REF*6R or changes the
modifiers), else position."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from claimbridge.remit import ClaimPayment, ProcedureCode, ServicePayment
from claimbridge.state import ClaimState, StoredClaim
from claimbridge.writeback.adjudication import line_sequences
from tests.unit.x12_builders import claim, line

pytestmark = pytest.mark.unit

NOW = datetime(2026, 4, 1, tzinfo=UTC)
DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 9)


def stored() -> StoredClaim:
    """Three lines: 90837 on day 1 (CB1-1), 90785 on day 1 (CB1-2), 90837 on day 2 (CB1-3)."""
    lines = (
        line(1, claim_id="CB1", service_date=DAY1),
        line(2, claim_id="CB1", procedure_code="90785", charge=Decimal(20), service_date=DAY1),
        line(3, claim_id="CB1", service_date=DAY2),
    )
    built = claim("CB1", lines=lines)
    return StoredClaim(
        tenant_id=built.tenant_id,
        claim_id="CB1",
        state=ClaimState.PAID,
        revision=5,
        source_key="Claim/clm-cb1",
        source_version="1",
        claim=built,
        created_at=NOW,
        updated_at=NOW,
    )


def svc(code: str, day: date | None, control: str | None, position: int) -> ServicePayment:
    return ServicePayment(
        procedure=ProcedureCode(qualifier="HC", code=code, modifiers=("GT",)),
        charge=Decimal(10),
        paid=Decimal(5),
        service_date=day,
        line_control_number=control,
        position=position,
    )


def payment(*lines: ServicePayment) -> ClaimPayment:
    return ClaimPayment(
        patient_control_number="CB1", status_code="1", charge=Decimal(30), paid=Decimal(15), lines=lines, position=1
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param((svc("90837", DAY2, "CB1-3", 5), svc("90837", DAY1, "CB1-1", 9)), [3, 1], id="by-ref-6r"),
        pytest.param((svc("90837", DAY2, None, 5), svc("90785", DAY1, None, 9)), [3, 2], id="by-code-and-date"),
        pytest.param((svc("90837", None, None, 5), svc("90837", None, None, 9)), [1, 3], id="by-code-once-each"),
        pytest.param((svc("99999", None, None, 5),), [1], id="by-position"),
    ],
)
def test_eob_lines_match_our_service_lines(lines: tuple[ServicePayment, ...], expected: list[int]) -> None:
    claim = stored().claim
    assert claim is not None
    assert line_sequences(claim.lines, payment(*lines)) == expected
