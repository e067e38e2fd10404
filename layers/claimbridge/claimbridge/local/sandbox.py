"""The sandbox clearinghouse: a real HTTP server on 127.0.0.1 that speaks a raw-X12 clearinghouse API (Stedi's shape).

Routes
------
``POST /change/medicalnetwork/professionalclaims/v3/raw-x12-submission``
    JSON ``{"x12": "<interchange>"}``, headers ``Authorization`` (any non-empty value) and ``Idempotency-Key``.
    200 ``{"id", "status", "received_at"}``; the same key again returns the same answer without a second copy
    (409 when the key comes back with a different interchange). 400 ``{"errors": [{code, description, location}]}``
    when the body is not JSON, has no ``x12`` or has no readable ISA. Otherwise the interchange is validated with pyx12
    and a 999 (and, for accepted transaction sets, a 277CA) is published; with 835s switched on (``remit``), an 835
    for the accepted claims follows later.
``GET /reports?after=<cursor>&limit=<n>``
    ``{"items": [{"id", "kind": "999"|"277CA"|"835", "created"}], "next_cursor"}``, oldest first; the cursor is the
    id of the last item seen (opaque, monotonic). Each listing first publishes the 835s that are due.
``GET /reports/<id>``
    The report's X12 (``text/plain``).
``GET|POST|DELETE /_sandbox/faults``
    Test controls (``FaultRequest``); ``DELETE`` clears them. What they do:

    ==================  =======================================================================================
    ``fail_next``       the next N requests of a route get HTTP 4xx/5xx, 429 with ``Retry-After``
    ``timeout_next``    the next N requests are held ``seconds`` (longer than the client's read timeout): with
                        ``taken`` the request is served first and its answer comes too late (taken, answer lost);
                        without, the connection is closed after the hold and nothing was done
    ``drop_next``       the next N connections are closed without an answer, before or (``taken``) after the
                        request was served
    ``reject_interchanges``  the next N submissions get a 999 with IK5/AK9 ``R`` for every transaction set
    ``reject_claims``   these CLM01s get ``reject_status`` (default ``A7:562:85``) in the 277CA, until reset
    ``remit``           835s for accepted claims, published after ``after_listings`` report listings, with an
                        outcome per claim (paid, partial with CO-45/PR-1/2/3, denied with a CARC and a RARC)
    ==================  =======================================================================================

    ``fail_next``/``timeout_next``/``drop_next`` name a ``route``: ``submit`` (default), ``list`` (the reports
    listing) or ``download`` (one report); per route they apply in the order they were asked for.
``GET /_sandbox/submissions``
    What the sandbox took: every filed submission (id, idempotency key, ISA13s, CLM01s) and counts of requests,
    replays and injected faults, so tests can prove no interchange was filed twice.
``GET /_sandbox/health``
    200 when the server is up.

Error bodies never carry data from the request: codes, fixed descriptions and X12/JSON locations only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Annotated, Any, Literal
from urllib.parse import SplitResult, parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claimbridge.errors import X12SyntaxError
from claimbridge.local.sandbox_claims import read_submission
from claimbridge.local.sandbox_remits import UNKNOWN_PAYER, RemitClaim, RemitOutcome, build_835, payers_by_claim
from claimbridge.local.sandbox_responses import DEFAULT_REJECTION, AcceptedClaim, answer_submission, response_envelope
from claimbridge.x12.acks import StatusCode
from claimbridge.x12.validate import validate_837p

logger = logging.getLogger(__name__)

SHUTDOWN_POLL_SECONDS = 0.05
"""How often the serving loop checks for a shutdown request (the standard library default, 0.5 s, slows stop())."""

SUBMISSION_PATH = "/change/medicalnetwork/professionalclaims/v3/raw-x12-submission"
REPORTS_PATH = "/reports"
FAULTS_PATH = "/_sandbox/faults"
SUBMISSIONS_PATH = "/_sandbox/submissions"
HEALTH_PATH = "/_sandbox/health"
MAX_BODY_BYTES = 20 * 1024 * 1024
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_VALIDATION_LOCK = threading.Lock()
_REPORT_ID = re.compile(r"^rpt-(?P<sequence>[0-9]{10})$")
_STATUS_COMPOSITE = re.compile(r"^(?P<category>A[0-9]):(?P<status>[0-9]{1,5})(:(?P<entity>[0-9A-Z]{2,3}))?$")


class ApiFailure(Exception):
    """An HTTP error answer: status plus the structured ``errors`` list."""

    def __init__(self, status: HTTPStatus, code: str, description: str, location: str = "") -> None:
        super().__init__(code)
        self.status = status
        self.errors = [{"code": code, "description": description, "location": location}]


Route = Literal["submit", "list", "download"]
_Clm01 = Annotated[str, Field(min_length=1, max_length=50)]


class FailNext(BaseModel):
    """Answer the next ``count`` requests of ``route`` with ``status`` (and ``Retry-After`` when given)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    status: Literal[400, 401, 403, 409, 422, 429, 500, 502, 503, 504] = 503
    retry_after: Annotated[int | None, Field(ge=0, le=3600)] = None
    route: Route = "submit"


