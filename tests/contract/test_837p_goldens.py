"""The writer's 837P for each golden scenario equals tests/goldens/837p/<scenario>.x12, and every golden is pyx12-clean.

A golden changes only on purpose: when the writer or the mapping changes what a scenario produces, run
``make goldens`` and review the diff of tests/goldens/837p like any other code change.
"""

from __future__ import annotations

import difflib

import pytest

from claimbridge.x12.validate import validate_837p
from tests.goldens.scenarios import GOLDEN_DIR, SCENARIOS, Scenario, from_readable, readable, write

pytestmark = pytest.mark.contract

# What each golden must show, so a blind regeneration cannot quietly lose its scenario.
_SHOWS: dict[str, tuple[str, ...]] = {
    "telehealth-90837-home": ("SV1*HC:90837:95*180*UN*1***1~", "CLM*CBJ34EBQUT6NHBGYUTQQ*180***10:B:1*"),
    "intake-90791": ("SV1*HC:90791*200*UN*1***1~", "NM1*PR*2*MEDICARE PART B*****PI*05302~"),
    "em-99214-90833": ("SV1*HC:99214*", "SV1*HC:90833*", "HL*3*2*23*0~", "PAT*19~", "NM1*QC*1*"),
    "dependent-2000c": ("HL*3*2*23*0~", "PAT*01~", "NM1*QC*1*TESTPATIENT*CASEY*J~", "SBR*P**GRP-0042******CI~"),
    "corrected-freq7": (":B:7*", "REF*F8*2026031200417~"),
    "void-freq8": (":B:8*", "REF*F8*2026031200417~"),
    "secondary-cob": ("SBR*S*18*", "SBR*P*18*", "AMT*D*", "OI***Y***Y~", "SVD*CMA01*", "CAS*", "DTP*573*D8*"),
    "pay-to-2010ab": ("NM1*87*2~", "N3*PO BOX 4410~"),
    "multi-line-2420a": ("LX*3~", "NM1*82*1*CHEN*MORGAN****XX*1987654328~", "REF*G1*LINEAUTH7~"),
    "supervising-2310d": ("NM1*DQ*1*CHEN*MORGAN****XX*1987654328~", "NM1*DN*1*", "DTP*472*RD8*20260302-20260306~"),
}


def _golden(scenario: Scenario) -> str:
    if not scenario.path.is_file():
        pytest.fail(f"{scenario.path} is missing: run `make goldens`", pytrace=False)
    return scenario.path.read_text(encoding="utf-8")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_837p_golden_equals_the_writer_output(scenario: Scenario) -> None:
    # Given the scenario's golden file
    golden = _golden(scenario)
    # When the scenario's claims are written with its fixed control numbers and creation time
    written = readable(write(scenario))
    # Then the output is the golden, segment for segment
    if written != golden:
        diff = "".join(
            difflib.unified_diff(
                golden.splitlines(keepends=True),
                written.splitlines(keepends=True),
                fromfile=f"tests/goldens/837p/{scenario.path.name} (golden)",
                tofile="write_837p output",
            )
        )
        pytest.fail(
            f"the 837P of scenario {scenario.name} ({scenario.shows}) differs from its golden:\n{diff}\n"
            "If the change is intended, run `make goldens` and review the diff of tests/goldens/837p.",
            pytrace=False,
        )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_837p_golden_is_pyx12_clean_and_shows_its_scenario(scenario: Scenario) -> None:
    # Given the scenario's golden file
    golden = _golden(scenario)
    # When its interchange is validated with pyx12 (005010X222A1)
    issues = validate_837p(from_readable(golden))
    # Then there is nothing to report, and it holds the segments its scenario is about
    assert [str(issue) for issue in issues] == []
    missing = [segment for segment in _SHOWS[scenario.name] if segment not in golden]
    assert missing == [], f"{scenario.path.name} no longer shows {scenario.shows}"


def test_837p_goldens_one_file_per_scenario() -> None:
    # Given the golden directory and the scenario list
    # When their names are compared
    files = sorted(path.name for path in GOLDEN_DIR.glob("*"))
    # Then each scenario has its file and no file is left over (`make goldens` removes stale ones)
    assert files == sorted(scenario.path.name for scenario in SCENARIOS)
    assert set(_SHOWS) == {scenario.name for scenario in SCENARIOS}
