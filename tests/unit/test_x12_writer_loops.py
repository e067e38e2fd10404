"""claimbridge.x12.writer: 2310C service facility, 2420D line supervising, REF*9F referral, and data safety.

Every interchange goes through ``writer.write_837p`` so the contract test validates it with pyx12 as well; the safety
tests also validate here, because their point is that hostile text still yields a clean file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from claimbridge.claim import (
    Address,
    BillingProvider,
    Clinician,
    EntityType,
    PersonName,
    ProfessionalClaim,
    ServiceFacility,
)
from claimbridge.tenants import TenantConfig, TenantConfigError, parse_tenant_config
from claimbridge.x12 import segments as seg
from claimbridge.x12 import writer
from claimbridge.x12.escaping import X12WriteError
from claimbridge.x12.validate import validate_837p
from tests.unit.scrubber.support import demo_document, tenant_with
from tests.unit.x12_builders import (
    BILLING_ADDRESS,
    CHEN,
    CONTROL,
    CREATED,
    HOME,
    OKAFOR,
    RIVERA,
    billing_provider,
    claim,
    demo_tenant,
    dependent,
    line,
    other_payer,
    payer,
    prior_adjudication,
    subscriber,
)

pytestmark = pytest.mark.unit

FACILITY_NPI = "1245319599"
EASTSIDE = Address(lines=("900 E 9TH ST", "SUITE 200"), city="KANSAS CITY", state="MO", postal_code="641061234")


def facility(**overrides: Any) -> ServiceFacility:
    """A satellite office of the demo practice, with its own NPI, away from the billing address."""
    values: dict[str, Any] = {"name": "EASTSIDE COUNSELING OFFICE", "npi": FACILITY_NPI, "address": EASTSIDE}
    return ServiceFacility(**(values | overrides))


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


# --- 2310C service facility ------------------------------------------------------------------------------------


def test_write_837p_2310c_sits_between_2310b_and_2310d() -> None:
    # Given a claim rendered at a satellite office, with referring, rendering and supervising providers
    subject = claim(service_facility=facility(), referring=OKAFOR, supervising=CHEN)
    # When it is written
    text = _write([subject])
    # Then 2310C (NM1*77, N3, N4) follows 2310B and precedes 2310D, and pyx12 accepts it
    assert _between(_segments(text), "NM1*DN*", "LX*") == [
        "NM1*DN*1*OKAFOR*TAYLOR****XX*1000000004",
        "NM1*82*1*RIVERA*JORDAN****XX*1111111112",
        "PRV*PE*PXC*1041C0700X",
        f"NM1*77*2*EASTSIDE COUNSELING OFFICE*****XX*{FACILITY_NPI}",
        "N3*900 E 9TH ST*SUITE 200",
        "N4*KANSAS CITY*MO*641061234",
        "NM1*DQ*1*CHEN*MORGAN****XX*1987654328",
    ]
    assert validate_837p(text) == []


def test_write_837p_2310c_without_npi_has_no_nm108() -> None:
    # Given a facility without an NPI of its own
    subject = claim(service_facility=facility(npi=None))
    # When it is written
    segments = _segments(_write([subject]))
    # Then NM1*77 ends at NM103 (NM108/NM109 are sent only together)
    assert "NM1*77*2*EASTSIDE COUNSELING OFFICE" in segments


def test_write_837p_2310c_omitted_when_it_is_the_billing_address() -> None:
    # Given a facility whose address is the billing provider's (the TR3 then forbids 2310C)
    subject = claim(service_facility=facility(address=BILLING_ADDRESS))
    # When it is written
    segments = _segments(_write([subject]))
    # Then no NM1*77 is written
    assert not [s for s in segments if s.startswith("NM1*77*")]


def test_write_837p_2310c_precedes_2320_of_a_secondary_claim() -> None:
    # Given a secondary claim rendered at the satellite office
    subject = claim(
        "CLMCOBFAC",
        payer_responsibility="S",
        other_payers=(other_payer(adjudication=prior_adjudication()),),
        service_facility=facility(),
    )
    # When it is written
    text = _write([subject])
    # Then 2310C comes before the 2320 SBR, and the file is valid
    segments = _segments(text)
    assert segments.index(f"NM1*77*2*EASTSIDE COUNSELING OFFICE*****XX*{FACILITY_NPI}") < segments.index(
        "SBR*P*18*GRP-MCR******MB"
    )
    assert validate_837p(text) == []


# --- 2420D line supervising -----------------------------------------------------------------------------------


def test_write_837p_2420d_when_line_supervisor_differs_from_2310d() -> None:
    # Given a claim supervised by CHEN whose second line was supervised by OKAFOR and rendered by CHEN
    lines = (
        line(1, supervising_override=CHEN),
        line(2, rendering_override=CHEN, supervising_override=OKAFOR),
    )
    subject = claim(supervising=CHEN, lines=lines)
    # When it is written
    text = _write([subject])
    segments = _segments(text)
    # Then line 1 (same as 2310D) has no 2420D; line 2 has 2420A then 2420D after its REF*6R
    assert [s for s in segments if s.startswith("NM1*DQ*")] == [
        "NM1*DQ*1*CHEN*MORGAN****XX*1987654328",
        "NM1*DQ*1*OKAFOR*TAYLOR****XX*1000000004",
    ]
    assert segments[segments.index("LX*2") :][3:7] == [
        "REF*6R*CB7Q2K9D1-2",
        "NM1*82*1*CHEN*MORGAN****XX*1987654328",
        "PRV*PE*PXC*363LP0808X",
        "NM1*DQ*1*OKAFOR*TAYLOR****XX*1000000004",
    ]
    assert validate_837p(text) == []


def test_write_837p_2420d_without_2310d() -> None:
    # Given a claim with no claim-level supervisor and one supervised line
    subject = claim(lines=(line(supervising_override=CHEN),))
    # When it is written
    segments = _segments(_write([subject]))
    # Then the line carries the only NM1*DQ, right after its REF*6R
    dq = segments.index("NM1*DQ*1*CHEN*MORGAN****XX*1987654328")
    assert segments[dq - 1] == "REF*6R*CB7Q2K9D1-1"
    assert [s for s in segments if s.startswith("NM1*DQ*")] == ["NM1*DQ*1*CHEN*MORGAN****XX*1987654328"]


def test_write_837p_2420d_precedes_the_lines_2430() -> None:
    # Given a secondary claim whose line has its own supervisor and a prior payer's line adjudication
    subject = claim(
        "CLMCOBSUP",
        payer_responsibility="S",
        other_payers=(other_payer(adjudication=prior_adjudication()),),
        lines=(line(claim_id="CLMCOBSUP", supervising_override=CHEN),),
    )
    # When it is written
    text = _write([subject])
    # Then 2420D comes before SVD (2430), and pyx12 accepts the order
    segments = _segments(text)
    assert segments.index("NM1*DQ*1*CHEN*MORGAN****XX*1987654328") < next(
        i for i, s in enumerate(segments) if s.startswith("SVD*")
    )
    assert validate_837p(text) == []


# --- REF*9F referral number -----------------------------------------------------------------------------------


def test_write_837p_ref_9f_precedes_g1_and_f8() -> None:
    # Given a replacement claim with a referral number and a prior authorization
    subject = claim(
        referral_number="REF-2026-55",
        prior_authorization="AUTH-1",
        frequency="7",
        payer_claim_control_number="PAYERICN9",
    )
    # When it is written
    text = _write([subject])
    # Then the 2300 REFs follow the TR3 order 9F, G1, F8 right after CLM
    assert _between(_segments(text), "CLM*", "HI*")[1:] == ["REF*9F*REF-2026-55", "REF*G1*AUTH-1", "REF*F8*PAYERICN9"]
    assert validate_837p(text) == []


@pytest.mark.parametrize("number", ["REF*26", "REF~26", "REFÜ1", "R"], ids=["delimiter", "terminator", "non-x12", "ok"])
def test_write_837p_refuses_a_referral_number_it_would_change(number: str) -> None:
    # Given a referral number with a delimiter or a character outside the X12 set (or, as control, a plain one)
    subject = claim(referral_number=number)
    # When it is written
    if number == "R":
        assert "REF*9F*R" in _segments(_write([subject]))
        return
    with pytest.raises(X12WriteError) as caught:
        _write([subject])
    # Then the error names the claim and REF*9F, never the value
    assert caught.value.x12_location == "2300 REF*9F REF02"
    assert caught.value.claim_id == subject.claim_id
    assert number not in str(caught.value)


def test_claim_model_refuses_a_referral_number_beyond_ref02() -> None:
    # Given a referral number of 51 characters (REF02 is 1-50)
    # When a claim is built with it
    # Then the model refuses it (the mapping reports it as IN-CODE before, naming the FHIR element)
    with pytest.raises(ValueError, match="referral_number"):
        claim(referral_number="R" * 51)


# --- safety: delimiters, non-ASCII and TR3 lengths ------------------------------------------------------------

HOSTILE = "O'BRIEN~JR*SMITH:^"
ACCENTED = "Zoë Núñez"


def _everywhere(last: str, first: str, street: str, city: str) -> ProfessionalClaim:
    """One claim carrying the given text in every name and address element the writer emits."""
    person = PersonName(last=last, first=first, middle=first)
    address = Address(lines=(street, street), city=city, state="MO", postal_code="641081234")
    clinician = Clinician(npi=CHEN.npi, name=person, taxonomy=CHEN.taxonomy)
    billing = BillingProvider(
        entity=EntityType.ORGANIZATION,
        npi=billing_provider().npi,
        organization_name=f"{last} {first} LLC",
        tin="123456789",
        address=address,
    )
    payer_named = payer().model_copy(update={"name": f"{last} HEALTH PLAN"})
    return claim(
        "CLMSAFE1",
        billing_provider=billing,
        pay_to_address=address.model_copy(update={"lines": (f"PO BOX 12 {street}",)}),
        payer=payer_named,
        subscriber=subscriber(name=person, address=address, group_number="GRP-1"),
        patient=dependent(name=person, address=address),
        referring=clinician,
        rendering=RIVERA,
        supervising=clinician,
        service_facility=facility(
            name=f"{last} {first} CLINIC", address=address.model_copy(update={"city": "X" + city})
        ),  # another city than 2010AA, so 2310C is written
        payer_responsibility="S",
        other_payers=(
            other_payer(
                adjudication=prior_adjudication(),
                subscriber=subscriber(name=person, address=address, member_id="1EG4TE5MK72", group_number="GRP-MCR"),
                payer=payer("MCR").model_copy(update={"name": f"{first} MEDICARE"}),
            ),
        ),
        lines=(line(claim_id="CLMSAFE1", rendering_override=clinician, supervising_override=OKAFOR),),
    )


def _shape(text: str) -> list[tuple[str, int]]:
    """Segment ids and element counts: what a stray delimiter inside data would change."""
    return [(s.split("*")[0], s.count("*")) for s in _segments(text)]


def test_write_837p_hostile_and_accented_text_never_reaches_the_file_as_delimiters() -> None:
    # Given the same claim with plain text and with delimiters and accents in every name and address
    plain = _write([_everywhere("OBRIEN", "ZOE", "45 ELM ST", "KANSAS CITY")])
    hostile = _write([_everywhere(HOSTILE, ACCENTED, "1*2 Main~St:^", "Sã:o Pa^ulo")])
    # When both are compared segment by segment
    # Then the hostile file has exactly the plain file's structure, no data character outside the X12 set,
    # the cleaned values in place, and pyx12 accepts it
    assert _shape(hostile) == _shape(plain)
    body = hostile[106:]  # after the ISA, whose ISA11/ISA16 declare the separators
    data = body.replace("*", "").replace("~", "").replace(":", "").replace("^", "")
    assert data.isascii() and data == data.upper()
    segments = _segments(hostile)
    assert "NM1*IL*1*O'BRIEN JR SMITH*ZOE NUNEZ*ZOE NUNEZ***MI*W123456789" in segments
    assert "NM1*77*2*O'BRIEN JR SMITH ZOE NUNEZ CLINIC*****XX*1245319599" in segments
    assert "N3*1 2 MAIN ST*1 2 MAIN ST" in segments
    assert "N4*XSA O PA ULO*MO*641081234" in segments
    assert validate_837p(hostile) == []


@pytest.mark.parametrize(
    ("subject", "location", "value"),
    [
        (claim(subscriber=subscriber(member_id="W1^23")), "2010BA NM109", "W1^23"),
        (claim(subscriber=subscriber(group_number="G:1")), "2000B SBR03", "G:1"),
        (claim(prior_authorization="A~1"), "2300 REF*G1 REF02", "A~1"),
        (claim(frequency="7", payer_claim_control_number="ICN*1"), "2300 REF*F8 REF02", "ICN*1"),
        (claim(lines=(line(prior_authorization="L*1"),)), "2400 REF*G1 REF02", "L*1"),
        (claim(service_facility=facility(name="~*:^")), "2310C NM103", "~*:^"),
    ],
    ids=["member-id", "group", "auth", "icn", "line-auth", "facility-name"],
)
def test_write_837p_refuses_values_that_would_carry_a_delimiter(
    subject: ProfessionalClaim, location: str, value: str
) -> None:
    # Given an identifier holding a delimiter (or a required name holding nothing else)
    # When it is written
    with pytest.raises(X12WriteError) as caught:
        _write([subject])
    # Then the writer refuses it, naming the claim and location, instead of emitting a broken segment
    assert caught.value.x12_location == location
    assert caught.value.claim_id == subject.claim_id
    assert value not in str(caught.value)


@pytest.mark.parametrize(
    ("build", "location"),
    [
        (lambda: seg.clm(claim_id="C" * 39, total=Decimal(1), place_of_service="11", frequency="1"), "2300 CLM01"),
        (lambda: seg.ref(loop="2300", qualifier="9F", value="R" * 51), "2300 REF*9F REF02"),
        (lambda: seg.prv(loop="2310B", provider_code="PE", taxonomy="1041C0700"), "2310B PRV03"),
        (lambda: seg.prv(loop="2310B", provider_code="PE", taxonomy="1041C0700XX"), "2310B PRV03"),
        (lambda: seg.nm1(loop="2310C", entity_code="77", person=False, last_or_organization="~*"), "2310C NM103"),
        (lambda: seg.n4(loop="2310C", city="X", state="MO", postal_code="64106"), "2310C N401"),
    ],
    ids=["clm01-39", "ref02-51", "prv03-9", "prv03-11", "nm103-empty", "n401-1"],
)
def test_segments_refuse_values_beyond_tr3_limits(build: Any, location: str) -> None:
    # Given a value an element cannot carry faithfully (an identifier beyond its length, text with nothing left)
    # When the segment is built
    with pytest.raises(X12WriteError) as caught:
        build()
    # Then it is refused with the element's location
    assert caught.value.x12_location == location


def test_segments_cut_facility_text_to_tr3_lengths() -> None:
    # Given a facility name and address lines beyond NM103 (60), N301/N302 (55) and N401 (30)
    # When the 2310C segments are built
    nm1 = seg.nm1(loop="2310C", entity_code="77", person=False, last_or_organization="N" * 61)
    n3 = seg.n3(loop="2310C", lines=("A" * 56, "B" * 56))
    n4 = seg.n4(loop="2310C", city="C" * 31, state="MO", postal_code="641061234")
    # Then text is cut at the limit (the mapping reports these as warnings before they get here)
    assert len(nm1.elements[2]) == 60
    assert n3.elements == ("A" * 55, "B" * 55)
    assert n4.elements[0] == "C" * 30


def test_write_837p_home_address_is_not_confused_with_facility() -> None:
    # Given a dependent living at HOME and a facility elsewhere
    subject = claim(patient=dependent(address=HOME), service_facility=facility())
    # When it is written
    text = _write([subject])
    # Then the facility N3 is the office's, the patient's N3 their home's, and the file is valid
    segments = _segments(text)
    after_77 = segments[segments.index(f"NM1*77*2*EASTSIDE COUNSELING OFFICE*****XX*{FACILITY_NPI}") + 1]
    assert after_77 == "N3*900 E 9TH ST*SUITE 200"
    assert "N3*45 ELM ST*APT 2" in segments
    assert validate_837p(text) == []


def _tenant_with_notes(notes: list[dict[str, str]]) -> TenantConfig:
    return tenant_with(profiles={"COMM-A": {"telehealth": {"modifier": "95"}, "claim_notes": notes}})


NOTES = [{"when": "replacement", "text": "CORRECTED CLAIM - UNITS"}, {"when": "telehealth", "text": "TELEHEALTH VISIT"}]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({}, None, id="no-matching-note"),
        pytest.param(
            {"frequency": "7", "payer_claim_control_number": "ICN778899", "place_of_service": "10"},
            "NTE*ADD*CORRECTED CLAIM - UNITS",
            id="first-match-wins",
        ),
        pytest.param({"place_of_service": "10"}, "NTE*ADD*TELEHEALTH VISIT", id="telehealth-pos"),
    ],
)
def test_writer_nte_carries_the_note_the_payer_profile_asks_for(
    overrides: dict[str, Any], expected: str | None
) -> None:
    # Given COMM-A asking for a note on replacement and telehealth claims
    tenant = _tenant_with_notes(NOTES)
    # When the claim is written
    text = writer.write_837p([claim(**overrides)], tenant=tenant, control=CONTROL, created=CREATED)
    segments = text.split("~")
    # Then the one NTE (if any) sits after the REFs and before HI, and the file is pyx12-clean
    notes = [s for s in segments if s.startswith("NTE*")]
    assert notes == ([expected] if expected else [])
    if expected:
        assert segments.index(expected) + 1 == next(i for i, s in enumerate(segments) if s.startswith("HI*"))
    assert validate_837p(text) == []


@pytest.mark.parametrize("text", ["corrected claim", "A" * 81, "NOTE~WITH*DELIMS", ""])
def test_tenant_refuses_a_claim_note_that_is_not_plain_upper_case_text(text: str) -> None:

    document = demo_document()
    document["payers"][1]["profile"]["claim_notes"] = [{"when": "always", "text": text}]
    with pytest.raises(TenantConfigError, match="claim_notes"):
        parse_tenant_config(document)
