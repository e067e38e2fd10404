"""Tenant configuration (schema_version 1, ../shared/design/tenant-config.md) as pydantic models.

Unknown keys are rejected at every level (``extra="forbid"``); errors are reported by JSON pointer without the
submitted value (``hide_input_in_errors``), because the document holds NPIs, TINs and contact details.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from claimbridge.errors import ClaimsError
from claimbridge.validators import npi_is_valid

_STRICT = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

Code = Annotated[str, Field(pattern=r"^[0-9A-Z]{5}$")]
ModifierCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
TaxonomyCode = Annotated[str, Field(pattern=r"^[0-9]{3}[0-9A-Z]{6}X$")]
UsState = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
FilingIndicator = Literal[
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "AM",
    "BL",
    "CH",
    "CI",
    "DS",
    "FI",
    "HM",
    "LM",
    "MA",
    "MB",
    "MC",
    "OF",
    "TV",
    "VA",
    "WC",
    "ZZ",
]


class TenantConfigError(ClaimsError):
    """A tenant document failed validation; ``problems`` are ``(json_pointer, rule)`` pairs without values."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{pointer}: {rule}" for pointer, rule in problems))
        self.problems = problems


def _check_npi(value: str) -> str:
    if not npi_is_valid(value):
        raise ValueError("NPI fails BH-NPI-01 (10 digits, first 1 or 2, Luhn check over 80840 + NPI)")
    return value


class Contact(BaseModel):
    model_config = _STRICT
    name: Annotated[str, Field(min_length=1, max_length=60)]
    phone: Annotated[str, Field(pattern=r"^[0-9]{10}$")]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class Submitter(BaseModel):
    """1000A NM1*41 / PER*IC; ``id`` is also ISA06 and GS02."""

    model_config = _STRICT
    name: Annotated[str, Field(min_length=1, max_length=60)]
    id: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,15}$")]
    contact: Contact


class TenantAddress(BaseModel):
    model_config = _STRICT
    street: Annotated[str, Field(min_length=1, max_length=55)]
    city: Annotated[str, Field(min_length=2, max_length=30)]
    state: UsState
    zip: Annotated[str, Field(pattern=r"^[0-9]{9}$")]


class TenantBillingProvider(BaseModel):
    """2010AA; the street is never a PO box (BH-ADDR-01, checked by the scrubber)."""

    model_config = _STRICT
    name: Annotated[str, Field(min_length=1, max_length=60)]
    entity: Literal["organization", "person"]
    npi: str
    tin: Annotated[str, Field(pattern=r"^[0-9]{9}$")]
    tin_type: Literal["EI", "SY"] = "EI"
    taxonomy: TaxonomyCode
    address: TenantAddress

    _npi = field_validator("npi")(_check_npi)


class PayTo(BaseModel):
    model_config = _STRICT
    address: TenantAddress


class Receiver(BaseModel):
    model_config = _STRICT
    id: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,15}$")]
    name: Annotated[str, Field(min_length=1, max_length=60)]


class Clearinghouse(BaseModel):
    """Which adapter talks to the practice's clearinghouse, and as whom."""

    model_config = _STRICT
    kind: Literal["sandbox", "x12-api", "sftp"]
    receiver: Receiver
    endpoint: str | None = None
    secret_ref: Annotated[str, Field(pattern=r"^claimbridge/[a-z0-9][a-z0-9-]{2,62}/[A-Za-z0-9/_+=.@-]+$")] | None = (
        None
    )
    usage_indicator: Literal["T", "P"] = "T"
    poll_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    split_by_payer: bool = False
    """One interchange per payer (some clearinghouses route whole files); Claimbridge extension of tenant-config §1."""

    @model_validator(mode="after")
    def _kind_rules(self) -> Clearinghouse:
        if self.kind == "sandbox" and self.usage_indicator != "T":
            raise ValueError("usage_indicator P is refused for kind sandbox")
        if self.kind == "x12-api" and not (self.endpoint or "").startswith("https://"):
            raise ValueError("x12-api endpoint must be an https:// URL")
        if self.kind == "sftp" and not (self.endpoint or "").startswith("sftp://"):
            raise ValueError("sftp endpoint must be an sftp:// URL")
        if self.kind != "sandbox" and self.secret_ref is None:
            raise ValueError("secret_ref is required for this clearinghouse kind")
        return self


class Defaults(BaseModel):
    model_config = _STRICT
    place_of_service: Annotated[str, Field(pattern=r"^[0-9]{2}$")]
    claim_filing_indicator: FilingIndicator
    fee_schedule: dict[Code, Annotated[Decimal, Field(gt=0, decimal_places=2)]] = Field(default_factory=dict)


