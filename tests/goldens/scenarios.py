"""The 837P golden scenarios: fixed claims, control numbers and creation time, one interchange each.

Where an example bundle of ``events/bundles`` shows the scenario, its claim is taken in through
``claimbridge.intake.intake_bundle`` with the demo tenant (corrected and void claims are that bundle's Claim with a
``related`` prior claim; the pay-to scenario is the demo tenant with a pay-to address configured), so a golden shows
what real input produces. The others are built with ``tests.unit.x12_builders``.

``render`` writes through the module attribute ``writer.write_837p``, so under pytest the contract test validates
the output as well; the goldens hold it one segment per line.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from claimbridge.claim import PersonName, ProfessionalClaim
from claimbridge.intake import intake_bundle
from claimbridge.mapping.codes import RELATED_CLAIM_SYSTEMS
from claimbridge.tenants import TenantConfig
from claimbridge.tenants.models import PayTo, TenantAddress
from claimbridge.x12 import writer
from claimbridge.x12.writer import InterchangeControl
from tests.unit.x12_builders import CHEN, OKAFOR, RIVERA, claim, demo_tenant, dependent, line, payer, subscriber

GOLDEN_DIR = Path(__file__).resolve().parent / "837p"
BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
CREATED = datetime(2026, 3, 9, 10, 30)
"""ISA09/ISA10, GS04/GS05, BHT04/BHT05 of every golden."""
RELATED_PRIOR = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
PAYER_CLAIM_CONTROL_NUMBER = "2026031200417"
"""CLP07 of the (invented) 835 that paid the telehealth claim: REF*F8 of its replacement and void."""

Json = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """One golden: its file name, what it shows, and how its claims and tenant are made."""

    name: str
    shows: str
    claims: Callable[[TenantConfig], list[ProfessionalClaim]]
    tenant: Callable[[], TenantConfig] = demo_tenant

    @property
    def path(self) -> Path:
        return GOLDEN_DIR / f"{self.name}.x12"


def _bundle(name: str) -> Json:
    loaded: Json = json.loads((BUNDLES / name).read_bytes())
    return loaded


def _take_in(bundle: Json, *, file_name: str, tenant: TenantConfig) -> list[ProfessionalClaim]:
    """The bundle's claims as intake maps them; a scenario must map cleanly, or its golden would show a held claim."""
    result = intake_bundle(json.dumps(bundle).encode(), file_name=file_name, tenant=tenant)
    problems = [finding.rule_id for rejected in result.rejected for finding in rejected.findings]
    problems += [finding.rule_id for mapped in result.claims for finding in mapped.findings]
    if problems or not result.claims:
        raise AssertionError(f"{file_name}: intake did not map a clean claim ({problems})")
    return [mapped.claim for mapped in result.claims]


def _from_bundle(name: str) -> Callable[[TenantConfig], list[ProfessionalClaim]]:
    return lambda tenant: _take_in(_bundle(name), file_name=name, tenant=tenant)


def _corrected(status: str) -> Callable[[TenantConfig], list[ProfessionalClaim]]:
    """The telehealth example's Claim as version 2 naming the paid claim as prior: 7 when active, 8 when cancelled."""
    assert RELATED_PRIOR in RELATED_CLAIM_SYSTEMS

    def claims(tenant: TenantConfig) -> list[ProfessionalClaim]:
        bundle = copy.deepcopy(_bundle("telehealth-90837-home.json"))
        anchor = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
        anchor["meta"] = {"versionId": "2"}
        anchor["status"] = status
        anchor["related"] = [
            {
                "claim": {"reference": "Claim/clm-1"},
                "relationship": {"coding": [{"system": RELATED_PRIOR, "code": "prior"}]},
                "reference": {"value": PAYER_CLAIM_CONTROL_NUMBER},
            }
        ]
        return _take_in(bundle, file_name=f"telehealth-90837-home-{status}.json", tenant=tenant)

    return claims


def _tenant_with_pay_to() -> TenantConfig:
    """The demo tenant receiving payments at a PO box (never in 2010AA: it becomes 2010AB)."""
    lockbox = TenantAddress(street="PO BOX 4410", city="KANSAS CITY", state="MO", zip="641414410")
    return demo_tenant().model_copy(update={"pay_to": PayTo(address=lockbox)})


def _dependent_spouse(tenant: TenantConfig) -> list[ProfessionalClaim]:
    """A spouse (PAT01 01) on the subscriber's employer plan; the subscriber has no N3/N4/DMG (not the patient)."""
    return [
        claim(
            "CLMDEP2000C",
            subscriber=subscriber(
                name=PersonName(last="TESTSUBSCRIBER", first="ROBIN"),
                member_id="W987654321",
                group_number="GRP-0042",
                birth_date=None,
                address=None,
            ),
            patient=dependent(
                name=PersonName(last="TESTPATIENT", first="CASEY", middle="J"),
                relationship="01",
                birth_date=date(1988, 11, 23),
            ),
            diagnoses=("F331",),
            lines=(line(claim_id="CLMDEP2000C", procedure_code="90834", charge=Decimal("140.00")),),
        )
    ]


