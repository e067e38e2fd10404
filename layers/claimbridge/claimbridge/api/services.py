"""The service layer the tenant API and the ``claimbridge tenants|claims`` commands share, built from settings."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from aws_lambda_powertools import Metrics

from claimbridge.api.identity import parse_admin_principals
from claimbridge.pipeline.ports import MetricsPort, PipelineDeps
from claimbridge.pipeline.wiring import build_deps
from claimbridge.settings import Settings
from claimbridge.tenants.secrets import SecretsManagerDirectory
from claimbridge.tenants.service import TenantService
from claimbridge.worklists.service import ClaimsView


@dataclass(frozen=True)
class Services:
    """Tenant administration, the claims read side, the pipeline ports (claim actions) and the operators."""

    tenants: TenantService
    claims: ClaimsView
    deps: PipelineDeps
    admins: frozenset[str]


def build_services(settings: Settings, *, metrics: Metrics | MetricsPort) -> Services:
    """Real AWS-backed services (clients built now: call after the environment and any mock are in place)."""
    deps = build_deps(settings, metrics=metrics)
    return Services(
        tenants=TenantService(store=deps.store, secrets=SecretsManagerDirectory(boto3.client("secretsmanager"))),
        claims=ClaimsView(store=deps.store, objects=deps.objects, archive_bucket=deps.archive_bucket),
        deps=deps,
        admins=parse_admin_principals(settings.admin_principals),
    )
