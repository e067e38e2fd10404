"""Single-table DynamoDB implementation of ``ClaimStorePort``.

Key design (table ``pk``/``sk``, index ``gsi1`` on ``gsi1pk``/``gsi1sk``):

=====================================  =============================  =========================================
pk                                     sk                             what
=====================================  =============================  =========================================
``TENANT#<t>``                         ``CONFIG``                     current tenant document (gsi1pk ``TENANTS``)
``TENANT#<t>``                         ``CONFIG#V<n>``                immutable tenant document version n
``TENANT#<t>#CLAIM#<claim>``           ``STATE``                      claim state (gsi1pk ``TENANT#<t>#STATE#<s>``)
``TENANT#<t>#CLAIM#<claim>``           ``HIST#<iso-ts>#<rev>[...]``   audit item (applied or refused)
``TENANT#<t>#SOURCE#<Claim/id>``       ``SOURCE``                     source index: claim id + version
``TENANT#<t>#PATIENT#<patient key>``   ``CLAIM#<claim>``              the claim's service lines (scrubber history)
``TENANT#<t>#COUNTER``                 ``ISA#<receiver>``             interchange control counter
``TENANT#<t>#SUBMISSION#<id>``         ``SUBMISSION``                 interchange (gsi1pk ``TENANT#<t>#GS06#<n>``)
``TENANT#<t>#CURSOR``                  ``CLEARINGHOUSE``              response polling cursor
``TENANT#<t>#RESPONSE#<object key>``   ``PROCESSED``                  processed-response marker
``TENANT#<t>#UNMATCHED``               ``<iso-ts>#<uuid>``            unmatched response part
``TENANT#<t>#QUARANTINE#<key>``        ``REPLAYED``                   quarantined input sent back to ingest
``TENANT#<t>#CLAIM#<claim>``           ``FILE#<kind>#<object key>``   837P / 999 / 277CA / 835 of the claim
``PRINCIPAL#<iam principal key>``      ``TENANT``                     tenant_api caller -> tenant (with CONFIG)
=====================================  =============================  =========================================

Every state change is a ``TransactWriteItems`` of the conditional STATE update and its HIST item; a refused change
writes only a HIST item marked ``refused``. Claim and findings JSON are stored as strings, so amounts keep their
exact decimal text.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from claimbridge.claim import ProfessionalClaim
from claimbridge.errors import ClaimsError, PrincipalTaken, StateConflict, TenantError
from claimbridge.findings import Finding
from claimbridge.scrubber.history import ServiceRecord, service_records
from claimbridge.state.models import (
    ADJUDICATED_STATES,
    DEFAULT_MAX_SEND_ATTEMPTS,
    REPLACEABLE_STATES,
    SENDABLE_STATES,
    ClaimFile,
    ClaimPageKey,
    ClaimState,
    FileKind,
    HistoryEntry,
    RemittancePosting,
    ResponseCursor,
    SourceIndex,
    StoredClaim,
    SubmissionOutcome,
    SubmissionRecord,
    TenantRecord,
    TenantVersion,
    UnmatchedResponse,
    transition_allowed,
)
from claimbridge.tenants import TenantConfig, parse_tenant_config
from claimbridge.tenants.principals import principal_keys
from claimbridge.x12.writer import InterchangeControl

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

MAX_CONTROL_NUMBER = 999_999_999
_BATCH_GET_LIMIT = 100
_BATCH_WRITE_LIMIT = 25
_ANSWERED_STATES = frozenset(
    {ClaimState.ACCEPTED, ClaimState.REJECTED, ClaimState.PAID, ClaimState.PARTIALLY_PAID, ClaimState.DENIED}
)
"""States only a clearinghouse or payer answer leads to: reaching one proves the interchange was taken."""
_BATCH_GET_ATTEMPTS = 5
_BATCH_GET_BACKOFF_SECONDS = 0.05
_FINDINGS = TypeAdapter(tuple[Finding, ...])
_SERIALIZER = TypeSerializer()
_TRANSITION_CONDITION = "#state = :expected AND revision = :revision"
_REPLACE_CONDITION = "#state = :expected AND revision = :revision AND attribute_not_exists(pending_submission_id)"
_DESERIALIZER = TypeDeserializer()


class StoreUnavailable(ClaimsError):
    """DynamoDB throttled or failed: the caller's message is retried."""

    retryable = True
    code = "CB-STORE-UNAVAILABLE"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def _claim_pk(tenant_id: str, claim_id: str) -> str:
    return f"TENANT#{tenant_id}#CLAIM#{claim_id}"


def _source_pk(tenant_id: str, source_key: str) -> str:
    return f"TENANT#{tenant_id}#SOURCE#{source_key}"


def _state_gsi(tenant_id: str, state: ClaimState) -> str:
    return f"TENANT#{tenant_id}#STATE#{state.value}"


