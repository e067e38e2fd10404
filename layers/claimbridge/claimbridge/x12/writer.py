"""837P (005010X222A1) writer. INTERFACE STUB: owned by the x12 work; keep these names and signatures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import ProfessionalClaim
from claimbridge.tenants import TenantConfig


class InterchangeControl(BaseModel):
    """ISA13 / GS06 / first ST02 of one interchange, handed out by a counter that never repeats them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    interchange_number: Annotated[int, Field(ge=1, le=999_999_999)]
    group_number: Annotated[int, Field(ge=1, le=999_999_999)]
    transaction_number: Annotated[int, Field(ge=1, le=999_999_999)] = 1


def write_837p(
    claims: Sequence[ProfessionalClaim], *, tenant: TenantConfig, control: InterchangeControl, created: datetime
) -> str:
    """One complete interchange (ISA..IEA) holding ``claims`` for one payer set of one tenant."""
    raise NotImplementedError
