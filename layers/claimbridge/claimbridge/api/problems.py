"""Errors of the tenant API as RFC 9457 problem documents (``application/problem+json``) with Claimbridge codes.

Every domain error maps to one status: 400 validation (with the location of each problem as a JSON pointer into the
request: ``/body/providers/0/npi``, ``/query/limit``, ``/header/if-match``), 403 an unknown caller, 404 something the
caller may not see (another tenant's resources look exactly like missing ones), 409 a conflict with the current
state, 428 a change without ``If-Match``, 503 a store that can be retried. Bodies carry codes, locations and rules;
never the submitted values, which may be PHI.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict

from claimbridge.errors import ClaimsError, StateConflict
from claimbridge.pipeline.actions import ActionRefused, ClaimNotFound, InvalidOverride
from claimbridge.tenants.models import TenantConfigError
from claimbridge.tenants.service import NotFound, PreconditionRequired, VersionConflict
from claimbridge.worklists.service import InvalidPageToken

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemLocation(BaseModel):
    """Where one problem is (a JSON pointer into the request) and the rule it breaks."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    location: str
    message: str


class Problem(BaseModel):
    """An error response."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    errors: list[ProblemLocation] = []


class Forbidden(ClaimsError):
    """The caller's identity maps to no tenant and is not an operator."""

    code = "CB-FORBIDDEN"


def problem(status: HTTPStatus, code: str, detail: str, errors: Sequence[ProblemLocation] = ()) -> Problem:
    """A problem document with the status's standard title."""
    return Problem(title=status.phrase, status=status.value, code=code, detail=detail, errors=list(errors))


def validation_problem(errors: Sequence[Any]) -> Problem:
    """400 for a request the models refused; each pydantic error becomes its location and message (no input)."""
    locations = [
        ProblemLocation(
            location="/" + "/".join(str(part).lower() if index == 0 else str(part) for index, part in enumerate(loc)),
            message=str(error.get("msg", error.get("type", "invalid"))),
        )
        for error in errors
        if isinstance(error, dict)
        for loc in [tuple(error.get("loc", ()))]
    ]
    return problem(HTTPStatus.BAD_REQUEST, "CB-VALIDATION", "the request is not valid", locations)


NOT_FOUND_ERRORS: tuple[type[ClaimsError], ...] = (NotFound, ClaimNotFound)
CONFLICT_ERRORS: tuple[type[ClaimsError], ...] = (VersionConflict, StateConflict, ActionRefused)


def problem_for(exc: ClaimsError) -> Problem:
    """The problem document of a domain error (its message names ids and rules only)."""
    if isinstance(exc, TenantConfigError):
        return problem(
            HTTPStatus.BAD_REQUEST,
            "CB-TENANT-INVALID",
            "the tenant document is not valid",
            [ProblemLocation(location=f"/body{pointer}", message=rule) for pointer, rule in exc.problems],
        )
    if isinstance(exc, InvalidOverride):  # before ActionRefused, its base: the request, not the state, is wrong
        return problem(
            HTTPStatus.BAD_REQUEST, exc.code, str(exc), [ProblemLocation(location="/body/overrides", message=str(exc))]
        )
    if isinstance(exc, InvalidPageToken):
        return problem(
            HTTPStatus.BAD_REQUEST, exc.code, str(exc), [ProblemLocation(location="/query/next", message=str(exc))]
        )
    if isinstance(exc, Forbidden):
        return problem(HTTPStatus.FORBIDDEN, exc.code, str(exc))
    if isinstance(exc, NOT_FOUND_ERRORS):
        return problem(HTTPStatus.NOT_FOUND, exc.code, str(exc))
    if isinstance(exc, PreconditionRequired):
        return problem(
            HTTPStatus.PRECONDITION_REQUIRED,
            exc.code,
            str(exc),
            [ProblemLocation(location="/header/if-match", message="required")],
        )
    if isinstance(exc, CONFLICT_ERRORS):
        return problem(HTTPStatus.CONFLICT, exc.code, str(exc))
    if exc.retryable:
        return problem(HTTPStatus.SERVICE_UNAVAILABLE, exc.code, "a backing service is unavailable; retry later")
    return problem(HTTPStatus.BAD_REQUEST, exc.code, str(exc))


def _documented(status: HTTPStatus, description: str) -> OpenAPIResponse:
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"model": Problem}}}


BAD_REQUEST = _documented(HTTPStatus.BAD_REQUEST, "Invalid request (each problem's location and rule)")
FORBIDDEN = _documented(HTTPStatus.FORBIDDEN, "The caller's identity maps to no tenant")
NOT_FOUND = _documented(HTTPStatus.NOT_FOUND, "Not found (also: not the caller's tenant)")
CONFLICT = _documented(HTTPStatus.CONFLICT, "Conflicts with the current state or version")
PRECONDITION = _documented(HTTPStatus.PRECONDITION_REQUIRED, "If-Match is required to change an existing tenant")
UNAVAILABLE = _documented(HTTPStatus.SERVICE_UNAVAILABLE, "A backing service is unavailable; retry later")
UNSUPPORTED = _documented(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "The body is not application/json")


OK: OpenAPIResponse = {"description": "Successful response"}
"""Without ``content`` the resolver documents the route's return model."""
WITH_ETAG: OpenAPIResponse = {
    "description": "Successful response; ETag is the tenant's configuration version",
    "headers": {"ETag": {"description": "the config_version, quoted", "schema": {"type": "string"}}},
}


def responses(*extra: tuple[int, OpenAPIResponse]) -> dict[int, OpenAPIResponse]:
    """The success and problem responses every route documents, plus ``extra`` (which may replace the 200)."""
    documented: dict[int, OpenAPIResponse] = {
        200: OK,
        400: BAD_REQUEST,
        403: FORBIDDEN,
        404: NOT_FOUND,
        503: UNAVAILABLE,
    }
    documented.update(extra)
    return documented
