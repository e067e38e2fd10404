"""claimbridge.x12.writer.write_837p: envelope, counts, hierarchy and 2300/2400 content of generated 837Ps.

Every interchange is written through the module attribute ``writer.write_837p`` so the suite-wide capture hands it
to the pyx12 contract test (tests/contract/test_generated_837p.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from claimbridge.claim import Address, BillingProvider, EntityType, PersonName, ProfessionalClaim
from claimbridge.x12 import writer
from claimbridge.x12.escaping import X12WriteError
from claimbridge.x12.validate import validate_837p
from claimbridge.x12.writer import InterchangeControl
from tests.unit.x12_builders import (
    BILLING_ADDRESS,
    CHEN,
    CONTROL,
    CREATED,
    HOME,
    RIVERA,
    claim,
    demo_tenant,
    dependent,
    line,
    representative_claims,
    subscriber,
)

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Seg:
    """A parsed segment of the writer's output (fixed delimiters, no line breaks)."""

    id: str
    elements: tuple[str, ...]

    def __getitem__(self, index: int) -> str:
        """Element ``index`` 1-based as in the IG (``NM103`` -> ``seg[3]``); empty when absent."""
        return self.elements[index - 1] if index <= len(self.elements) else ""


def _write(claims: list[ProfessionalClaim], **kwargs: Any) -> str:
    arguments: dict[str, Any] = {"tenant": demo_tenant(), "control": CONTROL, "created": CREATED} | kwargs
    return writer.write_837p(claims, **arguments)


def _segments(text: str) -> list[Seg]:
    assert text.endswith("~")
    return [Seg(raw.split("*")[0], tuple(raw.split("*")[1:])) for raw in text[:-1].split("~")]


def _ids(segments: list[Seg]) -> list[str]:
    return [s.id for s in segments]


def _first(segments: list[Seg], seg_id: str, *qualifiers: str) -> Seg:
    return next(s for s in segments if s.id == seg_id and s.elements[: len(qualifiers)] == qualifiers)


def _all(segments: list[Seg], seg_id: str, *qualifiers: str) -> list[Seg]:
    return [s for s in segments if s.id == seg_id and s.elements[: len(qualifiers)] == qualifiers]


def test_write_837p_isa_is_fixed_width() -> None:
    # Given one claim and a large interchange number
    control = InterchangeControl(interchange_number=4711, group_number=12, transaction_number=1)
    # When the interchange is written
    text = _write([claim()], control=control, created=datetime(2026, 12, 31, 23, 5))
    # Then the ISA is exactly 106 characters with padded ids and the declared delimiters
    isa = text[: text.index("~") + 1]
    assert len(isa) == 106
    assert isa == (
        "ISA*00*          *00*          *ZZ*DEMOBH01       *ZZ*CBSANDBOX      *261231*2305*^*00501*000004711*0*T*:~"
    )
    assert text[3] == "*"
    assert isa[104] == ":"


def test_write_837p_envelope_control_numbers_and_counts() -> None:
    # Given several representative claims
    control = InterchangeControl(interchange_number=42, group_number=7, transaction_number=31)
    # When they are written
    segments = _segments(_write(representative_claims(), control=control))
    # Then GS/ST/BHT carry the control numbers and every trailer count is right
    gs, st, se = _first(segments, "GS"), _first(segments, "ST"), _first(segments, "SE")
    ge, iea = _first(segments, "GE"), _first(segments, "IEA")
    assert gs.elements == ("HC", "DEMOBH01", "CBSANDBOX", "20260302", "1530", "7", "X", "005010X222A1")
    assert st.elements == ("837", "0031", "005010X222A1")
    assert _first(segments, "BHT").elements == ("0019", "00", "000000042-0031", "20260302", "1530", "CH")
    assert int(se[1]) == _ids(segments).index("SE") - _ids(segments).index("ST") + 1
    assert se[2] == st[2]
    assert ge.elements == ("1", "7")
    assert iea.elements == ("1", "000000042")


