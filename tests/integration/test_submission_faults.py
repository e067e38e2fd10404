"""Fault injection through the real HTTP sandbox and the moto-backed handlers: under every fault the clearinghouse can
throw, 0 claims are lost, 0 interchanges are filed twice, and the polling cursor never skips a report.

Each scenario drives the template's wiring by hand, the way Lambda would: SubmitQueue messages (received from the
moto queue, with real receipt handles) -> ``submit_claims``; messages it reports as failed are redelivered once their
retry is due (the test moves the handler's clock there instead of waiting); then ``poll_clearinghouse`` -> archived
responses -> ``process_responses`` (999, 277CA and the sandbox's later 835s, posted by ``claimbridge.remit``).
Waits are injected small: the client's read timeout is 2 s, a held request 3 s.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from claimbridge.clearinghouse import ClearinghousePort, X12ApiClearinghouse, adapter_for
from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.mapping import claim_id_for
from claimbridge.pipeline.actions import close_claim
from claimbridge.pipeline.retry import RetryPolicy
from claimbridge.pipeline.submit import resend_failed
from claimbridge.state import ClaimState
from claimbridge.tenants import TenantConfig
from claimbridge.x12.reader import read_segments
from claimbridge.x12.validate import validate_835
from functions.ingest_fhir import app as ingest_app
from functions.poll_clearinghouse import app as poll_app
from functions.process_responses import app as responses_app
from functions.submit_claims import app as submit_app
from tests.integration.conftest import Infra
from tests.integration.handler_events import FakeLambdaContext, ingest_event, responses_event, sample

pytestmark = pytest.mark.integration

BUNDLES = Path(__file__).resolve().parents[2] / "events" / "bundles"
TENANT = "demo-practice"
CLAIMS = (claim_id_for(TENANT, "Claim/clm-1"), claim_id_for(TENANT, "Claim/clm-2"))
SUBMISSION = "CBSANDBOX-000000001"
READ_TIMEOUT = httpx.Timeout(5.0, read=2.0)  # above the sandbox's normal answer time (pyx12 takes tenths of a second)
HOLD_SECONDS = 3.0  # a held request outlasts the read timeout
POLICY = RetryPolicy(max_attempts=4, base_delay_seconds=30, max_delay_seconds=300)


class Clock:
    """The submit handler's clock: the test moves it to when a retry is due instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


