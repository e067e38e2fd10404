"""BH-PTP-01..07 (same-day pairs, across claims, with payer overrides) and BH-ADD-01 (add-on without its primary)."""

from __future__ import annotations

from datetime import date
from itertools import product
from typing import Any

import pytest

from claimbridge.claim import ProfessionalClaim, ServiceLine
from claimbridge.findings import Finding
from claimbridge.scrubber import InMemoryHistory, scrub
from claimbridge.scrubber.engine import ScrubContext
from claimbridge.scrubber.rules.timing import code_book, pair_rows
from claimbridge.scrubber.tables import default_tables
from claimbridge.tenants import TenantConfig
from tests.unit.scrubber.support import AS_OF, run_rule, severities, tenant_with
from tests.unit.x12_builders import CHEN, OKAFOR, claim, line

DOS = date(2026, 3, 2)
KEY = "a" * 64
MY_RULES = [
    "BH-ADD-01",
    "BH-FREQ-01",
    *(f"BH-PTP-0{n}" for n in range(1, 8)),
    *(f"BH-TIME-0{n}" for n in range(1, 7)),
]


def code(procedure_code: str, minutes: int | None = None, **fields: Any) -> dict[str, Any]:
    return {"procedure_code": procedure_code, "documented_minutes": minutes, **fields}


def lines(*specs: dict[str, Any], claim_id: str = "CB7Q2K9D1") -> tuple[ServiceLine, ...]:
    return tuple(line(index, claim_id=claim_id, **spec) for index, spec in enumerate(specs, start=1))


def a_claim(*specs: dict[str, Any], claim_id: str = "CB7Q2K9D1", **fields: Any) -> ProfessionalClaim:
    return claim(claim_id, patient_key=KEY, lines=lines(*specs, claim_id=claim_id), **fields)


def overrides(*entries: tuple[str, str, str]) -> TenantConfig:
    """The demo tenant with COMM-A's ``ptp_overrides`` set to ``(code, code, action)`` entries."""
    return tenant_with(
        profiles={"COMM-A": {"ptp_overrides": [{"pair": [a, b], "action": action} for a, b, action in entries]}}
    )


