"""Bus events (source ``claimbridge``) and the SQS record models the handlers parse.

Event details carry tenant ids, claim ids, S3 keys, control numbers, rule ids and counts: never PHI, never FHIR or
X12 payloads. A consumer that needs the claim reads it from the state store by id.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
    SqsRecordModel,
)
from pydantic import BaseModel, ConfigDict, Field, Json

EVENT_SOURCE = "claimbridge"

_DETAIL = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

Id = Annotated[str, Field(min_length=1, max_length=256)]


class ClaimEventDetail(BaseModel):
    """What every claim event names: the tenant and the claim (CLM01)."""

    model_config = _DETAIL
    detail_type: ClassVar[str] = ""
    tenant_id: Id
    claim_id: Id


class ClaimReady(ClaimEventDetail):
    """A scrubbed claim without error findings waits for the next 837P batch."""

    detail_type: ClassVar[str] = "Claim Ready"
    source_key: Id
    source_version: Id
    payer_key: str | None = None
    config_version: int | None = None
    warning_count: int = 0


class ClaimHeld(ClaimEventDetail):
    """A claim is held for the practice's worklist; ``rule_ids`` say why (finding details stay in the store)."""

    detail_type: ClassVar[str] = "Claim Held"
    source_key: Id
    source_version: Id
    rule_ids: tuple[str, ...]
    error_count: int


class ClaimSubmitted(ClaimEventDetail):
    """The claim went to the clearinghouse inside interchange ``interchange_control_number``."""

    detail_type: ClassVar[str] = "Claim Submitted"
    submission_id: Id
    interchange_control_number: Annotated[str, Field(pattern=r"^[0-9]{9}$")]
    archive_key: Id
    clearinghouse_reference: str | None = None


class ClaimAccepted(ClaimEventDetail):
    """A 277CA accepted the claim into adjudication."""

    detail_type: ClassVar[str] = "Claim Accepted"
    response_kind: Literal["999", "277CA"]
    response_key: Id
    status_codes: tuple[str, ...] = ()


class ClaimRejected(ClaimEventDetail):
    """A 999 or 277CA rejected the claim: it never reached adjudication."""

    detail_type: ClassVar[str] = "Claim Rejected"
    response_kind: Literal["999", "277CA"]
    response_key: Id
    status_codes: tuple[str, ...] = ()


class FhirSubmissionRejected(BaseModel):
    """A whole FHIR submission was quarantined; the OperationOutcome at ``operation_outcome_key`` says why."""

    model_config = _DETAIL
    detail_type: ClassVar[str] = "FHIR Submission Rejected"
    tenant_id: str
    submission_id: Id
    source_bucket: Id
    source_key: Id
    quarantine_key: Id
    error_report_key: Id
    operation_outcome_key: Id
    error_codes: tuple[str, ...]


BusEventDetail = ClaimReady | ClaimHeld | ClaimSubmitted | ClaimAccepted | ClaimRejected | FhirSubmissionRejected

DETAIL_TYPES: dict[str, type[BaseModel]] = {
    model.detail_type: model
    for model in (ClaimReady, ClaimHeld, ClaimSubmitted, ClaimAccepted, ClaimRejected, FhirSubmissionRejected)
}


def put_events_entry(detail: BusEventDetail, *, event_bus_name: str, resources: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``PutEvents`` entry for one detail (``source`` is always ``claimbridge``)."""
    return {
        "Source": EVENT_SOURCE,
        "DetailType": detail.detail_type,
        "Detail": detail.model_dump_json(),
        "EventBusName": event_bus_name,
        "Resources": list(resources),
    }


# ------------------------------------------------------------------------------------------- envelopes for parsing


class ClaimReadyEvent(EventBridgeModel):
    """The EventBridge envelope of a ``Claim Ready`` event, as SubmitQueue receives it."""

    source: Literal["claimbridge"]
    detail_type: Literal["Claim Ready"] = Field(alias="detail-type")
    detail: ClaimReady


class InboundObjectRecord(SqsRecordModel):
    """IngestQueue record: the body is an EventBridge ``Object Created`` event of the inbound bucket."""

    body: Json[S3EventNotificationEventBridgeModel]


class ClaimReadyRecord(SqsRecordModel):
    """SubmitQueue record: the body is a ``Claim Ready`` bus event."""

    body: Json[ClaimReadyEvent]


class ResponseObjectRecord(SqsRecordModel):
    """ResponsesQueue record: the body is an ``Object Created`` event for ``responses/<tenant>/<kind>/<id>.x12``."""

    body: Json[S3EventNotificationEventBridgeModel]


class ScheduledEvent(EventBridgeModel):
    """The EventBridge schedule that triggers polling (``aws.events`` / ``Scheduled Event``)."""

    source: Literal["aws.events", "aws.scheduler"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
