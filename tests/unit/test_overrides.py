"""Biller overrides: the whitelist, applied and validated as a whole, audited by field path."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from claimbridge.overrides import ClaimOverrides, LineOverride, OverrideError, apply_overrides
from tests.unit.x12_builders import claim, demo_tenant, line

pytestmark = pytest.mark.unit

ROSTER_NPI = demo_tenant().providers[1].npi


def test_overrides_apply_claim_and_line_fields_and_name_their_paths() -> None:
    # Given a two-line claim and overrides for the claim and its second line
    original = claim(lines=(line(1), line(2)))
    overrides = ClaimOverrides(
        prior_authorization="AUTH1",
        place_of_service="02",
        rendering_npi=ROSTER_NPI,
        diagnoses=("F411", "F331"),
        lines=(LineOverride(sequence=2, units=Decimal(2), modifiers=("95",), documented_minutes=55),),
    )

    # When they are applied
    updated, paths = apply_overrides(original, overrides, tenant=demo_tenant())

    # Then the fields changed, the rendering provider comes from the roster, the first line is untouched
    assert (updated.prior_authorization, updated.place_of_service, updated.diagnoses) == (
        "AUTH1",
        "02",
        ("F411", "F331"),
    )
    assert updated.rendering is not None and updated.rendering.npi == ROSTER_NPI
    assert updated.lines[0] == original.lines[0]
    assert (updated.lines[1].units, updated.lines[1].modifiers, updated.lines[1].documented_minutes) == (
        Decimal(2),
        ("95",),
        55,
    )
    assert updated.total_charge == original.total_charge
    # and the paths name the fields, never their values
    assert paths == (
        "prior_authorization",
        "place_of_service",
        "diagnoses",
        "rendering_npi",
        "lines[2].modifiers",
        "lines[2].units",
        "lines[2].documented_minutes",
    )


def test_empty_overrides_change_nothing() -> None:
    original = claim()
    assert apply_overrides(original, ClaimOverrides(), tenant=demo_tenant()) == (original, ())


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        (ClaimOverrides(lines=(LineOverride(sequence=3, units=Decimal(1)),)), "lines[3]"),
        (ClaimOverrides(rendering_npi="1234567893"), "rendering_npi"),
        (ClaimOverrides(lines=(LineOverride(sequence=1, diagnosis_pointers=(2,)),)), "lines[1].diagnosis_pointers"),
        (ClaimOverrides(diagnoses=("F411",), lines=()), None),
    ],
)
def test_overrides_that_do_not_fit_the_claim_are_refused_by_path(overrides: ClaimOverrides, where: str | None) -> None:
    # Given a one-line claim with one diagnosis
    original = claim()

    if where is None:
        # a fitting override is applied
        assert apply_overrides(original, overrides, tenant=demo_tenant())[1] == ("diagnoses",)
        return
    # When / Then an override that does not fit names where, and no value
    with pytest.raises(OverrideError) as refused:
        apply_overrides(original, overrides, tenant=demo_tenant())
    assert str(refused.value).startswith(where)
    assert "1234567893" not in str(refused.value)


@pytest.mark.parametrize(
    "document",
    [
        {"subscriber_member_id": "X1"},  # not on the whitelist
        {"lines": [{"sequence": 1, "charge": "10.00"}]},  # charges come from the EHR
        {"place_of_service": "2"},
        {"lines": [{"sequence": 1, "units": "0"}]},
        {"lines": [{"sequence": 1}, {"sequence": 1}]},
    ],
)
def test_overrides_outside_the_whitelist_or_malformed_are_validation_errors(document: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ClaimOverrides.model_validate(document)