def test_write_837p_submitter_and_receiver_from_tenant() -> None:
    # Given the demo tenant
    # When a claim is written
    segments = _segments(_write([claim()]))
    # Then 1000A and 1000B come from the tenant's submitter and clearinghouse receiver
    assert _first(segments, "NM1", "41")[3] == "DEMO BEHAVIORAL HEALTH LLC"
    assert _first(segments, "NM1", "41")[9] == "DEMOBH01"
    assert _first(segments, "PER").elements == (
        "IC",
        "BILLING OFFICE",
        "TE",
        "8165550100",
        "EM",
        "BILLING@DEMO-PRACTICE.EXAMPLE",
    )
    assert _first(segments, "NM1", "40").elements == (
        "40",
        "2",
        "CLAIMBRIDGE SANDBOX",
        "",
        "",
        "",
        "",
        "46",
        "CBSANDBOX",
    )


def test_write_837p_hl_hierarchy_is_consistent() -> None:
    # Given claims with and without a dependent patient
    # When they are written
    hls = _all(_segments(_write(representative_claims())), "HL")
    # Then HL01 counts up from 1, each parent is an earlier HL of the level above, HL04 says whether children follow
    levels = {int(hl[1]): hl[3] for hl in hls}
    assert [int(hl[1]) for hl in hls] == list(range(1, len(hls) + 1))
    expected_parent_level = {"20": None, "22": "20", "23": "22"}
    for hl in hls:
        parent_level = levels[int(hl[2])] if hl[2] else None
        assert parent_level == expected_parent_level[hl[3]]
        has_children = any(other[2] == hl[1] for other in hls)
        assert hl[4] == ("1" if has_children else "0")
    assert [hl[3] for hl in hls] == ["20", "22", "22", "23", "22", "22"]


@pytest.mark.parametrize(("with_patient", "expected_levels"), [(False, ["20", "22"]), (True, ["20", "22", "23"])])
def test_write_837p_2000c_present_only_for_dependent(with_patient: bool, expected_levels: list[str]) -> None:
    # Given a claim whose patient is / is not the subscriber
    subject = claim(patient=dependent()) if with_patient else claim()
    # When it is written
    segments = _segments(_write([subject]))
    # Then 2000C (HL*23, PAT, NM1*QC) exists only for the dependent, and SBR02 is 18 only for the subscriber
    assert [hl[3] for hl in _all(segments, "HL")] == expected_levels
    assert ("PAT" in _ids(segments)) is with_patient
    assert bool(_all(segments, "NM1", "QC")) is with_patient
    assert _first(segments, "SBR")[2] == ("" if with_patient else "18")
    clm_index, hl_indexes = _ids(segments).index("CLM"), [i for i, s in enumerate(segments) if s.id == "HL"]
    assert hl_indexes[-1] < clm_index  # 2300 follows the lowest HL


def test_write_837p_clm_and_amount_format() -> None:
    # Given lines of 200, 140.00 and 15.50 x 2 units
    subject = representative_claims()[1]
    # When it is written
    segments = _segments(_write([subject]))
    # Then CLM02 is the line sum without trailing zeros and CLM05 is POS:B:frequency
    clm = _first(segments, "CLM")
    assert clm.elements == ("CLMDEP01", "355.5", "", "", "11:B:1", "Y", "A", "Y", "Y")
    assert [sv1[2] for sv1 in _all(segments, "SV1")] == ["200", "140", "15.5"]
    assert [sv1[4] for sv1 in _all(segments, "SV1")] == ["1", "1", "2"]


def test_write_837p_sv1_modifiers_pos_and_pointers() -> None:
    # Given lines with modifiers, a different line POS and several diagnosis pointers
    subject = representative_claims()[1]
    # When it is written
    sv1s = _all(_segments(_write([subject])), "SV1")
    # Then SV101 carries the modifiers, SV105 only the differing POS and SV107 the component-separated pointers
    assert [s[1] for s in sv1s] == ["HC:90791", "HC:90834:95:HO", "HC:96127"]
    assert [s[5] for s in sv1s] == ["", "10", ""]
    assert [s[7] for s in sv1s] == ["1:2", "1:3", "2"]


def test_write_837p_sv105_omitted_when_line_pos_equals_claim_pos() -> None:
    # Given a line that states the same POS as the claim
    subject = claim(lines=(line(place_of_service="11"),))
    # When it is written
    sv1 = _first(_segments(_write([subject])), "SV1")
    # Then SV105 stays empty
    assert sv1.elements == ("HC:90837", "180", "UN", "1", "", "", "1")