class TimeoutNext(BaseModel):
    """Hold the next ``count`` requests of ``route`` for ``seconds``; ``taken``: serve first, answer after the hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    seconds: Annotated[float, Field(gt=0, le=30)] = 2.0
    taken: bool = False
    route: Route = "submit"


class DropNext(BaseModel):
    """Close the next ``count`` connections of ``route`` without an answer; ``taken``: after serving the request."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    taken: bool = False
    route: Route = "submit"


class RemitControl(BaseModel):
    """835s for the claims a 277CA accepts: published at the ``after_listings``-th report listing after the
    submission (0: with its 999/277CA), adjudicated as ``claims[CLM01]`` says, else as ``default``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    after_listings: Annotated[int, Field(ge=0, le=1000)] = 1
    default: RemitOutcome = RemitOutcome()
    claims: Annotated[dict[_Clm01, RemitOutcome], Field(max_length=1000)] = Field(default_factory=dict)


Fault = FailNext | TimeoutNext | DropNext


class FaultRequest(BaseModel):
    """Body of ``POST /_sandbox/faults``; every field is optional and adds to the current faults.

    ``reject_claims``: CLM01 values answered with ``reject_status`` (default ``A7:562:85``) in the 277CA, until reset.
    ``reject_interchanges``: the next N submissions get a 999 with IK5/AK9 ``R`` for every transaction set.
    ``fail_next`` / ``timeout_next`` / ``drop_next``: queued per route behind the ones already asked for (within one
    request in that order).
    ``remit``: switches 835s on with these settings (replacing earlier ones; 835s are off until asked for).
    ``reset``: clear all faults (and the 835 settings) first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    reset: bool = False
    reject_claims: Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=1000)] = Field(
        default_factory=list
    )
    reject_status: Annotated[str | None, Field(pattern=_STATUS_COMPOSITE.pattern)] = None
    reject_interchanges: Annotated[int, Field(ge=0, le=1000)] = 0
    fail_next: FailNext | None = None
    timeout_next: TimeoutNext | None = None
    drop_next: DropNext | None = None
    remit: RemitControl | None = None


@dataclass(frozen=True)
class Report:
    id: str
    sequence: int
    kind: str
    created: str
    content: str


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    body: dict[str, Any]


@dataclass(frozen=True)
class TakenSubmission:
    """One submission the sandbox filed (what a duplicate check counts)."""

    submission_id: str
    idempotency_key: str | None
    interchange_control_numbers: tuple[str, ...]
    claim_ids: tuple[str, ...]
    received_at: str


@dataclass
class _Scripted:
    fault: Fault
    remaining: int


@dataclass
class _PendingRemit:
    """835 content waiting for its listing."""

    listings_left: int
    submission_id: str
    claims: tuple[tuple[AcceptedClaim, RemitClaim], ...]


