"""ProfessionalClaim: the X12-agnostic internal model of one professional claim.

Mapping (FHIR -> ProfessionalClaim) and writing (ProfessionalClaim -> 837P) meet here, so neither knows the other's
format. Values are already normalised (ICD-10-CM without the dot, upper-case codes, 9-digit TIN, dates as ``date``),
but nothing here is escaped or cut to X12 lengths: that is the writer's job. Fields that carry PHI are
``repr=False`` so a model never prints them into a log line or a traceback.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

ProcedureCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{5}$")]
Modifier = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
IcdCode = Annotated[str, Field(pattern=r"^[A-Z][0-9A-Z]{2,6}$")]  # FY2026 lists QA0.. codes (letter second)
PlaceOfService = Annotated[str, Field(pattern=r"^[0-9]{2}$")]
Npi = Annotated[str, Field(pattern=r"^[12][0-9]{9}$")]
Taxonomy = Annotated[str, Field(pattern=r"^[0-9]{3}[0-9A-Z]{6}X$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
SignedMoney = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
CarcCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
OtherSubscriberRelationship = Literal["18", "01", "19", "G8"]
"""2320 SBR02: the patient is the subscriber (18), spouse (01), child (19) or other (G8)."""

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class EntityType(StrEnum):
    """NM102: ``1`` person, ``2`` non-person entity."""

    PERSON = "person"
    ORGANIZATION = "organization"


class Gender(StrEnum):
    """DMG03 values."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class PayerResponsibility(StrEnum):
    """SBR01: a payer's position among the patient's coverages (the billed one is P, S or T; 2320 may go further)."""

    PRIMARY = "P"
    SECONDARY = "S"
    TERTIARY = "T"
    FOURTH = "A"
    FIFTH = "B"
    SIXTH = "C"
    SEVENTH = "D"
    EIGHTH = "E"
    NINTH = "F"
    TENTH = "G"
    ELEVENTH = "H"

    @classmethod
    def at(cls, position: int) -> PayerResponsibility:
        """The code of the 0-based ``position`` in ``Claim.insurance`` order (IndexError past the eleventh)."""
        return _RESPONSIBILITY_ORDER[position]


class AdjustmentGroup(StrEnum):
    """CAS01 claim adjustment group code (X12 1033)."""

    CONTRACTUAL = "CO"
    CORRECTION = "CR"
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    PATIENT_RESPONSIBILITY = "PR"


_RESPONSIBILITY_ORDER = tuple(PayerResponsibility)


class ClaimFrequency(StrEnum):
    """CLM05-3 (NUBC): original, replacement of a prior claim, void."""

    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


class Address(BaseModel):
    """A US postal address (N3/N4)."""

    model_config = _FROZEN

    lines: Annotated[tuple[str, ...], Field(min_length=1, max_length=2, repr=False)]
    city: Annotated[str, Field(min_length=1, repr=False)]
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$", repr=False)]
    postal_code: Annotated[str, Field(pattern=r"^[0-9]{5}([0-9]{4})?$", repr=False)]


class PersonName(BaseModel):
    """A person's name (NM103-NM105)."""

    model_config = _FROZEN

    last: Annotated[str, Field(min_length=1, repr=False)]
    first: Annotated[str, Field(repr=False)] = ""
    middle: Annotated[str, Field(repr=False)] = ""


class BillingProvider(BaseModel):
    """2010AA: the entity paid; ``name`` is an organisation name or, for a person, their last name."""

    model_config = _FROZEN

    entity: EntityType
    npi: Npi
    organization_name: str = ""
    person_name: PersonName | None = None
    tin: Annotated[str, Field(pattern=r"^[0-9]{9}$")]
    tin_type: Literal["EI", "SY"] = "EI"
    taxonomy: Taxonomy | None = None
    address: Address