@dataclass
class Pipeline:
    """The handlers wired to moto and the sandbox, driven the way Lambda and SQS would drive them."""

    infra: Infra
    sandbox: SandboxClearinghouse
    clock: Clock = field(default_factory=Clock)
    polls: int = 0
    processed: set[str] = field(default_factory=set)
    deliveries: int = 0
    adapters: dict[str, X12ApiClearinghouse] = field(default_factory=dict)

    # ---------------------------------------------------------------------------------------- wiring
    def adapter(self, tenant: TenantConfig) -> ClearinghousePort:
        """The tenant's adapter with a short read timeout (one per tenant, like the real factory's cache)."""
        if tenant.tenant_id not in self.adapters:
            made = adapter_for(tenant, sandbox_url=self.sandbox.url, timeout=READ_TIMEOUT)
            assert isinstance(made, X12ApiClearinghouse)
            self.adapters[tenant.tenant_id] = made
        return self.adapters[tenant.tenant_id]

    def wire(self, monkeypatch: pytest.MonkeyPatch, policy: RetryPolicy = POLICY) -> None:
        submit_deps = replace(submit_app.get_deps(), clock=self.clock, clearinghouse_for=self.adapter)
        # The poller runs once a minute: each poll happens a minute after the last one.
        poll_deps = replace(
            poll_app.get_deps(),
            clock=lambda: datetime.now(UTC) + timedelta(minutes=self.polls),
            clearinghouse_for=self.adapter,
        )
        monkeypatch.setattr(submit_app, "get_deps", lambda: submit_deps)
        monkeypatch.setattr(submit_app, "get_retry_policy", lambda: policy)
        monkeypatch.setattr(poll_app, "get_deps", lambda: poll_deps)
        # The template versions the archive bucket: every write of a response is then countable.
        boto3.client("s3").put_bucket_versioning(
            Bucket=self.infra.archive_bucket, VersioningConfiguration={"Status": "Enabled"}
        )

    def faults(self, **faults: Any) -> None:
        httpx.post(f"{self.sandbox.url}/_sandbox/faults", json=faults, timeout=5).raise_for_status()

    def taken(self) -> dict[str, Any]:
        summary: dict[str, Any] = httpx.get(f"{self.sandbox.url}/_sandbox/submissions", timeout=5).json()
        return summary

    # ---------------------------------------------------------------------------------------- stages
    def ingest(self, *extra: str) -> None:
        """The two demo claims (and the ``extra`` bundles' claims) READY, their Claim Ready events on SubmitQueue."""
        s3 = boto3.client("s3")
        locations = []
        for name in ("intake-90791.json", "telehealth-90837-home.json", *extra):
            key = f"{TENANT}/{name}"
            s3.put_object(Bucket=self.infra.inbound_bucket, Key=key, Body=(BUNDLES / name).read_bytes())
            locations.append((self.infra.inbound_bucket, key))
        assert ingest_app.lambda_handler(ingest_event(locations), FakeLambdaContext()) == {"batchItemFailures": []}
        ready = [e["detail"]["claim_id"] for e in self.infra.bus_events() if e["detail-type"] == "Claim Ready"]
        assert set(CLAIMS) <= set(ready)
        assert {self.state(claim_id) for claim_id in ready} == {ClaimState.READY}

    def receive(self, *, visibility: int = 360) -> dict[str, Any]:
        """The visible SubmitQueue messages as the Lambda SQS poller hands them over (they stay in flight for
        ``visibility`` seconds; with 0 they stay visible, so only one receive is made)."""
        sqs = boto3.client("sqs")
        url = self.infra.queue_urls["SubmitQueue"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        template = sample("submit_claims_claim_ready.json")["Records"][0]
        records: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility).get(
            "Messages", []
        ):
            for message in messages:
                body = json.loads(message["Body"])
                body.setdefault("account", "123456789012")  # moto leaves it out of bus deliveries
                records.append(
                    template
                    | {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": json.dumps(body),
                        "eventSourceARN": arn,
                    }
                )
            if not visibility:
                break
        return {"Records": records}

    def submit(self, event: dict[str, Any]) -> list[str]:
        """One invocation; like Lambda, delete the messages it did not report as failed. Returns the failed ids."""
        self.deliveries += 1
        response = submit_app.lambda_handler(event, FakeLambdaContext())
        failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
        sqs = boto3.client("sqs")
        for record in event["Records"]:
            if record["messageId"] not in failed:
                sqs.delete_message(QueueUrl=self.infra.queue_urls["SubmitQueue"], ReceiptHandle=record["receiptHandle"])
        return failed

    def submit_until_settled(self, event: dict[str, Any] | None = None, *, rounds: int = 10) -> int:
        """Deliver, then redeliver what failed once its retry is due, until nothing fails; returns the deliveries."""
        event = event or self.receive()
        assert event["Records"]
        for delivery in range(1, rounds + 1):
            failed = self.submit(event)
            if not failed:
                return delivery
            self.clock.advance_to(self.next_attempt())
            event = {"Records": [record for record in event["Records"] if record["messageId"] in failed]}
        raise AssertionError(f"submissions did not settle in {rounds} deliveries")

    def next_attempt(self) -> datetime:
        due = [
            record.next_attempt_at
            for record in (self.infra.store.get_submission(TENANT, SUBMISSION),)
            if record is not None and record.next_attempt_at is not None
        ]
        return max(due, default=self.clock.now)

    def poll_and_process(self, *, polls: int = 3) -> list[dict[str, Any]]:
        """Run the poller ``polls`` times (a minute apart), each time processing the files it archived."""
        summaries = []
        for _ in range(polls):
            self.polls += 1
            summaries.append(poll_app.lambda_handler(sample("poll_clearinghouse_scheduled.json"), FakeLambdaContext()))
            new = [key for key in self.infra.archive_keys("responses/") if key not in self.processed]
            if new:
                event = responses_event([(self.infra.archive_bucket, key) for key in new])
                assert responses_app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
                self.processed.update(new)
        return summaries

    # ---------------------------------------------------------------------------------------- checks
    def state(self, claim_id: str) -> ClaimState:
        stored = self.infra.store.get_claim(TENANT, claim_id)
        assert stored is not None, f"claim {claim_id} is lost"
        return stored.state

    def assert_settled(self, expected: dict[str, ClaimState]) -> None:
        """No claim lost, no interchange filed twice, no report skipped or archived twice."""
        # Every claim is in exactly the state expected
        assert {claim_id: self.state(claim_id) for claim_id in expected} == expected
        # The clearinghouse holds one copy of each interchange (one filing per idempotency key and per ISA13) and so
        # of each claim; every claim we moved past READY is among them
        taken = self.taken()["taken"]
        keys = [t["idempotency_key"] for t in taken]
        interchanges = [isa13 for t in taken for isa13 in t["interchange_control_numbers"]]
        assert len(keys) == len(set(keys)), keys
        assert len(interchanges) == len(set(interchanges)), interchanges
        copies = Counter(claim_id for t in taken for claim_id in t["claim_ids"])
        assert set(copies.values()) <= {1}, copies
        unsent = (ClaimState.READY, ClaimState.FAILED_TO_SEND, ClaimState.HELD)
        assert {claim_id for claim_id, state in expected.items() if state not in unsent} <= set(copies)
        # ... each the archived 837 of one of our interchanges
        archived_837 = set(self.infra.archive_keys("x12/837p/"))
        assert {f"x12/837p/{TENANT}/{isa13}.x12" for isa13 in interchanges} <= archived_837
        # Every report the sandbox published is archived, exactly once, and processed; the cursor is at the last one
        published = [report.id for report in self.sandbox.state.published()]
        archived = {key.rsplit("/", 1)[-1].removesuffix(".x12"): key for key in self.infra.archive_keys("responses/")}
        assert sorted(archived) == sorted(published)
        versions = boto3.client("s3").list_object_versions(Bucket=self.infra.archive_bucket, Prefix="responses/")
        assert Counter(v["Key"] for v in versions.get("Versions", [])) == Counter(archived.values())
        assert set(archived.values()) <= self.processed
        if published:
            assert self.infra.store.get_cursor(TENANT).cursor == published[-1]

    def kinds(self) -> list[str]:
        return sorted(key.split("/")[2] for key in self.infra.archive_keys("responses/"))