# --- BH-PTP-01..07 on one claim -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_id", "specs", "expected", "flagged"),
    [
        pytest.param("BH-PTP-01", [code("90791"), code("99213")], ["error"], 2, id="01-90791-em"),
        pytest.param("BH-PTP-01", [code("90792"), code("99232")], ["error"], 2, id="01-90792-facility-em"),
        pytest.param(
            "BH-PTP-01", [code("90791"), code("99213", rendering_override=CHEN)], [], 0, id="01-other-clinician"
        ),
        pytest.param(
            "BH-PTP-01", [code("90791"), code("99213", service_date=date(2026, 3, 3))], [], 0, id="01-other-day"
        ),
        pytest.param("BH-PTP-02", [code("90791"), code("90834", 45)], ["error"], 2, id="02-90791-90834"),
        pytest.param(
            "BH-PTP-02",
            [code("90792"), code("90837", 60, rendering_override=OKAFOR)],
            ["error"],
            2,
            id="02-any-clinician",
        ),
        pytest.param("BH-PTP-02", [code("90791"), code("90839", 60)], [], 0, id="02-crisis-is-03"),
        pytest.param("BH-PTP-03", [code("90791"), code("90839", 60)], ["error"], 2, id="03-90791-90839"),
        pytest.param(
            "BH-PTP-03", [code("90792"), code("90839", 90), code("90840")], ["error", "error"], 0, id="03-both"
        ),
        pytest.param(
            "BH-PTP-03", [code("90791"), code("90839", 60, rendering_override=CHEN)], [], 0, id="03-other-clinician"
        ),
        pytest.param("BH-PTP-04", [code("90834", 45), code("90836", 45)], ["error"], 2, id="04-standalone-add-on"),
        pytest.param("BH-PTP-04", [code("90834", 45), code("90832", 20)], ["error"], 2, id="04-second-code"),
        pytest.param("BH-PTP-04", [code("90834", 45), code("90834", 45)], [], 0, id="04-same-code-is-time-04"),
        pytest.param(
            "BH-PTP-04", [code("90834", 45), code("90832", 20, rendering_override=CHEN)], [], 0, id="04-two-clinicians"
        ),
        pytest.param("BH-PTP-05", [code("90839", 60), code("90834", 45)], ["error"], 2, id="05-crisis-psychotherapy"),
        pytest.param("BH-PTP-05", [code("90839", 60), code("90785")], ["error"], 2, id="05-crisis-90785"),
        pytest.param("BH-PTP-05", [code("90863"), code("90839", 60)], ["error"], 1, id="05-90863-crisis"),
        pytest.param("BH-PTP-05", [code("90839", 60), code("90791")], [], 0, id="05-evaluation-is-03"),
        pytest.param("BH-PTP-06", [code("90785"), code("90846", 50)], ["error"], 1, id="06-flags-90785"),
        pytest.param("BH-PTP-06", [code("99213"), code("90785")], ["error"], 2, id="06-em-alone"),
        pytest.param("BH-PTP-06", [code("99213"), code("90833", 30), code("90785")], [], 0, id="06-em-with-add-on"),
        pytest.param("BH-PTP-06", [code("90839", 60), code("90785")], [], 0, id="06-crisis-is-05"),
        pytest.param("BH-PTP-06", [code("90834", 45), code("90785")], [], 0, id="06-with-psychotherapy"),
        pytest.param("BH-PTP-07", [code("90834", 45), code("90847", 50)], ["warning"], 2, id="07-individual-family"),
        pytest.param(
            "BH-PTP-07", [code("90847", 50), code("90837", 60)], ["warning"], 1, id="07-flags-the-family-line"
        ),
        pytest.param(
            "BH-PTP-07", [code("90834", 45), code("90847", 50, modifiers=("59",))], [], 0, id="07-distinct-59"
        ),
        pytest.param(
            "BH-PTP-07", [code("90834", 45, modifiers=("XE",)), code("90846", 50)], [], 0, id="07-distinct-xe"
        ),
        pytest.param(
            "BH-PTP-07", [code("90834", 45), code("90847", 50, rendering_override=CHEN)], [], 0, id="07-other-clinician"
        ),
    ],
)
def test_ptp_same_day_pairs_on_one_claim(
    rule_id: str, specs: list[dict[str, Any]], expected: list[str], flagged: int
) -> None:
    # Given one claim with both codes on the same date of service
    found = run_rule(rule_id, a_claim(*specs))
    # Then the pair is reported on the line of its "not billable with" code (+90785 for BH-PTP-06; 0 = each
    # line of the pair's B side), with a fix for this date of service
    assert severities(found) == expected
    locations = [f"2400 LX*{flagged} SV101-2"] * len(found) if flagged else ["2400 LX*2 SV101-2", "2400 LX*3 SV101-2"]
    assert [f.x12_location for f in found] == locations[: len(found)]
    for finding in found:
        assert finding.rule_id == rule_id
        assert "for this date of service" in finding.fix


def test_ptp_message_names_both_lines() -> None:
    [finding] = run_rule("BH-PTP-02", a_claim(code("90791"), code("90834", 45)))
    assert finding.message.startswith("line 2: 90834 is billed with 90791 (line 1)")
    assert finding.fix == "bill 90834 or 90791 for this date of service, not both"


# --- payer overrides ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_id", "specs", "override", "expected"),
    [
        pytest.param("BH-PTP-02", [code("90791"), code("90834", 45)], ("90791", "90834", "allow"), [], id="allow"),
        pytest.param(
            "BH-PTP-02", [code("90791"), code("90834", 45)], ("90834", "90791", "allow"), [], id="allow-any-order"
        ),
        pytest.param(
            "BH-PTP-02", [code("90791"), code("90834", 45)], ("90791", "90834", "warn"), ["warning"], id="warn"
        ),
        pytest.param(
            "BH-PTP-02", [code("90791"), code("90834", 45)], ("90791", "90837", "allow"), ["error"], id="other-pair"
        ),
        pytest.param(
            "BH-PTP-07", [code("90834", 45), code("90847", 50)], ("90847", "90834", "error"), ["error"], id="error"
        ),
        pytest.param(
            "BH-PTP-07",
            [code("90834", 45), code("90847", 50, modifiers=("59",))],
            ("90834", "90847", "error"),
            ["error"],
            id="override-beats-modifier",
        ),
        pytest.param("BH-PTP-01", [code("90791"), code("99213")], ("90791", "99213", "warn"), ["warning"], id="01"),
        pytest.param("BH-PTP-03", [code("90791"), code("90839", 60)], ("90791", "90839", "allow"), [], id="03"),
        pytest.param("BH-PTP-04", [code("90834", 45), code("90836", 45)], ("90834", "90836", "allow"), [], id="04"),
        pytest.param("BH-PTP-05", [code("90839", 60), code("90785")], ("90785", "90839", "warn"), ["warning"], id="05"),
        pytest.param("BH-PTP-06", [code("99213"), code("90785")], ("90785", "99213", "allow"), [], id="06"),
    ],
)
def test_ptp_overrides_change_the_outcome_of_a_pair(
    rule_id: str, specs: list[dict[str, Any]], override: tuple[str, str, str], expected: list[str]
) -> None:
    # Given the billed payer's ptp_overrides entry for a pair
    found = run_rule(rule_id, a_claim(*specs), tenant=overrides(override))
    # Then the override decides allow / warn / error for that exact pair, in either order
    assert severities(found) == expected
    applies = {override[0], override[1]} == {spec["procedure_code"] for spec in specs}
    for finding in found:
        assert (f"ptp_overrides: {override[2]}" in finding.message) == applies