class Clinician(BaseModel):
    """A person provider: rendering (2310B/2420A), supervising (2310D/2420D) or referring (2310A)."""

    model_config = _FROZEN

    npi: Npi
    name: PersonName
    taxonomy: Taxonomy | None = None
    fhir_path: str = ""


class ServiceFacility(BaseModel):
    """2310C: where the service was rendered, sent only when that is not the billing provider's address.

    ``name`` is NM103 (the Location's name), ``npi`` NM109 when the place has its own NPI (Location or its managing
    Organization); never the patient's home (telehealth to the home is POS 10 and has no 2310C).
    """

    model_config = _FROZEN

    name: Annotated[str, Field(min_length=1)]
    npi: Npi | None = None
    address: Address
    fhir_path: str = ""


class Subscriber(BaseModel):
    """2010BA: the insured person, with the member id the payer knows them by."""

    model_config = _FROZEN

    name: PersonName
    member_id: Annotated[str, Field(min_length=1, max_length=80, repr=False)]
    birth_date: Annotated[date | None, Field(repr=False)] = None
    gender: Gender = Gender.UNKNOWN
    address: Address | None = None
    group_number: Annotated[str | None, Field(repr=False)] = None


class Patient(BaseModel):
    """2010CA: the patient when they are not the subscriber; ``relationship`` is PAT01 (01, 19, G8)."""

    model_config = _FROZEN

    name: PersonName
    relationship: Literal["01", "19", "G8"]
    birth_date: Annotated[date | None, Field(repr=False)] = None
    gender: Gender = Gender.UNKNOWN
    address: Address | None = None


class Payer(BaseModel):
    """2010BB and SBR09: the payer billed, as configured for the tenant (FHIR only selects which one)."""

    model_config = _FROZEN

    key: str
    payer_id: Annotated[str, Field(min_length=1, max_length=80)]
    name: Annotated[str, Field(min_length=1)]
    claim_filing_indicator: Annotated[str, Field(min_length=2, max_length=2)]


class SourceRef(BaseModel):
    """Where a claim came from: the idempotency key is (tenant, resource_type, resource_id) plus the version."""

    model_config = _FROZEN

    resource_type: Literal["Claim", "Encounter"]
    resource_id: Annotated[str, Field(min_length=1, max_length=128)]
    version: Annotated[str, Field(min_length=1, max_length=128)]
    fhir_path: str = ""
    patient_reference: Annotated[str | None, Field(max_length=200, repr=False)] = None
    """``Patient/<id>`` as the EHR sent it: the write-back ClaimResponse/EOB points at it (never logged)."""

    @property
    def key(self) -> str:
        """``Claim/<id>``: the tenant-scoped source key."""
        return f"{self.resource_type}/{self.resource_id}"


class TelehealthFacts(BaseModel):
    """Documented facts the scrubber compares billed modifiers and POS with (never used to rewrite them)."""

    model_config = _FROZEN

    virtual: bool = False
    modality: Literal["audio-video", "audio-only", "unknown"] | None = None
    patient_at_home: bool = False


class ServiceLine(BaseModel):
    """2400: one billed service."""

    model_config = _FROZEN

    sequence: Annotated[int, Field(ge=1, le=50)]
    procedure_code: ProcedureCode
    modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    charge: Money
    units: Annotated[Decimal, Field(gt=0, max_digits=8, decimal_places=3)] = Decimal(1)
    place_of_service: PlaceOfService | None = None
    diagnosis_pointers: Annotated[tuple[Annotated[int, Field(ge=1, le=12)], ...], Field(min_length=1, max_length=4)]
    service_date: date
    service_date_end: date | None = None
    line_control_number: Annotated[str, Field(min_length=1, max_length=50)]
    prior_authorization: Annotated[str | None, Field(max_length=50)] = None
    rendering_override: Clinician | None = None
    supervising_override: Clinician | None = None
    documented_minutes: Annotated[int | None, Field(ge=0)] = None
    telehealth: TelehealthFacts = TelehealthFacts()
    fhir_path: str = ""


