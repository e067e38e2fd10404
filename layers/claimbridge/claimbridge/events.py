"""Bus events (source ``claimbridge``) and the SQS record models the handlers parse.

Event details carry tenant ids, claim ids, S3 keys, control numbers, rule ids and counts: never PHI, never FHIR or
X12 payloads. A consumer that needs the claim reads it from the state store by id.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
    SqsRecordModel,
)
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Json,
    JsonValue,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

EVENT_SOURCE = "claimbridge"

_DETAIL = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

Id = Annotated[str, Field(min_length=1, max_length=256)]
S3Key = Annotated[str, Field(min_length=1, max_length=1024)]  # S3's own limit on a key


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


class ClaimFailedToSend(ClaimEventDetail):
    """The claim's interchange could not be delivered within the retry bound, or the clearinghouse account refused it
    (``error_code``); the claim waits in FAILED_TO_SEND to be resent with the same interchange and idempotency key."""

    detail_type: ClassVar[str] = "Claim Failed To Send"
    submission_id: Id
    interchange_control_number: Annotated[str, Field(pattern=r"^[0-9]{9}$")]
    attempts: int
    error_code: str | None = None


class ClaimAdjudicated(ClaimEventDetail):
    """An 835 adjudicated the claim: ``outcome`` PAID / PARTIALLY_PAID / DENIED with the denial category and next
    action when there is one (codes only; amounts stay in the store and the EOB)."""

    detail_type: ClassVar[str] = "Claim Adjudicated"
    outcome: Literal["PAID", "PARTIALLY_PAID", "DENIED"]
    response_key: Id
    category: str | None = None
    action: str | None = None
    reason_codes: tuple[str, ...] = ()


class ClaimCorrected(ClaimEventDetail):
    """A biller built a replacement (``frequency`` 7) or void (8) of a claim the payer answered; it waits for the
    next 837P batch like a ready claim (REF*F8 = the payer's claim number, kept in the store)."""

    detail_type: ClassVar[str] = "Claim Corrected"
    frequency: Literal["7", "8"]
    payer_key: str | None = None
    config_version: int | None = None


class ClaimClosed(ClaimEventDetail):
    """A biller stopped working a claim: closed, or its open balance written off (``action``); no amounts."""

    detail_type: ClassVar[str] = "Claim Closed"
    action: Literal["close", "write_off"]


class ClaimResponseWritten(ClaimEventDetail):
    """The ClaimResponse of change ``version`` is at ``key`` in the archive bucket (contract §11)."""

    detail_type: ClassVar[str] = "Claim Response Written"
    version: Annotated[int, Field(ge=1)]
    state: str
    outcome: Literal["queued", "complete", "error", "partial"]
    key: S3Key


class ExplanationOfBenefitWritten(ClaimEventDetail):
    """The ExplanationOfBenefit of one 835 claim payment is at ``key`` in the archive bucket (contract §11)."""

    detail_type: ClassVar[str] = "Explanation Of Benefit Written"
    remit_id: Id
    outcome: Literal["PAID", "PARTIALLY_PAID", "DENIED"]
    key: S3Key


class FhirSubmissionRejected(BaseModel):
    """A whole FHIR submission was quarantined; the OperationOutcome at ``operation_outcome_key`` says why.

    An S3 drop names its object (``source_bucket``/``source_key``); a ``FHIR Bundle Submitted`` event names its
    ``event_id`` and, when it pointed at an object, that object too (an inline bundle has none).
    """

    model_config = _DETAIL
    detail_type: ClassVar[str] = "FHIR Submission Rejected"
    tenant_id: str
    submission_id: Id
    source_bucket: Id | None = None
    source_key: S3Key | None = None
    event_id: Id | None = None
    quarantine_key: Id
    error_report_key: Id
    operation_outcome_key: Id
    error_codes: tuple[str, ...]

    @model_serializer(mode="wrap")
    def _without_absent_origin(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out the origin fields that do not apply (an S3 drop has no event id, an inline bundle no object)."""
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None or key not in _ORIGIN_FIELDS}


_ORIGIN_FIELDS = frozenset({"source_bucket", "source_key", "event_id"})

BusEventDetail = (
    ClaimReady
    | ClaimCorrected
    | ClaimHeld
    | ClaimSubmitted
    | ClaimAccepted
    | ClaimRejected
    | ClaimFailedToSend
    | ClaimAdjudicated
    | ClaimClosed
    | ClaimResponseWritten
    | ExplanationOfBenefitWritten
    | FhirSubmissionRejected
)

DETAIL_TYPES: dict[str, type[BaseModel]] = {
    model.detail_type: model
    for model in (
        ClaimReady,
        ClaimCorrected,
        ClaimHeld,
        ClaimSubmitted,
        ClaimAccepted,
        ClaimRejected,
        ClaimFailedToSend,
        ClaimAdjudicated,
        ClaimClosed,
        ClaimResponseWritten,
        ExplanationOfBenefitWritten,
        FhirSubmissionRejected,
    )
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


WriteBackDetailType = Literal[
    "Claim Ready",
    "Claim Held",
    "Claim Submitted",
    "Claim Accepted",
    "Claim Rejected",
    "Claim Adjudicated",
    "Claim Failed To Send",
    "Claim Corrected",
    "Claim Closed",
]
WRITE_BACK_DETAIL_TYPES: tuple[str, ...] = get_args(WriteBackDetailType)
"""Claim events that mean a state change the EHR must hear about (the template's WriteBackRule lists the same)."""


class ClaimChangedDetail(BaseModel):
    """The part of any claim event the write-back reads: which claim changed (other fields are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    tenant_id: Id
    claim_id: Id


class ClaimChangedEvent(EventBridgeModel):
    """The EventBridge envelope of a claim state-change event, as WriteBackQueue receives it."""

    source: Literal["claimbridge"]
    detail_type: WriteBackDetailType = Field(alias="detail-type")
    detail: ClaimChangedDetail


class ClaimChangedRecord(SqsRecordModel):
    """WriteBackQueue record: the body is a claim state-change bus event."""

    body: Json[ClaimChangedEvent]


class InboundObjectRecord(SqsRecordModel):
    """IngestQueue record: the body is an EventBridge ``Object Created`` event of the inbound bucket."""

    body: Json[S3EventNotificationEventBridgeModel]


class ClaimCorrectedEvent(EventBridgeModel):
    """The EventBridge envelope of a ``Claim Corrected`` event, as SubmitQueue receives it."""

    source: Literal["claimbridge"]
    detail_type: Literal["Claim Corrected"] = Field(alias="detail-type")
    detail: ClaimCorrected


class ClaimReadyRecord(SqsRecordModel):
    """SubmitQueue record: the body is a ``Claim Ready`` (or a biller's ``Claim Corrected``) bus event."""

    body: Json[ClaimReadyEvent | ClaimCorrectedEvent]


class ResponseObjectRecord(SqsRecordModel):
    """ResponsesQueue record: the body is an ``Object Created`` event for ``responses/<tenant>/<kind>/<id>.x12``."""

    body: Json[S3EventNotificationEventBridgeModel]


# ------------------------------------------------------------------------------ events EHRs put on the claim bus

SUBMITTED_DETAIL_TYPE = "FHIR Bundle Submitted"
SUBMISSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-.]{0,63}$"
"""``detail.submission_id``: a FHIR id (it names the OperationOutcome), at most 64 characters."""
MAX_INLINE_BUNDLE_BYTES = 200 * 1024
"""``detail.bundle`` must serialize (compact JSON, UTF-8) to fewer bytes than this (contract section 1)."""


class SubmittedS3Object(BaseModel):
    """``detail.s3``: a Bundle, NDJSON file or Bulk Data ``manifest.json`` in a bucket the sending account owns."""

    model_config = _DETAIL
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")]
    key: Annotated[str, Field(min_length=1, max_length=1024)]


class FhirBundleSubmitted(BaseModel):
    """The ``detail`` of ``FHIR Bundle Submitted`` (contract section 1): exactly one of ``bundle`` and ``s3``.

    The tenant is never read from here: it is the one that registered the event's (``account``, ``source``).
    """

    model_config = _DETAIL
    detail_type: ClassVar[str] = SUBMITTED_DETAIL_TYPE
    submission_id: Annotated[str, Field(pattern=SUBMISSION_ID_PATTERN)] | None = None
    bundle: Annotated[dict[str, JsonValue] | None, Field(repr=False)] = None
    s3: SubmittedS3Object | None = None

    @model_validator(mode="after")
    def _one_payload(self) -> FhirBundleSubmitted:
        if (self.bundle is None) == (self.s3 is None):
            raise ValueError("exactly one of detail.bundle and detail.s3 is required")
        return self


class FhirBundleSubmittedEvent(EventBridgeModel):
    """The EventBridge envelope of ``FHIR Bundle Submitted`` (any ``source``), as SubmittedEventsQueue receives it.

    ``detail`` stays a plain object here so that a malformed detail still reaches the domain, which quarantines it
    with an ``IN-FORMAT`` OperationOutcome for the EHR instead of retrying it into a DLQ; the domain validates it
    with :class:`FhirBundleSubmitted`. ``id`` names S3 keys, so it is held to EventBridge's UUID alphabet.
    """

    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]{0,63}$")]
    account: Annotated[str, Field(pattern=r"^[0-9]{12}$")]
    source: Annotated[str, Field(min_length=1, max_length=256)]
    detail_type: Literal["FHIR Bundle Submitted"] = Field(alias="detail-type")
    detail: dict[str, Any] = Field(repr=False)


class SubmittedEventRecord(SqsRecordModel):
    """SubmittedEventsQueue record: the body is a ``FHIR Bundle Submitted`` event an EHR put on the claim bus."""

    model_config = ConfigDict(hide_input_in_errors=True)
    body: Json[FhirBundleSubmittedEvent] = Field(repr=False)


class ScheduledEvent(EventBridgeModel):
    """The EventBridge schedule that triggers polling (``aws.events`` / ``Scheduled Event``)."""

    source: Literal["aws.events", "aws.scheduler"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