def _multi_line(tenant: TenantConfig) -> list[ProfessionalClaim]:
    """Rendered by RIVERA; the family session line by CHEN (2420A), screening units, a line POS and authorization."""
    claim_id = "CLMMULTI2420A"
    return [
        claim(
            claim_id,
            diagnoses=("F902", "F411", "Z630"),
            prior_authorization="AUTH-2026-0001",
            lines=(
                line(1, claim_id=claim_id, procedure_code="90834", charge=Decimal("140.00"), diagnosis_pointers=(1, 2)),
                line(
                    2,
                    claim_id=claim_id,
                    procedure_code="90847",
                    modifiers=("95",),
                    charge=Decimal("160.00"),
                    place_of_service="10",
                    diagnosis_pointers=(1, 3),
                    rendering_override=CHEN,
                    prior_authorization="LINEAUTH7",
                ),
                line(
                    3,
                    claim_id=claim_id,
                    procedure_code="96127",
                    charge=Decimal("15.50"),
                    units=Decimal(2),
                    diagnosis_pointers=(2,),
                ),
            ),
        )
    ]


def _supervised(tenant: TenantConfig) -> list[ProfessionalClaim]:
    """A Medicaid claim of a clinician under supervision (2310D CHEN) on OKAFOR's referral (2310A)."""
    claim_id = "CLMSUPV2310D"
    return [
        claim(
            claim_id,
            payer=payer("MCD-TX"),
            rendering=RIVERA,
            supervising=CHEN,
            referring=OKAFOR,
            lines=(
                line(
                    1,
                    claim_id=claim_id,
                    procedure_code="H2019",
                    modifiers=("HO",),
                    charge=Decimal("42.75"),
                    units=Decimal("4.5"),
                    service_date=date(2026, 3, 2),
                    service_date_end=date(2026, 3, 6),
                ),
            ),
        )
    ]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "telehealth-90837-home", "COMM-A, 90837-95 at POS 10 from home", _from_bundle("telehealth-90837-home.json")
    ),
    Scenario("intake-90791", "MCR, 90791 in the office, psychologist renders", _from_bundle("intake-90791.json")),
    Scenario(
        "em-99214-90833",
        "MCR, E/M 99214 + add-on 90833, child of the subscriber (2000C)",
        _from_bundle("em-99214-90833.json"),
    ),
    Scenario("dependent-2000c", "spouse as patient (2000C PAT01 01), subscriber without N3/DMG", _dependent_spouse),
    Scenario("corrected-freq7", "replacement of the telehealth claim: CLM05-3 7, REF*F8", _corrected("active")),
    Scenario("void-freq8", "void of the telehealth claim: CLM05-3 8, REF*F8", _corrected("cancelled")),
    Scenario(
        "secondary-cob",
        "MCD-TX secondary after COMM-A: 2320 CAS/AMT/OI, 2330A/B, 2430 SVD/CAS/DTP*573",
        _from_bundle("secondary-90834-after-primary.json"),
    ),
    Scenario(
        "pay-to-2010ab",
        "intake 90791 for a tenant paid at a PO box (2010AB)",
        _from_bundle("intake-90791.json"),
        _tenant_with_pay_to,
    ),
    Scenario("multi-line-2420a", "three lines, one with a 2420A rendering override", _multi_line),
    Scenario("supervising-2310d", "supervising 2310D and referring 2310A, a date range", _supervised),
)


def control_for(index: int) -> InterchangeControl:
    """Fixed control numbers, distinct per scenario: ISA13/GS06 ``9100 + index``, ST02 ``0001``."""
    return InterchangeControl(interchange_number=9100 + index, group_number=9100 + index, transaction_number=1)


def write(scenario: Scenario) -> str:
    """The scenario's interchange exactly as the writer produces it (no line breaks)."""
    tenant = scenario.tenant()
    index = SCENARIOS.index(scenario)
    return writer.write_837p(scenario.claims(tenant), tenant=tenant, control=control_for(index), created=CREATED)


def readable(interchange: str) -> str:
    """One segment per line (the terminator kept), as the golden files hold it."""
    return "".join(f"{segment}~\n" for segment in interchange.split("~") if segment)


def from_readable(golden: str) -> str:
    """The interchange a golden file holds, line breaks removed."""
    return golden.replace("\n", "")
