"""Builds ``PipelineDeps`` from settings: boto3 clients, the state store, and the tenant's clearinghouse adapter.

Handlers call this once per container (through their ``lru_cache`` ``get_deps()``), after the environment is set,
so moto and the local stack (``AWS_ENDPOINT_URL``, honoured by boto3 itself) see every client.
"""

from __future__ import annotations

from collections.abc import Callable

import boto3
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities import parameters

from claimbridge.clearinghouse.factory import adapter_for
from claimbridge.clearinghouse.port import ClearinghousePort
from claimbridge.observability import PowertoolsMetricsRecorder
from claimbridge.pipeline.aws import EventBridgePublisher, S3ObjectStore, SqsChunkQueue
from claimbridge.pipeline.ports import MetricsPort, PipelineDeps
from claimbridge.settings import Settings
from claimbridge.state.dynamo_store import DynamoClaimStore
from claimbridge.tenants import TenantConfig

MAX_CACHED_ADAPTERS = 64


def secret_loader(max_age_seconds: int) -> Callable[[str], str]:
    """Reads a tenant's clearinghouse secret through Powertools parameters (cached ``max_age_seconds``)."""

    def load(secret_ref: str) -> str:
        value = parameters.get_secret(secret_ref, max_age=max_age_seconds)
        return value.decode() if isinstance(value, bytes) else str(value)

    return load


def clearinghouse_factory(settings: Settings) -> Callable[[TenantConfig], ClearinghousePort]:
    """Adapters built from each tenant's own block and secret, never shared between tenants.

    An adapter (and its HTTP connection pool) is reused across invocations of a warm container while the tenant's
    document and secret value stay the same; a changed document or a rotated secret builds a new one.
    """
    loader = secret_loader(settings.secret_max_age_seconds)
    cache: dict[tuple[str, str | None], ClearinghousePort] = {}

    def for_tenant(tenant: TenantConfig) -> ClearinghousePort:
        secret_ref = tenant.clearinghouse.secret_ref
        secret = loader(secret_ref) if secret_ref and tenant.clearinghouse.kind != "sandbox" else None
        key = (tenant.model_dump_json(), secret)
        adapter = cache.get(key)
        if adapter is None:
            if len(cache) >= MAX_CACHED_ADAPTERS:
                cache.clear()
            adapter = adapter_for(
                tenant,
                sandbox_url=settings.sandbox_url,
                secret_loader=(lambda _ref: secret or "") if secret is not None else None,
            )
            cache[key] = adapter
        return adapter

    return for_tenant


def build_deps(settings: Settings, *, metrics: Metrics | MetricsPort) -> PipelineDeps:
    """Real AWS-backed dependencies."""
    recorder = PowertoolsMetricsRecorder(metrics) if isinstance(metrics, Metrics) else metrics
    return PipelineDeps(
        store=DynamoClaimStore(boto3.client("dynamodb"), settings.claims_table),
        objects=S3ObjectStore(boto3.client("s3")),
        events=EventBridgePublisher(boto3.client("events"), settings.event_bus_name),
        metrics=recorder,
        clearinghouse_for=clearinghouse_factory(settings),
        archive_bucket=settings.archive_bucket,
        inbound_bucket=settings.inbound_bucket,
        scrub_as_of=settings.scrub_as_of,
        chunks=(
            SqsChunkQueue(boto3.client("sqs"), settings.ingest_chunks_queue_url)
            if settings.ingest_chunks_queue_url
            else None
        ),
    )