def test_write_837p_hi_uses_abk_then_abf_without_point() -> None:
    # Given three diagnoses
    subject = claim(diagnoses=("F902", "F411", "Z630"))
    # When it is written
    hi = _first(_segments(_write([subject])), "HI")
    # Then the principal is ABK and the others ABF
    assert hi.elements == ("ABK:F902", "ABF:F411", "ABF:Z630")


def test_write_837p_references_prior_auth_line_auth_and_line_control() -> None:
    # Given a claim with a claim-level and a line-level authorization
    subject = representative_claims()[1]
    # When it is written
    segments = _segments(_write([subject]))
    # Then 2300 has REF*G1 before HI, and each line has REF*6R; line 2 also its own REF*G1 before REF*6R
    ids = _ids(segments)
    claim_auth = segments.index(Seg("REF", ("G1", "AUTH-2026-0001")))
    assert ids.index("CLM") < claim_auth < ids.index("HI")
    assert [r[2] for r in _all(segments, "REF", "6R")] == ["CLMDEP01-1", "CLMDEP01-2", "CLMDEP01-3"]
    line_auth = segments.index(Seg("REF", ("G1", "LINEAUTH7")))
    assert segments[line_auth + 1] == Seg("REF", ("6R", "CLMDEP01-2"))


def test_write_837p_replacement_claim_has_f8_and_frequency() -> None:
    # Given a replacement (frequency 7) with the payer's claim control number
    subject = representative_claims()[2]
    # When it is written
    segments = _segments(_write([subject]))
    # Then CLM05-3 is 7 and REF*F8 carries the payer claim control number
    assert _first(segments, "CLM")[5] == "11:B:7"
    assert _first(segments, "REF", "F8")[2] == "PAYERICN123"
    assert _first(segments, "DTP", "472").elements == ("472", "RD8", "20260302-20260306")


def test_write_837p_providers_2310_and_2420() -> None:
    # Given referring, rendering, supervising and a line rendering override
    segments = _segments(_write(representative_claims()[1:3]))
    # Then they appear as NM1*DN, NM1*82 + PRV*PE, NM1*DQ and a 2420A NM1*82 after the line's REF*6R
    assert _first(segments, "NM1", "DN")[9] == "1000000004"
    rendering = _all(segments, "NM1", "82")
    assert [r[9] for r in rendering] == [RIVERA.npi, CHEN.npi, RIVERA.npi]
    assert _first(segments, "NM1", "DQ")[9] == CHEN.npi
    override = segments.index(Seg("NM1", ("82", "1", "CHEN", "MORGAN", "", "", "", "XX", CHEN.npi)))
    assert segments[override - 1][1] == "6R"
    assert segments[override + 1] == Seg("PRV", ("PE", "PXC", "363LP0808X"))


def test_write_837p_no_2310b_when_rendering_is_the_billing_person() -> None:
    # Given a solo clinician billing under their own NPI and rendering the service
    solo = BillingProvider(
        entity=EntityType.PERSON,
        npi=RIVERA.npi,
        person_name=PersonName(last="RIVERA", first="JORDAN", middle=""),
        tin="987654321",
        tin_type="SY",
        taxonomy="1041C0700X",
        address=BILLING_ADDRESS,
    )
    # When the claim is written
    segments = _segments(_write([claim(billing_provider=solo, rendering=RIVERA)]))
    # Then 2010AA is a person with REF*SY and no 2310B repeats them
    assert _first(segments, "NM1", "85").elements[1:3] == ("1", "RIVERA")
    assert _first(segments, "REF", "SY")[2] == "987654321"
    assert _first(segments, "PRV", "BI")[3] == "1041C0700X"
    assert _all(segments, "NM1", "82") == []


@pytest.mark.parametrize(
    ("pay_to", "expected"),
    [
        (None, False),
        (BILLING_ADDRESS, False),
        (Address(lines=("PO BOX 7788",), city="KANSAS CITY", state="MO", postal_code="64141"), True),
    ],
)
def test_write_837p_pay_to_only_when_different(pay_to: Address | None, expected: bool) -> None:
    # Given a claim with no, the same, or a different pay-to address
    # When it is written
    segments = _segments(_write([claim(pay_to_address=pay_to)]))
    # Then 2010AB NM1*87 with its address appears only for a different address
    assert bool(_all(segments, "NM1", "87")) is expected
    if expected:
        nm1 = _ids(segments).index("NM1", _ids(segments).index("REF"))
        assert segments[nm1 + 1] == Seg("N3", ("PO BOX 7788",))


