"""claimbridge CLI: ``convert`` end to end in-process (exit 0/1/2, files written, no PHI), ``demo`` wiring, counter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from claimbridge.cli import main
from claimbridge.local.file_counter import default_state_dir, next_interchange_control
from claimbridge.x12.validate import validate_837p
from tests.unit.fhir_builders import BUNDLES, PHI_VALUES, REPO_ROOT, claim, example, resource

pytestmark = pytest.mark.unit

AS_OF = "2026-03-10"
GOOD = [BUNDLES / "telehealth-90837-home.json", BUNDLES / "intake-90791.json", BUNDLES / "em-99214-90833.json"]


def _convert(tmp_path: Path, *files: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any], Path]:
    out = tmp_path / "out"
    as_of = () if "--as-of" in extra else ("--as-of", AS_OF)  # the examples' dates, not today's (timely filing)
    args = ["convert", *map(str, files), "--out", str(out), "--state-dir", str(tmp_path / "state"), *as_of, *extra]
    code = main(args)
    findings = json.loads((out / "findings.json").read_text()) if (out / "findings.json").exists() else {}
    return code, findings, out


def _assert_no_phi(*texts: str) -> None:
    for text in texts:
        for value in PHI_VALUES:
            assert value not in text


def test_cli_convert_writes_one_interchange_per_payer_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the three example bundles (COMM-A once, MCR twice)
    # When they are converted
    code, findings, out = _convert(tmp_path, *GOOD, extra=("--as-of", "2026-03-10"))
    # Then every claim is READY, one pyx12-clean 837P per payer is written and the exit status is 0
    assert code == 0
    interchanges = sorted(p.name for p in out.glob("*.x12"))
    assert len(interchanges) == 2
    assert any("-COMM-A-" in n for n in interchanges) and any("-MCR-" in n for n in interchanges)
    assert findings["summary"] == {
        "ready": 3,
        "held": 0,
        "rejected": 0,
        "skipped": 0,
        "withdrawn": 0,
        "lines_rejected": 0,
        "unreadable_files": 0,
    }
    assert findings["as_of"] == "2026-03-10"
    mcr = next(out.glob("*-MCR-*.x12")).read_text()
    assert mcr.startswith("ISA*") and mcr.count("CLM*") == 2 and "005010X222A1" in mcr
    for interchange in out.glob("*.x12"):
        assert validate_837p(interchange.read_text()) == []
    numbers = {i["interchange_control_number"] for i in findings["interchanges"]}
    assert len(numbers) == 2
    captured = capsys.readouterr()
    _assert_no_phi(captured.out, captured.err, (out / "findings.json").read_text())


def test_cli_convert_exits_1_when_a_claim_is_rejected_and_writes_the_rest(tmp_path: Path) -> None:
    # Given a good bundle and one whose claim has no coverage
    # When both are converted
    code, findings, out = _convert(tmp_path, GOOD[0], BUNDLES / "bad" / "claim-without-coverage.json")
    # Then the good claim is written, the other is REJECTED with IN-REF, and the exit status is 1
    assert code == 1
    outcomes = {c["source_key"]: c for c in findings["claims"]}
    assert outcomes["Claim/clm-1"]["outcome"] == "READY"
    assert outcomes["Claim/clm-1"]["interchange"] is not None
    rejected = outcomes["Claim/clm-nocov"]
    assert rejected["outcome"] == "REJECTED"
    assert [(f["rule_id"], f["fhir_path"]) for f in rejected["findings"]] == [
        ("IN-REF", "Bundle.entry[6].resource(Claim/clm-nocov).insurance[0].coverage")
    ]
    assert len(list(out.glob("*.x12"))) == 1


def test_cli_convert_holds_a_conflicting_claim_out_of_the_interchange(tmp_path: Path) -> None:
    # Given the example billed under another NPI than the tenant's
    bundle = example()
    resource(bundle, "Organization", 1)["identifier"][0]["value"] = "1987654328"
    claim(bundle)["id"] = "clm-conflict"
    source = tmp_path / "conflict.json"
    source.write_text(json.dumps(bundle))
    # When it is converted
    code, findings, out = _convert(tmp_path, source)
    # Then it is HELD with IN-CONFLICT, no interchange is written, and the exit status is 1
    assert code == 1
    (outcome,) = findings["claims"]
    assert outcome["outcome"] == "HELD"
    assert [f["rule_id"] for f in outcome["findings"]] == ["IN-CONFLICT"]
    assert not list(out.glob("*.x12"))


def test_cli_convert_secondary_example_is_ready_with_the_prior_payer_loops(tmp_path: Path) -> None:
    # Given the secondary example (COMM-A adjudicated, MCD-TX billed)
    # When it is converted
    code, findings, out = _convert(
        tmp_path, BUNDLES / "secondary-90834-after-primary.json", extra=("--as-of", "2026-03-25")
    )
    # Then it is READY in a pyx12-clean MCD-TX interchange carrying 2320 (AMT*D), 2330B and 2430 (SVD, CAS, DTP*573)
    assert code == 0
    assert findings["summary"]["ready"] == 1
    (interchange,) = out.glob("*-MCD-TX-*.x12")
    text = interchange.read_text()
    assert validate_837p(text) == []
    segments = text.split("~")
    for expected in (
        "SBR*S*18*******MC",
        "SBR*P*18*GRP7781******CI",
        "AMT*D*65",
        "NM1*PR*2*COMMERCIAL PLAN A*****PI*CMA01",
    ):
        assert expected in segments
    assert [s for s in segments if s.startswith(("SVD*", "CAS*", "DTP*573*"))] == [
        "SVD*CMA01*65*HC:90834**1",
        "CAS*CO*45*40",
        "CAS*PR*1*20**3*15",
        "DTP*573*D8*20260320",
    ]
    _assert_no_phi((out / "findings.json").read_text())


@pytest.mark.parametrize("bad", ["not-json.json", "not-a-bundle.json"])
def test_cli_convert_exits_2_for_an_unreadable_file_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    # Given an unreadable file next to a good one
    path = BUNDLES / "bad" / bad
    # When both are converted
    code, findings, out = _convert(tmp_path, path, GOOD[0])
    # Then the exit status is 2, stderr names the file with IN-FORMAT, and the good claim is still written
    assert code == 2
    err = capsys.readouterr().err
    assert str(path) in err and "IN-FORMAT" in err
    _assert_no_phi(err)
    assert findings["summary"]["unreadable_files"] == 1
    assert len(list(out.glob("*.x12"))) == 1


def test_cli_convert_exits_2_for_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _convert(tmp_path, tmp_path / "nowhere.json")
    assert code == 2
    assert "nowhere.json" in capsys.readouterr().err


def test_cli_convert_uses_a_given_tenant_and_refuses_a_broken_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a tenant file with an unknown key
    tenant = json.loads((REPO_ROOT / "layers/claimbridge/claimbridge/tenants/demo-practice.json").read_text())
    tenant["surprise"] = True
    tenant_file = tmp_path / "tenant.json"
    tenant_file.write_text(json.dumps(tenant))
    # When converting with it
    code, _, _ = _convert(tmp_path, GOOD[0], extra=("--tenant", str(tenant_file)))
    # Then nothing is converted, exit 2 names the JSON pointer
    assert code == 2
    assert "/surprise" in capsys.readouterr().err


def test_cli_control_numbers_never_repeat_between_runs(tmp_path: Path) -> None:
    # Given two runs with the same state directory
    _, first, _ = _convert(tmp_path, GOOD[0])
    _, second, _ = _convert(tmp_path, GOOD[0])
    # Then their ISA13 differ
    first_numbers = [i["interchange_control_number"] for i in first["interchanges"]]
    second_numbers = [i["interchange_control_number"] for i in second["interchanges"]]
    assert first_numbers == [1]
    assert second_numbers == [2]


def test_file_counter_hands_out_unique_numbers_under_concurrency(tmp_path: Path) -> None:
    # Given eight workers drawing 25 numbers each from one state directory
    def draw(_: int) -> int:
        return next_interchange_control(tmp_path, counter_key="S:R").interchange_number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(draw, range(200)))
    # Then no number repeats and none is skipped
    assert sorted(numbers) == list(range(1, 201))


def test_file_counter_state_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAIMBRIDGE_STATE_DIR", str(tmp_path / "s"))
    assert default_state_dir() == tmp_path / "s"
    monkeypatch.delenv("CLAIMBRIDGE_STATE_DIR")
    assert default_state_dir() == Path.home() / ".claimbridge"


def test_cli_demo_runs_the_local_demo_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a stand-in for claimbridge.local.demo recording its call
    calls: list[tuple[Path, str, bool]] = []
    fake = types.ModuleType("claimbridge.local.demo")

    def run_demo(out_dir: Path, *, protocol: str, keep: bool) -> int:
        calls.append((out_dir, protocol, keep))
        return 3

    fake.run_demo = run_demo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "claimbridge.local.demo", fake)
    # When `claimbridge demo --out DIR` runs (also over SFTP, and kept running for the CLI: make run KEEP=1)
    code = main(["demo", "--out", str(tmp_path)])
    sftp = main(["demo", "--out", str(tmp_path), "--protocol", "sftp"])
    kept = main(["demo", "--out", str(tmp_path), "--keep"])
    # Then run_demo got the folder, protocol and keep flag, and its exit code is returned
    assert (code, sftp, kept) == (3, 3, 3)
    assert calls == [(tmp_path, "http", False), (tmp_path, "sftp", False), (tmp_path, "http", True)]


def test_python_dash_m_claimbridge_runs_the_same_cli(tmp_path: Path) -> None:
    # Given the package run as a module in a child process
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "layers" / "claimbridge"),
        "CLAIMBRIDGE_STATE_DIR": str(tmp_path),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "claimbridge",
            "convert",
            str(BUNDLES / "bad" / "not-json.json"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    # Then it exits 2 for the unreadable file
    assert completed.returncode == 2
    assert "IN-FORMAT" in completed.stderr


def test_cli_convert_holds_only_the_claim_the_writer_refuses(tmp_path: Path) -> None:
    # Given two COMM-A claims, one for a dependent patient without an address (2010CA N3 is required), who is
    # another patient (so the scrubber does not see the same 90837 twice on one day)
    good = example()
    bad = example()
    claim(bad)["id"] = "clm-unwritable"
    resource(bad, "Patient")["id"] = "pat-dependent"
    bad["entry"].append(
        {"fullUrl": "urn:uuid:rp", "resource": {"resourceType": "RelatedPerson", "id": "rp", "name": [{"family": "H"}]}}
    )
    resource(bad, "RelatedPerson")["patient"] = claim(bad)["patient"]
    coverage = resource(bad, "Coverage")
    coverage["relationship"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "child"}]
    }
    coverage["subscriber"] = {"reference": "urn:uuid:rp"}
    del resource(bad, "Patient")["address"]
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    # When both are converted
    code, findings, out = _convert(tmp_path, tmp_path / "good.json", tmp_path / "bad.json")
    # Then the refused claim is HELD with the writer's finding and the other is written alone
    assert code == 1
    outcomes = {c["source_key"]: c for c in findings["claims"]}
    assert outcomes["Claim/clm-1"]["outcome"] == "READY"
    assert outcomes["Claim/clm-unwritable"]["outcome"] == "HELD"
    assert "2010CA N3" in [f["x12_location"] for f in outcomes["Claim/clm-unwritable"]["findings"]]
    (interchange,) = out.glob("*.x12")
    assert interchange.read_text().count("CLM*") == 1


def test_cli_convert_counts_the_same_claim_version_twice_as_a_duplicate(tmp_path: Path) -> None:
    # Given the same bundle twice, and a new version of its claim in a third file
    newer = example()
    claim(newer)["meta"]["versionId"] = "2"
    item_net = claim(newer)["item"][0]["net"]
    item_net["value"] = 190
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    # When all three are converted in one run
    code, findings, out = _convert(tmp_path, GOOD[0], GOOD[0], tmp_path / "newer.json")
    # Then one claim is written, in its newest version, and the repeat is counted as a duplicate
    assert code == 0
    assert [(c["source_key"], c["version"]) for c in findings["claims"]] == [("Claim/clm-1", "2")]
    assert [f["duplicates"] for f in findings["files"]] == [0, 1, 0]
    (interchange,) = out.glob("*.x12")
    assert "CLM*" in interchange.read_text() and "*190*" in interchange.read_text()
