"""Runtime settings of the Lambda functions, read once from the environment (names fixed with template.yaml).

Domain code never reads the environment: handlers call ``get_settings()`` and pass values down.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every function gets the same Globals environment from template.yaml; missing required values fail fast."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True, hide_input_in_errors=True)

    claims_table: Annotated[str, Field(min_length=1, validation_alias="CLAIMS_TABLE")]
    archive_bucket: Annotated[str, Field(min_length=1, validation_alias="ARCHIVE_BUCKET")]
    event_bus_name: Annotated[str, Field(min_length=1, validation_alias="EVENT_BUS_NAME")]
    inbound_bucket: Annotated[str | None, Field(validation_alias="INBOUND_BUCKET")] = None
    ingest_chunks_queue_url: Annotated[str | None, Field(validation_alias="INGEST_CHUNKS_QUEUE_URL")] = None
    sandbox_url: Annotated[str | None, Field(validation_alias="CLAIMBRIDGE_SANDBOX_URL")] = None
    service_name: Annotated[str, Field(validation_alias="POWERTOOLS_SERVICE_NAME")] = "claimbridge"
    metrics_namespace: Annotated[str, Field(validation_alias="POWERTOOLS_METRICS_NAMESPACE")] = "Claimbridge"
    secret_max_age_seconds: Annotated[int, Field(ge=0, validation_alias="CLAIMBRIDGE_SECRET_MAX_AGE")] = 300
    scrub_as_of: Annotated[date | None, Field(validation_alias="CLAIMBRIDGE_SCRUB_AS_OF")] = None
    """The date the scrubber takes as today (timely filing, effective-dated tables); unset = today (UTC). For
    replaying a backlog as of the day it arrived, and for tests whose inputs carry fixed dates."""
    admin_principals: Annotated[str, Field(validation_alias="CLAIMBRIDGE_ADMIN_PRINCIPALS")] = ""
    """tenant_api operators: comma-separated IAM role/user ARNs that may act on every tenant and create tenants."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, parsed once per process (tests call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
