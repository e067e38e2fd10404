"""``claimbridge tenants ...`` and ``claimbridge claims ...``: the tenant API's service layer from a shell.

The same services the ``tenant_api`` function calls (``claimbridge.api.services``), built from the environment the
functions get (``CLAIMS_TABLE``, ``ARCHIVE_BUCKET``, ``EVENT_BUS_NAME``, ``INBOUND_BUCKET``; ``AWS_ENDPOINT_URL`` for
the local stack: ``make run KEEP=1`` prints the lines to export). The caller is an operator with the AWS credentials of
the shell; ``--tenant`` names the practice. Output is JSON (ids, codes, states: no PHI); errors go to stderr as
``code: message``. Exit status: 0 done, 1 refused (not found, invalid, conflict), 2 not configured.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from claimbridge.api.services import Services, build_services
from claimbridge.errors import ClaimsError
from claimbridge.overrides import ClaimOverrides
from claimbridge.pipeline import actions
from claimbridge.pipeline.ports import CountingMetrics
from claimbridge.settings import get_settings
from claimbridge.state.models import ClaimState
from claimbridge.tenants.models import PayerProfile, RosterProvider, TenantConfigError
from claimbridge.worklists.models import WorklistName

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_NOT_CONFIGURED = 2
WORKLISTS = (*(name.value for name in WorklistName), "unmatched")
REASON_ACTIONS = ("void", "write-off", "close", "resend")


def add_commands(commands: Any) -> None:
    """Register ``tenants`` and ``claims`` on the top-level sub-parsers."""
    tenants = commands.add_parser("tenants", help="tenant documents: list, show, put, enable, disable, versions, ...")
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True)
    tenant_commands.add_parser("list", help="every tenant (id, version, enabled)")
    show = _with_tenant(tenant_commands.add_parser("show", help="the tenant document (or one stored version)"))
    show.add_argument("--version", type=int, help="a stored version number")
    put = tenant_commands.add_parser("put", help="store a tenant document (JSON) as a new validated version")
    put.add_argument("file", type=Path, metavar="FILE")
    put.add_argument("--if-match", type=int, help="the version the change is based on (0: a new tenant)")
    for name in ("enable", "disable", "versions", "replay"):
        _with_tenant(tenant_commands.add_parser(name, help=f"{name} the tenant's integration"))
    providers = _with_tenant(tenant_commands.add_parser("providers", help="the clinician roster"))
    providers.add_argument("action", choices=("list", "show", "put", "delete"))
    providers.add_argument("target", nargs="?", help="NPI (show, delete) or FILE (put)")
    profile = _with_tenant(tenant_commands.add_parser("profile", help="a payer's rules"))
    profile.add_argument("action", choices=("show", "put"))
    profile.add_argument("key", help="the payer key")
    profile.add_argument("file", nargs="?", type=Path, help="the profile JSON (put)")

    claims = commands.add_parser("claims", help="claims by state, one claim, worklists, biller actions")
    claim_commands = claims.add_subparsers(dest="claims_command", required=True)
    listing = _with_tenant(claim_commands.add_parser("list", help="claims in a state, oldest change first"))
    listing.add_argument("--state", required=True, choices=[state.value for state in ClaimState])
    _paged(listing)
    _with_tenant(claim_commands.add_parser("show", help="one claim: findings, history, files")).add_argument("claim_id")
    worklist = _with_tenant(claim_commands.add_parser("worklist", help="held, rejected, denied, ... claims"))
    worklist.add_argument("name", choices=WORKLISTS)
    _paged(worklist)
    for name in ("resubmit", "correct"):
        fix = _with_tenant(claim_commands.add_parser(name, help=f"{name} a claim (optional field overrides)"))
        fix.add_argument("claim_id")
        fix.add_argument("--reason", required=True, help="why (kept in the claim's audit history)")
        fix.add_argument("--overrides", type=Path, help="JSON of claimbridge.overrides.ClaimOverrides")
        fix.add_argument("--actor", default=_default_actor())
    for name in REASON_ACTIONS:
        act = _with_tenant(claim_commands.add_parser(name, help=f"{name} a claim"))
        act.add_argument("claim_id")
        act.add_argument("--reason", required=True, help="why (kept in the claim's audit history)")
        act.add_argument("--actor", default=_default_actor())


def run(args: argparse.Namespace, *, services: Callable[[], Services] | None = None) -> int:
    """Run a ``tenants`` or ``claims`` command; returns the exit status."""
    try:
        built = (services or _services)()
    except ValidationError as exc:
        missing = sorted({str(error["loc"][0]) for error in exc.errors(include_input=False)})
        _err(f"not configured: set {', '.join(missing)} (make run KEEP=1 prints the exports for the local stack)")
        return EXIT_NOT_CONFIGURED
    try:
        result = _tenants(args, built) if args.command == "tenants" else _claims(args, built)
    except TenantConfigError as exc:
        for pointer, rule in exc.problems:
            _err(f"CB-TENANT-INVALID: {pointer or '/'}: {rule}")
        return EXIT_REFUSED
    except (ClaimsError, ValueError, OSError) as exc:
        code = getattr(exc, "code", type(exc).__name__)
        _err(f"{code}: {_safe(exc)}")
        return EXIT_REFUSED
    sys.stdout.write(_json(result) + "\n")
    return EXIT_OK


def _tenants(args: argparse.Namespace, s: Services) -> Any:
    command, actor = args.tenants_command, _default_actor()
    tenants = s.tenants
    if command == "list":
        return [_summary(record) for record in tenants.all()]
    if command == "show":
        if args.version:
            return tenants.version(args.tenant, args.version)
        return tenants.get(args.tenant).config
    if command == "put":
        document = _read_json(args.file)
        record, created = tenants.put(
            str(document.get("tenant_id", "")), document, actor=actor, expected_version=args.if_match
        )
        return {**_summary(record), "created": created}
    if command in ("enable", "disable"):
        return _summary(tenants.set_enabled(args.tenant, command == "enable", actor=actor))
    if command == "versions":
        return tenants.versions(args.tenant)
    if command == "replay":
        return actions.replay_quarantined(args.tenant, actor=actor, deps=s.deps)
    if command == "providers":
        return _providers(args, s, actor)
    if args.action == "show":
        return tenants.payer_profile(args.tenant, args.key)
    if args.file is None:
        raise ValueError("profile put needs the profile JSON file")
    profile = PayerProfile.model_validate(_read_json(args.file))
    return _summary(tenants.put_payer_profile(args.tenant, args.key, profile, actor=actor))


def _providers(args: argparse.Namespace, s: Services, actor: str) -> Any:
    if args.action == "list":
        return s.tenants.providers(args.tenant)
    if not args.target:
        raise ValueError(f"providers {args.action} needs {'a FILE' if args.action == 'put' else 'an NPI'}")
    if args.action == "show":
        return s.tenants.provider(args.tenant, args.target)
    if args.action == "delete":
        return _summary(s.tenants.delete_provider(args.tenant, args.target, actor=actor))
    provider = RosterProvider.model_validate(_read_json(Path(args.target)))
    return _summary(s.tenants.put_provider(args.tenant, provider, actor=actor))


def _claims(args: argparse.Namespace, s: Services) -> Any:
    command = args.claims_command
    if command == "list":
        return s.claims.page(args.tenant, ClaimState(args.state), limit=args.limit, after=args.next)
    if command == "show":
        return s.claims.detail(args.tenant, args.claim_id)
    if command == "worklist":
        if args.name == "unmatched":
            return s.claims.unmatched(args.tenant, limit=args.limit, after=args.next)
        return s.claims.worklist(args.tenant, WorklistName(args.name), limit=args.limit, after=args.next)
    common = {"reason": args.reason, "actor": args.actor, "deps": s.deps}
    if command in ("resubmit", "correct"):
        overrides = ClaimOverrides.model_validate(_read_json(args.overrides)) if args.overrides else None
        if command == "resubmit":
            return actions.resubmit_claim(args.tenant, args.claim_id, overrides=overrides, **common)
        return actions.correct_claim(args.tenant, args.claim_id, frequency="7", overrides=overrides, **common)
    if command == "void":
        return actions.correct_claim(args.tenant, args.claim_id, frequency="8", **common)
    if command == "write-off":
        return actions.write_off_claim(args.tenant, args.claim_id, **common)
    if command == "close":
        return actions.close_claim(args.tenant, args.claim_id, **common)
    return actions.resend_claim(args.tenant, args.claim_id, **common)


def _services() -> Services:
    get_settings.cache_clear()  # the shell's environment now, not an earlier one's
    return build_services(get_settings(), metrics=CountingMetrics())


def _with_tenant(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--tenant", required=True, help="the practice's tenant id")
    return parser


def _paged(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=25, help="page size (1-100)")
    parser.add_argument("--next", help="the previous page's next token")


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _summary(record: Any) -> dict[str, Any]:
    return {
        "tenant_id": record.config.tenant_id,
        "config_version": record.config_version,
        "enabled": record.config.enabled,
        "sha256": record.sha256,
    }


def _read_json(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return document


def _json(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2, by_alias=True)
    if isinstance(value, list):
        return "[" + ",\n".join(_json(item) for item in value) + "]"
    return json.dumps(value, indent=2, default=str)


def _safe(exc: BaseException) -> str:
    """Domain messages name ids and rules; other errors (pydantic, JSON) only by type, never by the input."""
    if isinstance(exc, ClaimsError):
        return str(exc)
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"/{'/'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}: {exc.strerror or type(exc).__name__}"
    return str(exc)  # our own ValueErrors, and json's (which name a line and column, not the text)


def _err(line: str) -> None:
    sys.stderr.write(f"claimbridge: {line}\n")