def _submission_pk(tenant_id: str, submission_id: str) -> str:
    return f"TENANT#{tenant_id}#SUBMISSION#{submission_id}"


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items() if value is not None}


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def _is_conditional_failure(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons", [])
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return False


class DynamoClaimStore:
    """``ClaimStorePort`` over one DynamoDB table; the client is built by the caller (after any mock starts)."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    # ------------------------------------------------------------------ low level
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=_values({"pk": pk, "sk": sk}), ConsistentRead=True
            )
        except ClientError as exc:
            raise StoreUnavailable(f"get_item failed: {exc.response.get('Error', {}).get('Code', '')}") from exc
        item = response.get("Item")
        return _deserialize(item) if item else None

    def _query(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        index: str | None = None,
        forward: bool = True,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": _values(values),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        else:
            kwargs["ConsistentRead"] = True
        returned = 0
        while True:
            try:
                page = self._client.query(**kwargs)
            except ClientError as exc:
                raise StoreUnavailable(f"query failed: {exc.response.get('Error', {}).get('Code', '')}") from exc
            for item in page.get("Items", []):
                yield _deserialize(item)
                returned += 1
                if limit is not None and returned >= limit:
                    return
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _transact(self, items: Sequence[TransactWriteItemTypeDef], conflict: str) -> None:
        try:
            self._client.transact_write_items(TransactItems=list(items))
        except ClientError as exc:
            if _is_conditional_failure(exc):
                raise StateConflict(conflict) from exc
            raise StoreUnavailable(
                f"transact_write_items failed: {exc.response.get('Error', {}).get('Code', '')}"
            ) from exc

    def _put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None,
        conflict: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": _serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if values:
            kwargs["ExpressionAttributeValues"] = _values(values)
        try:
            self._client.put_item(**kwargs)
        except ClientError as exc:
            if _is_conditional_failure(exc):
                raise StateConflict(conflict) from exc
            raise StoreUnavailable(f"put_item failed: {exc.response.get('Error', {}).get('Code', '')}") from exc

    # ------------------------------------------------------------------ tenants
    def put_tenant_config(
        self, config: TenantConfig, *, actor: str = "system", expected_version: int | None = None
    ) -> int:
        """Store ``config`` as version N+1 (current item + immutable version item, one transaction).

        ``expected_version`` (the ``If-Match`` of the tenant API; 0 = the tenant must not exist yet) refuses the write
        with ``StateConflict`` when another version was stored meanwhile. The principal -> tenant index items of
        ``api.principals`` are added and removed in the same transaction; a principal another tenant holds is refused
        (``PrincipalTaken``).
        """
        current = self._get(_tenant_pk(config.tenant_id), "CONFIG")
        previous = int(current["config_version"]) if current else 0
        if expected_version is not None and expected_version != previous:
            raise StateConflict(
                f"tenant {config.tenant_id}: configuration is at version {previous}, not {expected_version}"
            )
        version = previous + 1
        document = config.model_dump_json(by_alias=True, exclude_none=False)
        digest = hashlib.sha256(document.encode()).hexdigest()
        now = _iso(self._clock())
        principal_items = self._principal_writes(config, current)
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _serialize(
                            {
                                "pk": _tenant_pk(config.tenant_id),
                                "sk": "CONFIG",
                                "tenant_id": config.tenant_id,
                                "document": document,
                                "sha256": digest,
                                "config_version": version,
                                "enabled": config.enabled,
                                "updated_at": now,
                                "updated_by": actor,
                                "gsi1pk": "TENANTS",
                                "gsi1sk": config.tenant_id,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk) OR config_version = :previous",
                        "ExpressionAttributeValues": _values({":previous": previous}),
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _serialize(
                            {
                                "pk": _tenant_pk(config.tenant_id),
                                "sk": f"CONFIG#V{version:06d}",
                                "document": document,
                                "sha256": digest,
                                "config_version": version,
                                "enabled": config.enabled,
                                "stored_at": now,
                                "stored_by": actor,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                *principal_items,
            ],
            conflict=f"tenant {config.tenant_id}: configuration changed concurrently",
        )
        return version

    def _principal_writes(
        self, config: TenantConfig, current: Mapping[str, Any] | None
    ) -> list[TransactWriteItemTypeDef]:
        """Index items for the principals ``config`` adds (refused if another tenant holds one) and removes."""
        wanted = principal_keys(config.api.principals)
        held: frozenset[str] = frozenset()
        if current is not None:
            held = principal_keys((json.loads(current["document"]).get("api") or {}).get("principals", []))
        for key in sorted(wanted - held):
            owner = self.tenant_for_principal(key)
            if owner is not None and owner != config.tenant_id:
                raise PrincipalTaken(f"tenant {config.tenant_id}: a listed API principal belongs to another tenant")
        condition = {
            "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :tenant",
            "ExpressionAttributeValues": _values({":tenant": config.tenant_id}),
        }
        writes: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _serialize({"pk": _principal_pk(key), "sk": "TENANT", "tenant_id": config.tenant_id}),
                    **condition,  # type: ignore[typeddict-item]
                }
            }
            for key in sorted(wanted - held)
        ]
        writes.extend(
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _values({"pk": _principal_pk(key), "sk": "TENANT"}),
                    **condition,  # type: ignore[typeddict-item]
                }
            }
            for key in sorted(held - wanted)
        )
        return writes

    def get_tenant(self, tenant_id: str, *, include_disabled: bool = False) -> TenantRecord:
        """The tenant's current document; unknown (or disabled, unless ``include_disabled``) -> ``TenantError``."""
        item = self._get(_tenant_pk(tenant_id), "CONFIG")
        if item is None:
            raise TenantError("tenant", f"tenant {tenant_id} is not configured")
        config = parse_tenant_config(json.loads(item["document"]))
        if not config.enabled and not include_disabled:
            raise TenantError("tenant", f"tenant {tenant_id} is disabled")
        return TenantRecord(config=config, config_version=int(item["config_version"]))

    def get_tenant_config(self, tenant_id: str) -> TenantConfig:
        """The enabled tenant's current document."""
        return self.get_tenant(tenant_id).config

    def list_enabled_tenants(self) -> list[TenantConfig]:
        """Every enabled tenant, by id."""
        return [
            parse_tenant_config(json.loads(item["document"]))
            for item in self._query("gsi1pk = :pk", {":pk": "TENANTS"}, index="gsi1")
            if item.get("enabled")
        ]

    def list_tenants(self) -> list[TenantConfig]:
        """Every configured tenant, enabled or not, by id."""
        return [
            parse_tenant_config(json.loads(item["document"]))
            for item in self._query("gsi1pk = :pk", {":pk": "TENANTS"}, index="gsi1")
        ]

    def tenants_for_event_source(self, account: str, source: str) -> list[str]:
        """Tenants (disabled ones too, so their senders get ``IN-TENANT`` under their own id) registering the sender.

        Reads the current document of every tenant (one query on the ``TENANTS`` index partition): tenants are few,
        and the documents stay the only place a sender is registered, so nothing can go stale.
        """
        return sorted(
            str(item["tenant_id"])
            for item in self._query("gsi1pk = :pk", {":pk": "TENANTS"}, index="gsi1")
            if any(
                registered.get("account") == account and registered.get("source") == source
                for registered in (json.loads(item["document"]).get("inbound") or {}).get("event_sources", [])
            )
        )

    # ------------------------------------------------------------------ tenant administration (tenant_api)
    def get_tenant_record(self, tenant_id: str) -> TenantRecord | None:
        """The tenant's current document whether enabled or not (the admin view); None when unknown."""
        item = self._get(_tenant_pk(tenant_id), "CONFIG")
        return _tenant_record(item) if item else None

    def list_tenant_records(self) -> list[TenantRecord]:
        """Every tenant, enabled or not, by id."""
        return [_tenant_record(item) for item in self._query("gsi1pk = :pk", {":pk": "TENANTS"}, index="gsi1")]

    def tenant_versions(self, tenant_id: str) -> list[TenantVersion]:
        """Every stored version of the tenant's document, oldest first (digest, author, time)."""
        return [
            TenantVersion(
                tenant_id=tenant_id,
                config_version=int(item["config_version"]),
                sha256=item["sha256"],
                stored_at=datetime.fromisoformat(item["stored_at"]),
                stored_by=item["stored_by"],
                enabled=bool(item.get("enabled", json.loads(item["document"]).get("enabled", False))),
            )
            for item in self._query(
                "pk = :pk AND begins_with(sk, :prefix)", {":pk": _tenant_pk(tenant_id), ":prefix": "CONFIG#V"}
            )
        ]

    def get_tenant_version(self, tenant_id: str, version: int) -> TenantConfig | None:
        """One stored version of the tenant's document."""
        item = self._get(_tenant_pk(tenant_id), f"CONFIG#V{version:06d}")
        return parse_tenant_config(json.loads(item["document"])) if item else None

    def tenant_for_principal(self, principal: str) -> str | None:
        """The tenant an API principal key (``claimbridge.tenants.principals.principal_key``) is mapped to."""
        item = self._get(_principal_pk(principal), "TENANT")
        return str(item["tenant_id"]) if item else None

    def claims_page(
        self, tenant_id: str, state: ClaimState, *, limit: int, after: ClaimPageKey | None = None
    ) -> tuple[list[StoredClaim], ClaimPageKey | None]:
        """One page of the tenant's claims in ``state`` (oldest change first) from the ``gsi1`` index, and where the
        next page starts (None: this was the last)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": _values({":pk": _state_gsi(tenant_id, state)}),
            "Limit": limit + 1,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = _values(
                {
                    "pk": _claim_pk(tenant_id, after.claim_id),
                    "sk": "STATE",
                    "gsi1pk": _state_gsi(tenant_id, state),
                    "gsi1sk": after.sort_key,
                }
            )
        items = self._page(kwargs, limit + 1)
        claims = [_stored_claim(item) for item in items[:limit]]
        if len(items) <= limit:
            return claims, None
        last = items[limit - 1]
        return claims, ClaimPageKey(sort_key=str(last["gsi1sk"]), claim_id=str(last["claim_id"]))

    def unmatched_page(
        self, tenant_id: str, *, limit: int, after: str | None = None
    ) -> tuple[list[UnmatchedResponse], str | None]:
        """One page of the tenant's unmatched response parts, oldest first, and the sort key the next page follows."""
        pk = f"TENANT#{tenant_id}#UNMATCHED"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": _values({":pk": pk}),
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = _values({"pk": pk, "sk": after})
        items = self._page(kwargs, limit + 1)
        parts = [_unmatched(item) for item in items[:limit]]
        return parts, (str(items[limit - 1]["sk"]) if len(items) > limit else None)

    def _page(self, kwargs: dict[str, Any], wanted: int) -> list[dict[str, Any]]:
        """Up to ``wanted`` items of a query, following DynamoDB's own pages (a page can stop short of ``Limit``)."""
        items: list[dict[str, Any]] = []
        while len(items) < wanted:
            try:
                page = self._client.query(**kwargs)
            except ClientError as exc:
                raise StoreUnavailable(f"query failed: {exc.response.get('Error', {}).get('Code', '')}") from exc
            items.extend(_deserialize(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            kwargs["Limit"] = wanted - len(items)
        return items[:wanted]

    def link_claim_files(self, tenant_id: str, claim_ids: Sequence[str], *, kind: FileKind, key: str) -> None:
        """Record that the archive object ``key`` (an 837P, 999, 277CA or 835) carries or answers each claim."""
        at = _iso(self._clock())
        requests = [
            {
                "PutRequest": {
                    "Item": _serialize(
                        {
                            "pk": _claim_pk(tenant_id, claim_id),
                            "sk": f"FILE#{kind}#{key}",
                            "kind": kind,
                            "key": key,
                            "recorded_at": at,
                        }
                    )
                }
            }
            for claim_id in dict.fromkeys(claim_ids)
        ]
        for start in range(0, len(requests), _BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self._table: requests[start : start + _BATCH_WRITE_LIMIT]}
            for attempt in range(_BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(_BATCH_GET_BACKOFF_SECONDS * 2**attempt)
                try:
                    response = self._client.batch_write_item(RequestItems=pending)
                except ClientError as exc:
                    raise StoreUnavailable(
                        f"batch_write_item failed: {exc.response.get('Error', {}).get('Code', '')}"
                    ) from exc
                pending = dict(response.get("UnprocessedItems") or {})
                if not pending:
                    break
            else:
                raise StoreUnavailable("batch_write_item left items unprocessed")

    def claim_files(self, tenant_id: str, claim_id: str) -> list[ClaimFile]:
        """The archive objects recorded for the claim, by kind then key."""
        return [
            ClaimFile(kind=item["kind"], key=item["key"], recorded_at=datetime.fromisoformat(item["recorded_at"]))
            for item in self._query(
                "pk = :pk AND begins_with(sk, :prefix)", {":pk": _claim_pk(tenant_id, claim_id), ":prefix": "FILE#"}
            )
        ]

    # ------------------------------------------------------------------ claims
    def lookup_source(self, tenant_id: str, source_key: str) -> SourceIndex | None:
        """The claim the source maps to now, if any."""
        item = self._get(_source_pk(tenant_id, source_key), "SOURCE")
        if item is None:
            return None
        return SourceIndex(
            tenant_id=tenant_id,
            source_key=source_key,
            claim_id=item["claim_id"],
            version=item["version"],
            stamp=item.get("stamp"),
        )

    def get_claim(self, tenant_id: str, claim_id: str) -> StoredClaim | None:
        """The STATE item of a claim."""
        item = self._get(_claim_pk(tenant_id, claim_id), "STATE")
        return _stored_claim(item) if item else None

    def _source_put(
        self,
        tenant_id: str,
        source_key: str,
        *,
        claim_id: str,
        version: str,
        stamp: str | None,
        previous: SourceIndex | None,
        now: str,
    ) -> TransactWriteItemTypeDef:
        item: dict[str, Any] = {
            "pk": _source_pk(tenant_id, source_key),
            "sk": "SOURCE",
            "claim_id": claim_id,
            "version": version,
            "updated_at": now,
        }
        if stamp is not None:
            item["stamp"] = stamp
        put: dict[str, Any] = {"TableName": self._table, "Item": _serialize(item)}
        if previous is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :old_version AND claim_id = :old_claim"
            put["ExpressionAttributeValues"] = _values(
                {":old_version": previous.version, ":old_claim": previous.claim_id}
            )
        return {"Put": put}  # type: ignore[typeddict-item]

    def _claim_put_if_unchanged(
        self, updated: StoredClaim, current: StoredClaim, *, condition: str
    ) -> TransactWriteItemTypeDef:
        """Write ``updated`` only if the stored claim is still ``current`` (state and revision): the optimistic lock."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": _serialize(_claim_item(updated)),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": _values({":expected": current.state.value, ":revision": current.revision}),
            }
        }

    def _history_put(
        self,
        tenant_id: str,
        claim_id: str,
        *,
        at: datetime,
        revision: int,
        from_state: ClaimState | None,
        to_state: ClaimState,
        reason: str,
        actor: str,
        refused: bool = False,
    ) -> TransactWriteItemTypeDef:
        suffix = f"#refused-{uuid.uuid4().hex[:8]}" if refused else ""
        return {
            "Put": {
                "TableName": self._table,
                "Item": _serialize(
                    {
                        "pk": _claim_pk(tenant_id, claim_id),
                        "sk": f"HIST#{_iso(at)}#{revision:06d}{suffix}",
                        "at": _iso(at),
                        "from_state": from_state.value if from_state else None,
                        "to_state": to_state.value,
                        "reason": reason,
                        "actor": actor,
                        "refused": refused,
                        "revision": revision,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _patient_put(
        self, tenant_id: str, claim: ProfessionalClaim | None, *, now: str
    ) -> list[TransactWriteItemTypeDef]:
        """The claim's lines under its patient key, for history-aware scrubber rules (no PHI: codes, dates, NPIs)."""
        if claim is None or claim.patient_key is None:
            return []
        services = [asdict(record) for record in service_records(claim)]
        item = {
            "pk": _patient_pk(tenant_id, claim.patient_key),
            "sk": f"CLAIM#{claim.claim_id}",
            "claim_id": claim.claim_id,
            "services": json.dumps(services, default=str),
            "updated_at": now,
        }
        return [{"Put": {"TableName": self._table, "Item": _serialize(item)}}]

    def patient_services(self, tenant_id: str, patient_key: str) -> list[ServiceRecord]:
        """Every stored service line of the patient; lines of voided claims, and of claims closed before they were
        ever sent (withdrawn), are marked ``voided`` so visit counts skip them."""
        items = list(self._query("pk = :pk", {":pk": _patient_pk(tenant_id, patient_key)}))
        states = self._claim_states(tenant_id, [item["claim_id"] for item in items])
        records: list[ServiceRecord] = []
        for item in items:
            state, submission_id = states.get(item["claim_id"], (None, None))
            withdrawn = state == ClaimState.VOIDED or (state == ClaimState.CLOSED and submission_id is None)
            for row in json.loads(item["services"]):
                row["service_date"] = date.fromisoformat(row["service_date"])
                row["modifiers"] = tuple(row["modifiers"])
                record = ServiceRecord(**row)
                records.append(replace(record, voided=record.voided or withdrawn))
        return records

    def _claim_states(self, tenant_id: str, claim_ids: Sequence[str]) -> dict[str, tuple[ClaimState, str | None]]:
        """State and submission id of many claims: BatchGetItem, 100 keys a call, unprocessed keys retried."""
        found: dict[str, tuple[ClaimState, str | None]] = {}
        unique = list(dict.fromkeys(claim_ids))
        for start in range(0, len(unique), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [
                        _values({"pk": _claim_pk(tenant_id, cid), "sk": "STATE"})
                        for cid in unique[start : start + _BATCH_GET_LIMIT]
                    ],
                    "ProjectionExpression": "claim_id, #state, submission_id",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ConsistentRead": True,
                }
            }
            for attempt in range(_BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(_BATCH_GET_BACKOFF_SECONDS * 2**attempt)  # DynamoDB asks to back off on unprocessed keys
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise StoreUnavailable(
                        f"batch_get_item failed: {exc.response.get('Error', {}).get('Code', '')}"
                    ) from exc
                for raw in response.get("Responses", {}).get(self._table, []):
                    item = _deserialize(raw)
                    found[item["claim_id"]] = (ClaimState(item["state"]), item.get("submission_id"))
                request = dict(response.get("UnprocessedKeys") or {})
                if not request:
                    break
            else:
                raise StoreUnavailable("batch_get_item left keys unprocessed")
        return found

    def create_claim(
        self,
        *,
        tenant_id: str,
        claim_id: str,
        source_key: str,
        version: str,
        claim: ProfessionalClaim | None,
        findings: Sequence[Finding],
        payer_key: str | None,
        config_version: int | None,
        previous_source: SourceIndex | None,
        related_claim_id: str | None = None,
        source_stamp: str | None = None,
        reason: str,
        actor: str,
    ) -> StoredClaim:
        """New claim in RECEIVED + source index + history, all or nothing."""
        at = self._clock()
        now = _iso(at)
        stored = StoredClaim(
            tenant_id=tenant_id,
            claim_id=claim_id,
            state=ClaimState.RECEIVED,
            revision=1,
            source_key=source_key,
            source_version=version,
            payer_key=payer_key,
            config_version=config_version,
            claim=claim,
            findings=tuple(findings),
            related_claim_id=related_claim_id,
            created_at=at,
            updated_at=at,
        )
        self._transact(
            [
                self._source_put(
                    tenant_id,
                    source_key,
                    claim_id=claim_id,
                    version=version,
                    stamp=source_stamp,
                    previous=previous_source,
                    now=now,
                ),
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _serialize(_claim_item(stored)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._history_put(
                    tenant_id,
                    claim_id,
                    at=at,
                    revision=1,
                    from_state=None,
                    to_state=ClaimState.RECEIVED,
                    reason=reason,
                    actor=actor,
                ),
                *self._patient_put(tenant_id, claim, now=now),
            ],
            conflict=f"claim {claim_id} or source {source_key} changed concurrently",
        )
        return stored

    def replace_claim(
        self,
        current: StoredClaim,
        *,
        version: str,
        claim: ProfessionalClaim | None,
        findings: Sequence[Finding],
        payer_key: str | None,
        config_version: int | None,
        previous_source: SourceIndex,
        source_stamp: str | None = None,
        reason: str,
        actor: str,
    ) -> StoredClaim:
        """A new source version of a claim not yet sent: back to RECEIVED with the new content."""
        if current.state not in REPLACEABLE_STATES or current.pending_submission_id is not None:
            self._refuse(current, ClaimState.RECEIVED, reason=reason, actor=actor)
        at = self._clock()
        now = _iso(at)
        replaced = current.model_copy(
            update={
                "state": ClaimState.RECEIVED,
                "revision": current.revision + 1,
                "source_version": version,
                "claim": claim,
                "findings": tuple(findings),
                "payer_key": payer_key,
                "config_version": config_version,
                "announced": False,
                "updated_at": at,
            }
        )
        self._transact(
            [
                self._source_put(
                    current.tenant_id,
                    current.source_key,
                    claim_id=current.claim_id,
                    version=version,
                    stamp=source_stamp,
                    previous=previous_source,
                    now=now,
                ),
                self._claim_put_if_unchanged(replaced, current, condition=_REPLACE_CONDITION),
                self._history_put(
                    current.tenant_id,
                    current.claim_id,
                    at=at,
                    revision=replaced.revision,
                    from_state=current.state,
                    to_state=ClaimState.RECEIVED,
                    reason=reason,
                    actor=actor,
                ),
                *self._patient_put(current.tenant_id, claim, now=now),
            ],
            conflict=f"claim {current.claim_id} changed concurrently",
        )
        return replaced

    def _refuse(self, current: StoredClaim, to_state: ClaimState, *, reason: str, actor: str) -> None:
        """Record the refused attempt as an audit item, then raise ``StateConflict``."""
        self.record_refusal(current, to_state, reason=reason, actor=actor)
        raise StateConflict(
            f"claim {current.claim_id}: transition {current.state.value} -> {to_state.value} is not allowed"
        )

    def record_refusal(self, current: StoredClaim, to_state: ClaimState, *, reason: str, actor: str) -> None:
        """Record a refused attempt as an audit item (``refused``), changing nothing else."""
        at = self._clock()
        self._transact(
            [
                self._history_put(
                    current.tenant_id,
                    current.claim_id,
                    at=at,
                    revision=current.revision,
                    from_state=current.state,
                    to_state=to_state,
                    reason=f"refused: {reason}",
                    actor=actor,
                    refused=True,
                )
            ],
            conflict=f"claim {current.claim_id}: audit item collision",
        )

    def transition(
        self,
        current: StoredClaim,
        to_state: ClaimState,
        *,
        reason: str,
        actor: str,
        findings: Sequence[Finding] | None = None,
        submission_id: str | None = None,
        payer_claim_control_number: str | None = None,
        claim: ProfessionalClaim | None = None,
        config_version: int | None = None,
        written_off: Decimal | None = None,
        remittance: RemittancePosting | None = None,
    ) -> StoredClaim:
        """Conditional lifecycle move + audit item; a move not in the lifecycle is refused and recorded.

        ``payer_claim_control_number`` records the payer's number (277CA/835); ``claim`` replaces the claim content
        (a biller's override or correction; its lines replace the claim's scrubber history too); ``config_version``
        the tenant configuration version it was scrubbed with; ``written_off`` the balance written off; ``remittance``
        records the 835 posting of an adjudicated state (stamped with the new revision). A reversal (adjudicated ->
        ACCEPTED) clears the posting it undoes.
        """
        if not transition_allowed(current.state, to_state):
            self._refuse(current, to_state, reason=reason, actor=actor)
        at = self._clock()
        update: dict[str, Any] = {
            "state": to_state,
            "revision": current.revision + 1,
            "updated_at": at,
            "announced": False,
        }
        if findings is not None:
            update["findings"] = tuple(findings)
        if submission_id is not None:
            update["submission_id"] = submission_id
        if payer_claim_control_number is not None:
            update["payer_claim_control_number"] = payer_claim_control_number
        if claim is not None:
            update["claim"] = claim
        if config_version is not None:
            update["config_version"] = config_version
        if written_off is not None:
            update["written_off"] = written_off
        if remittance is not None:
            update["remittance"] = remittance.model_copy(update={"revision": current.revision + 1})
        elif current.state in ADJUDICATED_STATES and to_state == ClaimState.ACCEPTED:
            update["remittance"] = None
        if to_state == ClaimState.SUBMITTED:
            update["pending_submission_id"] = None
        elif current.state == ClaimState.FAILED_TO_SEND and to_state in _ANSWERED_STATES:
            # A response proves the clearinghouse took the interchange the claim was waiting to resend.
            update["submission_id"] = current.pending_submission_id
            update["pending_submission_id"] = None
        moved = current.model_copy(update=update)
        self._transact(
            [
                self._claim_put_if_unchanged(moved, current, condition=_TRANSITION_CONDITION),
                self._history_put(
                    current.tenant_id,
                    current.claim_id,
                    at=at,
                    revision=moved.revision,
                    from_state=current.state,
                    to_state=to_state,
                    reason=reason,
                    actor=actor,
                ),
                *self._patient_put(current.tenant_id, claim, now=_iso(at)),
            ],
            conflict=f"claim {current.claim_id} is no longer {current.state.value} at revision {current.revision}",
        )
        return moved

    def _set_pending(self, current: StoredClaim, submission_id: str | None) -> StoredClaim:
        if current.state not in SENDABLE_STATES:
            raise StateConflict(f"claim {current.claim_id} is {current.state.value}, not READY or CORRECTED")
        changed = current.model_copy(
            update={
                "pending_submission_id": submission_id,
                "revision": current.revision + 1,
                "updated_at": self._clock(),
            }
        )
        self._put(
            _claim_item(changed),
            condition="#state = :expected AND revision = :revision",
            conflict=f"claim {current.claim_id} changed concurrently",
            names={"#state": "state"},
            values={":expected": current.state.value, ":revision": current.revision},
        )
        return changed

    def mark_announced(self, current: StoredClaim) -> StoredClaim:
        """Set ``announced`` if the claim is still at ``current.revision``; a claim that moved on is left alone."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_values({"pk": _claim_pk(current.tenant_id, current.claim_id), "sk": "STATE"}),
                UpdateExpression="SET announced = :yes",
                ConditionExpression="revision = :revision",
                ExpressionAttributeValues=_values({":yes": True, ":revision": current.revision}),
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return current
            raise StoreUnavailable(f"update_item failed: {exc.response.get('Error', {}).get('Code', '')}") from exc
        return current.model_copy(update={"announced": True})

    def attach_pending_submission(self, current: StoredClaim, submission_id: str) -> StoredClaim:
        """Mark a READY (or CORRECTED) claim as in flight in ``submission_id`` (a new source version cannot replace
        it now)."""
        return self._set_pending(current, submission_id)

    def detach_pending_submission(self, current: StoredClaim) -> StoredClaim:
        """Release a READY (or CORRECTED) claim from a refused interchange."""
        return self._set_pending(current, None)

    def history(self, tenant_id: str, claim_id: str) -> list[HistoryEntry]:
        """Audit items oldest first."""
        return [
            HistoryEntry(
                at=datetime.fromisoformat(item["at"]),
                from_state=ClaimState(item["from_state"]) if item.get("from_state") else None,
                to_state=ClaimState(item["to_state"]),
                reason=item["reason"],
                actor=item["actor"],
                refused=bool(item.get("refused", False)),
                revision=int(item["revision"]),
            )
            for item in self._query(
                "pk = :pk AND begins_with(sk, :prefix)",
                {":pk": _claim_pk(tenant_id, claim_id), ":prefix": "HIST#"},
            )
        ]

    def claims_in_state(self, tenant_id: str, state: ClaimState, *, limit: int = 100) -> list[StoredClaim]:
        """Worklist from the ``gsi1`` index (eventually consistent)."""
        return [
            _stored_claim(item)
            for item in self._query("gsi1pk = :pk", {":pk": _state_gsi(tenant_id, state)}, index="gsi1", limit=limit)
        ]

    # ------------------------------------------------------------------ submissions
    def next_interchange_control(self, tenant_id: str, receiver_id: str) -> InterchangeControl:
        """Atomic ``ADD`` on the (tenant, receiver) counter; ISA13 = GS06 = the new value, ST02 starts at 1."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_values({"pk": f"TENANT#{tenant_id}#COUNTER", "sk": f"ISA#{receiver_id}"}),
                UpdateExpression="ADD #value :one",
                ConditionExpression="attribute_not_exists(#value) OR #value < :max",
                ExpressionAttributeNames={"#value": "value"},
                ExpressionAttributeValues=_values({":one": 1, ":max": MAX_CONTROL_NUMBER}),
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                raise StateConflict(
                    f"tenant {tenant_id}: interchange control numbers for {receiver_id} exhausted"
                ) from exc
            raise StoreUnavailable(f"update_item failed: {exc.response.get('Error', {}).get('Code', '')}") from exc
        number = int(_DESERIALIZER.deserialize(response["Attributes"]["value"]))
        return InterchangeControl(interchange_number=number, group_number=number, transaction_number=1)

    def create_submission(self, record: SubmissionRecord) -> None:
        """Put a new submission record."""
        self._put(
            _submission_item(record),
            condition="attribute_not_exists(pk)",
            conflict=f"submission {record.submission_id} exists",
        )

    def get_submission(self, tenant_id: str, submission_id: str) -> SubmissionRecord | None:
        """A submission by id."""
        item = self._get(_submission_pk(tenant_id, submission_id), "SUBMISSION")
        return _submission_record(item) if item else None

    def find_submission_by_group(self, tenant_id: str, group_control_number: int) -> SubmissionRecord | None:
        """The latest submission with this GS06 (via ``gsi1``), re-read consistently."""
        matches = list(
            self._query(
                "gsi1pk = :pk", {":pk": f"TENANT#{tenant_id}#GS06#{group_control_number}"}, index="gsi1", forward=False
            )
        )
        if not matches:
            return None
        latest = max(matches, key=lambda item: str(item["created_at"]))
        return self.get_submission(tenant_id, latest["submission_id"])

    def record_submission_attempt(
        self,
        record: SubmissionRecord,
        *,
        outcome: SubmissionOutcome,
        clearinghouse_reference: str | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> SubmissionRecord:
        """One more attempt, with its outcome (conditional on the attempts count we read)."""
        updated = record.model_copy(
            update={
                "attempts": record.attempts + 1,
                "outcome": outcome,
                "clearinghouse_reference": clearinghouse_reference or record.clearinghouse_reference,
                "last_error": error,
                "next_attempt_at": next_attempt_at,
                "updated_at": self._clock(),
            }
        )
        self._put(
            _submission_item(updated),
            condition="attempts = :attempts",
            conflict=f"submission {record.submission_id} changed concurrently",
            values={":attempts": record.attempts},
        )
        return updated

    def reopen_submission(self, record: SubmissionRecord, *, max_attempts: int) -> SubmissionRecord:
        """``failed`` -> ``pending`` with bound ``max_attempts`` (conditional on the attempts and outcome read)."""
        if record.outcome != "failed":
            raise StateConflict(f"submission {record.submission_id} is {record.outcome}, not failed")
        updated = record.model_copy(
            update={
                "outcome": "pending",
                "max_attempts": max_attempts,
                "next_attempt_at": None,
                "updated_at": self._clock(),
            }
        )
        self._put(
            _submission_item(updated),
            condition="attempts = :attempts AND outcome = :failed",
            conflict=f"submission {record.submission_id} changed concurrently",
            values={":attempts": record.attempts, ":failed": "failed"},
        )
        return updated

    # ------------------------------------------------------------------ polling and responses
    def get_cursor(self, tenant_id: str) -> ResponseCursor:
        """Stored polling position (None before the first poll)."""
        item = self._get(f"TENANT#{tenant_id}#CURSOR", "CLEARINGHOUSE")
        if item is None:
            return ResponseCursor(tenant_id=tenant_id, cursor=None, polled_at=None)
        return ResponseCursor(
            tenant_id=tenant_id,
            cursor=item.get("cursor"),
            polled_at=datetime.fromisoformat(item["polled_at"]) if item.get("polled_at") else None,
        )

    def put_cursor(self, tenant_id: str, cursor: str | None) -> None:
        """Store the polling position and time."""
        self._put(
            {
                "pk": f"TENANT#{tenant_id}#CURSOR",
                "sk": "CLEARINGHOUSE",
                "cursor": cursor,
                "polled_at": _iso(self._clock()),
            },
            condition=None,
            conflict="",
        )

    def response_processed(self, tenant_id: str, response_key: str) -> bool:
        """Whether a PROCESSED marker exists for the response object."""
        return self._get(f"TENANT#{tenant_id}#RESPONSE#{response_key}", "PROCESSED") is not None

    def mark_response_processed(self, tenant_id: str, response_key: str, *, kind: str, changed: int) -> bool:
        """Put the PROCESSED marker; False when it was already there."""
        try:
            self._put(
                {
                    "pk": f"TENANT#{tenant_id}#RESPONSE#{response_key}",
                    "sk": "PROCESSED",
                    "kind": kind,
                    "changed": changed,
                    "processed_at": _iso(self._clock()),
                },
                condition="attribute_not_exists(pk)",
                conflict=f"response {response_key} already processed",
            )
        except StateConflict:
            return False
        return True

    def quarantine_replayed(self, tenant_id: str, quarantine_key: str) -> bool:
        """Whether the quarantined input was replayed already."""
        return self._get(f"TENANT#{tenant_id}#QUARANTINE#{quarantine_key}", "REPLAYED") is not None

    def mark_quarantine_replayed(self, tenant_id: str, quarantine_key: str, *, actor: str) -> bool:
        """Put the REPLAYED marker; False when another replay put it first."""
        try:
            self._put(
                {
                    "pk": f"TENANT#{tenant_id}#QUARANTINE#{quarantine_key}",
                    "sk": "REPLAYED",
                    "replayed_at": _iso(self._clock()),
                    "replayed_by": actor,
                },
                condition="attribute_not_exists(pk)",
                conflict=f"quarantined input {quarantine_key} already replayed",
            )
        except StateConflict:
            return False
        return True

    def record_unmatched(self, tenant_id: str, *, response_key: str, kind: str, reference: str, reason: str) -> None:
        """Keep the unmatched part under the tenant's UNMATCHED partition."""
        at = _iso(self._clock())
        self._put(
            {
                "pk": f"TENANT#{tenant_id}#UNMATCHED",
                "sk": f"{at}#{uuid.uuid4().hex}",
                "tenant_id": tenant_id,
                "response_key": response_key,
                "kind": kind,
                "reference": reference,
                "reason": reason,
                "recorded_at": at,
            },
            condition="attribute_not_exists(pk)",
            conflict="unmatched item collision",
        )

    def list_unmatched(self, tenant_id: str) -> list[UnmatchedResponse]:
        """Unmatched response parts, oldest first."""
        return [_unmatched(item) for item in self._query("pk = :pk", {":pk": f"TENANT#{tenant_id}#UNMATCHED"})]


def _principal_pk(principal: str) -> str:
    return f"PRINCIPAL#{principal}"


def _tenant_record(item: Mapping[str, Any]) -> TenantRecord:
    return TenantRecord(
        config=parse_tenant_config(json.loads(item["document"])),
        config_version=int(item["config_version"]),
        sha256=item.get("sha256"),
        updated_at=datetime.fromisoformat(item["updated_at"]) if item.get("updated_at") else None,
        updated_by=item.get("updated_by"),
    )


def _unmatched(item: Mapping[str, Any]) -> UnmatchedResponse:
    return UnmatchedResponse(
        tenant_id=item["tenant_id"],
        response_key=item["response_key"],
        kind=item["kind"],
        reference=item["reference"],
        reason=item["reason"],
        recorded_at=datetime.fromisoformat(item["recorded_at"]),
    )


def _patient_pk(tenant_id: str, patient_key: str) -> str:
    return f"TENANT#{tenant_id}#PATIENT#{patient_key}"


def _claim_item(claim: StoredClaim) -> dict[str, Any]:
    return {
        "pk": _claim_pk(claim.tenant_id, claim.claim_id),
        "sk": "STATE",
        "tenant_id": claim.tenant_id,
        "claim_id": claim.claim_id,
        "state": claim.state.value,
        "revision": claim.revision,
        "source_key": claim.source_key,
        "source_version": claim.source_version,
        "payer_key": claim.payer_key,
        "config_version": claim.config_version,
        "claim": claim.claim.model_dump_json(exclude={"total_charge"}) if claim.claim else None,
        "findings": _FINDINGS.dump_json(claim.findings).decode(),
        "submission_id": claim.submission_id,
        "pending_submission_id": claim.pending_submission_id,
        "related_claim_id": claim.related_claim_id,
        "payer_claim_control_number": claim.payer_claim_control_number,
        "written_off": str(claim.written_off) if claim.written_off is not None else None,
        "remittance": claim.remittance.model_dump_json() if claim.remittance else None,
        "announced": claim.announced,
        "created_at": _iso(claim.created_at),
        "updated_at": _iso(claim.updated_at),
        "gsi1pk": _state_gsi(claim.tenant_id, claim.state),
        "gsi1sk": f"{_iso(claim.updated_at)}#{claim.claim_id}",
    }


def _stored_claim(item: Mapping[str, Any]) -> StoredClaim:
    return StoredClaim(
        tenant_id=item["tenant_id"],
        claim_id=item["claim_id"],
        state=ClaimState(item["state"]),
        revision=int(item["revision"]),
        source_key=item["source_key"],
        source_version=item["source_version"],
        payer_key=item.get("payer_key"),
        config_version=int(item["config_version"]) if item.get("config_version") is not None else None,
        claim=ProfessionalClaim.model_validate_json(item["claim"]) if item.get("claim") else None,
        findings=_FINDINGS.validate_json(item.get("findings") or "[]"),
        submission_id=item.get("submission_id"),
        pending_submission_id=item.get("pending_submission_id"),
        related_claim_id=item.get("related_claim_id"),
        payer_claim_control_number=item.get("payer_claim_control_number"),
        written_off=Decimal(item["written_off"]) if item.get("written_off") is not None else None,
        remittance=RemittancePosting.model_validate_json(item["remittance"]) if item.get("remittance") else None,
        announced=bool(item.get("announced", False)),
        created_at=datetime.fromisoformat(item["created_at"]),
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )


def _submission_item(record: SubmissionRecord) -> dict[str, Any]:
    return {
        "pk": _submission_pk(record.tenant_id, record.submission_id),
        "sk": "SUBMISSION",
        "tenant_id": record.tenant_id,
        "submission_id": record.submission_id,
        "receiver_id": record.receiver_id,
        "interchange_control_number": record.interchange_control_number,
        "group_control_number": record.group_control_number,
        "transaction_claims": json.dumps({st02: list(ids) for st02, ids in record.transaction_claims.items()}),
        "archive_key": record.archive_key,
        "idempotency_key": record.idempotency_key,
        "attempts": record.attempts,
        "max_attempts": record.max_attempts,
        "outcome": record.outcome,
        "clearinghouse_reference": record.clearinghouse_reference,
        "last_error": record.last_error,
        "next_attempt_at": _iso(record.next_attempt_at) if record.next_attempt_at else None,
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "gsi1pk": f"TENANT#{record.tenant_id}#GS06#{record.group_control_number}",
        "gsi1sk": f"{_iso(record.created_at)}#{record.submission_id}",
    }


def _submission_record(item: Mapping[str, Any]) -> SubmissionRecord:
    return SubmissionRecord(
        tenant_id=item["tenant_id"],
        submission_id=item["submission_id"],
        receiver_id=item["receiver_id"],
        interchange_control_number=int(item["interchange_control_number"]),
        group_control_number=int(item["group_control_number"]),
        transaction_claims={st02: tuple(ids) for st02, ids in json.loads(item["transaction_claims"]).items()},
        archive_key=item["archive_key"],
        idempotency_key=item["idempotency_key"],
        attempts=int(item["attempts"]),
        max_attempts=int(item.get("max_attempts") or DEFAULT_MAX_SEND_ATTEMPTS),
        outcome=item["outcome"],
        clearinghouse_reference=item.get("clearinghouse_reference"),
        last_error=item.get("last_error"),
        next_attempt_at=datetime.fromisoformat(item["next_attempt_at"]) if item.get("next_attempt_at") else None,
        created_at=datetime.fromisoformat(item["created_at"]),
        updated_at=datetime.fromisoformat(item["updated_at"]),
    )
