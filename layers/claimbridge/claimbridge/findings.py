"""Findings: what intake and the scrubber say about a claim, in a form a biller can act on."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """Errors hold the claim; warnings travel with it."""

    ERROR = "error"
    WARNING = "warning"


class Finding(BaseModel):
    """One problem found on a claim; the message never carries PHI or element values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: Annotated[str, Field(min_length=2, max_length=32)]
    severity: Severity
    fhir_path: str = ""
    x12_location: str = ""
    message: str
    fix: str = ""
