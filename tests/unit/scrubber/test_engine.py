"""The scrubber engine: registration, status, crash containment, dated tables and in-memory history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claimbridge.findings import Finding, Severity
from claimbridge.scrubber import (
    HELD,
    INTERNAL_RULE_ID,
    READY,
    Fact,
    InMemoryHistory,
    engine,
    packaged_table_names,
    parse_table,
    registered_rules,
    rule,
    scrub,
)
from claimbridge.scrubber.tables import TableError, load_table
from tests.unit.scrubber.support import AS_OF, run_rule, tenant_with
from tests.unit.x12_builders import claim, line


def test_a_rule_id_can_be_registered_once() -> None:
    with pytest.raises(ValueError, match="BH-CLM-02 is registered twice"):
        rule("BH-CLM-02", title="again", reads=[Fact.CHARGES], severity="error")(lambda context: ())


def test_a_crashing_rule_holds_the_claim_without_quoting_values(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(context: engine.ScrubContext) -> list[Finding]:
        raise KeyError(context.claim.subscriber.member_id)

    monkeypatch.setitem(engine._REGISTRY, "BH-TEST-99", engine.Rule("BH-TEST-99", "test", frozenset(), explode))
    result = scrub(claim(), tenant=tenant_with(), as_of=AS_OF, only=["BH-TEST-99"])
    assert result.status == HELD
    [found] = result.findings
    assert found.rule_id == INTERNAL_RULE_ID
    assert "BH-TEST-99" in found.message and "KeyError" in found.message
    assert "W123456789" not in found.model_dump_json()


def test_a_clean_claim_is_ready_and_a_zero_charge_line_is_held() -> None:
    assert scrub(claim(), tenant=tenant_with(), as_of=AS_OF, only=["BH-CLM-02"]).status == READY
    free = claim(lines=(line(charge=Decimal(0)),))
    [found] = run_rule("BH-CLM-02", free)
    assert (found.severity, found.x12_location) == (Severity.ERROR, "2400 LX*1 SV102")


def test_every_registered_rule_has_an_id_title_and_inputs() -> None:
    for rule_id, registered in registered_rules().items():
        assert registered.rule_id == rule_id
        assert registered.title
        assert registered.reads, rule_id


def _table(*versions: tuple[str, str | None]) -> dict[str, object]:
    return {
        "table": "t",
        "source": ["test"],
        "versions": [{"effective_from": f, "effective_to": t, "rows": [{"from": f}]} for f, t in versions],
    }


def test_dated_tables_pick_the_version_in_effect() -> None:
    table = parse_table(_table(("2025-01-01", "2025-12-31"), ("2026-01-01", None)))
    assert table.rows_on(date(2025, 12, 31)) == ({"from": "2025-01-01"},)
    assert table.rows_on(date(2026, 1, 1)) == ({"from": "2026-01-01"},)
    assert table.rows_on(date(2024, 12, 31)) == ()


@pytest.mark.parametrize(
    "versions",
    [
        (("2025-01-01", None), ("2026-01-01", None)),
        (("2025-01-01", "2026-01-01"), ("2026-01-01", None)),
    ],
)
def test_overlapping_table_versions_are_refused(versions: tuple[tuple[str, str | None], ...]) -> None:
    with pytest.raises(TableError, match="overlap"):
        parse_table(_table(*versions))


def test_every_packaged_table_loads_and_names_its_source() -> None:
    for name in packaged_table_names():
        table = load_table(name)
        assert table.sources and table.versions, name


def test_in_memory_history_replaces_a_claims_services_and_marks_voids() -> None:
    key = "a" * 64
    history = InMemoryHistory([claim("CLMA", patient_key=key), claim("CLMB", patient_key=key)])
    assert sorted(s.claim_id for s in history.services(key)) == ["CLMA", "CLMB"]
    history.add(claim("CLMA", patient_key=key, lines=(line(claim_id="CLMA"), line(2, claim_id="CLMA"))))
    assert len(history.services(key)) == 3
    history.add(claim("CLMB", patient_key=key), voided=True)
    assert [s.voided for s in history.services(key) if s.claim_id == "CLMB"] == [True]
    assert history.services("b" * 64) == []
