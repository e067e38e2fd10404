"""Regressions in the 837P writer that tests/unit/test_x12_writer_properties.py found, one test each.

Every interchange is written through ``writer.write_837p`` so the contract test validates it with pyx12 as well.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from claimbridge.x12 import writer
from claimbridge.x12.segments import x12_decimal
from claimbridge.x12.validate import validate_837p
from tests.unit import x12_builders as build
from tests.unit.x12_builders import CONTROL, CREATED, demo_tenant

pytestmark = pytest.mark.unit

NEGATIVE_ZERO = Decimal("-0.00")
"""Passes every ``Money`` field's ``ge=0`` (-0 >= 0), and FHIR may send ``"value": -0.0``."""


@pytest.mark.parametrize(
    ("amount", "written"),
    [("-0.00", "0"), ("0.00", "0"), ("180.00", "180"), ("12.50", "12.5"), ("-12.50", "-12.5"), ("1E+2", "100")],
)
def test_x12_decimal_writes_plain_numbers_and_unsigned_zero(amount: str, written: str) -> None:
    # Given an amount as a Decimal (a negative zero passes the models' ge=0)
    # When it is formatted as an X12 R element
    # Then it has no exponent, no trailing zeros and a zero never carries a sign
    assert x12_decimal(Decimal(amount)) == written


def test_write_837p_negative_zero_amounts_are_written_as_zero() -> None:
    # Given a -0.00 line billed secondary after a payer that paid it -0.00 with a -0.00 CAS (line level), and a
    # claim whose prior payer paid -0.00 (claim level): all valid, all balanced
    zero_line = build.line(2, claim_id="CLMZERO1", procedure_code="90785", charge=NEGATIVE_ZERO)
    by_line = build.prior_adjudication(
        lines=(
            build.line_adjudication(),
            build.line_adjudication(
                2, procedure_code="90785", paid=NEGATIVE_ZERO, adjustments=(build.adjustment("OA", "23", "-0.00"),)
            ),
        )
    )
    by_claim = build.prior_adjudication(
        paid=NEGATIVE_ZERO, lines=(), claim_adjustments=(build.adjustment("CO", "45", 180),)
    )
    claims = [
        build.secondary_claim(
            "CLMZERO1",
            lines=(build.line(claim_id="CLMZERO1"), zero_line),
            other_payers=(build.other_payer(adjudication=by_line),),
        ),
        build.secondary_claim("CLMZERO2", other_payers=(build.other_payer(adjudication=by_claim),)),
    ]
    # When they are written
    text = writer.write_837p(claims, tenant=demo_tenant(), control=CONTROL, created=CREATED)
    written = text.split("~")
    # Then every zero is 0, never -0 (a minus sign on a charge or a paid amount); the zero CAS is left out
    assert "SV1*HC:90785*0*UN*1***1" in written
    assert "SVD*05302*0*HC:90785**1" in written
    assert not any(segment.startswith("CAS*OA*23") for segment in written)  # a zero adjustment is not written
    assert "AMT*D*0" in written
    assert not any(element == "-0" for segment in written for element in segment.split("*"))
    assert validate_837p(text) == []


def test_write_837p_zero_adjustments_are_not_written_but_the_others_are() -> None:
    # Given a prior payer's line adjudication with a zero PR-1 next to a real CO-45
    adjudication = build.prior_adjudication(
        lines=(
            build.line_adjudication(
                adjustments=(build.adjustment("PR", "1", 0), build.adjustment("CO", "45", 40)),
                paid=Decimal("140.00"),
            ),
        )
    )
    claim = build.secondary_claim("CLMZERO3", other_payers=(build.other_payer(adjudication=adjudication),))
    # When it is written
    written = writer.write_837p([claim], tenant=demo_tenant(), control=CONTROL, created=CREATED).split("~")
    # Then only the CO-45 CAS is there
    cas = [segment for segment in written if segment.startswith("CAS*")]
    assert cas == ["CAS*CO*45*40"]
