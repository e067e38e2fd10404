"""Log correlation keys: one context for the handler's logger and the package's loggers; inbound keys only hashed."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from typing import Any

import pytest

from claimbridge.observability import build_logger, correlation_keys, inbound_key_ref, log_context

pytestmark = pytest.mark.unit


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_log_context_nests_adds_and_restores_keys() -> None:
    # Given / When nested blocks
    with log_context(tenant_id="demo-practice", claim_id=None):
        outer = correlation_keys()
        with log_context(submission_id="CBSANDBOX-000000001", interchange_control_number="000000001"):
            inner = correlation_keys()
        after = correlation_keys()

    # Then the inner block adds to the outer one, None is left out, and each exit restores what was there
    assert outer == {"tenant_id": "demo-practice"}
    assert inner == {
        "tenant_id": "demo-practice",
        "submission_id": "CBSANDBOX-000000001",
        "interchange_control_number": "000000001",
    }
    assert after == outer
    assert correlation_keys() == {}


def test_handler_and_package_lines_carry_the_keys_and_follow_the_current_stdout() -> None:
    # Given a function's logger built before its output is redirected (as the local router and Lambda do)
    logger = build_logger("unit_test_service")
    package_logger = logging.getLogger("claimbridge.pipeline.unit_test")
    output = io.StringIO()

    # When both log inside a context, with stdout redirected after the logger was built
    with contextlib.redirect_stdout(output), log_context(tenant_id="demo-practice", claim_id="CB0000000000000001"):
        logger.info("handler line")
        package_logger.warning("package line", extra={"claims": 2})
    with contextlib.redirect_stdout(output):
        logger.info("outside")

    # Then both lines are JSON in the redirected stream, with the keys; the line outside the block has none
    handler_line, package_line, outside = _lines(output.getvalue())
    assert (handler_line["message"], handler_line["tenant_id"], handler_line["claim_id"]) == (
        "handler line",
        "demo-practice",
        "CB0000000000000001",
    )
    assert (package_line["message"], package_line["claims"], package_line["tenant_id"]) == (
        "package line",
        2,
        "demo-practice",
    )
    assert "tenant_id" not in outside


def test_inbound_key_ref_keeps_the_tenant_and_hides_the_file_name() -> None:
    # Given an inbound key whose file name an EHR chose
    key = "demo-practice/2026/03/smith-john-1961-07-13.json"

    # When it is turned into its log reference
    ref = inbound_key_ref(key)

    # Then the tenant stays, the name is gone, and the same key always gives the same reference
    assert ref.startswith("demo-practice/sha256:")
    assert len(ref.rsplit(":", 1)[1]) == 16
    assert "smith" not in ref and "1961" not in ref
    assert ref == inbound_key_ref(key) != inbound_key_ref("demo-practice/other.json")
    assert inbound_key_ref("no-tenant-segment.json").startswith("/sha256:")
