"""The clearinghouse port's contract, the same tests for every adapter against its real sandbox server.

``x12-api``: ``X12ApiClearinghouse`` over HTTP to the sandbox on 127.0.0.1. ``sftp``: ``SftpClearinghouse`` over SSH
(key auth, pinned host key) to the SFTP sandbox on 127.0.0.1. Both sandboxes file through the same
``SandboxService``; the SFTP one picks uploads up asynchronously, so ``settle()`` waits for its watcher (a no-op
for HTTP, which answers synchronously).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from claimbridge.clearinghouse import (
    SANDBOX_API_KEY,
    ClearinghousePort,
    ClearinghouseRetryLater,
    ResponseFile,
    SftpClearinghouse,
    SftpTimeouts,
    X12ApiClearinghouse,
)
from claimbridge.local.sandbox import FaultRequest, SandboxClearinghouse, SandboxState
from claimbridge.local.sandbox_sftp import SftpSandboxClearinghouse
from claimbridge.x12.acks import StatusCode, parse_277ca, parse_999
from claimbridge.x12.validate import validate_x12
from tests.integration.clearinghouse_support import claim_ids_of, clean_837p, closed_port, silent_server

pytestmark = pytest.mark.integration

A2 = StatusCode(category="A2", status="20")
A7 = StatusCode(category="A7", status="562", entity="85")


@dataclass
class Harness:
    """One adapter kind wired to its running sandbox."""

    protocol: str
    state: SandboxState
    make: Callable[[int], ClearinghousePort]
    """An adapter with the given page size."""
    unreachable: Callable[[int], ClearinghousePort]
    """An adapter for a port with no server, or (with a short timeout) one that never answers."""
    settle: Callable[[], None]

    @property
    def adapter(self) -> ClearinghousePort:
        return self.make(100)


def _http_harness() -> Iterator[Harness]:
    made: list[X12ApiClearinghouse] = []

    def keep(adapter: X12ApiClearinghouse) -> X12ApiClearinghouse:
        made.append(adapter)
        return adapter

    with SandboxClearinghouse() as sandbox:
        yield Harness(
            protocol="x12-api",
            state=sandbox.state,
            make=lambda page_size: keep(X12ApiClearinghouse(sandbox.url, SANDBOX_API_KEY, page_size=page_size)),
            unreachable=lambda port: keep(
                X12ApiClearinghouse(f"http://127.0.0.1:{port}", SANDBOX_API_KEY, timeout=httpx.Timeout(0.3))
            ),
            settle=lambda: None,
        )
        for adapter in made:
            adapter.close()


def _sftp_harness() -> Iterator[Harness]:
    with SftpSandboxClearinghouse() as sandbox:
        secret = sandbox.tenant_secret()
        yield Harness(
            protocol="sftp",
            state=sandbox.state,
            make=lambda page_size: SftpClearinghouse.from_secret(sandbox.url, secret, page_size=page_size),
            unreachable=lambda port: SftpClearinghouse.from_secret(
                f"sftp://127.0.0.1:{port}/", secret, timeouts=SftpTimeouts(connect=0.3, operation=0.3)
            ),
            settle=sandbox.settle,
        )


@pytest.fixture(params=["x12-api", "sftp"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from (_http_harness() if request.param == "x12-api" else _sftp_harness())


def _drain(adapter: ClearinghousePort, cursor: str | None = None) -> tuple[list[ResponseFile], str | None]:
    """Every response after ``cursor``, page by page, and the final cursor."""
    responses: list[ResponseFile] = []
    for _ in range(50):
        page = adapter.fetch_responses(cursor)
        responses.extend(page.responses)
        if not page.responses:
            return responses, page.next_cursor
        cursor = page.next_cursor
    pytest.fail("the listing never ended")


def test_contract_clean_interchange_gets_accepting_999_then_277ca(harness: Harness) -> None:
    # Given a clean two-claim 837P
    x12 = clean_837p(("CLMONE01", "CLMTWO02"))
    adapter = harness.adapter
    # When it is submitted and the responses fetched
    receipt = adapter.submit(x12, idempotency_key="demo-practice-000000101")
    harness.settle()
    responses, _cursor = _drain(adapter)
    # Then the receipt names the submission, a valid 999 accepts it and a valid 277CA accepts both claims
    assert receipt.submission_id
    assert receipt.idempotency_key == "demo-practice-000000101"
    assert [response.kind for response in responses] == ["999", "277CA"]
    assert all(validate_x12(response.content) == [] for response in responses)
    assert [group.status for group in parse_999(responses[0].content)] == ["A"]
    claims = parse_277ca(responses[1].content)
    assert [claim.patient_control_number for claim in claims] == claim_ids_of(x12)
    assert {claim.status for claim in claims} == {A2}


def test_contract_same_idempotency_key_is_one_submission(harness: Harness) -> None:
    # Given an interchange submitted once and taken
    x12 = clean_837p()
    adapter = harness.adapter
    first = adapter.submit(x12, idempotency_key="demo-practice-000000102")
    harness.settle()
    # When it is submitted again under the same key (a retry after a lost answer)
    again = adapter.submit(x12, idempotency_key="demo-practice-000000102")
    harness.settle()
    # Then the receipt is the same and the clearinghouse filed it once: one submission, one 999, one 277CA
    assert again == first
    assert harness.state.submissions_taken() == 1
    responses, _cursor = _drain(adapter)
    assert [response.kind for response in responses] == ["999", "277CA"]


def test_contract_cursor_pages_never_skip_or_repeat(harness: Harness) -> None:
    # Given two submissions (four reports) and an adapter reading three at a time
    for number in (103, 104):
        harness.adapter.submit(clean_837p(), idempotency_key=f"demo-practice-000000{number}")
    harness.settle()
    adapter = harness.make(3)
    # When the pages are read one after another, each from the previous page's cursor
    first = adapter.fetch_responses(None)
    second = adapter.fetch_responses(first.next_cursor)
    third = adapter.fetch_responses(second.next_cursor)
    # Then the pages hold 3 and 1, every report once, in publication order, and the cursor stays put at the end
    ids = [response.response_id for response in (*first.responses, *second.responses)]
    assert (len(first.responses), len(second.responses), third.responses) == (3, 1, ())
    assert len(set(ids)) == 4
    assert [response.kind for response in (*first.responses, *second.responses)] == ["999", "277CA"] * 2
    assert third.next_cursor == second.next_cursor
    all_at_once, _cursor = _drain(harness.make(100))
    assert [response.response_id for response in all_at_once] == ids


def test_contract_reports_published_later_come_after_the_cursor(harness: Harness) -> None:
    # Given a reader that has read everything so far
    adapter = harness.adapter
    adapter.submit(clean_837p(), idempotency_key="demo-practice-000000105")
    harness.settle()
    seen, cursor = _drain(adapter)
    # When another submission publishes new reports
    adapter.submit(clean_837p(), idempotency_key="demo-practice-000000106")
    harness.settle()
    # Then reading from the stored cursor returns exactly the new ones
    later, _cursor = _drain(adapter, cursor)
    assert len(seen) == len(later) == 2
    assert not {r.response_id for r in seen} & {r.response_id for r in later}


def test_contract_acknowledge_after_storing_then_nothing_is_fetched_again(harness: Harness) -> None:
    # Given responses fetched (and, the caller says, stored)
    adapter = harness.adapter
    adapter.submit(clean_837p(), idempotency_key="demo-practice-000000107")
    harness.settle()
    responses, cursor = _drain(adapter)
    ids = [response.response_id for response in responses]
    # When they are acknowledged, twice (a retried poll), plus an id the clearinghouse never had
    adapter.acknowledge(ids)
    adapter.acknowledge([*ids, "never-published.x12"])
    adapter.acknowledge([])
    # Then nothing fails and the cursor finds nothing new
    assert len(ids) == 2
    assert _drain(adapter, cursor)[0] == []


def test_contract_fault_rejects_whole_interchange_in_999(harness: Harness) -> None:
    # Given the clearinghouse rejects the next interchange whatever it holds
    harness.state.apply_faults(FaultRequest(reject_interchanges=1))
    adapter = harness.adapter
    # When a clean interchange is submitted
    adapter.submit(clean_837p(), idempotency_key="demo-practice-000000108")
    harness.settle()
    responses, _cursor = _drain(adapter)
    # Then only a 999 comes back, rejecting it (no 277CA: nothing reached the payer side)
    assert [response.kind for response in responses] == ["999"]
    assert [group.status for group in parse_999(responses[0].content)] == ["R"]


def test_contract_fault_rejects_named_claim_in_277ca(harness: Harness) -> None:
    # Given the payer side rejects one claim
    harness.state.apply_faults(FaultRequest(reject_claims=["CLMTWO02"]))
    adapter = harness.adapter
    # When an interchange with it and another claim is submitted
    adapter.submit(clean_837p(("CLMONE01", "CLMTWO02")), idempotency_key="demo-practice-000000109")
    harness.settle()
    responses, _cursor = _drain(adapter)
    # Then the 999 accepts the interchange and the 277CA rejects only that claim
    assert [response.kind for response in responses] == ["999", "277CA"]
    statuses = {claim.patient_control_number: claim.status for claim in parse_277ca(responses[1].content)}
    assert statuses == {"CLMONE01": A2, "CLMTWO02": A7}


def test_contract_no_server_is_retryable(harness: Harness) -> None:
    # Given an adapter for a port nothing listens on / When it submits / Then it is a retryable connection failure
    with pytest.raises(ClearinghouseRetryLater) as raised:
        harness.unreachable(closed_port()).submit(clean_837p(), idempotency_key="demo-practice-000000110")
    assert raised.value.retryable
    assert raised.value.reason == "connection"


def test_contract_server_that_never_answers_is_a_retryable_timeout(harness: Harness) -> None:
    # Given a server that accepts the connection and then says nothing
    with silent_server() as port:
        adapter = harness.unreachable(port)
        # When responses are fetched / Then the adapter gives up at its timeout with a retryable error
        with pytest.raises(ClearinghouseRetryLater) as raised:
            adapter.fetch_responses(None)
    assert raised.value.reason == "timeout"
