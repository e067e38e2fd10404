"""PHI canary: the whole local pipeline runs on bundles whose people carry unique canary values, and none of them
may appear anywhere but where PHI belongs (the inputs, the 837P, the clearinghouse's X12, the FHIR documents for the
EHR).

Inputs (demo tenant, sandbox scenario of ``make run``): the four example bundles (paid with a copay, denied,
paid in part, rejected by the 277CA), a claim held by the scrubber (timely filing), a claim held at intake (no
coverage), a Bundle cut off in the middle of a canary (quarantined, ``IN-FORMAT``) and a bare Patient (quarantined).
Captured: the functions' output (Powertools JSON logs and EMF metrics, as their log groups would have them), every
Python log record of the process, everything printed outside the functions, every event put on the claim bus, every
object in the archive bucket except the 837P, X12 responses, FHIR ClaimResponse / ExplanationOfBenefit and the
quarantined inputs themselves (their error reports and OperationOutcomes are checked), and every finding, audit
entry and unmatched item in the state store.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claimbridge.local.demo import PipelineRun, configure_sandbox, example_bundles, run_pipeline
from claimbridge.local.redate import redate_bundle
from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.local.stack import LocalStack
from claimbridge.state import ClaimState, DynamoClaimStore
from claimbridge.tenants import DEMO_TENANT_FILE, load_tenant_config
from tests.support.canary import PREFIX, Canaries, bare_resource_with_canaries, birth_dates, with_canaries

pytestmark = pytest.mark.e2e

TENANT = load_tenant_config(DEMO_TENANT_FILE).tenant_id
EXCLUDED_ARCHIVE_PREFIXES = (
    "x12/837p/",  # the claims themselves
    "responses/",  # the clearinghouse's 999 / 277CA / 835
    f"outbound/{TENANT}/ClaimResponse/",  # FHIR documents for the EHR (they name the patient by design)
    f"outbound/{TENANT}/ExplanationOfBenefit/",
    "work/",  # fan-out indexes (the submission's resources, expire in a week)
)


class _Records:
    """Every log record the process creates, whichever logger, handler or level it then meets.

    A record factory rather than a handler: ``build_logger`` re-configures the package's loggers (their handlers
    are replaced) each time a handler module is imported, which the router does per stack.
    """

    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []
        self._previous = logging.getLogRecordFactory()

    def __enter__(self) -> _Records:
        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = self._previous(*args, **kwargs)
            self.records.append(record)
            return record

        logging.setLogRecordFactory(factory)
        return self

    def __exit__(self, *_exc: object) -> None:
        logging.setLogRecordFactory(self._previous)

    def text(self) -> str:
        """Each record's message, extras and correlation keys (read now: they are set after the record is made)."""
        lines = []
        for record in self.records:
            fields = {key: value for key, value in vars(record).items() if key not in {"msg", "args"}}
            lines.append(f"{record.getMessage()} {json.dumps(fields, default=str)}")
        return "\n".join(lines)


@dataclass
class CanaryRun:
    canaries: dict[str, str]  # every form to search for -> its kind
    planted: set[str]  # the values as written into the inputs
    run: PipelineRun
    inputs: dict[str, bytes]
    function_output: str
    python_logging: str
    printed: str
    events: list[dict[str, Any]]
    archive: dict[str, bytes]
    store: dict[str, str]