@pytest.fixture
def pipeline(
    infra: Infra, demo_tenant: TenantConfig, sandbox: SandboxClearinghouse, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    built = Pipeline(infra, sandbox)
    built.wire(monkeypatch)
    yield built
    for adapter in built.adapters.values():
        adapter.close()


ACCEPTED = dict.fromkeys(CLAIMS, ClaimState.ACCEPTED)


@pytest.mark.parametrize(
    ("fault", "deliveries", "replays"),
    [
        ({"fail_next": {"status": 500, "count": 2}}, 3, 0),
        ({"fail_next": {"status": 503}}, 2, 0),
        ({"fail_next": {"status": 502, "count": 3}}, 4, 0),
        ({"timeout_next": {"seconds": HOLD_SECONDS}}, 2, 0),
        ({"timeout_next": {"seconds": HOLD_SECONDS, "taken": True}}, 2, 1),
        ({"drop_next": {}}, 2, 0),
        ({"drop_next": {"taken": True}}, 2, 1),
        ({"drop_next": {"taken": True, "count": 2}}, 3, 2),
    ],
    ids=[
        "500x2",
        "503",
        "502x3",
        "timeout-before-taking",
        "timeout-after-taking",
        "dropped-before-taking",
        "dropped-after-taking",
        "dropped-after-taking-twice",
    ],
)
def test_faults_transient_submission_failure_ends_with_one_copy_and_every_claim_accepted(
    pipeline: Pipeline, fault: dict[str, Any], deliveries: int, replays: int
) -> None:
    # Given two READY claims and a clearinghouse that fails (or loses the answer to) the next submissions
    pipeline.ingest()
    pipeline.faults(**fault)

    # When SubmitQueue delivers until nothing fails, and the responses are polled and processed
    used = pipeline.submit_until_settled()
    pipeline.poll_and_process()

    # Then the interchange went out after the expected retries, under one key; a submission the sandbox had taken
    # was replayed to the retry, never filed again; both claims were accepted; every report was archived once
    assert used == deliveries
    record = pipeline.infra.store.get_submission(TENANT, SUBMISSION)
    assert record is not None
    assert (record.outcome, record.attempts) == ("submitted", deliveries)
    summary = pipeline.taken()
    assert [t["idempotency_key"] for t in summary["taken"]] == [f"{TENANT}-000000001"]
    assert summary["counts"].get("replays", 0) == replays
    assert pipeline.kinds() == ["277CA", "999"]
    pipeline.assert_settled(ACCEPTED)


def test_faults_429_retry_after_is_the_minimum_wait(pipeline: Pipeline) -> None:
    # Given a clearinghouse rate-limiting the next submission with Retry-After: 600, and a jitter ceiling below it
    pipeline.ingest()
    pipeline.faults(fail_next={"status": 429, "retry_after": 600})
    event = pipeline.receive(visibility=0)  # the messages stay visible unless the handler hides them
    assert len(event["Records"]) == 2

    # When the batch is delivered
    attempted_at = pipeline.clock.now
    failed = pipeline.submit(event)

    # Then both messages fail, the retry is due no sooner than Retry-After, and SQS hides the messages until then
    assert sorted(failed) == sorted(record["messageId"] for record in event["Records"])
    record = pipeline.infra.store.get_submission(TENANT, SUBMISSION)
    assert record is not None
    assert (record.attempts, record.last_error) == (1, "CH-UNAVAILABLE:http-429")
    assert record.next_attempt_at is not None
    assert record.next_attempt_at >= attempted_at + timedelta(seconds=600)
    assert pipeline.receive(visibility=0) == {"Records": []}

    # When a message comes back early (a redelivery before the retry is due)
    pipeline.clock.advance_to(attempted_at + timedelta(seconds=300))
    requests = pipeline.taken()["counts"]["submit_requests"]
    early = pipeline.submit(event)

    # Then the clearinghouse is not asked again: the messages wait out the rest of the schedule
    assert sorted(early) == sorted(failed)
    assert pipeline.taken()["counts"]["submit_requests"] == requests
    waited = pipeline.infra.store.get_submission(TENANT, SUBMISSION)
    assert waited == record

    # When the retry is due / Then it goes out once and everything settles
    pipeline.clock.advance_to(record.next_attempt_at)
    assert pipeline.submit_until_settled(event) == 1
    pipeline.poll_and_process()
    pipeline.assert_settled(ACCEPTED)


def test_faults_retries_exhausted_go_failed_to_send_then_resend_uses_the_same_file_and_key(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a clearinghouse down for more attempts than the bound (4)
    pipeline.ingest()
    pipeline.faults(fail_next={"status": 503, "count": 4})

    # When SubmitQueue delivers until nothing fails
    assert pipeline.submit_until_settled() == 4

    # Then the claims wait in FAILED_TO_SEND, still carried by their interchange; nothing reached the clearinghouse
    failed = pipeline.infra.store.get_submission(TENANT, SUBMISSION)
    assert failed is not None
    assert (failed.outcome, failed.attempts, failed.max_attempts) == ("failed", 4, 4)
    for claim_id in CLAIMS:
        stored = pipeline.infra.store.get_claim(TENANT, claim_id)
        assert stored is not None
        assert (stored.state, stored.pending_submission_id) == (ClaimState.FAILED_TO_SEND, SUBMISSION)
    assert pipeline.taken()["taken"] == []
    events = [e["detail"] for e in pipeline.infra.bus_events() if e["detail-type"] == "Claim Failed To Send"]
    assert sorted((d["claim_id"], d["attempts"], d["error_code"]) for d in events) == [
        (claim_id, 4, "CH-UNAVAILABLE:http-503") for claim_id in sorted(CLAIMS)
    ]
    # ... and the alarm metric was emitted with the tenant dimension
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    alarmed = [
        blob
        for blob in emf
        for directive in blob["_aws"]["CloudWatchMetrics"]
        if any(metric["Name"] == "SubmissionsFailedToSend" for metric in directive["Metrics"])
        and ["tenant", "service"] in directive["Dimensions"]
    ]
    assert [(blob["tenant"], blob["SubmissionsFailedToSend"]) for blob in alarmed] == [(TENANT, [1.0])]

    # When an operator resends the interchange (the clearinghouse is back)
    outcome = resend_failed(TENANT, SUBMISSION, submit_app.get_deps(), policy=POLICY, actor="ops-test")

    # Then the claims are READY and announced again, SubmitQueue gets them, and the same archived file goes out
    # under the same key, once; a fresh bound of attempts applies
    assert (outcome.resent, outcome.max_attempts) == (2, 8)
    assert {pipeline.state(claim_id) for claim_id in CLAIMS} == {ClaimState.READY}
    assert pipeline.submit_until_settled() == 1
    assert pipeline.infra.archive_keys("x12/837p/") == [f"x12/837p/{TENANT}/000000001.x12"]
    sent = pipeline.infra.store.get_submission(TENANT, SUBMISSION)
    assert sent is not None
    assert (sent.outcome, sent.attempts, sent.idempotency_key) == ("submitted", 5, f"{TENANT}-000000001")
    pipeline.poll_and_process()
    pipeline.assert_settled(ACCEPTED)
    history = pipeline.infra.store.history(TENANT, CLAIMS[0])
    assert [h.to_state for h in history if not h.refused][-4:] == [
        ClaimState.FAILED_TO_SEND,
        ClaimState.READY,
        ClaimState.SUBMITTED,
        ClaimState.ACCEPTED,
    ]


def test_faults_resend_never_sends_a_claim_the_practice_closed_meanwhile(pipeline: Pipeline) -> None:
    # Given both claims FAILED_TO_SEND in one interchange, and the practice then closes the first one
    pipeline.ingest()
    pipeline.faults(fail_next={"status": 503, "count": 4})
    assert pipeline.submit_until_settled() == 4
    close_claim(TENANT, CLAIMS[0], reason="patient withdrew", actor="biller", deps=submit_app.get_deps())

    # When an operator resends the interchange
    outcome = resend_failed(TENANT, SUBMISSION, submit_app.get_deps(), policy=POLICY, actor="ops-test")

    # Then the archived file (which carries the closed claim) is not sent again: the other claim leaves it and goes
    # out alone in a new interchange, and the closed claim stays closed
    assert outcome.resent == 1
    waiting = pipeline.infra.store.get_claim(TENANT, CLAIMS[1])
    assert waiting is not None
    assert (waiting.state, waiting.pending_submission_id) == (ClaimState.READY, None)
    assert pipeline.submit_until_settled() == 1
    _, second = pipeline.infra.archive_keys("x12/837p/")
    resent = pipeline.infra.archive_text(second)
    assert f"CLM*{CLAIMS[1]}*" in resent and f"CLM*{CLAIMS[0]}*" not in resent
    assert len(pipeline.taken()["taken"]) == 1  # the clearinghouse got one file: the new one
    assert pipeline.state(CLAIMS[0]) == ClaimState.CLOSED
    assert pipeline.state(CLAIMS[1]) == ClaimState.SUBMITTED
    back = [h for h in pipeline.infra.store.history(TENANT, CLAIMS[1]) if h.to_state == ClaimState.READY][-1]
    assert "closed: sent in a new interchange" in back.reason


def test_faults_answer_lost_then_retries_exhausted_the_responses_still_settle_the_claims(pipeline: Pipeline) -> None:
    # Given a clearinghouse that takes the interchange but drops the answer, then is down for the remaining attempts
    pipeline.ingest()
    pipeline.faults(drop_next={"taken": True})
    pipeline.faults(fail_next={"status": 503, "count": 3})

    # When SubmitQueue delivers until nothing fails (the 4th failed attempt ends the retries)
    assert pipeline.submit_until_settled() == 4
    assert {pipeline.state(claim_id) for claim_id in CLAIMS} == {ClaimState.FAILED_TO_SEND}
    assert len(pipeline.taken()["taken"]) == 1

    # When the poller fetches the 999/277CA the clearinghouse published for the copy it took
    pipeline.poll_and_process()

    # Then the responses move the claims on (their interchange reached the clearinghouse after all); a resend
    # has nothing left to do, and the clearinghouse still holds one copy
    pipeline.assert_settled(ACCEPTED)
    for claim_id in CLAIMS:
        stored = pipeline.infra.store.get_claim(TENANT, claim_id)
        assert stored is not None
        assert (stored.submission_id, stored.pending_submission_id) == (SUBMISSION, None)
    assert resend_failed(TENANT, SUBMISSION, submit_app.get_deps(), policy=POLICY).resent == 0
    assert len(pipeline.taken()["taken"]) == 1


def test_faults_999_rejects_the_whole_interchange(pipeline: Pipeline) -> None:
    # Given a clearinghouse whose 999 rejects the next interchange
    pipeline.ingest()
    pipeline.faults(reject_interchanges=1)

    # When it is submitted, polled and processed
    assert pipeline.submit_until_settled() == 1
    pipeline.poll_and_process()

    # Then both claims are REJECTED by the 999; only a 999 was published and archived
    assert pipeline.kinds() == ["999"]
    pipeline.assert_settled(dict.fromkeys(CLAIMS, ClaimState.REJECTED))


def test_faults_277ca_rejects_one_claim(pipeline: Pipeline) -> None:
    # Given a payer that rejects one of the two claims (277CA A7)
    pipeline.ingest()
    pipeline.faults(reject_claims=[CLAIMS[0]], reject_status="A7:562:85")

    # When it is submitted, polled and processed
    assert pipeline.submit_until_settled() == 1
    pipeline.poll_and_process()

    # Then that claim is REJECTED and the other ACCEPTED
    pipeline.assert_settled({CLAIMS[0]: ClaimState.REJECTED, CLAIMS[1]: ClaimState.ACCEPTED})


PAID = dict.fromkeys(CLAIMS, ClaimState.PAID)
EM_CLAIM = claim_id_for(TENANT, "Claim/clm-3")  # two service lines (99214 + 90833)


@pytest.mark.parametrize(
    ("remit", "expected", "categories", "codes"),
    [
        ({"after_listings": 2}, PAID, {None}, set()),
        (
            # CO-45 + a copay is a paid claim with a patient balance (claimbridge.remit)
            {"after_listings": 3, "default": {"outcome": "partial", "patient_responsibility": "PR-3"}},
            PAID,
            {"patient_responsibility"},
            set(),
        ),
        (
            {"after_listings": 2, "default": {"outcome": "denied", "carc": "CO-50", "rarc": "N115"}},
            dict.fromkeys(CLAIMS, ClaimState.DENIED),
            {"documentation"},
            {"CO-50"},
        ),
        (
            {"after_listings": 4, "claims": {CLAIMS[0]: {"outcome": "denied", "carc": "CO-197", "rarc": "M62"}}},
            {CLAIMS[0]: ClaimState.DENIED, CLAIMS[1]: ClaimState.PAID},
            {"authorization", None},
            {"CO-197"},
        ),
        (
            {"after_listings": 2, "claims": {EM_CLAIM: {"outcome": "partial", "denied_lines": [2], "carc": "CO-197"}}},
            {**PAID, EM_CLAIM: ClaimState.PARTIALLY_PAID},
            {"authorization", None},
            {"CO-197"},
        ),
    ],
    ids=["paid", "partial-co45-pr3", "denied-co50", "paid-and-denied-co197", "one-line-denied"],
)
def test_faults_835s_published_later_are_archived_once_and_posted(
    pipeline: Pipeline,
    remit: dict[str, Any],
    expected: dict[str, ClaimState],
    categories: set[str | None],
    codes: set[str],
) -> None:
    # Given 835s published a few listings after the 277CA
    pipeline.ingest(*(["em-99214-90833.json"] if EM_CLAIM in expected else []))
    pipeline.faults(remit=remit)

    # When the claims are submitted and the poller runs a few times
    assert pipeline.submit_until_settled() == 1
    pipeline.poll_and_process(polls=4)

    # Then the 835 came after the 277CA, is archived under responses/<tenant>/835/, pyx12-valid and for our claims,
    # and process_responses posted it: each claim adjudicated as the sandbox's payer decided, with its codes
    assert pipeline.kinds() == ["277CA", "835", "999"]
    (key,) = pipeline.infra.archive_keys(f"responses/{TENANT}/835/")
    text = pipeline.infra.archive_text(key)
    assert validate_835(text) == []
    assert sorted(segment.element(1) for segment in read_segments(text) if segment.tag == "CLP") == sorted(expected)
    adjudicated = [e["detail"] for e in pipeline.infra.bus_events() if e["detail-type"] == "Claim Adjudicated"]
    assert {d["claim_id"]: d["outcome"] for d in adjudicated} == {c: s.value for c, s in expected.items()}
    assert {d["category"] for d in adjudicated} == categories
    assert {code for d in adjudicated for code in d["reason_codes"]} == codes
    assert pipeline.infra.store.list_unmatched(TENANT) == []
    pipeline.assert_settled(expected)


@pytest.mark.parametrize(
    "faults",
    [
        {"fail_next": {"status": 500, "route": "list"}},
        {"fail_next": {"status": 429, "retry_after": 30, "route": "download", "count": 2}},
        {"drop_next": {"route": "download"}},
        {"drop_next": {"route": "list", "taken": True, "count": 2}},
        {"timeout_next": {"seconds": HOLD_SECONDS, "route": "list", "taken": True}},
    ],
    ids=["list-500", "download-429", "download-dropped", "list-dropped-after-serving", "list-timeout"],
)
def test_faults_polling_failures_never_skip_a_report(pipeline: Pipeline, faults: dict[str, Any]) -> None:
    # Given submitted claims whose 999/277CA are published, 835s due at the second listing, and a fault on polling
    pipeline.ingest()
    pipeline.faults(remit={"after_listings": 2})
    assert pipeline.submit_until_settled() == 1
    pipeline.faults(**faults)

    # When the poller runs until the fault has passed
    summaries = pipeline.poll_and_process(polls=4)

    # Then at least one poll failed, and still every report was archived once, in order, and processed (the 835
    # posted: both claims PAID)
    assert any(summary["failed"] for summary in summaries)
    assert pipeline.kinds() == ["277CA", "835", "999"]
    pipeline.assert_settled(PAID)


def test_faults_everything_at_once(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a bad day at the clearinghouse: 503, a timeout, a dropped connection after taking, a 429, failing
    # listings and downloads, a 277CA rejection and 835s coming later; and a bound of 6 attempts
    monkeypatch.setattr(submit_app, "get_retry_policy", lambda: POLICY.model_copy(update={"max_attempts": 6}))
    pipeline.ingest()
    pipeline.faults(
        fail_next={"status": 503},
        timeout_next={"seconds": HOLD_SECONDS},
        drop_next={"taken": True},
        reject_claims=[CLAIMS[1]],
        remit={"after_listings": 3, "default": {"outcome": "partial"}},
    )
    pipeline.faults(fail_next={"status": 429, "retry_after": 5})
    pipeline.faults(fail_next={"status": 502, "route": "list"}, drop_next={"route": "download"})

    # When SubmitQueue delivers until nothing fails and the poller runs
    assert pipeline.submit_until_settled() == 5
    pipeline.poll_and_process(polls=5)

    # Then one copy was filed and replayed to the last retry, one claim is REJECTED, the other PAID by its 835
    # (CO-45 and a coinsurance: a patient balance), and no report was skipped or archived twice
    summary = pipeline.taken()
    assert (len(summary["taken"]), summary["counts"]["replays"]) == (1, 1)
    assert pipeline.kinds() == ["277CA", "835", "999"]
    pipeline.assert_settled({CLAIMS[0]: ClaimState.PAID, CLAIMS[1]: ClaimState.REJECTED})
