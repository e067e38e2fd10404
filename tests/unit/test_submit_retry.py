"""Submission retries: exponential backoff with full jitter, Retry-After as the floor, bounded, SQS-sized."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from claimbridge.pipeline.retry import (
    MAX_VISIBILITY_SECONDS,
    RetryPolicy,
    RetrySettings,
    backoff_seconds,
    queue_url_from_arn,
)
from claimbridge.state.models import DEFAULT_MAX_SEND_ATTEMPTS

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(max_attempts=6, base_delay_seconds=10, max_delay_seconds=60)
ALMOST_ONE = 0.999_999


@pytest.mark.parametrize(
    ("attempts", "rng", "retry_after", "expected"),
    [
        (1, ALMOST_ONE, None, 10),  # ceiling base * 2**0
        (2, ALMOST_ONE, None, 20),
        (3, ALMOST_ONE, None, 40),
        (4, ALMOST_ONE, None, 60),  # capped
        (9, ALMOST_ONE, None, 60),
        (3, 0.5, None, 20),  # full jitter: anywhere in [0, ceiling)
        (3, 0.0, None, 1),  # never 0: SQS would hand the message straight back
        (1, 0.0, 7, 7),  # Retry-After is the floor ...
        (1, 0.0, 7.2, 8),  # ... in whole seconds, rounded up
        (1, ALMOST_ONE, 3, 10),  # ... and only a floor
        (1, 0.0, 10**6, MAX_VISIBILITY_SECONDS),  # SQS cannot hide a message longer than 12 hours
    ],
)
def test_backoff_seconds_full_jitter_capped_with_retry_after_floor(
    attempts: int, rng: float, retry_after: float | None, expected: int
) -> None:
    # Given / When / Then
    assert backoff_seconds(attempts, POLICY, retry_after=retry_after, rng=lambda: rng) == expected


@given(
    attempts=st.integers(min_value=1, max_value=100),
    base=st.floats(min_value=0, max_value=600),
    extra=st.floats(min_value=0, max_value=3600),
    jitter=st.floats(min_value=0, max_value=1, exclude_max=True),
    retry_after=st.none() | st.floats(min_value=0, max_value=86_400),
)
def test_backoff_seconds_stays_within_its_bounds(
    attempts: int, base: float, extra: float, jitter: float, retry_after: float | None
) -> None:
    # Given any policy, attempt number, jitter and Retry-After
    policy = RetryPolicy(max_attempts=100, base_delay_seconds=base, max_delay_seconds=base + extra)
    # When the delay is computed
    delay = backoff_seconds(attempts, policy, retry_after=retry_after, rng=lambda: jitter)
    # Then it is whole seconds, at least 1, never above the cap (or the Retry-After), never below the Retry-After,
    # and never above what SQS accepts
    ceiling = max(1, math.ceil(min(policy.max_delay_seconds, base * 2 ** (attempts - 1))))
    assert 1 <= delay <= MAX_VISIBILITY_SECONDS
    assert delay <= max(ceiling, math.ceil(retry_after or 0))
    if retry_after is not None:
        assert delay >= min(retry_after, MAX_VISIBILITY_SECONDS)


def test_backoff_seconds_default_jitter_is_random_and_bounded() -> None:
    # Given the default jitter source / When many delays are drawn for the third attempt
    delays = {backoff_seconds(3, POLICY) for _ in range(200)}
    # Then they spread over (0, 40] rather than all hitting the same second
    assert delays <= set(range(1, 41))
    assert len(delays) > 10


def test_retry_policy_refuses_a_cap_below_the_base() -> None:
    # Given / When / Then
    with pytest.raises(ValidationError):
        RetryPolicy(base_delay_seconds=60, max_delay_seconds=10)


def test_retry_settings_read_the_function_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no settings, then the template's names set
    for name in ("CLAIMBRIDGE_SUBMIT_MAX_ATTEMPTS", "CLAIMBRIDGE_SUBMIT_BASE_DELAY", "CLAIMBRIDGE_SUBMIT_MAX_DELAY"):
        monkeypatch.delenv(name, raising=False)
    defaults = RetrySettings().policy()
    monkeypatch.setenv("CLAIMBRIDGE_SUBMIT_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("CLAIMBRIDGE_SUBMIT_BASE_DELAY", "30")
    monkeypatch.setenv("CLAIMBRIDGE_SUBMIT_MAX_DELAY", "300")
    # When / Then the defaults are the stored records' default bound, and the environment overrides them
    assert (defaults.max_attempts, defaults.base_delay_seconds, defaults.max_delay_seconds) == (
        DEFAULT_MAX_SEND_ATTEMPTS,
        120,
        900,
    )
    assert RetrySettings().policy() == RetryPolicy(max_attempts=3, base_delay_seconds=30, max_delay_seconds=300)
    monkeypatch.setenv("CLAIMBRIDGE_SUBMIT_MAX_DELAY", "3")
    with pytest.raises(ValidationError):
        RetrySettings().policy()


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (
            "arn:aws:sqs:us-east-1:123456789012:claimbridge-SubmitQueue-1",
            "https://sqs.us-east-1.amazonaws.com/123456789012/claimbridge-SubmitQueue-1",
        ),
        ("arn:aws-cn:sqs:cn-north-1:123456789012:q", "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"),
    ],
)
def test_queue_url_from_arn(arn: str, url: str) -> None:
    # Given / When / Then
    assert queue_url_from_arn(arn) == url


@pytest.mark.parametrize("arn", ["", "arn:aws:sns:us-east-1:123456789012:topic", "https://sqs.example/q"])
def test_queue_url_from_arn_refuses_other_arns(arn: str) -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="not an SQS queue ARN"):
        queue_url_from_arn(arn)