def _bundle(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _held_by_the_scrubber(repo_root: Path) -> dict[str, Any]:
    """The telehealth example as a new claim created 200 days after its visit: held by timely filing (BH-TF-01)."""
    document = _bundle(repo_root / "events/bundles/telehealth-90837-home.json")
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Claim":
            resource["id"] = "clm-late"
            resource["created"] = "2026-09-18"
    return document


def _inputs(repo_root: Path, folder: Path, canaries: Canaries) -> dict[str, Path]:
    """The canary bundles, re-dated the way ``make run`` re-dates (so birth dates are known after the shift)."""
    documents: dict[str, bytes] = {}
    for tag, path in zip("ABCD", example_bundles(repo_root), strict=True):
        documents[path.name] = json.dumps(with_canaries(_bundle(path), tag, canaries)).encode()
    documents["late-claim.json"] = json.dumps(with_canaries(_held_by_the_scrubber(repo_root), "H", canaries)).encode()
    without_coverage = _bundle(repo_root / "events/bundles/bad/claim-without-coverage.json")
    documents["no-coverage.json"] = json.dumps(with_canaries(without_coverage, "I", canaries)).encode()
    # A bundle cut off inside its first canary name: what is left of that name is the canary a parser error could echo
    cut = json.dumps(with_canaries(_bundle(repo_root / "events/bundles/intake-90791.json"), "Q", Canaries()))
    end = cut.index(f"{PREFIX}Q") + len(PREFIX) + 5
    documents["cut-off.json"] = cut[:end].encode()
    canaries.add("name", cut[end - len(PREFIX) - 5 : end])
    patient = _bundle(repo_root / "events/bundles/bad/not-a-bundle.json")
    documents["bare-patient.json"] = json.dumps(bare_resource_with_canaries(patient, "P", canaries)).encode()
    paths: dict[str, Path] = {}
    for name, raw in documents.items():
        dated = redate_bundle(raw)
        for value in birth_dates(dated):
            canaries.add("birth_date", value)
        paths[name] = folder / name
        paths[name].write_bytes(dated)
    return paths


def _archive(stack: LocalStack) -> dict[str, bytes]:
    s3 = stack.s3()
    objects: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.archive_bucket):
        for item in page.get("Contents", []):
            objects[item["Key"]] = s3.get_object(Bucket=stack.archive_bucket, Key=item["Key"])["Body"].read()
    return objects