def test_an_override_of_another_payer_does_not_apply() -> None:
    tenant = tenant_with(profiles={"MCR": {"ptp_overrides": [{"pair": ["90791", "90834"], "action": "allow"}]}})
    found = run_rule("BH-PTP-02", a_claim(code("90791"), code("90834", 45)), tenant=tenant)
    assert severities(found) == ["error"]


# --- across claims --------------------------------------------------------------------------------------------------


def _other_claim(*specs: dict[str, Any], claim_id: str = "CLMB", **fields: Any) -> ProfessionalClaim:
    return a_claim(*specs, claim_id=claim_id, **fields)


@pytest.mark.parametrize(
    ("rule_id", "this", "other", "expected"),
    [
        pytest.param("BH-PTP-02", code("90834", 45), code("90791"), ["error"], id="02-split"),
        pytest.param(
            "BH-PTP-02", code("90834", 45), code("90791", rendering_override=CHEN), ["error"], id="02-any-clinician"
        ),
        pytest.param("BH-PTP-01", code("99213"), code("90791"), ["error"], id="01-split"),
        pytest.param("BH-PTP-01", code("99213"), code("90791", rendering_override=CHEN), [], id="01-other-clinician"),
        pytest.param("BH-PTP-04", code("90834", 45), code("90834", 45), ["error"], id="04-same-code-twice"),
        pytest.param(
            "BH-PTP-02", code("90834", 45), code("90791", service_date=date(2026, 3, 3)), [], id="02-other-day"
        ),
    ],
)
def test_ptp_pair_split_across_two_claims(
    rule_id: str, this: dict[str, Any], other: dict[str, Any], expected: list[str]
) -> None:
    # Given the patient's other claim CLMB holds the other code of the pair
    history = InMemoryHistory([_other_claim(other)])
    # When this claim is scrubbed with that history
    found = run_rule(rule_id, a_claim(this), history=history)
    # Then the pair is reported on this claim's line and names the claim holding the other code
    assert severities(found) == expected
    if found:
        assert found[0].x12_location == "2400 LX*1 SV101-2"
        assert "(claim CLMB)" in found[0].message
        assert "claim CLMB" in found[0].fix


def test_ptp_ignores_voided_claims_and_other_patients() -> None:
    history = InMemoryHistory()
    history.add(_other_claim(code("90791")), voided=True)
    history.add(claim("CLMC", patient_key="b" * 64, lines=(line(1, claim_id="CLMC", procedure_code="90791"),)))
    assert run_rule("BH-PTP-02", a_claim(code("90834", 45)), history=history) == []


def test_ptp_does_not_report_pairs_between_two_other_claims() -> None:
    history = InMemoryHistory([_other_claim(code("90791")), _other_claim(code("90834", 45), claim_id="CLMC")])
    assert run_rule("BH-PTP-02", a_claim(code("96127")), history=history) == []


def test_ptp_override_applies_to_a_split_pair() -> None:
    history = InMemoryHistory([_other_claim(code("90791"))])
    found = run_rule(
        "BH-PTP-02", a_claim(code("90834", 45)), history=history, tenant=overrides(("90791", "90834", "warn"))
    )
    assert severities(found) == ["warning"]