class Enrollment(BaseModel):
    model_config = _STRICT
    payer: str
    from_: Annotated[date | None, Field(alias="from")] = None
    to: date | None = None


class ProviderName(BaseModel):
    model_config = _STRICT
    last: Annotated[str, Field(min_length=1, max_length=60)]
    first: Annotated[str, Field(min_length=1, max_length=35)]


class RosterProvider(BaseModel):
    """A rendering/supervising clinician of the practice."""

    model_config = _STRICT
    npi: str
    name: ProviderName
    taxonomy: TaxonomyCode
    licensure_modifier: ModifierCode | None = None
    enrolled_payers: list[str | Enrollment] = Field(default_factory=list)

    _npi = field_validator("npi")(_check_npi)

    def enrollments(self) -> list[Enrollment]:
        """Every enrollment as an ``Enrollment`` (a bare key means open-ended)."""
        return [Enrollment(payer=e) if isinstance(e, str) else e for e in self.enrolled_payers]


class Telehealth(BaseModel):
    model_config = _STRICT
    modifier: Literal["95", "GT", "none"] = "none"
    pos_style: Literal["02_10", "original_pos"] = "02_10"


class AudioOnly(BaseModel):
    model_config = _STRICT
    allowed: bool = True
    modifier: Literal["93", "FQ"] = "93"
    codes: list[Code] = Field(default_factory=list)


class DxPolicy(BaseModel):
    model_config = _STRICT
    primary_disallow: list[str] = Field(default_factory=list)


class VisitLimit(BaseModel):
    model_config = _STRICT
    count: Annotated[int, Field(ge=1)]
    period: Literal["calendar_year", "rolling_12_months"]
    scope: Literal["all_providers", "billing_provider", "rendering_provider"] = "all_providers"


class AuthPolicy(BaseModel):
    model_config = _STRICT
    required_codes: list[Code] = Field(default_factory=list)
    visit_limit: VisitLimit | None = None


class PtpOverride(BaseModel):
    model_config = _STRICT
    pair: Annotated[list[Code], Field(min_length=2, max_length=2)]
    action: Literal["allow", "warn", "error"]


class ClaimNote(BaseModel):
    """A 2300 ``NTE*ADD`` text a payer asks for on some claims (Claimbridge extension of tenant-config section 2).

    ``when``: ``always``, ``telehealth`` (any line is telehealth: virtual, or POS 02/10), ``replacement`` (frequency 7)
    or ``void`` (frequency 8). The text is the practice's own fixed wording (never patient data), upper-case letters,
    digits and basic punctuation, at most 80 characters (NTE02).
    """

    model_config = _STRICT
    when: Literal["always", "telehealth", "replacement", "void"]
    text: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9 .,/()#&+-]{0,79}$")]


class PayerProfile(BaseModel):
    """Payer rules; every omitted key takes the Medicare FFS Part B (MCR) default (tenant-config section 2)."""

    model_config = _STRICT
    telehealth: Telehealth = Telehealth()
    audio_only: AudioOnly = AudioOnly()
    dx: DxPolicy = DxPolicy()
    covered_dx: list[str] = Field(default_factory=list)
    auth: AuthPolicy = AuthPolicy()
    timely_filing_days: Annotated[int, Field(ge=1)] = 365
    corrected_claim_window_days: Annotated[int, Field(ge=1)] | None = None
    licensure_modifiers: dict[TaxonomyCode, ModifierCode] = Field(default_factory=dict)
    require_rendering_prv: bool = True
    require_supervising_2310D: bool = False
    ptp_overrides: list[PtpOverride] = Field(default_factory=list)
    claim_notes: list[ClaimNote] = Field(default_factory=list)
    """2300 NTE: the first note whose ``when`` matches the claim is sent (the 837P allows one NTE per claim)."""


class FhirIdentifier(BaseModel):
    model_config = _STRICT
    system: Annotated[str, Field(min_length=1)]
    value: Annotated[str, Field(min_length=1)]


class TenantPayer(BaseModel):
    model_config = _STRICT
    key: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
    payer_id: Annotated[str, Field(min_length=1, max_length=80)]
    name: Annotated[str, Field(min_length=1, max_length=60)]
    claim_filing_indicator: FilingIndicator
    fhir_identifiers: list[FhirIdentifier] = Field(default_factory=list)
    profile: PayerProfile = PayerProfile()


