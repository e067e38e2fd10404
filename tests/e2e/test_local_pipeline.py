"""The whole pipeline on this machine: moto server (template.yaml) + sandbox clearinghouse + the real handlers.

Every example bundle goes S3 -> EventBridge -> IngestQueue -> ingest_fhir -> Claim Ready -> SubmitQueue ->
submit_claims (837P written, archived, sent to the sandbox) -> poll_clearinghouse (999 + 277CA archived under
responses/) -> ResponsesQueue -> process_responses -> ACCEPTED. Bad files uploaded alongside are quarantined with an
error report, or held with findings, and block nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claimbridge.local.demo import PipelineRun, example_bundles, render_report, run_demo, run_pipeline
from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.local.stack import LocalStack
from tests.conftest import GENERATED_837P

pytestmark = pytest.mark.e2e

QUARANTINED = ("not-json.json", "not-a-bundle.json")
HELD = ("claim-without-coverage.json", "claim-without-patient.json")


@dataclass
class Outcome:
    run: PipelineRun
    archive: dict[str, bytes]
    out_dir: Path
    log: str


def _resources(bundle: Path, resource_type: str) -> list[dict[str, Any]]:
    document = json.loads(bundle.read_text(encoding="utf-8"))
    return [entry["resource"] for entry in document["entry"] if entry["resource"]["resourceType"] == resource_type]


@pytest.fixture(scope="module")
def outcome(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    out_dir = tmp_path_factory.mktemp("local-pipeline")
    bad = repo_root / "events" / "bundles" / "bad"
    bundles = [*example_bundles(repo_root), *(bad / name for name in (*QUARANTINED, *HELD))]
    log = io.StringIO()
    with (
        SandboxClearinghouse() as sandbox,
        LocalStack(parameters={"ClearinghouseSandboxUrl": sandbox.url}) as stack,
    ):
        run = run_pipeline(stack, bundles, out_dir=out_dir, log_stream=log)
        s3 = stack.s3()
        listing = s3.list_objects_v2(Bucket=stack.archive_bucket).get("Contents", [])
        archive = {
            item["Key"]: s3.get_object(Bucket=stack.archive_bucket, Key=item["Key"])["Body"].read() for item in listing
        }
    yield Outcome(run=run, archive=archive, out_dir=out_dir, log=log.getvalue())


def test_local_pipeline_accepts_every_example_claim(repo_root: Path, outcome: Outcome) -> None:
    # Given the FHIR Claim ids of the example bundles
    expected = sorted(
        f"Claim/{claim['id']}" for bundle in example_bundles(repo_root) for claim in _resources(bundle, "Claim")
    )

    # When / Then each became a claim that the clearinghouse accepted, and the pipeline settled with no dead letter
    states = {row.source_key: row.state for row in outcome.run.claims}
    assert {source: states.get(source) for source in expected} == dict.fromkeys(expected, "ACCEPTED")
    assert outcome.run.settled
    assert outcome.run.dead_letters == {
        "IngestDLQ": 0,
        "IngestChunksDLQ": 0,
        "SubmitDLQ": 0,
        "ResponsesDLQ": 0,
        "SubmittedEventsDLQ": 0,
        "WriteBackDLQ": 0,
        "EventDeliveryDLQ": 0,
    }


def test_local_pipeline_837p_came_from_the_writer_and_carries_every_accepted_claim(outcome: Outcome) -> None:
    # Given the 837P interchanges archived by submit_claims and copied to out/837p
    files = outcome.run.files["837p"]
    texts = [path.read_text(encoding="utf-8") for path in files]
    generated = {text for _, text in GENERATED_837P}

    # Then each is an interchange the writer produced in this session (so the pyx12 contract test validates it)
    assert files
    assert all(text in generated for text in texts)
    assert all(text.startswith("ISA") and "ST*837*" in text for text in texts)
    # and every accepted claim is a CLM in one of them
    accepted = [row.claim_id for row in outcome.run.claims if row.state == "ACCEPTED"]
    assert all(any(f"CLM*{claim_id}*" in text for text in texts) for claim_id in accepted)


@pytest.mark.parametrize(("folder", "transaction"), [("999", "ST*999*"), ("277ca", "ST*277*")])
def test_local_pipeline_clearinghouse_responses_were_archived_and_downloaded(
    outcome: Outcome, folder: str, transaction: str
) -> None:
    # Given / When the responses the poller fetched from the sandbox
    files = outcome.run.files[folder]

    # Then they are X12 of the right kind, both in the archive (responses/<tenant>/...) and under out/
    assert files
    assert all(path.is_relative_to(outcome.out_dir / folder) for path in files)
    assert all(transaction in path.read_text(encoding="utf-8") for path in files)
    kind = "999" if folder == "999" else "277CA"
    assert any(key.startswith(f"responses/{outcome.run.tenant_id}/{kind}/") for key in outcome.archive)


@pytest.mark.parametrize("name", QUARANTINED)
def test_local_pipeline_quarantines_an_unreadable_file_with_an_error_report(outcome: Outcome, name: str) -> None:
    # Given the archive after the run
    tenant = outcome.run.tenant_id
    copies = [key for key in outcome.archive if key.startswith(f"quarantine/{tenant}/") and key.endswith(f"/{name}")]

    # Then the file is kept in quarantine, next to a report naming the IN-* code and the file, without its content
    (copy,) = copies
    report = json.loads(outcome.archive[f"{copy}.error.json"])
    issue = report["operation_outcome"]["issue"][0]
    assert issue["details"]["coding"][0]["code"].startswith("IN-")
    assert report["source"]["key"] == f"{tenant}/{name}"
    assert outcome.archive[copy] == (Path(__file__).parents[2] / "events/bundles/bad" / name).read_bytes()


@pytest.mark.parametrize("name", HELD)
def test_local_pipeline_holds_a_claim_it_cannot_bill_without_blocking_the_others(
    repo_root: Path, outcome: Outcome, name: str
) -> None:
    # Given the Claim of a bundle missing what an 837P needs
    (claim,) = _resources(repo_root / "events/bundles/bad" / name, "Claim")

    # Then that claim is HELD and in no interchange, while every example claim was accepted (first test)
    held = [row for row in outcome.run.claims if row.source_key == f"Claim/{claim['id']}"]
    assert [row.state for row in held] == ["HELD"]
    interchanges = [text.decode() for key, text in outcome.archive.items() if key.startswith("x12/837p/")]
    assert interchanges
    assert not any(f"CLM*{held[0].claim_id}*" in text for text in interchanges)


def test_local_pipeline_report_and_logs_carry_no_patient_data(repo_root: Path, outcome: Outcome) -> None:
    # Given the patients' names and birth dates and the member ids of every bundle (initials are too short to test)
    bundles = example_bundles(repo_root)
    names = [
        value
        for bundle in bundles
        for patient in _resources(bundle, "Patient")
        for value in (patient["name"][0]["family"], *patient["name"][0]["given"], patient["birthDate"])
    ]
    member_ids = [coverage["subscriberId"] for bundle in bundles for coverage in _resources(bundle, "Coverage")]
    phi = [value for value in (*names, *member_ids) if len(value) >= 3]

    # When the demo's report is rendered and the functions' logs are read
    report = render_report(outcome.run, outcome.out_dir)

    # Then none of them appears in either
    assert phi
    assert [value for value in phi if value in report or value in outcome.log] == []


def test_local_pipeline_kpi_report_counts_the_run_and_carries_no_patient_data(
    repo_root: Path, outcome: Outcome
) -> None:
    # Given the reports function's document (fired through its schedule after the run settled) and the page
    assert outcome.run.kpis is not None
    kpis = outcome.run.kpis
    documents = {key: body.decode() for key, body in outcome.archive.items() if key.startswith("reports/")}
    page = (outcome.out_dir / "report.html").read_text(encoding="utf-8")

    # Then it is the tenant's one document of the day: 4 example claims scrubbed clean, the 2 held ones not; the
    # sandbox accepted every claim it was sent on the first pass
    assert list(documents) == [f"reports/{kpis.tenant_id}/{kpis.period.as_of.date().isoformat()}.json"]
    assert (kpis.clean_claim_rate.numerator, kpis.clean_claim_rate.denominator) == (4, 6)
    assert (kpis.clean_claim_rate.held_on_first_scrub, kpis.first_pass_acceptance_rate.value) == (2, 100.0)
    assert kpis.tenant_id in page

    # Then no patient name, birth date or member id is in the document or the page
    bundles = example_bundles(repo_root)
    phi = [
        value
        for bundle in bundles
        for patient in _resources(bundle, "Patient")
        for value in (patient["name"][0]["family"], *patient["name"][0]["given"], patient["birthDate"])
    ] + [coverage["subscriberId"] for bundle in bundles for coverage in _resources(bundle, "Coverage")]
    assert [value for value in phi if len(value) >= 3 and (value in page or value in str(documents))] == []


def test_run_demo_exits_zero_and_shows_the_whole_lifecycle(
    repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty output folder, and one claim per example bundle
    claims = sum(len(_resources(bundle, "Claim")) for bundle in example_bundles(repo_root))

    # When `make run` does its work
    status = run_demo(tmp_path / "out")

    # Then every example claim ended as the demo scenario says (paid, paid in part, denied, rejected), and the
    # files are where the table says: 837P, 999, 277CA, 835, and the FHIR ClaimResponses and EOBs for the EHR
    printed = capsys.readouterr().out
    assert status == 0
    assert f"{claims}/{claims} claim(s) in the state the demo scenario expects" in printed
    assert "states: 1 DENIED, 1 PAID, 1 PARTIALLY_PAID, 1 REJECTED" in printed
    assert "denied (CLP02 4): credentialing, CO-16 N290 -> RESUBMIT_CORRECTED" in printed
    assert len(list((tmp_path / "out" / "eob").rglob("*.json"))) == 3
    assert len(list((tmp_path / "out" / "claimresponse").rglob("*.json"))) >= 4 * 4
    for folder in ("837p", "999", "277ca", "835"):
        assert list((tmp_path / "out" / folder).glob("*.x12")), folder
        assert str(tmp_path / "out" / folder) in printed
    # and it ends with the KPI report (issue 9): the page, and the headline KPIs of the scenario printed as JSON
    assert (tmp_path / "out" / "report.html").is_file()
    assert f"KPI report: {tmp_path / 'out' / 'report.html'}" in printed
    headline = json.loads(printed[printed.index("KPI report: ") :].split("\n", 1)[1].rsplit("function logs:", 1)[0])
    assert (headline["first_pass_acceptance_rate"], headline["remittance_denial_rate"]) == (75.0, 33.33)
    assert headline["denials_by_category"] == {"credentialing": 1, "documentation": 1}


def test_run_demo_over_sftp_reaches_the_same_sandbox_as_a_mailbox(
    repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the demo tenant switched to the sftp kind (key pair in the local Secrets Manager)
    claims = sum(len(_resources(bundle, "Claim")) for bundle in example_bundles(repo_root))

    # When `make run PROTOCOL=sftp` does its work
    status = run_demo(tmp_path / "out", protocol="sftp")

    # Then every claim got its answer through the mailbox: the 999/277CA came back as mailbox files
    printed = capsys.readouterr().out
    assert status == 0
    assert "sandbox clearinghouse sftp://127.0.0.1:" in printed
    assert f"{claims}/{claims} claim(s) in the state the demo scenario expects" in printed
    assert [p.name.split("-", 1)[1] for p in sorted((tmp_path / "out" / "999").glob("*.x12"))] == ["999.x12"]
    assert [p.name.split("-", 1)[1] for p in sorted((tmp_path / "out" / "277ca").glob("*.x12"))] == ["277CA.x12"]