def _capture_bus(stack: LocalStack) -> str:
    """A queue receiving a copy of every event on the claim bus (Claimbridge's own, and EHRs')."""
    sqs, events = stack.sqs(), stack.events()
    url = sqs.create_queue(QueueName="phi-canary-bus-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="phi-canary-capture", EventBusName=stack.event_bus_name, EventPattern=json.dumps({"version": ["0"]})
    )
    events.put_targets(Rule="phi-canary-capture", EventBusName=stack.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def _drain(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    sqs = stack.sqs()
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _store_texts(stack: LocalStack, run: PipelineRun) -> dict[str, str]:
    """Findings, audit entries and unmatched items: what worklists and ClaimResponses show people."""
    store = DynamoClaimStore(stack.dynamodb(), stack.claims_table)
    texts: dict[str, str] = {}
    for row in run.claims:
        claim = store.get_claim(TENANT, row.claim_id)
        assert claim is not None
        texts[f"findings of {row.claim_id}"] = json.dumps([f.model_dump(mode="json") for f in claim.findings])
        texts[f"history of {row.claim_id}"] = json.dumps(
            [entry.model_dump(mode="json") for entry in store.history(TENANT, row.claim_id)]
        )
    texts["unmatched responses"] = json.dumps([item.model_dump(mode="json") for item in store.list_unmatched(TENANT)])
    return texts


@pytest.fixture(scope="module")
def canary_run(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CanaryRun]:
    work = tmp_path_factory.mktemp("phi-canary")
    (work / "in").mkdir()
    canaries = Canaries()
    paths = _inputs(repo_root, work / "in", canaries)
    function_output, printed = io.StringIO(), io.StringIO()
    with (
        _Records() as records,
        contextlib.redirect_stdout(printed),
        contextlib.redirect_stderr(printed),
        SandboxClearinghouse() as sandbox,
        LocalStack(parameters={"ClearinghouseSandboxUrl": sandbox.url}) as stack,
    ):
        configure_sandbox(sandbox.state, TENANT)
        capture = _capture_bus(stack)
        run = run_pipeline(stack, list(paths.values()), out_dir=work / "out", log_stream=function_output)
        events = _drain(stack, capture)
        archive = _archive(stack)
        store = _store_texts(stack, run)
    yield CanaryRun(
        canaries=canaries.forms(),
        planted=canaries.all(),
        run=run,
        inputs={name: path.read_bytes() for name, path in paths.items()},
        function_output=function_output.getvalue(),
        python_logging=records.text(),
        printed=printed.getvalue(),
        events=events,
        archive=archive,
        store=store,
    )


def _checked_places(result: CanaryRun) -> dict[str, str]:
    quarantined_inputs = {
        key for key in result.archive if key.startswith("quarantine/") and not key.endswith(".error.json")
    }
    return {
        "function logs and EMF metrics": result.function_output,
        "python logging": result.python_logging,
        "printed outside the functions": result.printed,
        **{f"bus event {event['detail-type']} #{n}": json.dumps(event) for n, event in enumerate(result.events)},
        **{
            f"archive {key}": body.decode("utf-8", errors="replace")
            for key, body in result.archive.items()
            if not key.startswith(EXCLUDED_ARCHIVE_PREFIXES) and key not in quarantined_inputs
        },
        **result.store,
    }


def test_phi_canary_the_pipeline_did_all_its_work(canary_run: CanaryRun) -> None:
    # Given / When the canary run
    states = {row.source_key: row.state for row in canary_run.run.claims}
    kinds = {event["detail-type"] for event in canary_run.events}
    places = _checked_places(canary_run)

    # Then every outcome the check below relies on happened: paid, denied, paid in part, rejected, held twice,
    # quarantined twice, written back; and there was output of every kind to search
    assert canary_run.run.settled
    assert states == {
        "Claim/clm-1": ClaimState.PAID,
        "Claim/clm-2": ClaimState.DENIED,
        "Claim/clm-3": ClaimState.PARTIALLY_PAID,
        "Claim/clm-cob": ClaimState.REJECTED,
        "Claim/clm-late": ClaimState.HELD,
        "Claim/clm-nocov": ClaimState.HELD,
    }
    assert {
        "Claim Ready",
        "Claim Held",
        "Claim Submitted",
        "Claim Accepted",
        "Claim Rejected",
        "Claim Adjudicated",
        "Claim Response Written",
        "Explanation Of Benefit Written",
        "FHIR Submission Rejected",
    } <= kinds
    assert sum(key.endswith(".error.json") for key in canary_run.archive) == 2
    assert any(key.startswith(f"outbound/{TENANT}/OperationOutcome/") for key in canary_run.archive)
    emf = [line for line in canary_run.function_output.splitlines() if '"_aws"' in line]
    assert any('"ClaimsDenied"' in line for line in emf) and any('"SubmissionLatency"' in line for line in emf)
    assert '"interchange_control_number"' in canary_run.function_output  # correlation keys are logged
    assert "interchange taken by the clearinghouse" in canary_run.python_logging  # the package's records were seen
    assert "BH-TF-01" in places["findings of " + _claim_id(canary_run, "Claim/clm-late")]


def _claim_id(result: CanaryRun, source_key: str) -> str:
    (row,) = [row for row in result.run.claims if row.source_key == source_key]
    return row.claim_id


def test_phi_canary_the_inputs_carried_the_canaries_into_the_claims(canary_run: CanaryRun) -> None:
    # Given the 837P interchanges the pipeline wrote and the inputs it was given
    interchanges = "".join(body.decode() for key, body in canary_run.archive.items() if key.startswith("x12/837p/"))
    inputs = b"".join(canary_run.inputs.values()).decode()

    # Then names, birth dates (CCYYMMDD), member ids and addresses reached the claims (so the search below would find
    # them if they leaked), and every canary, phone and notes included, was in the inputs
    carried = {kind for value, kind in canary_run.canaries.items() if value in interchanges}
    assert {"name", "birth_date", "member_id", "address"} <= carried
    assert [value for value in canary_run.planted if value not in inputs] == []
    assert {"phone", "free_text"} <= set(canary_run.canaries.values())


def test_phi_canary_appears_in_no_log_metric_event_report_or_finding(canary_run: CanaryRun) -> None:
    # Given every place PHI must never reach
    places = _checked_places(canary_run)

    # When each is searched for every canary (and its X12 / digit-only forms)
    leaks = sorted(
        f"{kind} {value!r} in {where}"
        for where, text in places.items()
        for value, kind in canary_run.canaries.items()
        if value in text
    )

    # Then there is none
    assert len(places) > 20
    assert leaks == []