# --- BH-ADD-01 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "expected", "fix"),
    [
        pytest.param([code("90833", 30)], ["error"], "bill 90832 instead of 90833", id="90833-alone"),
        pytest.param([code("90836", 45)], ["error"], "bill 90834 instead of 90836", id="90836-alone"),
        pytest.param([code("90838", 60)], ["error"], "bill 90837 instead of 90838", id="90838-alone"),
        pytest.param([code("99213"), code("90833", 30)], [], "", id="90833-with-office-em"),
        pytest.param([code("99232"), code("90836", 45)], [], "", id="90836-with-facility-em"),
        pytest.param([code("90834", 45), code("90833", 30)], ["error"], "bill 90832", id="psychotherapy-is-no-em"),
        pytest.param(
            [code("99213", service_date=date(2026, 3, 3)), code("90833", 30)],
            ["error"],
            "add the E/M",
            id="em-other-day",
        ),
        pytest.param([code("90840")], ["error"], "same claim and date of service as 90839", id="90840-alone"),
        pytest.param([code("90839", 80), code("90840")], [], "", id="90840-with-90839"),
        pytest.param([code("90785")], ["error"], "one of 90791, 90792", id="90785-alone"),
        pytest.param([code("90834", 45), code("90785")], [], "", id="90785-with-90834"),
        pytest.param([code("90853"), code("90785")], [], "", id="90785-with-group"),
        pytest.param([code("99213"), code("90785")], ["error"], "one of 90791", id="90785-with-em-only"),
        pytest.param([code("96131")], ["error"], "as 96130", id="96131-alone"),
        pytest.param([code("96130"), code("96131")], [], "", id="96131-with-96130"),
        pytest.param([code("99493"), code("99494")], [], "", id="99494-with-99493"),
        pytest.param([code("90863")], ["error"], "one of 90832, 90834, 90837", id="90863-alone"),
        pytest.param([code("90834", 45)], [], "", id="no-add-on"),
    ],
)
def test_add_01_add_on_needs_its_primary_on_the_claim(
    specs: list[dict[str, Any]], expected: list[str], fix: str
) -> None:
    found = run_rule("BH-ADD-01", a_claim(*specs))
    assert severities(found) == expected
    if found:
        assert found[0].x12_location == f"2400 LX*{len(specs)} SV101-2"
        assert fix in found[0].fix


def test_add_01_primary_on_another_claim_does_not_count() -> None:
    history = InMemoryHistory([_other_claim(code("99213"))])
    assert severities(run_rule("BH-ADD-01", a_claim(code("90833", 30)), history=history)) == ["error"]


# --- the ptp_pairs table --------------------------------------------------------------------------------------------


def _context() -> ScrubContext:
    return ScrubContext(claim=claim(), tenant=tenant_with(), as_of=AS_OF, tables=default_tables())


def test_ptp_pairs_rows_are_known_codes_and_list_each_pair_once() -> None:
    context = _context()
    book = code_book(context, DOS)
    rows = pair_rows(context, DOS)
    assert {row.rule for row in rows} == {f"BH-PTP-0{n}" for n in range(1, 8)}
    owner: dict[frozenset[str], str] = {}
    for row in rows:
        assert row.sources and row.reason and row.fix
        side_a = [c for c in book.rows if row.in_a(book, c)]
        side_b = [c for c in book.rows if row.in_b(book, c)]
        assert side_a and side_b, row.rule
        assert all(book.get(c) is not None for c in (*row.a_codes, *row.b_codes, *row.unless_present)), row.rule
        for first, second in product(side_a, side_b):
            pair = frozenset((first, second))
            assert owner.setdefault(pair, row.rule) == row.rule, (sorted(pair), owner[pair], row.rule)


def test_ptp_07_is_the_only_warning_row() -> None:
    rows = pair_rows(_context(), DOS)
    assert sorted({row.rule for row in rows if row.severity == "warning"}) == ["BH-PTP-07"]
    assert [row.rule for row in rows if not row.same_provider] == ["BH-PTP-02"]


# --- no PHI ---------------------------------------------------------------------------------------------------------


def test_no_finding_text_carries_the_patients_name_or_member_id() -> None:
    # Given a claim that trips every rule of this family, with the builders' TESTPATIENT / W123456789
    history = InMemoryHistory([_other_claim(code("90791"), code("99213"))])
    messy = a_claim(
        code("99213", 25),
        code("90836", 25),
        code("90791"),
        code("90834", 12),
        code("90834"),
        code("90839", 20),
        code("90840"),
        code("90846", 10),
        code("90785"),
        code("96131"),
    )
    # When all of them run
    findings: list[Finding] = list(
        scrub(messy, tenant=tenant_with(), as_of=AS_OF, history=history, only=MY_RULES).findings
    )
    # Then there are findings, and none quotes the patient
    assert {f.rule_id for f in findings} >= {"BH-TIME-01", "BH-PTP-02", "BH-ADD-01", "BH-FREQ-01"}
    for found in findings:
        text = found.model_dump_json()
        assert "TESTPATIENT" not in text and "W123456789" not in text and "2026" not in text
