"""Synthetic ProfessionalClaim builders for the 837P writer tests (demo tenant, fake people, valid NPIs)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from claimbridge.claim import (
    Address,
    Adjustment,
    AdjustmentGroup,
    BillingProvider,
    Clinician,
    EntityType,
    Gender,
    OtherPayer,
    Patient,
    Payer,
    PayerResponsibility,
    PersonName,
    PriorAdjudication,
    PriorLineAdjudication,
    ProfessionalClaim,
    ServiceLine,
    SourceRef,
    Subscriber,
)
from claimbridge.tenants import DEMO_TENANT_FILE, TenantConfig, load_tenant_config
from claimbridge.x12.writer import InterchangeControl

CREATED = datetime(2026, 3, 2, 15, 30)
CONTROL = InterchangeControl(interchange_number=1, group_number=1, transaction_number=1)

BILLING_ADDRESS = Address(lines=("123 MAIN ST",), city="KANSAS CITY", state="MO", postal_code="641081234")
HOME = Address(lines=("45 ELM ST", "APT 2"), city="KANSAS CITY", state="MO", postal_code="641081234")
RIVERA = Clinician(npi="1111111112", name=PersonName(last="RIVERA", first="JORDAN", middle=""), taxonomy="1041C0700X")
CHEN = Clinician(npi="1987654328", name=PersonName(last="CHEN", first="MORGAN", middle=""), taxonomy="363LP0808X")
OKAFOR = Clinician(npi="1000000004", name=PersonName(last="OKAFOR", first="TAYLOR", middle=""), taxonomy="103TC0700X")


@cache
def demo_tenant() -> TenantConfig:
    """The demo-practice tenant shipped with the package."""
    return load_tenant_config(DEMO_TENANT_FILE)


def billing_provider() -> BillingProvider:
    """The demo tenant's group practice as 2010AA (taxonomy left to the tenant configuration)."""
    provider = demo_tenant().billing_provider
    return BillingProvider(
        entity=EntityType.ORGANIZATION,
        npi=provider.npi,
        organization_name=provider.name,
        tin=provider.tin,
        address=BILLING_ADDRESS,
    )


def payer(key: str = "COMM-A") -> Payer:
    """A demo tenant payer as the claim carries it."""
    configured = demo_tenant().payer(key)
    return Payer(
        key=configured.key,
        payer_id=configured.payer_id,
        name=configured.name,
        claim_filing_indicator=configured.claim_filing_indicator,
    )


def subscriber(**overrides: Any) -> Subscriber:
    """The insured: a fake adult with a member id, address and birth date."""
    values: dict[str, Any] = {
        "name": PersonName(last="TESTPATIENT", first="ALEX", middle=""),
        "member_id": "W123456789",
        "birth_date": date(1990, 4, 2),
        "gender": Gender.FEMALE,
        "address": HOME,
    }
    return Subscriber(**(values | overrides))


def dependent(**overrides: Any) -> Patient:
    """A fake child of the subscriber (PAT01 19)."""
    values: dict[str, Any] = {
        "name": PersonName(last="TESTPATIENT", first="SAM", middle=""),
        "relationship": "19",
        "birth_date": date(2012, 9, 14),
        "gender": Gender.MALE,
        "address": HOME,
    }
    return Patient(**(values | overrides))


def line(sequence: int = 1, *, claim_id: str = "CB7Q2K9D1", **overrides: Any) -> ServiceLine:
    """A 90837 psychotherapy line on 2026-03-02, pointing at the first diagnosis."""
    values: dict[str, Any] = {
        "sequence": sequence,
        "procedure_code": "90837",
        "charge": Decimal("180.00"),
        "diagnosis_pointers": (1,),
        "service_date": date(2026, 3, 2),
        "line_control_number": f"{claim_id}-{sequence}",
    }
    return ServiceLine(**(values | overrides))


def claim(claim_id: str = "CB7Q2K9D1", **overrides: Any) -> ProfessionalClaim:
    """A clean one-line claim from the demo tenant to COMM-A, rendered by RIVERA (override any field)."""
    values: dict[str, Any] = {
        "claim_id": claim_id,
        "tenant_id": demo_tenant().tenant_id,
        "source": SourceRef(resource_type="Claim", resource_id=f"clm-{claim_id.lower()}", version="1"),
        "payer": payer(),
        "billing_provider": billing_provider(),
        "subscriber": subscriber(),
        "place_of_service": "11",
        "diagnoses": ("F411",),
        "rendering": RIVERA,
        "lines": (line(claim_id=claim_id),),
    }
    return ProfessionalClaim(**(values | overrides))


