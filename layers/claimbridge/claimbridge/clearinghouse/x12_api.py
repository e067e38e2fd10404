"""X12-over-HTTPS clearinghouse adapter (Stedi-style raw X12 API); also what talks to the local sandbox.

``submit`` posts one 837P interchange as ``{"x12": ...}`` with an ``Idempotency-Key``, so a retried submission is
never filed twice. ``fetch_responses`` lists the reports published after a cursor and downloads each one.
HTTP outcomes become domain errors at this boundary: 4xx -> ``ClearinghouseRejected`` (permanent), 401/403 ->
``ClearinghouseAuthError``, 5xx/429/timeouts/broken connections -> ``ClearinghouseRetryLater`` (retryable, with the
server's ``Retry-After``). One attempt per call: retrying is the queue's job (SQS redelivery, then the DLQ).
The API key is sent, never logged; logs carry the route, the status and ids only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from claimbridge.clearinghouse.errors import (
    ApiError,
    ClearinghouseAuthError,
    ClearinghouseConfigError,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
)
from claimbridge.clearinghouse.port import ResponseFile, ResponsePage, SubmissionReceipt

logger = logging.getLogger(__name__)

SUBMISSION_PATH: Final = "/change/medicalnetwork/professionalclaims/v3/raw-x12-submission"
REPORTS_PATH: Final = "/reports"
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
DEFAULT_PAGE_SIZE: Final = 100
_MAX_IDEMPOTENCY_KEY = 255
_KINDS: Final[dict[str, Literal["999", "277CA", "835"]]] = {"999": "999", "277CA": "277CA", "835": "835"}
_Model = TypeVar("_Model", bound=BaseModel)


class _Submitted(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str


class _ListedReport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    kind: str


class _Listing(BaseModel):
    model_config = ConfigDict(extra="ignore")
    items: list[_ListedReport]
    next_cursor: str | None = None


class X12ApiClearinghouse:
    """ClearinghousePort over a raw-X12 HTTP API.

    Parameters
    ----------
    base_url
        e.g. ``https://healthcare.us.stedi.com/2024-04-01`` or the sandbox's ``http://127.0.0.1:<port>``.
    api_key
        Sent as ``Authorization: Key <api_key>``.
    timeout
        httpx timeouts for every request (explicit: a hung clearinghouse must not hold a Lambda to its limit).
    client
        An ``httpx.Client`` to use (tests, connection reuse); the adapter closes only a client it created.
    page_size
        Reports per ``fetch_responses`` call.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ClearinghouseConfigError("clearinghouse base URL must be http(s)://")
        if not api_key:
            raise ClearinghouseConfigError("clearinghouse API key is empty")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"X12ApiClearinghouse(base_url={self.base_url!r})"  # never the key

    def submit(self, x12: str, *, idempotency_key: str) -> SubmissionReceipt:
        """POST one interchange; the same ``idempotency_key`` always means the same submission."""
        if not idempotency_key or len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
            raise ClearinghouseConfigError(f"idempotency key must be 1..{_MAX_IDEMPOTENCY_KEY} characters")
        response = self._request(
            "POST", SUBMISSION_PATH, json={"x12": x12}, headers={"Idempotency-Key": idempotency_key}
        )
        submitted = self._parse(response, _Submitted)
        logger.info(
            "clearinghouse took a submission",
            extra={"submission_id": submitted.id, "replayed": response.headers.get("Idempotent-Replayed") == "true"},
        )
        return SubmissionReceipt(submission_id=submitted.id, idempotency_key=idempotency_key)

    def fetch_responses(self, cursor: str | None) -> ResponsePage:
        """One page of reports published after ``cursor``, each downloaded; ``next_cursor`` resumes after them."""
        params = {"limit": str(self._page_size)} | ({"after": cursor} if cursor else {})
        listing = self._parse(self._request("GET", REPORTS_PATH, params=params), _Listing)
        responses = []
        for item in listing.items:
            kind = _KINDS.get(item.kind)
            if kind is None:
                logger.warning("skipping a report of unknown kind", extra={"report_id": item.id})
                continue
            content = self._request("GET", f"{REPORTS_PATH}/{quote(item.id, safe='')}").text
            responses.append(ResponseFile(response_id=item.id, kind=kind, content=content))
        next_cursor = listing.next_cursor or (listing.items[-1].id if listing.items else cursor)
        return ResponsePage(responses=tuple(responses), next_cursor=next_cursor)

    def acknowledge(self, response_ids: Sequence[str]) -> None:
        """Nothing to do: the reports listing is read by cursor and keeps no per-reader state."""

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> X12ApiClearinghouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Key {self._api_key}", "Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            response = self._client.request(
                method, f"{self.base_url}{path}", headers=headers, timeout=self._timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            logger.warning("clearinghouse timed out", extra={"method": method, "route": _route(path)})
            raise ClearinghouseRetryLater("timeout") from exc
        except httpx.TransportError as exc:
            logger.warning("clearinghouse unreachable", extra={"method": method, "route": _route(path)})
            raise ClearinghouseRetryLater("connection") from exc
        status = response.status_code
        if status < 400:
            return response
        logger.warning(
            "clearinghouse answered an error", extra={"method": method, "route": _route(path), "status": status}
        )
        if status == 429 or status >= 500:
            raise ClearinghouseRetryLater("http", status_code=status, retry_after=_retry_after(response))
        errors = _errors(response)
        if status in (401, 403):
            raise ClearinghouseAuthError(status, errors)
        raise ClearinghouseRejected(status, errors)

    @staticmethod
    def _parse(response: httpx.Response, model: type[_Model]) -> _Model:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ClearinghouseRetryLater("bad-response", status_code=response.status_code) from exc


def _route(path: str) -> str:
    """The path without report ids, for logs and metrics."""
    return f"{REPORTS_PATH}/{{id}}" if path.startswith(f"{REPORTS_PATH}/") else path


def _errors(response: httpx.Response) -> tuple[ApiError, ...]:
    try:
        body = json.loads(response.content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ()
    raw = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return ()
    parsed = []
    for entry in raw:
        if isinstance(entry, dict):
            try:
                parsed.append(ApiError.model_validate(entry))
            except ValidationError:
                continue
    return tuple(parsed)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