def test_write_837p_one_2000a_per_billing_provider() -> None:
    # Given claims of two billing providers, interleaved
    other = BillingProvider(
        entity=EntityType.ORGANIZATION,
        npi="1000000004",
        organization_name="SECOND CLINIC",
        tin="111222333",
        address=BILLING_ADDRESS,
    )
    claims = [claim("CLMA1"), claim("CLMB1", billing_provider=other), claim("CLMA2")]
    # When they are written
    segments = _segments(_write(claims))
    # Then each provider gets one 2000A and its claims are grouped under it
    assert [hl[3] for hl in _all(segments, "HL")] == ["20", "22", "22", "20", "22"]
    assert [c[1] for c in _all(segments, "CLM")] == ["CLMA1", "CLMA2", "CLMB1"]
    assert _all(segments, "PRV", "BI") == [Seg("PRV", ("BI", "PXC", "193400000X"))]  # only the tenant's NPI


def test_write_837p_splits_transaction_sets_at_limit() -> None:
    # Given five claims and a limit of two claims per transaction set
    claims = [claim(f"CLMSPLIT{n}", patient=dependent() if n % 2 else None) for n in range(5)]
    control = InterchangeControl(interchange_number=9, group_number=3, transaction_number=998)
    # When they are written
    text = _write(claims, control=control, max_claims_per_transaction=2)
    segments = _segments(text)
    # Then three ST-SE sets follow each other with increasing ST02, each counted and HL-numbered on its own
    sts = [i for i, s in enumerate(segments) if s.id == "ST"]
    ses = [i for i, s in enumerate(segments) if s.id == "SE"]
    assert [segments[i][2] for i in sts] == ["0998", "0999", "1000"]
    assert [segments[i][2] for i in ses] == ["0998", "0999", "1000"]
    for start, end in zip(sts, ses, strict=True):
        assert int(segments[end][1]) == end - start + 1
        transaction = segments[start : end + 1]
        assert _all(transaction, "HL")[0].elements == ("1", "", "20", "1")
        assert len(_all(transaction, "CLM")) <= 2
    assert [len(_all(segments[s : e + 1], "CLM")) for s, e in zip(sts, ses, strict=True)] == [2, 2, 1]
    assert _first(segments, "GE").elements == ("3", "3")
    assert validate_837p(text) == []


def test_write_837p_default_limit_is_5000() -> None:
    # Then the TR3 recommendation is the default
    assert writer.MAX_CLAIMS_PER_TRANSACTION == 5000


def test_write_837p_data_cannot_break_delimiters() -> None:
    # Given names and addresses full of delimiters and non-ASCII letters
    nasty = subscriber(
        name=PersonName(last="O'BRIEN~JR*SMITH:^", first="Zoë", middle="Müller-Ñúñez"),
        address=Address(lines=("1*2 Main~St",), city="São Paulo:^", state="MO", postal_code="64108"),
    )
    # When the claim is written
    text = _write([claim(subscriber=nasty)])
    segments = _segments(text)
    # Then the structure is intact, the values are clean and pyx12 accepts it
    assert _first(segments, "NM1", "IL").elements == (
        "IL", "1", "O'BRIEN JR SMITH", "ZOE", "MULLER-NUNEZ", "", "", "MI", "W123456789"
    )  # fmt: skip
    assert Seg("N3", ("1 2 MAIN ST",)) in segments
    assert Seg("N4", ("SAO PAULO", "MO", "64108")) in segments
    assert validate_837p(text) == []


def test_write_837p_truncates_long_names_and_addresses() -> None:
    # Given a payer name, patient names and street beyond the TR3 lengths
    long_name = claim().payer.model_copy(update={"name": "VERY LONG PAYER NAME " * 5})
    person = PersonName(last="L" * 70, first="F" * 40, middle="M" * 30)
    long_street = Address(lines=("S" * 60,), city="C" * 35, state="MO", postal_code="64108")
    subject = claim(payer=long_name, patient=dependent(name=person, address=long_street))
    # When it is written
    text = _write([subject])
    segments = _segments(text)
    # Then NM103/NM104/NM105, N301 and N401 are cut to 60/35/25, 55 and 30 characters
    assert len(_first(segments, "NM1", "PR")[3]) == 60
    patient = _first(segments, "NM1", "QC")
    assert (len(patient[3]), len(patient[4]), len(patient[5])) == (60, 35, 25)
    assert Seg("N3", ("S" * 55,)) in segments
    assert Seg("N4", ("C" * 30, "MO", "64108")) in segments
    assert validate_837p(text) == []


