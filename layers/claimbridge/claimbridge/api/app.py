"""The tenant API: a Powertools REST resolver over the tenant service, the claims read side and the claim actions.

Every route first scopes the request to the caller's tenant (``claimbridge.api.identity``), then calls the service
layer. Request and response bodies are pydantic models (validated both ways), errors are problem documents
(``claimbridge.api.problems``); ``openapi_document()`` is what ``make docs`` writes to ``docs/openapi.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Annotated, Any, NoReturn

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from claimbridge import __version__
from claimbridge.api.identity import Caller, identify
from claimbridge.api.models import (
    FixRequest,
    ProviderList,
    ReasonRequest,
    TenantList,
    TenantSummary,
    TenantWritten,
    VersionList,
)
from claimbridge.api.problems import (
    CONFLICT,
    PRECONDITION,
    PROBLEM_CONTENT_TYPE,
    UNSUPPORTED,
    WITH_ETAG,
    Problem,
    problem,
    problem_for,
    responses,
    validation_problem,
)
from claimbridge.api.services import Services
from claimbridge.errors import ClaimsError
from claimbridge.pipeline.actions import (
    ActionResult,
    ReplayResult,
    close_claim,
    correct_claim,
    replay_quarantined,
    resend_claim,
    resubmit_claim,
    write_off_claim,
)
from claimbridge.state.models import ClaimState
from claimbridge.tenants.models import PayerProfile, RosterProvider, TenantConfig
from claimbridge.worklists.models import ClaimDetail, ClaimPage, UnmatchedList, Worklist, WorklistName

TenantId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{2,62}$", description="the practice's tenant id")]
Npi = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="the clinician's NPI")]
PayerKey = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$", description="a configured payer key")]
ClaimId = Annotated[str, Path(pattern=r"^[A-Z0-9]{1,20}$", description="the Claimbridge claim id (CLM01)")]
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
NextToken = Annotated[str | None, Query(alias="next", max_length=600, description="the previous page's next token")]
IfMatch = Annotated[
    str | None,
    Header(alias="if-match", max_length=40, description='the config_version the change is based on ("0": create)'),
]
_IF_MATCH = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')

TITLE = "Claimbridge tenant API"
SECURITY_SCHEME = "sigv4"


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _expected_version(value: str | None) -> int | None:
    if value is None:
        return None
    match = _IF_MATCH.fullmatch(value.strip())
    if match is None:
        raise_location("/header/if-match", "must be a configuration version number")
    return int(match.group(1))


class TenantApiResolver(APIGatewayRestResolver):
    """The REST resolver, answering 415 for a body that is not JSON before any parsing (the API speaks JSON only;
    Powertools would otherwise try form and multipart parsers on it)."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
        content_type = headers.get("content-type", "").strip().lower()
        if event.get("body") and content_type and not content_type.startswith("application/json"):
            body = problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "CB-MEDIA-TYPE", "send the body as application/json")
            return {
                "statusCode": body.status,
                "multiValueHeaders": {"Content-Type": [PROBLEM_CONTENT_TYPE]},
                "body": body.model_dump_json(),
                "isBase64Encoded": False,
            }
        return super().resolve(event, context)


