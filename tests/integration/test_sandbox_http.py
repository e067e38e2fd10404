"""The sandbox clearinghouse as a real HTTP server on 127.0.0.1, driven by the real X12 API adapter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from claimbridge.clearinghouse import (
    SANDBOX_API_KEY,
    ClearinghousePort,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
    ResponseFile,
    X12ApiClearinghouse,
    adapter_for,
)
from claimbridge.local.sandbox import SUBMISSION_PATH, SandboxClearinghouse
from claimbridge.tenants import DEMO_TENANT_FILE, load_tenant_config
from claimbridge.x12.acks import StatusCode, parse_277ca, parse_999
from claimbridge.x12.reader import read_segments
from claimbridge.x12.validate import validate_837p, validate_x12

pytestmark = pytest.mark.integration

# A read timeout above the sandbox's normal answer time (pyx12 takes a few tenths of a second) and a hold above it.
SHORT_TIMEOUT = httpx.Timeout(5.0, read=2.0)
HOLD_SECONDS = 3.0
A2 = StatusCode(category="A2", status="20")
A7 = StatusCode(category="A7", status="562", entity="85")


@pytest.fixture
def sandbox() -> Iterator[SandboxClearinghouse]:
    with SandboxClearinghouse(port=0) as running:
        yield running


@pytest.fixture
def adapter(sandbox: SandboxClearinghouse) -> Iterator[X12ApiClearinghouse]:
    made = adapter_for(load_tenant_config(DEMO_TENANT_FILE), sandbox_url=sandbox.url)
    assert isinstance(made, X12ApiClearinghouse)
    with made:
        yield made


def _generated_837p() -> str:
    """A 837P from the project's own writer (demo tenant, synthetic claims)."""
    from claimbridge.x12.writer import write_837p
    from tests.unit.x12_builders import CONTROL, CREATED, demo_tenant, representative_claims

    try:
        return write_837p(representative_claims(), tenant=demo_tenant(), control=CONTROL, created=CREATED)
    except NotImplementedError:
        pytest.skip("write_837p is still a stub")


def _corpus_837p(corpus_dir: Path, name: str) -> str:
    path = corpus_dir / "x12" / "837p" / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} is not present")
    return path.read_text(encoding="utf-8-sig")


@pytest.fixture(params=["writer", "corpus"])
def clean_837p(request: pytest.FixtureRequest) -> str:
    """A pyx12-clean 837P: one the writer made, and a TR3 example from the corpus relabelled to X222A1."""
    if request.param == "writer":
        text = _generated_837p()
    else:
        corpus_dir: Path = request.getfixturevalue("corpus_dir")
        text = _corpus_837p(corpus_dir, "lfh-x12__demo.example1.x12").replace("005010X222A2", "005010X222A1")
    assert validate_837p(text) == [], "the clean sample must be clean, or the acceptance tests prove nothing"
    return text


def _claim_ids(x12: str) -> list[str]:
    return [segment.element(1) for segment in read_segments(x12) if segment.tag == "CLM"]


def _all_responses(port: ClearinghousePort) -> list[ResponseFile]:
    return list(port.fetch_responses(None).responses)


def _set_faults(sandbox: SandboxClearinghouse, **faults: object) -> None:
    response = httpx.post(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=5)
    assert response.status_code == 200, response.text


def test_sandbox_http_accepts_clean_interchange(
    sandbox: SandboxClearinghouse, adapter: X12ApiClearinghouse, clean_837p: str
) -> None:
    # Given a clean 837P
    # When the adapter submits it and fetches the responses
    receipt = adapter.submit(clean_837p, idempotency_key="batch-1")
    responses = _all_responses(adapter)
    # Then a 999 accepts every transaction set and a 277CA says A2 for every CLM, both valid X12 per pyx12
    assert receipt.submission_id
    assert [r.kind for r in responses] == ["999", "277CA"]
    for response in responses:
        assert validate_x12(response.content) == []
    groups = parse_999(responses[0].content)
    assert [g.status for g in groups] == ["A"]
    assert all(t.status == "A" for g in groups for t in g.transactions)
    claims = parse_277ca(responses[1].content)
    assert [c.patient_control_number for c in claims] == _claim_ids(clean_837p)
    assert {c.status for c in claims} == {A2}
    assert all(c.payer_claim_control_number for c in claims)