def test_write_837p_drops_address_line_that_cleans_to_nothing() -> None:
    # Given a second address line holding only delimiters
    home = Address(lines=("45 ELM ST", "~*"), city="KANSAS CITY", state="MO", postal_code="64108")
    # When the claim is written
    segments = _segments(_write([claim(subscriber=subscriber(address=home))]))
    # Then N3 carries the first line only
    assert Seg("N3", ("45 ELM ST",)) in segments


@pytest.mark.parametrize(
    ("subject", "location"),
    [
        (claim(subscriber=subscriber(member_id="W12*3456")), "2010BA NM109"),
        (claim(prior_authorization="AUTH~99"), "2300 REF*G1 REF02"),
        (claim(frequency="8"), "2300 REF*F8"),
        (claim(patient=dependent(address=None)), "2010CA N3"),
        (claim(patient=dependent(birth_date=None)), "2010CA DMG02"),
        (claim(subscriber=subscriber(birth_date=None)), "2010BA DMG02"),
        (claim(subscriber=subscriber(address=None)), "2010BA N3"),
        (claim(diagnoses=("F411",), lines=(line(diagnosis_pointers=(1, 2)),)), "2400 LX1 SV107"),
        (claim(subscriber=subscriber(name=PersonName(last="~*:^", first="", middle=""))), "2010BA NM103"),
        (claim(subscriber=subscriber(address=HOME.model_copy(update={"lines": ("~",)}))), "2010BA N301"),
    ],
    ids=[
        "member-id",
        "auth",
        "void-no-f8",
        "patient-address",
        "patient-dob",
        "sub-dob",
        "sub-address",
        "ptr",
        "name",
        "street",
    ],
)
def test_write_837p_refuses_unwritable_claim(subject: ProfessionalClaim, location: str) -> None:
    # Given a claim a valid 837P cannot carry faithfully
    # When it is written
    with pytest.raises(X12WriteError) as caught:
        _write([subject])
    # Then the error names the claim and X12 location, without the offending value
    assert caught.value.x12_location == location
    assert caught.value.claim_id == subject.claim_id
    assert "W12*3456" not in str(caught.value)
    assert "AUTH~99" not in str(caught.value)


def test_write_837p_refuses_empty_batch_and_foreign_claim() -> None:
    # Given no claims, then a claim of another tenant
    foreign = claim(tenant_id="other-practice")
    # When they are written
    # Then both are refused
    with pytest.raises(X12WriteError):
        _write([])
    with pytest.raises(X12WriteError) as caught:
        _write([foreign])
    assert caught.value.claim_id == foreign.claim_id


def test_write_837p_refuses_control_number_overflow() -> None:
    # Given a first ST02 at the top of the range and two transaction sets to write
    control = InterchangeControl(interchange_number=1, group_number=1, transaction_number=999_999_999)
    # When they are written
    # Then the writer refuses rather than wrapping
    with pytest.raises(X12WriteError) as caught:
        _write([claim("CLMA"), claim("CLMB")], control=control, max_claims_per_transaction=1)
    assert caught.value.x12_location == "ST02"


def test_write_837p_representative_claims_validate_clean() -> None:
    # Given the representative claim shapes
    # When they are written in one interchange
    text = _write(representative_claims())
    # Then pyx12 finds nothing to report
    assert validate_837p(text) == []


def test_write_837p_units_and_charges_keep_needed_decimals() -> None:
    # Given a line with 0.25 units and a charge of 1234.10
    subject = claim(lines=(line(units=Decimal("0.250"), charge=Decimal("1234.10")),))
    # When it is written
    sv1 = _first(_segments(_write([subject])), "SV1")
    # Then trailing zeros are dropped, needed decimals kept
    assert (sv1[2], sv1[4]) == ("1234.1", "0.25")
