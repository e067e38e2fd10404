"""Retrying a submission the clearinghouse could not take: exponential backoff with full jitter, bounded.

Why SQS ``ChangeMessageVisibility`` and not a sleep or a re-send: the submission record (DynamoDB) holds the
attempts, the bound and when the next attempt is due; the ``Claim Ready`` messages of a deferred interchange are
reported as batch item failures and hidden for the computed delay, so SQS itself brings them back when the retry is
due, no Lambda waits, and no message is copied (only ingest may send to a queue). A message that comes back early
(another claim of the same interchange) is deferred again for the time left, so the record's schedule wins.

Delay after attempt ``n`` (1-based): ``uniform(0, min(max_delay, base_delay * 2 ** (n - 1)))`` ("full jitter"),
never below a ``Retry-After`` the clearinghouse sent, rounded up to whole seconds (SQS's unit), at least 1 s and at
most SQS's 12-hour visibility limit.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from claimbridge.state.models import DEFAULT_MAX_SEND_ATTEMPTS

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import ChangeMessageVisibilityBatchRequestEntryTypeDef

logger = logging.getLogger(__name__)

MAX_VISIBILITY_SECONDS: Final = 43_200
"""SQS refuses a visibility timeout above 12 hours."""
_BATCH: Final = 10  # ChangeMessageVisibilityBatch takes at most 10 entries


class RetryPolicy(BaseModel):
    """How often and how patiently one interchange is sent (``submit_claims`` settings; tests pass their own)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_attempts: Annotated[int, Field(ge=1, le=100)] = DEFAULT_MAX_SEND_ATTEMPTS
    base_delay_seconds: Annotated[float, Field(ge=0, le=MAX_VISIBILITY_SECONDS)] = 120.0
    max_delay_seconds: Annotated[float, Field(ge=0, le=MAX_VISIBILITY_SECONDS)] = 900.0

    @model_validator(mode="after")
    def _ordered(self) -> RetryPolicy:
        if self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError("max_delay_seconds must be at least base_delay_seconds")
        return self


class RetrySettings(BaseSettings):
    """``submit_claims``'s retry settings from its environment (template.yaml), defaults as ``RetryPolicy``."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True, hide_input_in_errors=True)
    max_attempts: Annotated[int, Field(ge=1, le=100, validation_alias="CLAIMBRIDGE_SUBMIT_MAX_ATTEMPTS")] = (
        DEFAULT_MAX_SEND_ATTEMPTS
    )
    base_delay_seconds: Annotated[float, Field(ge=0, validation_alias="CLAIMBRIDGE_SUBMIT_BASE_DELAY")] = 120.0
    max_delay_seconds: Annotated[float, Field(ge=0, validation_alias="CLAIMBRIDGE_SUBMIT_MAX_DELAY")] = 900.0

    def policy(self) -> RetryPolicy:
        """The policy these settings describe (validated: the cap is not below the base)."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay_seconds=self.base_delay_seconds,
            max_delay_seconds=self.max_delay_seconds,
        )


def backoff_seconds(
    attempts: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    rng: Callable[[], float] | None = None,
) -> int:
    """Seconds to wait before the next attempt, after ``attempts`` failed ones.

    Parameters
    ----------
    attempts
        Failed attempts so far (1 after the first failure).
    policy
        Base and cap of the exponential.
    retry_after
        The clearinghouse's ``Retry-After`` (seconds), a floor for the delay.
    rng
        ``[0, 1)`` source of the jitter (tests pin it).
    """
    ceiling = min(policy.max_delay_seconds, math.ldexp(policy.base_delay_seconds, max(0, attempts - 1)))
    delay = (rng or jitter)() * ceiling
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(MAX_VISIBILITY_SECONDS, max(1, math.ceil(delay)))


def queue_url_from_arn(queue_arn: str) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>`` -> the queue URL SQS APIs take (the record names only the ARN)."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":
        raise ValueError("not an SQS queue ARN")
    partition, region, account, name = parts[1], parts[3], parts[4], parts[5]
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


@dataclass(frozen=True)
class DelayedMessage:
    """One SQS message to bring back after ``seconds``."""

    queue_arn: str
    receipt_handle: str
    seconds: int


class RetrySchedulerPort(Protocol):
    """Hides failed messages until their retry is due."""

    def delay(self, messages: Sequence[DelayedMessage]) -> int:
        """Delay every message; return how many could not be delayed (they come back on the queue's own timeout)."""
        ...


class SqsVisibilityScheduler:
    """``RetrySchedulerPort`` over ``ChangeMessageVisibilityBatch``.

    A message that cannot be delayed (API error, expired receipt handle) is logged by count and comes back after the
    queue's own visibility timeout instead: later than planned, never lost, never early.
    """

    def __init__(self, client: SQSClient) -> None:
        self._client = client

    def delay(self, messages: Sequence[DelayedMessage]) -> int:
        """Set each message's visibility timeout to its delay; never raises."""
        not_delayed = 0
        by_queue: dict[str, list[DelayedMessage]] = {}
        for message in messages:
            by_queue.setdefault(message.queue_arn, []).append(message)
        for queue_arn, queued in by_queue.items():
            try:
                queue_url = queue_url_from_arn(queue_arn)
            except ValueError:
                not_delayed += len(queued)
                continue
            for start in range(0, len(queued), _BATCH):
                chunk = queued[start : start + _BATCH]
                entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
                    {"Id": str(index), "ReceiptHandle": message.receipt_handle, "VisibilityTimeout": message.seconds}
                    for index, message in enumerate(chunk)
                ]
                try:
                    response = self._client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
                except (ClientError, BotoCoreError) as exc:
                    logger.warning(
                        "could not delay retries", extra={"messages": len(chunk), "error": type(exc).__name__}
                    )
                    not_delayed += len(chunk)
                    continue
                failed = response.get("Failed", [])
                if failed:
                    codes = sorted({entry.get("Code", "") for entry in failed})
                    logger.warning("some retries were not delayed", extra={"messages": len(failed), "codes": codes})
                not_delayed += len(failed)
        return not_delayed


def build_retry_scheduler() -> RetrySchedulerPort:
    """The SQS-backed scheduler with a client built now (after any mock or endpoint is in place)."""
    import boto3  # noqa: PLC0415 - the client is built on first use, like every other AWS client

    return SqsVisibilityScheduler(boto3.client("sqs"))


def jitter() -> float:
    """The default jitter source: not for secrets, only to spread retries."""
    return random.random()  # noqa: S311 - jitter, not cryptography