class SandboxState:
    """Everything the sandbox remembers; every method takes the lock, so handler threads can share one instance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: list[Report] = []
        self._answers: dict[str, StoredAnswer] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._control_number = 0
        self._submissions = 0
        self._scripts: dict[Route, deque[_Scripted]] = {"submit": deque(), "list": deque(), "download": deque()}
        self._taken: list[TakenSubmission] = []
        self._pending_remits: list[_PendingRemit] = []
        self._counts: Counter[str] = Counter()
        self.rejected_claims: dict[str, StatusCode] = {}
        self.reject_interchanges = 0
        self.remit: RemitControl | None = None

    # -------------------------------------------------------------------------------------------- faults
    def apply_faults(self, request: FaultRequest) -> dict[str, Any]:
        with self._lock:
            if request.reset:
                self.rejected_claims.clear()
                self.reject_interchanges = 0
                for script in self._scripts.values():
                    script.clear()
                self.remit = None
            status = _status_code(request.reject_status) if request.reject_status else DEFAULT_REJECTION
            self.rejected_claims.update(dict.fromkeys(request.reject_claims, status))
            self.reject_interchanges += request.reject_interchanges
            for fault in (request.fail_next, request.timeout_next, request.drop_next):
                if fault is not None:
                    self._scripts[fault.route].append(_Scripted(fault, fault.count))
            if request.remit is not None:
                self.remit = request.remit
            return self._faults_locked()

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return self._faults_locked()

    def _faults_locked(self) -> dict[str, Any]:
        return {
            "reject_claims": sorted(self.rejected_claims),
            "reject_interchanges": self.reject_interchanges,
            "next": [
                {"fault": _FAULT_NAMES[type(item.fault)], **item.fault.model_dump(), "count": item.remaining}
                for script in self._scripts.values()
                for item in script
            ],
            "remit": self.remit.model_dump(mode="json") if self.remit else None,
        }

    def take_fault(self, route: Route) -> Fault | None:
        """The injected fault for this request of ``route``, if one is queued (counted as injected)."""
        with self._lock:
            script = self._scripts[route]
            if not script:
                return None
            head = script[0]
            head.remaining -= 1
            if head.remaining <= 0:
                script.popleft()
            self._counts[f"injected_{_FAULT_NAMES[type(head.fault)]}"] += 1
            return head.fault

    def take_interchange_rejection(self) -> bool:
        with self._lock:
            if self.reject_interchanges <= 0:
                return False
            self.reject_interchanges -= 1
            return True

    def claim_rejections(self) -> dict[str, StatusCode]:
        with self._lock:
            return dict(self.rejected_claims)

    # -------------------------------------------------------------------------------------------- 835s
    def remit_settings(self) -> RemitControl | None:
        with self._lock:
            return self.remit

    def schedule_remit(
        self, submission_id: str, claims: tuple[tuple[AcceptedClaim, RemitClaim], ...], after: int
    ) -> None:
        with self._lock:
            self._pending_remits.append(_PendingRemit(after, submission_id, claims))

    def due_remits(self, *, listing: bool) -> list[_PendingRemit]:
        """Remits due now; a ``listing`` counts down every pending one first."""
        with self._lock:
            due: list[_PendingRemit] = []
            waiting: list[_PendingRemit] = []
            for pending in self._pending_remits:
                if listing:
                    pending.listings_left -= 1
                (due if pending.listings_left <= 0 else waiting).append(pending)
            self._pending_remits = waiting
            self._counts["remits_published"] += len(due)
            return due

    # ------------------------------------------------------------------------------------------ accounting
    def count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def record_taken(self, taken: TakenSubmission) -> None:
        with self._lock:
            self._taken.append(taken)

    def submissions(self) -> dict[str, Any]:
        """Every filed submission and the request counters (the ``/_sandbox/submissions`` body)."""
        with self._lock:
            return {
                "taken": [asdict(taken) for taken in self._taken],
                "counts": dict(sorted(self._counts.items())),
            }

    def published(self) -> list[Report]:
        """Every report published so far, oldest first."""
        with self._lock:
            return list(self._reports)

    # --------------------------------------------------------------------------------------- submissions
    def key_lock(self, key: str) -> threading.Lock:
        """One lock per idempotency key: a retry racing the first attempt waits for its answer."""
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def answer_for(self, key: str) -> StoredAnswer | None:
        with self._lock:
            return self._answers.get(key)

    def remember(self, key: str, answer: StoredAnswer) -> None:
        with self._lock:
            self._answers[key] = answer

    def next_submission(self) -> int:
        with self._lock:
            self._submissions += 1
            return self._submissions

    def next_control_number(self) -> int:
        with self._lock:
            self._control_number += 1
            return self._control_number

    # ------------------------------------------------------------------------------------------- reports
    def publish(self, kind: str, content: str, created: datetime) -> Report:
        with self._lock:
            sequence = len(self._reports) + 1
            report = Report(f"rpt-{sequence:010d}", sequence, kind, created.isoformat(), content)
            self._reports.append(report)
            return report

    def reports_after(self, sequence: int, limit: int) -> list[Report]:
        with self._lock:
            return self._reports[sequence : sequence + limit]

    def report(self, sequence: int) -> Report | None:
        with self._lock:
            return self._reports[sequence - 1] if 0 < sequence <= len(self._reports) else None

    # ------------------------------------------------------------------ added for the SFTP front end (issue 6)
    def submissions_taken(self) -> int:
        """How many submissions were filed (replays of an idempotency key not counted): what "no duplicate" means."""
        with self._lock:
            return self._submissions


def _status_code(composite: str) -> StatusCode:
    match = _STATUS_COMPOSITE.match(composite)
    if match is None:
        raise ApiFailure(HTTPStatus.BAD_REQUEST, "INVALID_FAULT", "reject_status is not category:status[:entity]")
    return StatusCode(category=match["category"], status=match["status"], entity=match["entity"])


def _report_sequence(report_id: str, location: str) -> int:
    match = _REPORT_ID.match(report_id)
    if match is None:
        raise ApiFailure(HTTPStatus.BAD_REQUEST, "INVALID_CURSOR", "not a report id issued by this sandbox", location)
    return int(match["sequence"])


Answer = tuple[HTTPStatus, bytes, str, dict[str, str]]
"""An HTTP answer: status, payload, content type, extra headers."""


class ConnectionFault(Exception):
    """An injected timeout or dropped connection: hold ``hold_seconds``, send ``late_answer`` if any, then close."""

    def __init__(self, hold_seconds: float, late_answer: Answer | None) -> None:
        super().__init__("injected connection fault")
        self.hold_seconds = hold_seconds
        self.late_answer = late_answer


_FAULT_NAMES: dict[type[BaseModel], str] = {FailNext: "fail", TimeoutNext: "timeout", DropNext: "drop"}
_JSON = "application/json"


def _injected_failure(fault: FailNext) -> tuple[HTTPStatus, dict[str, Any], dict[str, str]]:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.status == 429:
        return HTTPStatus(fault.status), _errors("RATE_LIMITED", "injected failure: slow down", ""), headers
    if fault.status >= 500:
        body = _errors("SERVICE_UNAVAILABLE", "injected failure: try again later", "")
    else:
        body = _errors("INJECTED_REJECTION", "injected rejection of the request", "x12")
    return HTTPStatus(fault.status), body, headers


def _connection_fault(fault: TimeoutNext | DropNext, answer: Answer | None) -> ConnectionFault:
    if isinstance(fault, TimeoutNext):
        return ConnectionFault(fault.seconds, answer)
    return ConnectionFault(0.0, None)


class SandboxService:
    """The API behind the HTTP handler: plain methods returning (status, JSON body) so the handler stays thin."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def submit(self, body: bytes, idempotency_key: str | None) -> tuple[HTTPStatus, dict[str, Any], dict[str, str]]:
        """File one submission, unless an injected fault for route ``submit`` says otherwise.

        Raises ``ConnectionFault`` for an injected timeout or dropped connection (after filing it when ``taken``).
        """
        self.state.count("submit_requests")
        fault = self.state.take_fault("submit")
        if isinstance(fault, FailNext):
            return _injected_failure(fault)
        if fault is not None and not fault.taken:
            raise _connection_fault(fault, None)
        status, answer, headers = self._file(body, idempotency_key)
        if fault is not None:
            raise _connection_fault(fault, (status, json.dumps(answer).encode(), _JSON, headers))
        return status, answer, headers

    def serve(self, route: Route, produce: Callable[[], Answer]) -> Answer:
        """``produce`` the answer to a reports request, unless an injected fault for ``route`` says otherwise."""
        fault = self.state.take_fault(route)
        if isinstance(fault, FailNext):
            status, body, headers = _injected_failure(fault)
            return status, json.dumps(body).encode(), _JSON, headers
        if fault is not None and not fault.taken:
            raise _connection_fault(fault, None)
        answer = produce()
        if fault is not None:
            raise _connection_fault(fault, answer)
        return answer

    def _file(self, body: bytes, idempotency_key: str | None) -> tuple[HTTPStatus, dict[str, Any], dict[str, str]]:
        x12 = _x12_from(body)
        fingerprint = hashlib.sha256(x12.encode()).hexdigest()
        if not idempotency_key:
            return HTTPStatus.OK, self._process(x12), {}
        with self.state.key_lock(idempotency_key):
            stored = self.state.answer_for(idempotency_key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise ApiFailure(
                        HTTPStatus.CONFLICT,
                        "IDEMPOTENCY_KEY_REUSED",
                        "this Idempotency-Key was used with a different interchange",
                        "headers.Idempotency-Key",
                    )
                self.state.count("replays")
                return HTTPStatus.OK, stored.body, {"Idempotent-Replayed": "true"}
            answer = self._process(x12, idempotency_key=idempotency_key)
            self.state.remember(idempotency_key, StoredAnswer(fingerprint, answer))
            return HTTPStatus.OK, answer, {}

    def _process(self, x12: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        try:
            interchanges = read_submission(x12)
        except X12SyntaxError as exc:
            raise ApiFailure(HTTPStatus.BAD_REQUEST, "X12_UNREADABLE", str(exc), f"x12.{exc.x12_location}") from exc
        with _VALIDATION_LOCK:  # pyx12 keeps module-level caches; one validation at a time is plenty for a sandbox
            issues = validate_837p(x12)
        if any(issue.code == "NOT-X12" for issue in issues):
            raise ApiFailure(HTTPStatus.BAD_REQUEST, "X12_UNREADABLE", "the X12 reader could not parse it", "x12")
        received = datetime.now(UTC)
        sequence = self.state.next_submission()
        submission_id = f"SBX{sequence:07d}"
        verdict = answer_submission(
            interchanges,
            issues,
            submission_id=submission_id,
            received=received,
            force_reject=self.state.take_interchange_rejection(),
            rejections=self.state.claim_rejections(),
            next_control_number=self.state.next_control_number,
        )
        for kind, content in verdict.reports:
            self.state.publish(kind, content, received)
        self.state.record_taken(
            TakenSubmission(
                submission_id=submission_id,
                idempotency_key=idempotency_key,
                interchange_control_numbers=tuple(interchange.control_number for interchange in interchanges),
                claim_ids=tuple(
                    claim.patient_control_number
                    for interchange in interchanges
                    for group in interchange.groups
                    for transaction in group.transactions
                    for claim in transaction.claims
                ),
                received_at=received.isoformat(),
            )
        )
        self._schedule_remits(x12, submission_id, verdict.accepted)
        logger.info(
            "sandbox took a submission",
            extra={
                "submission_id": submission_id,
                "issues": len(issues),
                "claims_accepted": verdict.accepted_claims,
                "claims_rejected": verdict.rejected_claims,
            },
        )
        return {"id": submission_id, "status": "RECEIVED", "received_at": received.isoformat()}

    def _schedule_remits(self, x12: str, submission_id: str, accepted: tuple[AcceptedClaim, ...]) -> None:
        """With 835s switched on, the accepted claims' 835 waits for its listing (or goes out now)."""
        settings = self.state.remit_settings()
        if settings is None or not accepted:
            return
        payers = payers_by_claim(x12)
        claims = tuple(
            (
                item,
                RemitClaim(
                    claim=item.claim,
                    payer_claim_control_number=item.payer_claim_control_number,
                    payer=payers.get(item.claim.patient_control_number, UNKNOWN_PAYER),
                    outcome=settings.claims.get(item.claim.patient_control_number, settings.default),
                ),
            )
            for item in accepted
        )
        self.state.schedule_remit(submission_id, claims, settings.after_listings)
        if settings.after_listings == 0:
            self.release_remits(listing=False)

    def release_remits(self, *, listing: bool) -> int:
        """Publish the 835s that are due (a ``listing`` counts down the others first); returns how many."""
        published = 0
        for pending in self.state.due_remits(listing=listing):
            by_interchange: dict[int, list[tuple[AcceptedClaim, RemitClaim]]] = {}
            for item in pending.claims:
                by_interchange.setdefault(id(item[0].interchange), []).append(item)
            for items in by_interchange.values():
                created = datetime.now(UTC)
                envelope = response_envelope(items[0][0].interchange, self.state.next_control_number(), created)
                text = build_835(
                    [remit for _accepted, remit in items],
                    envelope=envelope,
                    trace_number=f"{pending.submission_id}-{envelope.interchange_number:06d}",
                    paid_on=created.date(),
                )
                self.state.publish("835", text, created)
                published += 1
        return published

    def list_reports(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """One page of reports after the ``after`` cursor; the 835s due at this listing are published first."""
        after = (query.get("after") or [""])[0]
        sequence = _report_sequence(after, "query.after") if after else 0
        raw_limit = (query.get("limit") or [str(DEFAULT_PAGE_SIZE)])[0]
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE_SIZE:
            raise ApiFailure(
                HTTPStatus.BAD_REQUEST, "INVALID_LIMIT", f"limit must be 1..{MAX_PAGE_SIZE}", "query.limit"
            )
        self.release_remits(listing=True)
        reports = self.state.reports_after(sequence, int(raw_limit))
        return {
            "items": [{"id": report.id, "kind": report.kind, "created": report.created} for report in reports],
            "next_cursor": reports[-1].id if reports else (after or None),
        }

    def report(self, report_id: str) -> str:
        report = self.state.report(_report_sequence(report_id, "path.id"))
        if report is None:
            raise ApiFailure(HTTPStatus.NOT_FOUND, "REPORT_NOT_FOUND", "no report with this id", "path.id")
        return report.content

    # ------------------------------------------------------------------ added for the SFTP front end (issue 6)
    def submit_x12(self, x12: str, idempotency_key: str) -> tuple[dict[str, Any], bool]:
        """File an interchange that arrived without JSON (an SFTP upload): ``(answer, replayed)``.

        The same idempotency and processing as ``submit`` (validation, 999/277CA, the claim and interchange
        rejection faults); the HTTP-only ``fail_next`` fault does not apply. Raises ``ApiFailure`` for an unreadable
        interchange or a key reused with a different one.
        """
        if not x12.strip():
            raise ApiFailure(HTTPStatus.BAD_REQUEST, "MISSING_X12", "the file is empty", "x12")
        fingerprint = hashlib.sha256(x12.encode()).hexdigest()
        with self.state.key_lock(idempotency_key):
            stored = self.state.answer_for(idempotency_key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise ApiFailure(
                        HTTPStatus.CONFLICT,
                        "IDEMPOTENCY_KEY_REUSED",
                        "this file name was used with a different interchange",
                        "file",
                    )
                return stored.body, True
            answer = self._process(x12)
            self.state.remember(idempotency_key, StoredAnswer(fingerprint, answer))
            return answer, False


def _errors(code: str, description: str, location: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "description": description, "location": location}]}


def _x12_from(body: bytes) -> str:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiFailure(HTTPStatus.BAD_REQUEST, "INVALID_JSON", "the request body is not JSON", "body") from exc
    if not isinstance(document, dict) or "x12" not in document:
        raise ApiFailure(HTTPStatus.BAD_REQUEST, "MISSING_X12", "the body must be an object with an x12 string", "x12")
    x12 = document["x12"]
    if not isinstance(x12, str) or not x12.strip():
        raise ApiFailure(HTTPStatus.BAD_REQUEST, "MISSING_X12", "x12 must be a non-empty string", "x12")
    return x12


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the ``SandboxService`` of its server; logs method, route and status only."""

    server: _SandboxHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "ClaimbridgeSandbox/1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox request", extra={"method": self.command, "route": urlsplit(self.path).path})

    def do_GET(self) -> None:
        self._dispatch(self._get)

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def do_DELETE(self) -> None:
        self._dispatch(self._delete)

    def _dispatch(self, route: Callable[[SplitResult], None]) -> None:
        try:
            route(urlsplit(self.path))
        except ApiFailure as failure:
            self._send_json(failure.status, {"errors": failure.errors})
        except ConnectionFault as fault:
            self._misbehave(fault)
        except Exception as exc:  # the sandbox answers 500 like a real server would, and says no more in its log
            logger.error("sandbox request failed", extra={"method": self.command, "error": type(exc).__name__})
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, _errors("INTERNAL", "the sandbox failed", ""))

    def _misbehave(self, fault: ConnectionFault) -> None:
        """An injected timeout (hold, then a late answer or none) or a dropped connection (no answer at all)."""
        self.close_connection = True
        if fault.hold_seconds:
            time.sleep(fault.hold_seconds)
        if fault.late_answer is not None:
            try:
                self._send(*fault.late_answer)
            except OSError:
                pass  # the client gave up long ago: that is the point of the fault

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would be taken for the next request
        if not length.isdigit():
            raise ApiFailure(HTTPStatus.LENGTH_REQUIRED, "LENGTH_REQUIRED", "send a Content-Length", "headers")
        if int(length) > MAX_BODY_BYTES:
            raise ApiFailure(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "TOO_LARGE", "the body is too large", "body")
        return self.rfile.read(int(length))

    def _authorize(self) -> None:
        if not self.headers.get("Authorization", "").strip():
            raise ApiFailure(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "send an Authorization header", "headers")

    def _post(self, url: SplitResult) -> None:
        body = self._body()  # read first, so the connection stays usable whatever we answer
        service = self.server.service
        if url.path == SUBMISSION_PATH:
            self._authorize()
            status, answer, headers = service.submit(body, self.headers.get("Idempotency-Key"))
            self._send_json(status, answer, headers)
        elif url.path == FAULTS_PATH:
            try:
                request = FaultRequest.model_validate_json(body or b"{}")
            except ValidationError as exc:
                locations = ",".join(".".join(str(part) for part in error["loc"]) for error in exc.errors())
                raise ApiFailure(HTTPStatus.BAD_REQUEST, "INVALID_FAULT", "invalid fault request", locations) from exc
            self._send_json(HTTPStatus.OK, service.state.apply_faults(request))
        else:
            raise ApiFailure(HTTPStatus.NOT_FOUND, "NOT_FOUND", "no such route", "path")

    def _get(self, url: SplitResult) -> None:
        service = self.server.service
        if url.path == HEALTH_PATH:
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        elif url.path == FAULTS_PATH:
            self._send_json(HTTPStatus.OK, service.state.faults())
        elif url.path == SUBMISSIONS_PATH:
            self._send_json(HTTPStatus.OK, service.state.submissions())
        elif url.path == REPORTS_PATH:
            self._authorize()
            query = parse_qs(url.query)
            self._send(
                *service.serve(
                    "list", lambda: (HTTPStatus.OK, json.dumps(service.list_reports(query)).encode(), _JSON, {})
                )
            )
        elif url.path.startswith(f"{REPORTS_PATH}/"):
            self._authorize()
            report_id = url.path.removeprefix(f"{REPORTS_PATH}/")
            self._send(
                *service.serve(
                    "download",
                    lambda: (HTTPStatus.OK, service.report(report_id).encode(), "text/plain; charset=utf-8", {}),
                )
            )
        else:
            raise ApiFailure(HTTPStatus.NOT_FOUND, "NOT_FOUND", "no such route", "path")

    def _delete(self, url: SplitResult) -> None:
        if url.path != FAULTS_PATH:
            raise ApiFailure(HTTPStatus.NOT_FOUND, "NOT_FOUND", "no such route", "path")
        self._send_json(HTTPStatus.OK, self.server.service.state.apply_faults(FaultRequest(reset=True)))

    def _send_json(self, status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self, status: HTTPStatus, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    service: SandboxService


class SandboxClearinghouse:
    """The sandbox clearinghouse on ``host:port`` (port 0: any free port), served by a background thread.

    >>> with SandboxClearinghouse() as sandbox:  # doctest: +SKIP
    ...     adapter = X12ApiClearinghouse(sandbox.url, "any-key")
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState()
        self._server: _SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:49152``; only once started."""
        if self._server is None:
            raise RuntimeError("the sandbox clearinghouse is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Bind, serve in a daemon thread, return the base URL."""
        if self._server is None:
            server = _SandboxHTTPServer((self.host, self.port), _Handler)
            server.service = SandboxService(self.state)
            self._server = server
            # A short poll interval: stop() (shutdown) waits for the serving loop to notice, up to one interval.
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                name="sandbox-clearinghouse",
                daemon=True,
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI) until interrupted."""
        self.start()
        assert self._thread is not None  # noqa: S101 - set by start()
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> SandboxClearinghouse:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m claimbridge.local.sandbox --port N``: run the sandbox until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m claimbridge.local.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to bind (0: any free port; default 8765)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sandbox = SandboxClearinghouse(args.host, args.port)
    sandbox.start()
    sys.stdout.write(f"sandbox clearinghouse listening on {sandbox.url}\n")
    sys.stdout.flush()
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        sys.stdout.write("stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