def test_sandbox_http_rejects_claim_named_by_fault(sandbox: SandboxClearinghouse, adapter: X12ApiClearinghouse) -> None:
    # Given the writer's interchange and a fault naming its second claim
    x12 = _generated_837p()
    first, second, *rest = _claim_ids(x12)
    _set_faults(sandbox, reject_claims=[second])
    # When it is submitted
    adapter.submit(x12, idempotency_key="batch-2")
    # Then the 277CA rejects that claim with A7 and accepts the others
    (claim_ack,) = [r for r in _all_responses(adapter) if r.kind == "277CA"]
    statuses = {c.patient_control_number: c.status for c in parse_277ca(claim_ack.content)}
    assert statuses == {first: A2, second: A7, **dict.fromkeys(rest, A2)}


def test_sandbox_http_rejects_invalid_interchange_with_999_r(
    sandbox: SandboxClearinghouse, adapter: X12ApiClearinghouse, corpus_dir: Path
) -> None:
    # Given a third-party 837P that pyx12 finds errors in (bad HI composites, wrong SE01)
    x12 = _corpus_837p(corpus_dir, "imsweb__x12_valid.x12")
    # When it is submitted
    adapter.submit(x12, idempotency_key="batch-3")
    # Then only a 999 comes back, rejecting the transaction set with located errors, and no 277CA
    responses = _all_responses(adapter)
    assert [r.kind for r in responses] == ["999"]
    assert validate_x12(responses[0].content) == []
    (group,) = parse_999(responses[0].content)
    (transaction,) = group.transactions
    assert (group.status, transaction.status) == ("R", "R")
    assert {"4", "5"} <= set(transaction.error_codes)
    assert any(error.segment_id == "HI" and error.element_errors for error in transaction.segment_errors)


def test_sandbox_http_rejects_interchange_on_fault(sandbox: SandboxClearinghouse, adapter: X12ApiClearinghouse) -> None:
    # Given a clean interchange and a fault rejecting the next interchange
    _set_faults(sandbox, reject_interchanges=1)
    # When it is submitted
    adapter.submit(_generated_837p(), idempotency_key="batch-4")
    # Then the 999 rejects it and there is no 277CA
    responses = _all_responses(adapter)
    assert [r.kind for r in responses] == ["999"]
    assert [g.status for g in parse_999(responses[0].content)] == ["R"]


@pytest.mark.parametrize("x12", ["hello", "GS*HC*A*B~ST*837*0001~", "ISA*00*short~"])
def test_sandbox_http_refuses_garbage_with_400(adapter: X12ApiClearinghouse, x12: str) -> None:
    # Given text that is no interchange / When submitted / Then a permanent rejection with structured errors
    with pytest.raises(ClearinghouseRejected) as raised:
        adapter.submit(x12, idempotency_key="garbage")
    assert raised.value.status_code == 400
    assert [(e.code, e.location) for e in raised.value.errors] == [("X12_UNREADABLE", "x12.ISA")]
    assert _all_responses(adapter) == []


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {"Authorization": "Key k"}, 400, "INVALID_JSON"),
        (b'{"edi": "ISA"}', {"Authorization": "Key k"}, 400, "MISSING_X12"),
        (b'{"x12": "ISA"}', {}, 401, "UNAUTHORIZED"),
    ],
)
def test_sandbox_http_refuses_malformed_requests(
    sandbox: SandboxClearinghouse, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    # Given a request the adapter would never send / When it is posted / Then the JSON error names the problem
    response = httpx.post(f"{sandbox.url}{SUBMISSION_PATH}", content=content, headers=headers, timeout=5)
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (500, None), (429, 2.0)])
def test_sandbox_http_outage_is_retryable_and_retry_files_once(
    sandbox: SandboxClearinghouse, adapter: X12ApiClearinghouse, status: int, retry_after: float | None
) -> None:
    # Given a sandbox that fails the next submission
    x12 = _generated_837p()
    _set_faults(sandbox, fail_next={"count": 1, "status": status, "retry_after": retry_after and int(retry_after)})
    # When the adapter submits, fails, and retries with the same key
    with pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.submit(x12, idempotency_key="batch-5")
    receipt = adapter.submit(x12, idempotency_key="batch-5")
    # Then the failure was retryable with the server's Retry-After, and the retry filed exactly one submission
    assert (raised.value.status_code, raised.value.retry_after, raised.value.retryable) == (status, retry_after, True)
    assert receipt.submission_id
    assert [r.kind for r in _all_responses(adapter)] == ["999", "277CA"]


