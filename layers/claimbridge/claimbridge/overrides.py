"""Biller overrides: the few claim fields a billing team fixes in Claimbridge instead of waiting for a new FHIR version.

The whitelist follows what the scrubber holds claims for (docs/scrubber-rules.md): a missing prior authorization
(BH-AUTH-*), a wrong place of service or telehealth modifier (BH-TEL-*), a rendering provider the payer does not know
(BH-CRED-*, BH-NPI-01, BH-SCOPE-01), diagnosis order or codes (BH-DX-*), a procedure code, units or documented minutes
that do not match the time rules (BH-TIME-*, BH-PTP-*, BH-MOD-01). Anything else is the EHR's to fix; an unknown field
is a validation error (``extra="forbid"``).

Overrides apply to the stored ``ProfessionalClaim`` and are audited by field path (``lines[2].units``), never by value.
A later FHIR version of the claim replaces the stored content (and with it these overrides): the EHR stays the
source of truth, and the audit history keeps which fields were overridden, by whom and why.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from claimbridge.claim import IcdCode, Modifier, Npi, PlaceOfService, ProcedureCode, ProfessionalClaim
from claimbridge.errors import ClaimsError
from claimbridge.mapping.parties import roster_clinician
from claimbridge.tenants import TenantConfig

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
ReferenceNumber = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9\-]+$")]


class LineOverride(BaseModel):
    """What may be fixed on one service line, named by its ``sequence`` (LX01 / ``ServiceLine.sequence``)."""

    model_config = _FROZEN
    sequence: Annotated[int, Field(ge=1, le=50)]
    procedure_code: ProcedureCode | None = None
    modifiers: Annotated[tuple[Modifier, ...] | None, Field(max_length=4)] = None
    units: Annotated[Decimal | None, Field(gt=0, max_digits=8, decimal_places=3)] = None
    place_of_service: PlaceOfService | None = None
    documented_minutes: Annotated[int | None, Field(ge=0, le=1440)] = None
    prior_authorization: ReferenceNumber | None = None
    diagnosis_pointers: Annotated[
        tuple[Annotated[int, Field(ge=1, le=12)], ...] | None, Field(min_length=1, max_length=4)
    ] = None


class ClaimOverrides(BaseModel):
    """The claim-level fields a biller may fix, and per-line fixes; ``None`` leaves a field as it is."""

    model_config = _FROZEN
    prior_authorization: ReferenceNumber | None = None
    referral_number: ReferenceNumber | None = None
    place_of_service: PlaceOfService | None = None
    rendering_npi: Npi | None = None
    """An NPI of the tenant's provider roster: the rendering provider is rebuilt from the roster entry."""
    diagnoses: Annotated[tuple[IcdCode, ...] | None, Field(min_length=1, max_length=12)] = None
    lines: Annotated[tuple[LineOverride, ...], Field(max_length=50)] = ()

    @model_validator(mode="after")
    def _one_override_per_line(self) -> ClaimOverrides:
        sequences = [line.sequence for line in self.lines]
        if len(sequences) != len(set(sequences)):
            raise ValueError("each line sequence may be overridden once")
        return self


class OverrideError(ClaimsError):
    """The overrides do not fit the claim (a line it does not have, an NPI not on the roster, a pointer past the
    diagnoses); the message names the field path, never a value."""

    code: ClassVar[str] = "CB-OVERRIDE-INVALID"


def apply_overrides(
    claim: ProfessionalClaim, overrides: ClaimOverrides, *, tenant: TenantConfig
) -> tuple[ProfessionalClaim, tuple[str, ...]]:
    """The claim with ``overrides`` applied (validated again as a whole) and the overridden field paths, in order.

    Raises
    ------
    OverrideError
        A line sequence the claim does not have, a rendering NPI that is not on the tenant's roster, or a result
        the claim model refuses (e.g. a diagnosis pointer past the diagnoses).
    """
    data = claim.model_dump(exclude={"total_charge"})
    paths: list[str] = []
    for name in ("prior_authorization", "referral_number", "place_of_service", "diagnoses"):
        value = getattr(overrides, name)
        if value is not None:
            data[name] = value
            paths.append(name)
    if overrides.rendering_npi is not None:
        provider = tenant.roster_provider(overrides.rendering_npi)
        if provider is None:
            raise OverrideError("rendering_npi: not an NPI of the tenant's provider roster")
        data["rendering"] = roster_clinician(provider, taxonomy=None, fhir_path="").model_dump()
        paths.append("rendering_npi")
    lines = {line["sequence"]: line for line in data["lines"]}
    for line in overrides.lines:
        target = lines.get(line.sequence)
        if target is None:
            raise OverrideError(f"lines[{line.sequence}]: the claim has no service line with this sequence")
        for name in _LINE_FIELDS:
            value = getattr(line, name)
            if value is not None:
                target[name] = value
                paths.append(f"lines[{line.sequence}].{name}")
    for line in data["lines"]:
        if max(line["diagnosis_pointers"]) > len(data["diagnoses"]):
            raise OverrideError(f"lines[{line['sequence']}].diagnosis_pointers: points past the claim's diagnoses")
    try:
        updated = ProfessionalClaim.model_validate(data)
    except ValidationError as exc:
        where = ", ".join(".".join(str(part) for part in error["loc"]) for error in exc.errors(include_input=False))
        raise OverrideError(f"the overridden claim is not valid at {where}") from None
    return updated, tuple(paths)


_LINE_FIELDS = (
    "procedure_code",
    "modifiers",
    "units",
    "place_of_service",
    "documented_minutes",
    "prior_authorization",
    "diagnosis_pointers",
)