class Adjustment(BaseModel):
    """One CAS reason/amount pair a prior payer applied (group code, CARC, amount; negative for a reversal)."""

    model_config = _FROZEN

    group: AdjustmentGroup
    reason: CarcCode
    amount: SignedMoney


class PriorLineAdjudication(BaseModel):
    """2430: how a prior payer adjudicated one of the claim's lines (``line_sequence`` = ``ServiceLine.sequence``)."""

    model_config = _FROZEN

    line_sequence: Annotated[int, Field(ge=1, le=50)]
    procedure_code: ProcedureCode
    modifiers: Annotated[tuple[Modifier, ...], Field(max_length=4)] = ()
    paid: Money
    paid_units: Annotated[Decimal, Field(ge=0, max_digits=8, decimal_places=3)]
    adjustments: tuple[Adjustment, ...] = ()
    adjudication_date: date
    fhir_path: str = ""


class PriorAdjudication(BaseModel):
    """2320 CAS/AMT and 2430 of a payer that adjudicated the claim before the billed one (its ClaimResponse/EOB).

    ``lines`` holds only the lines that payer reported on; without any, the claim-level date goes to 2330B DTP*573.
    """

    model_config = _FROZEN

    paid: Money
    adjudication_date: date
    claim_adjustments: tuple[Adjustment, ...] = ()
    patient_liability: Money | None = None
    lines: Annotated[tuple[PriorLineAdjudication, ...], Field(max_length=50)] = ()
    fhir_path: str = ""


class OtherPayer(BaseModel):
    """2320/2330A/2330B: a non-billed coverage of the patient; ``adjudication`` only for payers before the billed one.

    ``relationship`` is SBR02, the patient's relationship to this coverage's subscriber (``18`` self, ``01``, ``19``,
    ``G8``); ``subscriber.group_number`` is SBR03 and ``payer.claim_filing_indicator`` SBR09.
    """

    model_config = _FROZEN

    responsibility: PayerResponsibility
    payer: Payer
    subscriber: Subscriber
    relationship: OtherSubscriberRelationship
    adjudication: PriorAdjudication | None = None
    fhir_path: str = ""


class ProfessionalClaim(BaseModel):
    """One professional claim, ready for the scrubber and the 837P writer."""

    model_config = _FROZEN

    claim_id: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,20}$")]
    tenant_id: str
    source: SourceRef
    patient_key: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = None
    """PHI-free hash identifying the patient across claims (history-aware scrubber rules); never written to X12."""
    payer: Payer
    payer_responsibility: PayerResponsibility = PayerResponsibility.PRIMARY
    billing_provider: BillingProvider
    pay_to_address: Address | None = None
    subscriber: Subscriber
    patient: Patient | None = None
    place_of_service: PlaceOfService
    frequency: ClaimFrequency = ClaimFrequency.ORIGINAL
    payer_claim_control_number: Annotated[str | None, Field(max_length=50)] = None
    prior_authorization: Annotated[str | None, Field(max_length=50)] = None
    referral_number: Annotated[str | None, Field(max_length=50)] = None
    diagnoses: Annotated[tuple[IcdCode, ...], Field(min_length=1, max_length=12)]
    rendering: Clinician | None = None
    referring: Clinician | None = None
    supervising: Clinician | None = None
    service_facility: ServiceFacility | None = None
    lines: Annotated[tuple[ServiceLine, ...], Field(min_length=1, max_length=50)]
    other_payers: Annotated[tuple[OtherPayer, ...], Field(max_length=10)] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_charge(self) -> Decimal:
        """CLM02: always the sum of the line charges (BH-CLM-02), never ``Claim.total``."""
        return sum((line.charge for line in self.lines), Decimal(0))

    @property
    def first_service_date(self) -> date:
        """The earliest line date, used for timely filing and effective-dated tables."""
        return min(line.service_date for line in self.lines)