def _submissions(sandbox: SandboxClearinghouse) -> dict[str, Any]:
    response = httpx.get(f"{sandbox.url}/_sandbox/submissions", timeout=5)
    assert response.status_code == 200
    summary: dict[str, Any] = response.json()
    return summary


@pytest.mark.parametrize(
    ("fault", "reason", "taken_first"),
    [
        ({"timeout_next": {"seconds": HOLD_SECONDS}}, "timeout", False),
        ({"timeout_next": {"seconds": HOLD_SECONDS, "taken": True}}, "timeout", True),
        ({"drop_next": {}}, "connection", False),
        ({"drop_next": {"taken": True}}, "connection", True),
    ],
    ids=["timeout-before-taking", "timeout-after-taking", "drop-before-taking", "drop-after-taking"],
)
def test_sandbox_http_lost_answer_is_retryable_and_the_retry_files_once(
    sandbox: SandboxClearinghouse, fault: dict[str, Any], reason: str, taken_first: bool
) -> None:
    # Given a client whose read timeout is shorter than the sandbox's hold, and a connection fault for the next POST
    x12 = _generated_837p()
    _set_faults(sandbox, **fault)
    with X12ApiClearinghouse(sandbox.url, SANDBOX_API_KEY, timeout=SHORT_TIMEOUT) as adapter:
        # When the adapter submits, loses the answer, and retries with the same key
        with pytest.raises(ClearinghouseRetryLater) as raised:
            adapter.submit(x12, idempotency_key="lost-1")
        taken_before_retry = len(_submissions(sandbox)["taken"])
        receipt = adapter.submit(x12, idempotency_key="lost-1")
    # Then the loss was a retryable timeout / connection failure, and the sandbox holds exactly one copy: a
    # submission it had taken is replayed to the retry, one it had not is filed by it
    assert raised.value.reason == reason
    assert taken_before_retry == int(taken_first)
    summary = _submissions(sandbox)
    assert [(t["submission_id"], t["idempotency_key"]) for t in summary["taken"]] == [(receipt.submission_id, "lost-1")]
    assert summary["counts"].get("replays", 0) == int(taken_first)
    assert summary["taken"][0]["claim_ids"] == _claim_ids(x12)


@pytest.mark.parametrize(
    "fault",
    [
        {"fail_next": {"status": 500, "route": "list"}},
        {"fail_next": {"status": 429, "retry_after": 1, "route": "download"}},
        {"drop_next": {"route": "download"}},
        {"timeout_next": {"seconds": HOLD_SECONDS, "route": "list", "taken": True}},
    ],
    ids=["list-500", "download-429", "download-dropped", "list-timeout"],
)
def test_sandbox_http_failed_fetch_loses_no_report(sandbox: SandboxClearinghouse, fault: dict[str, Any]) -> None:
    # Given published reports and a fault on the reports listing or download
    with X12ApiClearinghouse(sandbox.url, SANDBOX_API_KEY, timeout=SHORT_TIMEOUT) as adapter:
        adapter.submit(_generated_837p(), idempotency_key="fetch-1")
        _set_faults(sandbox, **fault)
        # When a fetch fails and the next one starts from the same (unchanged) cursor
        with pytest.raises(ClearinghouseRetryLater):
            adapter.fetch_responses(None)
        page = adapter.fetch_responses(None)
    # Then every report is there, once
    assert [r.kind for r in page.responses] == ["999", "277CA"]
    assert [r.response_id for r in page.responses] == [report.id for report in sandbox.state.published()]


def test_sandbox_http_same_key_twice_files_once(adapter: X12ApiClearinghouse) -> None:
    # Given one interchange
    x12 = _generated_837p()
    # When it is submitted twice with the same key, and once more with another
    first = adapter.submit(x12, idempotency_key="batch-6")
    again = adapter.submit(x12, idempotency_key="batch-6")
    other = adapter.submit(x12, idempotency_key="batch-7")
    # Then the repeat is the same submission with no second set of responses; the new key is a new submission
    assert again == first
    assert other.submission_id != first.submission_id
    assert [r.kind for r in _all_responses(adapter)] == ["999", "277CA", "999", "277CA"]


