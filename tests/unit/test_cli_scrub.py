"""claimbridge CLI: ``scrub`` prints each claim's source, READY/HELD status and findings; ``convert`` writes only READY
claims after the same scrubber."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claimbridge.cli import main
from tests.unit.fhir_builders import BUNDLES, PHI_VALUES, example, item

pytestmark = pytest.mark.unit

GOOD = BUNDLES / "telehealth-90837-home.json"
NO_COVERAGE = BUNDLES / "bad" / "claim-without-coverage.json"
FINDING_KEYS = {"rule", "severity", "fhir_path", "x12_location", "message", "fix"}


def _zero_charge_bundle(tmp_path: Path) -> Path:
    """The 90791 example (Claim/clm-2) with its only line charged $0."""
    bundle = example("intake-90791.json")
    item(bundle)["net"] = {"value": 0, "currency": "USD"}
    path = tmp_path / "zero.json"
    path.write_text(json.dumps(bundle))
    return path


def test_cli_scrub_json_lists_every_claim_with_status_and_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a clean bundle, one whose claim cannot be built and one with a $0 line
    files = [GOOD, NO_COVERAGE, _zero_charge_bundle(tmp_path)]
    # When they are scrubbed as JSON
    code = main(["scrub", *map(str, files), "--as-of", "2026-03-10", "--json"])
    captured = capsys.readouterr()
    # Then stdout is exactly the JSON document, held claims carry their findings and the exit status is 1
    document = json.loads(captured.out)
    statuses = [(c["source"], c["status"]) for c in document["claims"]]
    assert statuses == [("Claim/clm-1", "READY"), ("Claim/clm-nocov", "HELD"), ("Claim/clm-2", "HELD")]
    held = {c["source"]: c for c in document["claims"]}
    assert [f["rule"] for f in held["Claim/clm-nocov"]["findings"]] == ["IN-REF"]
    zero = [f for f in held["Claim/clm-2"]["findings"] if f["rule"] == "BH-CLM-02"]
    assert zero and zero[0]["severity"] == "error" and zero[0]["x12_location"] == "2400 LX*1 SV102"
    for claim in document["claims"]:
        for finding in claim["findings"]:
            assert set(finding) == FINDING_KEYS
    assert code == 1
    for value in PHI_VALUES:
        assert value not in captured.out and value not in captured.err


def test_cli_scrub_text_prints_ready_claims_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the clean telehealth example
    # When it is scrubbed
    code = main(["scrub", str(GOOD), "--as-of", "2026-03-10"])
    # Then its source and READY are printed and the exit status is 0
    out = capsys.readouterr().out
    assert code == 0
    assert any(line.startswith("Claim/clm-1 (CB") and line.endswith(": READY") for line in out.splitlines())


def test_cli_convert_writes_only_claims_the_scrubber_found_ready(tmp_path: Path) -> None:
    # Given a clean bundle and a $0-line copy of another claim
    path = _zero_charge_bundle(tmp_path)
    out = tmp_path / "out"
    # When both are converted
    code = main(
        [
            "convert",
            str(GOOD),
            str(path),
            "--out",
            str(out),
            "--state-dir",
            str(tmp_path / "s"),
            "--as-of",
            "2026-03-10",
        ]
    )
    # Then only the clean claim reaches an interchange; the other is HELD by BH-CLM-02
    findings = json.loads((out / "findings.json").read_text())
    outcomes = {c["source_key"]: c for c in findings["claims"]}
    assert outcomes["Claim/clm-1"]["outcome"] == "READY" and outcomes["Claim/clm-1"]["interchange"]
    (held,) = [c for c in findings["claims"] if c["source_key"] != "Claim/clm-1"]
    assert held["outcome"] == "HELD" and held["interchange"] is None
    assert "BH-CLM-02" in [f["rule_id"] for f in held["findings"]]
    assert code == 1