class CrosswalkRow(BaseModel):
    model_config = _STRICT
    snomed: Annotated[str, Field(pattern=r"^[0-9]{6,18}$")]
    cpt: Code | None
    min_minutes: Annotated[int, Field(ge=0)] | None = None
    max_minutes: Annotated[int, Field(ge=0)] | None = None
    units: Annotated[int, Field(ge=1)] = 1
    applies_to: Literal["procedure", "encounter_type"] = "procedure"


class Crosswalks(BaseModel):
    model_config = _STRICT
    snomed_to_cpt: list[CrosswalkRow] = Field(default_factory=list)


class EventSource(BaseModel):
    model_config = _STRICT
    account: Annotated[str, Field(pattern=r"^[0-9]{12}$")]
    source: Annotated[str, Field(min_length=1, max_length=256)]


class Inbound(BaseModel):
    model_config = _STRICT
    event_sources: list[EventSource] = Field(default_factory=list)


PrincipalArn = Annotated[
    str,
    Field(
        pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,128}$",
        max_length=512,
    ),
]


class ApiAccess(BaseModel):
    """Who may call ``tenant_api`` for this practice (Claimbridge extension, docs/tenant-config-extensions.md).

    IAM role or user ARNs; a caller's identity (an assumed-role session of a listed role, or the user) is mapped to
    this tenant. A principal belongs to one tenant only (the store refuses a second claim on it).
    """

    model_config = _STRICT
    principals: Annotated[list[PrincipalArn], Field(max_length=40)] = Field(default_factory=list)


class TenantConfig(BaseModel):
    """One practice's configuration; accepted whole or not at all."""

    model_config = _STRICT
    schema_version: Literal["1"]
    tenant_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{2,62}$")]
    enabled: bool
    submitter: Submitter
    billing_provider: TenantBillingProvider
    pay_to: PayTo | None = None
    clearinghouse: Clearinghouse
    defaults: Defaults
    providers: list[RosterProvider] = Field(default_factory=list)
    payers: Annotated[list[TenantPayer], Field(min_length=1)]
    crosswalks: Crosswalks = Crosswalks()
    inbound: Inbound = Inbound()
    api: ApiAccess = ApiAccess()

    @model_validator(mode="after")
    def _cross_references(self) -> TenantConfig:
        secret_ref = self.clearinghouse.secret_ref
        if secret_ref is not None and not secret_ref.startswith(f"claimbridge/{self.tenant_id}/"):
            # A tenant naming another tenant's secret would send its claims with that tenant's account.
            raise ValueError("clearinghouse.secret_ref must be a name under claimbridge/<tenant_id>/")
        keys = [p.key for p in self.payers]
        if len(set(keys)) != len(keys):
            raise ValueError("payer keys must be unique")
        npis = [p.npi for p in self.providers]
        if len(set(npis)) != len(npis):
            raise ValueError("provider NPIs must be unique")
        for provider in self.providers:
            for enrollment in provider.enrollments():
                if enrollment.payer not in keys:
                    raise ValueError("enrolled_payers names a payer key that is not configured")
        seen: set[tuple[str, str]] = set()
        for payer in self.payers:
            for ident in payer.fhir_identifiers:
                pair = (ident.system, ident.value)
                if pair in seen:
                    raise ValueError("a fhir_identifiers (system, value) appears in more than one payer")
                seen.add(pair)
        return self

    def payer(self, key: str) -> TenantPayer:
        """The configured payer with this key."""
        for payer in self.payers:
            if payer.key == key:
                return payer
        raise KeyError(key)

    def payer_for_identifier(self, system: str | None, value: str | None) -> TenantPayer | None:
        """The payer whose ``fhir_identifiers`` lists (system, value), if any."""
        for payer in self.payers:
            for ident in payer.fhir_identifiers:
                if ident.system == system and ident.value == value:
                    return payer
        return None

    def roster_provider(self, npi: str) -> RosterProvider | None:
        """The roster entry for a clinician's NPI, if the practice configured one."""
        return next((p for p in self.providers if p.npi == npi), None)


def parse_tenant_config(document: dict[str, Any]) -> TenantConfig:
    """Validate a tenant document; raise ``TenantConfigError`` naming JSON pointers, never values."""
    try:
        return TenantConfig.model_validate(document)
    except ValidationError as exc:
        problems = [
            ("/" + "/".join(str(part) for part in err["loc"]), err["msg"])
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise TenantConfigError(problems) from None


def load_tenant_config(path: Path) -> TenantConfig:
    """Read a tenant document from a JSON file."""
    return parse_tenant_config(json.loads(path.read_text(encoding="utf-8")))


DEMO_TENANT_FILE = Path(__file__).resolve().parent / "demo-practice.json"