def build_resolver(services: Callable[[], Services], *, logger: Any | None = None) -> APIGatewayRestResolver:
    """The resolver with every route; ``services`` is called per request (the handler's cached factory)."""
    app = TenantApiResolver(enable_validation=True)

    def caller() -> Caller:
        identity = app.current_event.request_context.identity
        current = services()
        return identify(identity.user_arn, store=current.deps.store, admins=current.admins)

    def problem_response(body: Problem, headers: dict[str, str] | None = None) -> Response[str]:
        return Response(
            status_code=body.status, content_type=PROBLEM_CONTENT_TYPE, body=body.model_dump_json(), headers=headers
        )

    def _unsupported(exc: RequestUnsupportedContentType) -> Response[str]:
        return problem_response(
            problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "CB-MEDIA-TYPE", "send the body as application/json")
        )

    def _invalid(exc: RequestValidationError) -> Response[str]:
        return problem_response(validation_problem(exc.errors()))

    def _domain(exc: ClaimsError) -> Response[str]:
        body = problem_for(exc)
        if logger is not None:
            logger.info("request refused", extra={"status": body.status, "error_code": body.code})
        return problem_response(body)

    def _no_route(exc: NotFoundError) -> Response[str]:
        return problem_response(problem(HTTPStatus.NOT_FOUND, "CB-NO-ROUTE", "no such resource"))

    def _unexpected(exc: Exception) -> Response[str]:
        if logger is not None:
            logger.error("request failed", extra={"error_type": type(exc).__name__})
        return problem_response(
            problem(HTTPStatus.INTERNAL_SERVER_ERROR, "CB-INTERNAL", "the request failed; it was logged by id")
        )

    app.exception_handler(RequestUnsupportedContentType)(_unsupported)
    app.exception_handler(RequestValidationError)(_invalid)
    app.exception_handler(ClaimsError)(_domain)
    app.exception_handler(NotFoundError)(_no_route)
    app.exception_handler(Exception)(_unexpected)

    # ------------------------------------------------------------------ tenants
    @app.get("/tenants", summary="Tenants the caller may see", responses=responses())
    def list_tenants() -> TenantList:
        who = caller()
        if who.is_admin:
            records = services().tenants.all()
        elif who.tenant_id is not None:
            records = [services().tenants.get(who.tenant_id)]
        else:
            who.require_admin()
            records = []
        return TenantList(items=[TenantSummary.of(record) for record in records])

    @app.get("/tenants/<tenant_id>", summary="A tenant's current version", responses=responses())
    def get_tenant(tenant_id: TenantId) -> TenantSummary:
        return TenantSummary.of(services().tenants.get(caller().scope(tenant_id)))

    @app.get(
        "/tenants/<tenant_id>/config",
        summary="The tenant document (ETag: its version)",
        responses=responses((200, WITH_ETAG)),
    )
    def get_config(tenant_id: TenantId) -> Response[TenantConfig]:
        record = services().tenants.get(caller().scope(tenant_id))
        return Response(
            status_code=200,
            content_type="application/json",
            body=record.config,
            headers=_etag(record.config_version),
        )

    @app.put(
        "/tenants/<tenant_id>/config",
        summary="Create or replace the tenant document (a new validated version)",
        responses=responses((200, WITH_ETAG), (409, CONFLICT), (415, UNSUPPORTED), (428, PRECONDITION)),
    )
    def put_config(tenant_id: TenantId, document: TenantConfig, if_match: IfMatch = None) -> Response[TenantWritten]:
        who = caller()  # operators create tenants; a tenant's principals exist only once their tenant does
        record, created = services().tenants.put(
            who.scope(tenant_id), document, actor=who.arn, expected_version=_expected_version(if_match)
        )
        body = TenantWritten(**TenantSummary.of(record).model_dump(), created=created)
        return Response(
            status_code=200, content_type="application/json", body=body, headers=_etag(record.config_version)
        )

    @app.post("/tenants/<tenant_id>/enable", summary="Switch the integration on", responses=responses((409, CONFLICT)))
    def enable(tenant_id: TenantId) -> TenantSummary:
        who = caller()
        return TenantSummary.of(services().tenants.set_enabled(who.scope(tenant_id), True, actor=who.arn))

    @app.post(
        "/tenants/<tenant_id>/disable",
        summary="Switch the integration off (new inputs are quarantined at once)",
        responses=responses((409, CONFLICT)),
    )
    def disable(tenant_id: TenantId) -> TenantSummary:
        who = caller()
        return TenantSummary.of(services().tenants.set_enabled(who.scope(tenant_id), False, actor=who.arn))

    @app.get("/tenants/<tenant_id>/config/versions", summary="Configuration history", responses=responses())
    def versions(tenant_id: TenantId) -> VersionList:
        return VersionList(items=services().tenants.versions(caller().scope(tenant_id)))

    @app.get(
        "/tenants/<tenant_id>/config/versions/<version>", summary="One stored configuration", responses=responses()
    )
    def version(tenant_id: TenantId, version: Annotated[int, Path(ge=1, le=999_999)]) -> TenantConfig:
        return services().tenants.version(caller().scope(tenant_id), version)

    # ------------------------------------------------------------------ providers and payer profiles
    @app.get("/tenants/<tenant_id>/providers", summary="The clinician roster", responses=responses())
    def providers(tenant_id: TenantId) -> ProviderList:
        return ProviderList(items=services().tenants.providers(caller().scope(tenant_id)))

    @app.get("/tenants/<tenant_id>/providers/<npi>", summary="One clinician", responses=responses())
    def provider(tenant_id: TenantId, npi: Npi) -> RosterProvider:
        return services().tenants.provider(caller().scope(tenant_id), npi)

    @app.put(
        "/tenants/<tenant_id>/providers/<npi>",
        summary="Add or replace a clinician (a new version)",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def put_provider(tenant_id: TenantId, npi: Npi, entry: RosterProvider) -> TenantSummary:
        who = caller()
        scoped = who.scope(tenant_id)
        if entry.npi != npi:
            raise_location("/body/npi", "must be the NPI named in the request path")
        return TenantSummary.of(services().tenants.put_provider(scoped, entry, actor=who.arn))

    @app.delete(
        "/tenants/<tenant_id>/providers/<npi>",
        summary="Remove a clinician (a new version)",
        responses=responses((409, CONFLICT)),
    )
    def delete_provider(tenant_id: TenantId, npi: Npi) -> TenantSummary:
        who = caller()
        return TenantSummary.of(services().tenants.delete_provider(who.scope(tenant_id), npi, actor=who.arn))

    @app.get("/tenants/<tenant_id>/payers/<key>/profile", summary="A payer's rules", responses=responses())
    def payer_profile(tenant_id: TenantId, key: PayerKey) -> PayerProfile:
        return services().tenants.payer_profile(caller().scope(tenant_id), key)

    @app.put(
        "/tenants/<tenant_id>/payers/<key>/profile",
        summary="Replace a payer's rules (a new version)",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def put_payer_profile(tenant_id: TenantId, key: PayerKey, profile: PayerProfile) -> TenantSummary:
        who = caller()
        return TenantSummary.of(services().tenants.put_payer_profile(who.scope(tenant_id), key, profile, actor=who.arn))

    # ------------------------------------------------------------------ claims and worklists
    @app.get("/tenants/<tenant_id>/claims", summary="Claims in a state, oldest change first", responses=responses())
    def claims(
        tenant_id: TenantId,
        state: Annotated[ClaimState, Query(description="the lifecycle state")],
        limit: Limit = 25,
        next_token: NextToken = None,
    ) -> ClaimPage:
        return services().claims.page(caller().scope(tenant_id), state, limit=limit, after=next_token)

    @app.get(
        "/tenants/<tenant_id>/claims/<claim_id>",
        summary="One claim with findings, history and files",
        responses=responses(),
    )
    def claim(tenant_id: TenantId, claim_id: ClaimId) -> ClaimDetail:
        return services().claims.detail(caller().scope(tenant_id), claim_id)

    @app.get(
        "/tenants/<tenant_id>/worklists/unmatched",
        summary="Response parts that matched no claim",
        responses=responses(),
    )
    def unmatched(tenant_id: TenantId, limit: Limit = 25, next_token: NextToken = None) -> UnmatchedList:
        return services().claims.unmatched(caller().scope(tenant_id), limit=limit, after=next_token)

    @app.get(
        "/tenants/<tenant_id>/worklists/<name>",
        summary="Held, rejected, denied (category and next action) or failed-to-send claims",
        responses=responses(),
    )
    def worklist(
        tenant_id: TenantId,
        name: Annotated[WorklistName, Path(description="the worklist")],
        limit: Limit = 25,
        next_token: NextToken = None,
    ) -> Worklist:
        return services().claims.worklist(caller().scope(tenant_id), name, limit=limit, after=next_token)

    # ------------------------------------------------------------------ claim actions
    def act(tenant_id: str, perform: Callable[[str, str, Services], ActionResult]) -> ActionResult:
        who = caller()
        current = services()
        return perform(who.scope(tenant_id), who.arn, current)

    @app.post(
        "/tenants/<tenant_id>/claims/<claim_id>/resubmit",
        summary="Re-scrub a HELD or REJECTED claim after a fix (optional field overrides): READY or HELD",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def resubmit(tenant_id: TenantId, claim_id: ClaimId, request: FixRequest) -> ActionResult:
        return act(
            tenant_id,
            lambda scoped, actor, s: resubmit_claim(
                scoped, claim_id, reason=request.reason, actor=actor, deps=s.deps, overrides=request.overrides
            ),
        )

    @app.post(
        "/tenants/<tenant_id>/claims/<claim_id>/correct",
        summary="Send a corrected claim (frequency 7, REF*F8) for an adjudicated or rejected claim",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def correct(tenant_id: TenantId, claim_id: ClaimId, request: FixRequest) -> ActionResult:
        return act(
            tenant_id,
            lambda scoped, actor, s: correct_claim(
                scoped,
                claim_id,
                frequency="7",
                reason=request.reason,
                actor=actor,
                deps=s.deps,
                overrides=request.overrides,
            ),
        )

    @app.post(
        "/tenants/<tenant_id>/claims/<claim_id>/void",
        summary="Void a claim the payer answered (frequency 8)",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def void(tenant_id: TenantId, claim_id: ClaimId, request: ReasonRequest) -> ActionResult:
        return act(
            tenant_id,
            lambda scoped, actor, s: correct_claim(
                scoped, claim_id, frequency="8", reason=request.reason, actor=actor, deps=s.deps
            ),
        )

    @app.post(
        "/tenants/<tenant_id>/claims/<claim_id>/write-off",
        summary="Write off an adjudicated claim's open balance (CLOSED)",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def write_off(tenant_id: TenantId, claim_id: ClaimId, request: ReasonRequest) -> ActionResult:
        return act(
            tenant_id,
            lambda scoped, actor, s: write_off_claim(scoped, claim_id, reason=request.reason, actor=actor, deps=s.deps),
        )

    @app.post(
        "/tenants/<tenant_id>/claims/<claim_id>/close",
        summary="Close a claim nothing more will be done with",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def close(tenant_id: TenantId, claim_id: ClaimId, request: ReasonRequest) -> ActionResult:
        return act(
            tenant_id,
            lambda scoped, actor, s: close_claim(scoped, claim_id, reason=request.reason, actor=actor, deps=s.deps),
        )

    @app.post(
        "/tenants/<tenant_id>/claims/<claim_id>/resend",
        summary="Send a FAILED_TO_SEND claim's interchange again (same file, same idempotency key)",
        responses=responses((409, CONFLICT), (415, UNSUPPORTED)),
    )
    def resend(tenant_id: TenantId, claim_id: ClaimId, request: ReasonRequest) -> ActionResult:
        return act(
            tenant_id,
            lambda scoped, actor, s: resend_claim(scoped, claim_id, reason=request.reason, actor=actor, deps=s.deps),
        )

    @app.post(
        "/tenants/<tenant_id>/replay",
        summary="Send the tenant's inputs quarantined while it was disabled (IN-TENANT) through ingest again",
        responses=responses((409, CONFLICT)),
    )
    def replay(tenant_id: TenantId) -> ReplayResult:
        who = caller()
        return replay_quarantined(who.scope(tenant_id), actor=who.arn, deps=services().deps)

    return app


def raise_location(location: str, message: str) -> NoReturn:
    """Refuse the request with one located validation problem (400)."""
    raise RequestValidationError([{"loc": tuple(location.strip("/").split("/")), "msg": message}])


def openapi_document(resolver: APIGatewayRestResolver | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API as committed in ``docs/openapi.json``.

    The resolver's own generator, with two edits: our validation errors are 400 problem documents, so the generic 422
    it documents on every operation is dropped; and SigV4 (the ``AWS_IAM`` authorizer) is the security scheme.
    """
    app = resolver or build_resolver(_no_services)
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=__version__,
            description=(
                "Tenant enablement, configuration and worklists for Claimbridge practices. IAM (SigV4) "
                "authentication; every request is scoped to the caller's tenant."
            ),
            servers=[Server(url="/")],
            security_schemes={
                SECURITY_SCHEME: APIKey(
                    name="Authorization",
                    in_=APIKeyIn.header,
                    description="AWS Signature Version 4 (API Gateway AWS_IAM authorizer)",
                )
            },
            security=[{SECURITY_SCHEME: []}],
        )
    )
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    return document


def _no_services() -> Services:
    raise RuntimeError("the OpenAPI document is generated without services")
