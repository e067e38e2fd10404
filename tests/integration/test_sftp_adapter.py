"""The sftp adapter against the real SFTP sandbox on 127.0.0.1 (asyncssh server, key auth, pinned host key).

What only an SFTP mailbox has: the ``.part`` + rename upload, file names from idempotency keys, acknowledged files
moved to ``outbound/fetched/``, SSH authentication and host key pinning, connections dropped at every step; then
poll_clearinghouse with an sftp tenant under moto. The behaviour both adapters share is in
test_clearinghouse_contract.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import boto3
import httpx
import pytest
from aws_lambda_powertools.utilities import parameters

from claimbridge.clearinghouse import (
    ApiError,
    ClearinghouseAuthError,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
    SftpClearinghouse,
    SftpTimeouts,
)
from claimbridge.clearinghouse.sftp import credentials_document
from claimbridge.local.sandbox import FaultRequest, RemitControl, SandboxClearinghouse
from claimbridge.local.sandbox_sftp import DropAt, SftpSandboxClearinghouse
from claimbridge.pipeline.poll import poll_tenant
from claimbridge.pipeline.ports import CountingMetrics
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from functions.poll_clearinghouse import app as poll_app
from tests.integration.clearinghouse_support import clean_837p
from tests.integration.conftest import Infra
from tests.integration.test_responses_handlers import CLAIM_ID, TENANT, poll, process, state_of, submit_one_claim

pytestmark = pytest.mark.integration

KEY = "demo-practice-000000201"


@pytest.fixture
def sftp_sandbox() -> Iterator[SftpSandboxClearinghouse]:
    with SftpSandboxClearinghouse() as running:
        yield running


@pytest.fixture
def adapter(sftp_sandbox: SftpSandboxClearinghouse) -> SftpClearinghouse:
    return SftpClearinghouse.from_secret(sftp_sandbox.url, sftp_sandbox.tenant_secret())


def _files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []


def _other_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


# --- submit: .part, rename, one name per idempotency key


def test_sftp_submit_delivers_one_complete_x12_named_by_the_key(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given a mailbox the clearinghouse has not collected from yet
    x12 = clean_837p()
    inbound = sftp_sandbox.mailbox / "inbound"
    with sftp_sandbox.holding_pickups():
        # When an interchange is submitted
        receipt = adapter.submit(x12, idempotency_key=KEY)
        # Then inbound holds exactly <key>.x12 with the whole interchange, and no .part is left behind
        assert _files(inbound) == [f"{KEY}.x12"]
        assert (inbound / f"{KEY}.x12").read_text(encoding="utf-8") == x12
    assert (receipt.submission_id, receipt.idempotency_key) == (f"{KEY}.x12", KEY)
    # and once collected, the sandbox filed it under the key and emptied inbound
    sftp_sandbox.settle()
    assert [(p.file, p.replayed, p.error) for p in sftp_sandbox.pickups] == [(f"{KEY}.x12", False, None)]
    assert _files(inbound) == []


def test_sftp_part_file_is_never_filed_and_the_retry_completes_it(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given the connection drops when the client renames its upload (the .part is written, the rename never happens)
    sftp_sandbox.drop_connections(1, at="before-rename")
    with pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.submit(clean_837p(), idempotency_key=KEY)
    assert raised.value.reason == "connection"
    # When the watcher looks at inbound
    sftp_sandbox.settle()
    # Then the .part is still there and nothing was filed
    inbound = sftp_sandbox.mailbox / "inbound"
    assert _files(inbound) == [f"{KEY}.part"]
    assert sftp_sandbox.pickups == []
    assert sftp_sandbox.state.submissions_taken() == 0
    # When the submission is retried, it overwrites the .part, renames it and the sandbox files it once
    adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    assert _files(inbound) == []
    assert sftp_sandbox.state.submissions_taken() == 1


def test_sftp_retry_while_the_file_waits_uploads_nothing_again(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given a delivered interchange the clearinghouse has not collected yet
    inbound = sftp_sandbox.mailbox / "inbound"
    with sftp_sandbox.holding_pickups():
        first = adapter.submit(clean_837p(), idempotency_key=KEY)
        delivered = (inbound / f"{KEY}.x12").stat()
        # When the same key is submitted again
        again = adapter.submit(clean_837p(), idempotency_key=KEY)
        # Then the same receipt comes back and the waiting file was not touched (same inode, same time)
        after = (inbound / f"{KEY}.x12").stat()
        assert again == first
        assert (after.st_ino, after.st_mtime_ns) == (delivered.st_ino, delivered.st_mtime_ns)
        assert _files(inbound) == [f"{KEY}.x12"]
    sftp_sandbox.settle()
    assert sftp_sandbox.state.submissions_taken() == 1


@pytest.mark.parametrize("at", ["session", "before-rename", "after-rename"])
def test_sftp_dropped_connection_is_retryable_and_the_retry_files_once(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse, at: DropAt
) -> None:
    # Given the next connection drops at this step of a submission
    sftp_sandbox.drop_connections(1, at=at)
    # When the submission fails and is retried with the same key
    with pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()  # after-rename: the first attempt's file may be filed before the retry
    receipt = adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    # Then the failure was retryable and the clearinghouse filed the interchange exactly once
    assert raised.value.retryable
    assert receipt.submission_id == f"{KEY}.x12"
    assert sftp_sandbox.pending_drops() == {}
    assert sftp_sandbox.state.submissions_taken() == 1
    assert [p.submission_id for p in sftp_sandbox.pickups if not p.replayed] == ["SBX0000001"]
    assert _files(sftp_sandbox.mailbox / "outbound") == ["0000000001-999.x12", "0000000002-277CA.x12"]


def test_sftp_unreadable_upload_is_parked_with_codes_and_no_data(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given a file that is not X12 (a mailbox cannot refuse it synchronously)
    receipt = adapter.submit("NM1*IL*1*TESTPATIENT~", idempotency_key=KEY)
    # When the clearinghouse collects it
    sftp_sandbox.settle()
    # Then it is parked in inbound/rejected with an error document of codes only, and nothing is published
    rejected = sftp_sandbox.mailbox / "inbound" / "rejected"
    assert receipt.submission_id == f"{KEY}.x12"
    assert _files(rejected) == [f"{KEY}.errors.json", f"{KEY}.x12"]
    errors = json.loads((rejected / f"{KEY}.errors.json").read_text(encoding="utf-8"))["errors"]
    assert [error["code"] for error in errors] == ["X12_UNREADABLE"]
    assert "TESTPATIENT" not in json.dumps(errors)
    assert [(p.file, p.error) for p in sftp_sandbox.pickups] == [(f"{KEY}.x12", "X12_UNREADABLE")]
    assert adapter.fetch_responses(None).responses == ()


# --- fetch and acknowledge


def test_sftp_acknowledge_moves_responses_to_fetched(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given a 999 and a 277CA in outbound
    adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    page = adapter.fetch_responses(None)
    names = [response.response_id for response in page.responses]
    assert names == ["0000000001-999.x12", "0000000002-277CA.x12"]
    # When they are acknowledged (fetched/ does not exist yet), then again (a retried poll)
    adapter.acknowledge(names)
    adapter.acknowledge(names)
    # Then they are in outbound/fetched, outbound itself is empty, and a fetch from the beginning finds nothing
    outbound = sftp_sandbox.mailbox / "outbound"
    assert _files(outbound) == []
    assert _files(outbound / "fetched") == names
    assert adapter.fetch_responses(None).responses == ()


def test_sftp_later_835_is_published_at_the_listing_it_is_due_as_over_http(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given 835s switched on for the second listing after a submission
    sftp_sandbox.state.apply_faults(FaultRequest(remit=RemitControl(after_listings=2)))
    adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    # When the mailbox is listed (fetched) twice
    first = adapter.fetch_responses(None)
    second = adapter.fetch_responses(first.next_cursor)
    # Then the 999/277CA come first and the 835 appears at the second listing, after the cursor (never skipped)
    assert [r.kind for r in first.responses] == ["999", "277CA"]
    assert [r.kind for r in second.responses] == ["835"]
    assert second.responses[0].content.startswith("ISA")


def test_sftp_fetch_skips_files_of_unknown_kind_but_moves_past_them(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given outbound holds a text notice the port has no kind for, before a real 999/277CA pair
    (sftp_sandbox.mailbox / "outbound" / "0000000000-notice.txt").write_text("mailbox maintenance", encoding="utf-8")
    adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    # When responses are fetched
    page = adapter.fetch_responses(None)
    # Then the notice is skipped, the cursor is past everything listed
    assert [response.kind for response in page.responses] == ["999", "277CA"]
    assert page.next_cursor == "0000000002-277CA.x12"


def test_sftp_dropped_download_is_retryable_and_the_retry_skips_nothing(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given two responses, and a connection that drops when the first is opened
    adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    sftp_sandbox.drop_connections(1, at="download")
    # When a fetch fails and is retried from the same cursor
    with pytest.raises(ClearinghouseRetryLater):
        adapter.fetch_responses(None)
    page = adapter.fetch_responses(None)
    # Then both responses come back
    assert [response.kind for response in page.responses] == ["999", "277CA"]


def test_sftp_hung_server_hits_the_operation_timeout_and_the_retry_skips_nothing(
    sftp_sandbox: SftpSandboxClearinghouse,
) -> None:
    # Given two responses, a server that stops answering when the first is opened, and a short operation timeout
    adapter = SftpClearinghouse.from_secret(
        sftp_sandbox.url, sftp_sandbox.tenant_secret(), timeouts=SftpTimeouts(connect=5.0, operation=0.2)
    )
    adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    sftp_sandbox.drop_connections(1, at="download", hang_seconds=10.0)  # far beyond the 0.2 s timeout
    # When a fetch hangs / Then the adapter gives up at its operation timeout with a retryable error
    with pytest.raises(ClearinghouseRetryLater) as raised:
        adapter.fetch_responses(None)
    assert raised.value.reason == "timeout"
    # and the retry, from the same cursor, gets both responses
    assert [response.kind for response in adapter.fetch_responses(None).responses] == ["999", "277CA"]


def test_sftp_dropped_acknowledge_is_retryable_and_leaves_the_files(
    sftp_sandbox: SftpSandboxClearinghouse, adapter: SftpClearinghouse
) -> None:
    # Given fetched responses and a connection that drops when the first is moved
    adapter.submit(clean_837p(), idempotency_key=KEY)
    sftp_sandbox.settle()
    names = [response.response_id for response in adapter.fetch_responses(None).responses]
    sftp_sandbox.drop_connections(1, at="acknowledge")
    # When they are acknowledged / Then it is retryable and nothing moved
    with pytest.raises(ClearinghouseRetryLater):
        adapter.acknowledge(names)
    assert _files(sftp_sandbox.mailbox / "outbound") == names


# --- authentication, host key, permissions


def _secret(sandbox: SftpSandboxClearinghouse, **overrides: str) -> str:
    values = {
        "username": sandbox.username,
        "private_key": sandbox.client_private_key,
        "host_key": sandbox.host_key_line,
    }
    return credentials_document(**(values | overrides))


@pytest.mark.parametrize("wrong", ["private_key", "username"])
def test_sftp_wrong_client_key_or_user_is_an_auth_error(sftp_sandbox: SftpSandboxClearinghouse, wrong: str) -> None:
    # Given a secret with another client key (or another user)
    value = _other_key().export_private_key().decode() if wrong == "private_key" else "someone-else"
    adapter = SftpClearinghouse.from_secret(sftp_sandbox.url, _secret(sftp_sandbox, **{wrong: value}))
    # When it submits / Then the server refuses the login: a permanent auth error, nothing uploaded
    with pytest.raises(ClearinghouseAuthError) as raised:
        adapter.submit(clean_837p(), idempotency_key=KEY)
    assert not raised.value.retryable
    assert [error.code for error in raised.value.errors] == ["AUTH_FAILED"]
    assert raised.value.status_code is None
    assert _files(sftp_sandbox.mailbox / "inbound") == []


def test_sftp_server_with_another_host_key_is_refused_before_anything_is_sent(
    sftp_sandbox: SftpSandboxClearinghouse,
) -> None:
    # Given a secret pinning a host key the server does not have (a man in the middle, a moved mailbox)
    pinned = _other_key().export_public_key().decode().strip()
    adapter = SftpClearinghouse.from_secret(sftp_sandbox.url, _secret(sftp_sandbox, host_key=pinned))
    # When it submits / Then the client refuses the server: a permanent auth error, and nothing was uploaded
    with pytest.raises(ClearinghouseAuthError) as raised:
        adapter.submit(clean_837p(), idempotency_key=KEY)
    address = sftp_sandbox.url.removeprefix("sftp://").rstrip("/")
    assert raised.value.errors == (ApiError(code="HOST_KEY_NOT_PINNED", location=address),)
    assert _files(sftp_sandbox.mailbox / "inbound") == []


@pytest.mark.parametrize(
    ("folder", "code"),
    [("outbound-only", "PERMISSION_DENIED"), ("no-such-mailbox", "NO_SUCH_PATH")],
)
def test_sftp_permission_denied_or_missing_folder_is_permanent(
    sftp_sandbox: SftpSandboxClearinghouse, folder: str, code: str
) -> None:
    # Given a tenant endpoint pointing at a folder it may not write to (the sandbox allows writes only in
    # /inbound), or at a folder that does not exist
    (sftp_sandbox.mailbox / "outbound-only" / "inbound").mkdir(parents=True)
    adapter = SftpClearinghouse.from_secret(f"{sftp_sandbox.url}{folder}", sftp_sandbox.tenant_secret())
    # When it submits / Then the refusal is permanent and says what and where
    with pytest.raises(ClearinghouseRejected) as raised:
        adapter.submit(clean_837p(), idempotency_key=KEY)
    assert not raised.value.retryable
    assert not isinstance(raised.value, ClearinghouseAuthError)
    assert raised.value.errors == (ApiError(code=code, location="inbound"),)


def test_sftp_adapter_never_logs_the_key_or_the_interchange(
    sftp_sandbox: SftpSandboxClearinghouse, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an adapter whose calls fail in several ways, with logging fully on
    x12 = clean_837p()
    good = SftpClearinghouse.from_secret(sftp_sandbox.url, sftp_sandbox.tenant_secret())
    pinned = _other_key().export_public_key().decode().strip()
    unpinned = SftpClearinghouse.from_secret(sftp_sandbox.url, _secret(sftp_sandbox, host_key=pinned))
    sftp_sandbox.drop_connections(1, at="after-rename")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ClearinghouseRetryLater) as dropped:
            good.submit(x12, idempotency_key=KEY)
        with pytest.raises(ClearinghouseAuthError) as refused:
            unpinned.submit(x12, idempotency_key=KEY)
        good.submit(x12, idempotency_key=KEY)
    # Then no log record, error or repr holds the private key or any of the interchange's data
    shown = " ".join(
        [repr(good), str(dropped.value), str(refused.value), caplog.text, *(str(r.__dict__) for r in caplog.records)]
    )
    key_body = sftp_sandbox.client_private_key.splitlines()[1]
    assert key_body not in shown
    assert "TESTPATIENT" not in shown
    assert "W123456789" not in shown


# --- one clearinghouse account behind both protocols


def test_sftp_and_http_sandboxes_share_one_state() -> None:
    # Given an HTTP sandbox and an SFTP sandbox on the same state, and a fault set over HTTP
    with SandboxClearinghouse() as http, SftpSandboxClearinghouse(state=http.state) as sftp:
        httpx.post(f"{http.url}/_sandbox/faults", json={"reject_claims": ["CLMSELF1"]}, timeout=5).raise_for_status()
        via_sftp = SftpClearinghouse.from_secret(sftp.url, sftp.tenant_secret())
        # When a claim is submitted over SFTP
        via_sftp.submit(clean_837p(), idempotency_key=KEY)
        sftp.settle()
        # Then the fault applied, and the reports are the same whichever protocol lists them
        over_sftp = via_sftp.fetch_responses(None).responses
        listing = httpx.get(f"{http.url}/reports", headers={"Authorization": "Key k"}, timeout=5).json()
    assert [r.kind for r in over_sftp] == [item["kind"] for item in listing["items"]] == ["999", "277CA"]
    assert "STC*A7:562:85" in over_sftp[1].content


# --- poll_clearinghouse with an sftp tenant (moto)


@pytest.fixture
def sftp_tenant(
    infra: Infra, demo_tenant: TenantConfig, sftp_sandbox: SftpSandboxClearinghouse
) -> Iterator[TenantConfig]:
    """The demo tenant switched to kind sftp on the sandbox, its secret in (moto) Secrets Manager."""
    secret_ref = f"claimbridge/{TENANT}/clearinghouse"
    boto3.client("secretsmanager").create_secret(Name=secret_ref, SecretString=sftp_sandbox.tenant_secret())
    document = demo_tenant.model_dump(mode="json", by_alias=True)
    document["clearinghouse"] |= {"kind": "sftp", "endpoint": sftp_sandbox.url, "secret_ref": secret_ref}
    tenant = TenantConfig.model_validate(document)
    infra.store.put_tenant_config(tenant)
    # Each test's sandbox has new keys under the same secret name: no value cached by an earlier test.
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    yield tenant
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def test_poll_sftp_tenant_archives_acknowledges_and_the_claim_is_accepted(
    infra: Infra, sftp_tenant: TenantConfig, sftp_sandbox: SftpSandboxClearinghouse
) -> None:
    # Given a claim submitted through the handlers to the tenant's SFTP mailbox, and collected by the sandbox
    submit_one_claim(infra)
    sftp_sandbox.settle()
    assert sftp_sandbox.state.submissions_taken() == 1

    # When the schedule polls and the ResponsesQueue delivers the archived files
    summary = poll()
    keys = infra.archive_keys("responses/")
    response = process(infra, keys)

    # Then the 999 and 277CA are archived, moved to outbound/fetched, the cursor is the last file, the claim ACCEPTED
    assert summary == {"tenants": 1, "responses": 2, "failed": []}
    assert keys == [f"responses/{TENANT}/277CA/0000000002-277CA.x12", f"responses/{TENANT}/999/0000000001-999.x12"]
    assert _files(sftp_sandbox.mailbox / "outbound") == []
    assert _files(sftp_sandbox.mailbox / "outbound" / "fetched") == ["0000000001-999.x12", "0000000002-277CA.x12"]
    assert infra.store.get_cursor(TENANT).cursor == "0000000002-277CA.x12"
    assert response == {"batchItemFailures": []}
    assert state_of(infra) == ClaimState.ACCEPTED
    accepted = [e["detail"] for e in infra.bus_events() if e["detail-type"] == "Claim Accepted"]
    assert [(d["claim_id"], d["response_kind"]) for d in accepted] == [(CLAIM_ID, "277CA")]


def test_poll_sftp_tenant_failed_acknowledge_loses_nothing(
    infra: Infra, sftp_tenant: TenantConfig, sftp_sandbox: SftpSandboxClearinghouse
) -> None:
    # Given responses waiting, and a mailbox that drops the connection when they are acknowledged
    submit_one_claim(infra)
    sftp_sandbox.settle()
    sftp_sandbox.drop_connections(1, at="acknowledge")
    metrics = CountingMetrics()
    deps = dataclasses.replace(poll_app.get_deps(), metrics=metrics)

    # When the tenant is polled
    outcome = poll_tenant(TENANT, deps)

    # Then both files are archived and the cursor is past them; the failed acknowledge is counted, not raised,
    # and the files simply stay in outbound
    assert outcome.responses == 2
    assert len(infra.archive_keys("responses/")) == 2
    assert infra.store.get_cursor(TENANT).cursor == "0000000002-277CA.x12"
    assert metrics.totals["ResponsesAcknowledgeFailed"] == 1
    assert metrics.totals["ResponsesAcknowledged"] == 0
    assert _files(sftp_sandbox.mailbox / "outbound") == ["0000000001-999.x12", "0000000002-277CA.x12"]
    # and the next poll fetches nothing twice
    assert poll_tenant(TENANT, deps).responses == 0
    assert len(infra.archive_keys("responses/")) == 2


def test_poll_sftp_tenant_crash_before_cursor_refetches_and_never_skips(
    infra: Infra, sftp_tenant: TenantConfig, sftp_sandbox: SftpSandboxClearinghouse
) -> None:
    # Given a poll whose download fails midway (the connection drops when the first file is opened)
    submit_one_claim(infra)
    sftp_sandbox.settle()
    sftp_sandbox.drop_connections(1, at="download")
    deps = dataclasses.replace(poll_app.get_deps(), metrics=CountingMetrics())
    with pytest.raises(ClearinghouseRetryLater):
        poll_tenant(TENANT, deps)
    # Then nothing was archived, acknowledged or skipped: the cursor did not move
    assert infra.archive_keys("responses/") == []
    assert infra.store.get_cursor(TENANT).cursor is None
    assert len(_files(sftp_sandbox.mailbox / "outbound")) == 2
    # When the next poll runs / Then it fetches both
    assert poll_tenant(TENANT, deps).responses == 2
    assert len(infra.archive_keys("responses/")) == 2