def representative_claims() -> list[ProfessionalClaim]:
    """A spread of 837P shapes: dependent patient, several lines, authorizations, modifiers, telehealth POS,
    replacement claim, supervising/referring providers, line rendering override and a date range."""
    return [
        claim("CLMSELF1"),
        claim(
            "CLMDEP01",
            patient=dependent(),
            subscriber=subscriber(group_number="GRP-0042"),
            diagnoses=("F902", "F411", "Z630"),
            prior_authorization="AUTH-2026-0001",
            lines=(
                line(1, claim_id="CLMDEP01", procedure_code="90791", charge=Decimal("200"), diagnosis_pointers=(1, 2)),
                line(
                    2,
                    claim_id="CLMDEP01",
                    procedure_code="90834",
                    modifiers=("95", "HO"),
                    charge=Decimal("140.00"),
                    place_of_service="10",
                    diagnosis_pointers=(1, 3),
                    prior_authorization="LINEAUTH7",
                ),
                line(
                    3,
                    claim_id="CLMDEP01",
                    procedure_code="96127",
                    charge=Decimal("15.50"),
                    units=Decimal("2"),
                    diagnosis_pointers=(2,),
                    rendering_override=CHEN,
                ),
            ),
        ),
        claim(
            "CLMREPL7",
            payer=payer("MCD-TX"),
            frequency="7",
            payer_claim_control_number="PAYERICN123",
            referring=OKAFOR,
            supervising=CHEN,
            lines=(
                line(
                    1,
                    claim_id="CLMREPL7",
                    procedure_code="H2019",
                    modifiers=("HO", "U7", "GT", "HQ"),
                    charge=Decimal("42.75"),
                    units=Decimal("4.5"),
                    service_date=date(2026, 3, 2),
                    service_date_end=date(2026, 3, 6),
                ),
            ),
        ),
        claim("CLMMCR01", payer=payer("MCR"), place_of_service="02", rendering=OKAFOR),
    ]


ADJUDICATED = date(2026, 3, 20)


def adjustment(group: str, reason: str, amount: int | str) -> Adjustment:
    """One CAS pair: ``adjustment("CO", "45", 50)``."""
    return Adjustment(group=AdjustmentGroup(group), reason=reason, amount=Decimal(amount))


def line_adjudication(sequence: int = 1, **overrides: Any) -> PriorLineAdjudication:
    """A prior payer's 2430 for a 90837 line of $180: paid 80, CO-45 50, PR-1 30, PR-2 20 (balances)."""
    values: dict[str, Any] = {
        "line_sequence": sequence,
        "procedure_code": "90837",
        "paid": Decimal(80),
        "paid_units": Decimal(1),
        "adjustments": (
            adjustment("CO", "45", 50),
            adjustment("PR", "1", 30),
            adjustment("PR", "2", 20),
        ),
        "adjudication_date": ADJUDICATED,
    }
    return PriorLineAdjudication(**(values | overrides))


def prior_adjudication(**overrides: Any) -> PriorAdjudication:
    """The prior payer's 2320 amounts for ``line_adjudication``: AMT*D 80, AMT*EAF 50."""
    values: dict[str, Any] = {
        "paid": Decimal(80),
        "adjudication_date": ADJUDICATED,
        "patient_liability": Decimal(50),
        "lines": (line_adjudication(),),
    }
    return PriorAdjudication(**(values | overrides))


def other_payer(
    key: str = "MCR", responsibility: str = "P", *, adjudication: PriorAdjudication | None = None, **overrides: Any
) -> OtherPayer:
    """A demo tenant payer as a 2320 other payer (the patient is its subscriber, SBR02 18)."""
    values: dict[str, Any] = {
        "responsibility": PayerResponsibility(responsibility),
        "payer": payer(key),
        "subscriber": subscriber(member_id="1EG4TE5MK72", group_number="GRP-MCR", address=HOME),
        "relationship": "18",
        "adjudication": adjudication,
    }
    return OtherPayer(**(values | overrides))


def secondary_claim(claim_id: str = "CLMCOB01", **overrides: Any) -> ProfessionalClaim:
    """COMM-A billed as secondary after MCR adjudicated the 90837 line."""
    values: dict[str, Any] = {
        "payer_responsibility": PayerResponsibility.SECONDARY,
        "other_payers": (other_payer(adjudication=prior_adjudication()),),
    }
    return claim(claim_id, **(values | overrides))
