"""claimbridge.x12.writer: coordination of benefits loops 2320/2330A/2330B (after 2310) and 2430 (in each 2400).

Every interchange goes through ``writer.write_837p`` so the contract test validates it with pyx12 as well.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from claimbridge.claim import ProfessionalClaim
from claimbridge.x12 import writer
from claimbridge.x12.escaping import X12WriteError
from claimbridge.x12.validate import validate_837p
from tests.unit.x12_builders import (
    CONTROL,
    CREATED,
    adjustment,
    claim,
    demo_tenant,
    line,
    line_adjudication,
    other_payer,
    payer,
    prior_adjudication,
    secondary_claim,
    subscriber,
)

pytestmark = pytest.mark.unit


def _write(claims: list[ProfessionalClaim], **kwargs: Any) -> str:
    arguments: dict[str, Any] = {"tenant": demo_tenant(), "control": CONTROL, "created": CREATED} | kwargs
    return writer.write_837p(claims, **arguments)


def _segments(text: str) -> list[str]:
    return text[:-1].split("~")


def _between(segments: list[str], start: str, end: str) -> list[str]:
    """The segments from the first starting with ``start`` up to (not including) the next starting with ``end``."""
    first = next(i for i, s in enumerate(segments) if s.startswith(start))
    last = next(i for i, s in enumerate(segments[first + 1 :], first + 1) if s.startswith(end))
    return segments[first:last]


def test_write_837p_secondary_claim_writes_2320_2330a_2330b_after_2310b() -> None:
    # Given COMM-A billed as secondary after MCR adjudicated the line
    # When it is written
    segments = _segments(_write([secondary_claim()]))
    # Then 2000B says S, and 2320/2330A/2330B sit between 2310B and the first LX, in IG order
    assert next(s for s in segments if s.startswith("SBR*")) == "SBR*S*18*******CI"
    assert _between(segments, "NM1*82*", "LX*") == [
        "NM1*82*1*RIVERA*JORDAN****XX*1111111112",
        "PRV*PE*PXC*1041C0700X",
        "SBR*P*18*GRP-MCR******MB",
        "AMT*D*80",
        "AMT*EAF*50",
        "OI***Y***Y",
        "NM1*IL*1*TESTPATIENT*ALEX****MI*1EG4TE5MK72",
        "N3*45 ELM ST*APT 2",
        "N4*KANSAS CITY*MO*641081234",
        "NM1*PR*2*MEDICARE PART B*****PI*05302",
    ]


def test_write_837p_2430_follows_the_line_with_svd01_matching_2330b() -> None:
    # Given the secondary claim
    # When it is written
    segments = _segments(_write([secondary_claim()]))
    # Then after REF*6R comes SVD (payer id, paid, HC:code, units), one CAS per group, and DTP*573
    assert _between(segments, "REF*6R*", "SE*")[1:] == [
        "SVD*05302*80*HC:90837**1",
        "CAS*CO*45*50",
        "CAS*PR*1*30**2*20",
        "DTP*573*D8*20260320",
    ]
    assert not any(s.startswith("DTP*573") for s in _between(segments, "SBR*P*", "LX*"))


def test_write_837p_claim_level_adjudication_dates_2330b_and_writes_claim_cas() -> None:
    # Given a prior payer that adjudicated at claim level only
    adjudication = prior_adjudication(
        lines=(),
        claim_adjustments=(
            adjustment("PR", "1", 30),
            adjustment("CO", "45", 50),
            adjustment("PR", "2", 20),
        ),
    )
    subject = secondary_claim(other_payers=(other_payer(adjudication=adjudication),))
    # When it is written
    segments = _segments(_write([subject]))
    # Then claim CAS group by group code (first seen first), DTP*573 closes 2330B and no SVD is written
    loop_2320 = _between(segments, "SBR*P*", "LX*")
    assert loop_2320[1:3] == ["CAS*PR*1*30**2*20", "CAS*CO*45*50"]
    assert loop_2320[-2:] == ["NM1*PR*2*MEDICARE PART B*****PI*05302", "DTP*573*D8*20260320"]
    assert not any(s.startswith("SVD*") for s in segments)


def test_write_837p_splits_a_group_with_more_than_six_reasons() -> None:
    # Given seven CO reasons on a line
    adjustments = tuple(adjustment("CO", str(90 + n), 1) for n in range(7))
    adjudicated = line_adjudication(paid=Decimal(173), adjustments=adjustments)
    subject = secondary_claim(
        other_payers=(other_payer(adjudication=prior_adjudication(paid=Decimal(173), lines=(adjudicated,))),)
    )
    # When it is written
    cas = [s for s in _segments(_write([subject])) if s.startswith("CAS*")]
    # Then six pairs go in the first CAS and the seventh in a second CAS of the same group
    assert cas == ["CAS*CO*90*1**91*1**92*1**93*1**94*1**95*1", "CAS*CO*96*1"]


def test_write_837p_payer_after_the_billed_one_has_no_adjudication_segments() -> None:
    # Given a primary claim with MCD-TX as a later (secondary) coverage
    subject = claim(
        other_payers=(other_payer("MCD-TX", "S", relationship="19", subscriber=subscriber(member_id="M1")),)
    )
    # When it is written
    segments = _segments(_write([subject]))
    # Then 2320 is SBR, OI, 2330A, 2330B only, and no 2430
    assert _between(segments, "SBR*S*", "LX*") == [
        "SBR*S*19*******MC",
        "OI***Y***Y",
        "NM1*IL*1*TESTPATIENT*ALEX****MI*M1",
        "N3*45 ELM ST*APT 2",
        "N4*KANSAS CITY*MO*641081234",
        "NM1*PR*2*STATE MEDICAID VISIT LIMIT*****PI*MCDT1",
    ]
    assert not any(s.startswith(("SVD*", "AMT*", "CAS*")) for s in segments)


def test_write_837p_tertiary_claim_has_a_2320_per_prior_payer_and_a_2430_each() -> None:
    # Given MCD-TX billed as tertiary after MCR (P) and COMM-A (S), two lines both adjudicated by both
    second_line = line(2, claim_id="CLMTER01", procedure_code="90785", charge=Decimal(20))
    by_comm = prior_adjudication(
        paid=Decimal(30),
        patient_liability=None,
        lines=(
            line_adjudication(
                1,
                paid=Decimal(30),
                adjustments=(
                    adjustment("OA", "23", 100),
                    adjustment("CO", "45", 50),
                ),
            ),
            line_adjudication(
                2,
                procedure_code="90785",
                paid=Decimal(0),
                adjustments=(adjustment("CO", "97", 20),),
            ),
        ),
    )
    by_mcr = prior_adjudication(
        paid=Decimal(80),
        lines=(
            line_adjudication(1),
            line_adjudication(
                2,
                procedure_code="90785",
                paid=Decimal(0),
                adjustments=(adjustment("CO", "97", 20),),
            ),
        ),
    )
    subject = claim(
        "CLMTER01",
        payer=payer("MCD-TX"),
        payer_responsibility="T",
        lines=(line(claim_id="CLMTER01"), second_line),
        other_payers=(other_payer("MCR", "P", adjudication=by_mcr), other_payer("COMM-A", "S", adjudication=by_comm)),
    )
    # When it is written
    text = _write([subject])
    segments = _segments(text)
    # Then SBR01 T, P and S; each line has the MCR then the COMM-A SVD, and pyx12 is silent
    assert [s.split("*")[1] for s in segments if s.startswith("SBR*")] == ["T", "P", "S"]
    assert [s for s in segments if s.startswith("SVD*")] == [
        "SVD*05302*80*HC:90837**1",
        "SVD*CMA01*30*HC:90837**1",
        "SVD*05302*0*HC:90785**1",
        "SVD*CMA01*0*HC:90785**1",
    ]
    assert validate_837p(text) == []


@pytest.mark.parametrize(
    ("subject", "location"),
    [
        (claim(payer_responsibility="S"), "2320 AMT*D"),
        (claim(payer_responsibility="S", other_payers=(other_payer(),)), "2320 AMT*D"),
        (
            claim(
                payer_responsibility="T",
                other_payers=(other_payer(adjudication=prior_adjudication()),),
            ),
            "2320 AMT*D",
        ),
        (
            secondary_claim(
                other_payers=(
                    other_payer(adjudication=prior_adjudication()),
                    other_payer("MCD-TX", "P"),
                )
            ),
            "2320 SBR01",
        ),
        (
            secondary_claim(
                other_payers=(
                    other_payer(
                        adjudication=prior_adjudication(
                            claim_adjustments=tuple(
                                adjustment(group, str(n), 1)
                                for group in ("CO", "CR", "OA", "PI", "PR")
                                for n in range(1, 3)
                            )
                            + tuple(adjustment("CO", str(n), 1) for n in range(3, 8)),
                        )
                    ),
                )
            ),
            "2320 CAS",
        ),
    ],
    ids=["no-prior-payer", "prior-not-adjudicated", "tertiary-missing-secondary", "duplicate-sbr01", "six-cas"],
)
def test_write_837p_refuses_an_incomplete_coordination_of_benefits(subject: ProfessionalClaim, location: str) -> None:
    # Given a claim whose prior payers cannot be written faithfully
    # When it is written
    # Then the writer refuses naming the claim and the 837P location
    with pytest.raises(X12WriteError) as caught:
        _write([subject])
    assert caught.value.x12_location == location
    assert caught.value.claim_id == subject.claim_id


def test_write_837p_negative_adjustment_and_zero_paid_keep_their_sign() -> None:
    # Given a line the prior payer reversed: paid 0, CO-45 190 and a CR-45 of -10
    adjudicated = line_adjudication(
        paid=Decimal(0),
        adjustments=(
            adjustment("CO", "45", 190),
            adjustment("CR", "45", -10),
        ),
        adjudication_date=date(2026, 3, 25),
    )
    subject = secondary_claim(
        other_payers=(other_payer(adjudication=prior_adjudication(paid=Decimal(0), lines=(adjudicated,))),)
    )
    # When it is written
    text = _write([subject])
    # Then amounts are X12 R values with the sign kept, and pyx12 is silent
    segments = _segments(text)
    assert "AMT*D*0" in segments and "CAS*CR*45*-10" in segments and "DTP*573*D8*20260325" in segments
    assert validate_837p(text) == []