def test_sandbox_http_concurrent_retries_file_once(adapter: X12ApiClearinghouse) -> None:
    # Given one interchange sent by four workers at once under the same key
    x12 = _generated_837p()
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda: ids.append(adapter.submit(x12, idempotency_key="batch-8").submission_id))
        for _ in range(4)
    ]
    # When they all finish
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then all got the same submission and only one set of responses exists
    assert len(ids) == 4
    assert len(set(ids)) == 1
    assert len(_all_responses(adapter)) == 2


def test_sandbox_http_cursor_pages_through_reports(sandbox: SandboxClearinghouse) -> None:
    # Given three submissions (six reports) and an adapter reading one report per call
    x12 = _generated_837p()
    with X12ApiClearinghouse(sandbox.url, SANDBOX_API_KEY, page_size=1) as adapter:
        for key in ("p1", "p2", "p3"):
            adapter.submit(x12, idempotency_key=key)
        # When it follows next_cursor until a page comes back empty
        seen: list[ResponseFile] = []
        cursor: str | None = None
        while page := adapter.fetch_responses(cursor):
            if not page.responses:
                break
            seen.extend(page.responses)
            cursor = page.next_cursor
        # Then it saw every report once, in publishing order, and the final cursor stays at the last one
        assert [r.kind for r in seen] == ["999", "277CA"] * 3
        assert len({r.response_id for r in seen}) == 6
        assert cursor == seen[-1].response_id
        assert adapter.fetch_responses(cursor).next_cursor == cursor


def test_sandbox_http_serves_report_as_text(sandbox: SandboxClearinghouse, adapter: X12ApiClearinghouse) -> None:
    # Given one published 999
    adapter.submit(_generated_837p(), idempotency_key="batch-9")
    listing = httpx.get(f"{sandbox.url}/reports", headers={"Authorization": "Key k"}, timeout=5).json()
    report_id = listing["items"][0]["id"]
    # When it is fetched directly, and an unknown one too
    found = httpx.get(f"{sandbox.url}/reports/{report_id}", headers={"Authorization": "Key k"}, timeout=5)
    missing = httpx.get(f"{sandbox.url}/reports/rpt-0000000999", headers={"Authorization": "Key k"}, timeout=5)
    # Then the report is X12 text and the unknown one is a JSON 404
    assert found.headers["Content-Type"].startswith("text/plain")
    assert found.text.startswith("ISA*")
    assert (missing.status_code, missing.json()["errors"][0]["code"]) == (404, "REPORT_NOT_FOUND")


def test_adapter_maps_refused_connection_to_retryable() -> None:
    # Given a sandbox that was started and stopped (nothing listens on its port any more)
    with SandboxClearinghouse() as stopped:
        url = stopped.url
    # When the adapter submits there / Then a retryable connection failure
    with X12ApiClearinghouse(url, "k") as adapter, pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.submit("ISA~", idempotency_key="k")
    assert raised.value.reason == "connection"


def test_adapter_maps_silent_server_to_retryable_timeout() -> None:
    # Given a socket that accepts connections and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        host, port = silent.getsockname()
        timeout = httpx.Timeout(0.3)
        # When the adapter submits there with short timeouts
        with X12ApiClearinghouse(f"http://{host}:{port}", "k", timeout=timeout) as adapter:
            with pytest.raises(ClearinghouseRetryLater) as raised:
                adapter.submit("ISA~", idempotency_key="k")
    # Then a retryable timeout
    assert raised.value.reason == "timeout"


def test_sandbox_cli_serves_until_stopped(repo_root: Path) -> None:
    # Given the sandbox started as a command on a free port
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root / "layers" / "claimbridge"), str(repo_root)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "claimbridge.local.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        # When it reports its URL
        line = process.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        # Then it answers there
        assert line.startswith("sandbox clearinghouse listening on http://127.0.0.1:")
        assert httpx.get(f"{url}/_sandbox/health", timeout=5).json() == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=10)
