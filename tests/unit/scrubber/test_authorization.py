"""Prior authorization: codes the payer authorizes (BH-AUTH-01) and visit limits with claim history (BH-AUTH-02)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from claimbridge.claim import BillingProvider, Clinician, ProfessionalClaim, ServiceLine
from claimbridge.findings import Finding
from claimbridge.scrubber import InMemoryHistory
from claimbridge.tenants import TenantConfig
from tests.unit.scrubber.support import run_rule, severities, tenant_with
from tests.unit.x12_builders import CHEN, OKAFOR, RIVERA, billing_provider, claim, line, payer

KEY = "a" * 64
DOS = date(2026, 3, 2)


def _where(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(str(f.severity), f.x12_location) for f in findings]


# BH-AUTH-01 ------------------------------------------------------------------------------------------------------


def _lines(*specs: tuple[str, str | None]) -> tuple[ServiceLine, ...]:
    return tuple(
        line(i, claim_id="CLMA1", procedure_code=code, prior_authorization=auth)
        for i, (code, auth) in enumerate(specs, start=1)
    )


@pytest.mark.parametrize(
    ("specs", "claim_auth", "expected"),
    [
        pytest.param([("96130", None)], None, [("error", "2400 LX*1 REF*G1")], id="required-code-without-G1-fails"),
        pytest.param([("96130", "AUTH1")], None, [], id="G1-on-the-line-passes"),
        pytest.param([("96130", None)], "AUTH1", [], id="G1-on-the-claim-passes"),
        pytest.param([("90837", None)], None, [], id="code-not-required-passes"),
        pytest.param(
            [("90837", None), ("96136", None)], None, [("error", "2400 LX*2 REF*G1")], id="only-the-required-line"
        ),
        pytest.param(
            [("96130", "AUTH1"), ("96131", None)], None, [("error", "2400 LX*2 REF*G1")], id="line-G1-covers-its-line"
        ),
        pytest.param(
            [("96136", None), ("96137", None)],
            None,
            [("error", "2400 LX*1 REF*G1"), ("error", "2400 LX*2 REF*G1")],
            id="one-error-per-line",
        ),
    ],
)
def test_required_codes_need_an_authorization(
    specs: list[tuple[str, str | None]], claim_auth: str | None, expected: list[tuple[str, str]]
) -> None:
    # Given COMM-A (auth.required_codes 96130, 96131, 96136, 96137)
    subject = claim("CLMA1", prior_authorization=claim_auth, lines=_lines(*specs))
    # When
    found = run_rule("BH-AUTH-01", subject)
    # Then
    assert _where(found) == expected
    for f in found:
        assert f.rule_id == "BH-AUTH-01"
        assert "auth.required_codes" in f.message
        assert "2300 REF*G1" in f.fix and "2400 REF*G1" in f.fix


def test_a_payer_without_required_codes_and_a_void_are_not_checked() -> None:
    testing = _lines(("96130", None))
    assert run_rule("BH-AUTH-01", claim("CLMA1", payer=payer("MCR"), lines=testing)) == []
    void = claim("CLMA1", frequency="8", payer_claim_control_number="PAYERICN1", lines=testing)
    assert run_rule("BH-AUTH-01", void) == []


def test_required_codes_are_the_profile_s() -> None:
    tenant = tenant_with(profiles={"MCR": {"auth": {"required_codes": ["90837"]}}})
    [found] = run_rule("BH-AUTH-01", claim("CLMA1", payer=payer("MCR")), tenant=tenant)
    assert (found.severity, found.x12_location) == ("error", "2400 LX*1 REF*G1")
    assert "line 1 (90837)" in found.message


# BH-AUTH-02 ------------------------------------------------------------------------------------------------------

LIMIT = 10
"""Warnings from visit 7 (limit - 3), errors from visit 11."""

OTHER_BILLING = BillingProvider(
    entity=billing_provider().entity,
    npi="1987654328",
    organization_name="OTHER GROUP",
    tin="987654321",
    address=billing_provider().address,
)


def _tenant(count: int = LIMIT, period: str = "calendar_year", scope: str = "all_providers") -> TenantConfig:
    limit = {"count": count, "period": period, "scope": scope}
    return tenant_with(profiles={"MCD-TX": {"auth": {"visit_limit": limit}}})


def _visit(
    claim_id: str,
    day: date,
    code: str = "90834",
    *,
    payer_key: str = "MCD-TX",
    rendering: Clinician = RIVERA,
    **overrides: Any,
) -> ProfessionalClaim:
    """A one-line claim of the test patient on ``day``."""
    values: dict[str, Any] = {
        "patient_key": KEY,
        "payer": payer(payer_key),
        "rendering": rendering,
        "lines": (line(claim_id=claim_id, procedure_code=code, service_date=day),),
    }
    return claim(claim_id, **(values | overrides))


def _history(days: list[date], **kwargs: Any) -> InMemoryHistory:
    """One stored claim per day (H1, H2 ...)."""
    return InMemoryHistory(_visit(f"H{i}", day, **kwargs) for i, day in enumerate(days, start=1))


def _days_before(day: date, n: int) -> list[date]:
    """The ``n`` days before ``day``."""
    return [day - timedelta(days=k) for k in range(n, 0, -1)]


def _current(day: date = DOS, **kwargs: Any) -> ProfessionalClaim:
    return _visit("CUR", day, **kwargs)


@pytest.mark.parametrize(
    ("prior", "expected", "text"),
    [
        pytest.param(0, [], "", id="first-visit"),
        pytest.param(5, [], "", id="visit-6-no-warning"),
        pytest.param(6, ["warning"], "visit 7 of 10", id="visit-7-within-3-warns"),
        pytest.param(8, ["warning"], "visit 9 of 10", id="limit-minus-1-warns"),
        pytest.param(9, ["warning"], "visit 10 of 10", id="on-the-limit-warns"),
        pytest.param(10, ["error"], "visit 11 in the calendar year", id="limit-plus-1-fails"),
        pytest.param(15, ["error"], "visit 16 in the calendar year", id="well-over"),
    ],
)
def test_visit_count_against_the_limit(prior: int, expected: list[str], text: str) -> None:
    # Given `prior` earlier visits this year under MCD-TX (limit 10 per calendar year, all providers)
    history = _history(_days_before(DOS, prior))
    # When the claim for the next visit is scrubbed
    found = run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=history)
    # Then
    assert severities(found) == expected
    for f in found:
        assert (f.rule_id, f.x12_location) == ("BH-AUTH-02", "2300 REF*G1")
        assert text in f.message and "line 1 (90834)" in f.message and "across all providers" in f.message
    if expected == ["error"]:
        assert "the visit limit is 10" in found[0].message
        assert "obtain a prior authorization for the visits beyond 10" in found[0].fix
    if expected == ["warning"]:
        assert f"{LIMIT - prior - 1} left" in found[0].message


@pytest.mark.parametrize(
    ("history_days", "current_day", "expected"),
    [
        pytest.param(
            _days_before(date(2025, 12, 31), 10), date(2025, 12, 31), ["error"], id="31-dec-is-visit-11-of-2025"
        ),
        pytest.param(_days_before(date(2026, 1, 1), 10), date(2026, 1, 1), [], id="1-jan-starts-a-new-year"),
        pytest.param(
            [date(2026, 1, 1) + timedelta(days=k) for k in range(10)],
            date(2025, 12, 31),
            [],
            id="next-year-visits-do-not-count",
        ),
        pytest.param(
            [date(2026, 3, 3) + timedelta(weeks=k) for k in range(10)],
            date(2026, 3, 2),
            ["error"],
            id="later-visits-already-billed-this-year-count",
        ),
    ],
)
def test_calendar_year_edges(history_days: list[date], current_day: date, expected: list[str]) -> None:
    history = _history(history_days)
    found = run_rule("BH-AUTH-02", _current(current_day), tenant=_tenant(), history=history, as_of=date(2026, 3, 10))
    assert severities(found) == expected


ROLLING_NINE = [DOS - timedelta(weeks=k) for k in range(1, 10)]
"""Nine visits in the 12 months before DOS."""


@pytest.mark.parametrize(
    ("tenth", "expected", "text"),
    [
        pytest.param(date(2025, 3, 2), ["warning"], "visit 10 of 10", id="exactly-one-year-before-is-outside"),
        pytest.param(date(2025, 3, 3), ["error"], "visit 11 in the 12 months", id="one-year-minus-a-day-is-inside"),
        pytest.param(date(2026, 3, 3), ["warning"], "visit 10 of 10", id="a-later-visit-is-outside"),
        pytest.param(date(2025, 12, 31), ["error"], "visit 11", id="across-the-new-year"),
    ],
)
def test_rolling_12_months_edges(tenth: date, expected: list[str], text: str) -> None:
    history = _history([*ROLLING_NINE, tenth])
    found = run_rule("BH-AUTH-02", _current(), tenant=_tenant(period="rolling_12_months"), history=history)
    assert severities(found) == expected
    assert text in found[0].message


@pytest.mark.parametrize(
    ("scope", "history_kwargs", "current_kwargs", "expected"),
    [
        pytest.param("all_providers", {"rendering": CHEN}, {}, ["error"], id="all-providers-counts-other-clinicians"),
        pytest.param("rendering_provider", {"rendering": CHEN}, {}, [], id="rendering-scope-ignores-other-clinician"),
        pytest.param("rendering_provider", {}, {}, ["error"], id="rendering-scope-counts-same-clinician"),
        pytest.param(
            "rendering_provider",
            {"rendering": CHEN},
            {"rendering": OKAFOR, "lines": (line(claim_id="CUR", procedure_code="90834", rendering_override=CHEN),)},
            ["error"],
            id="rendering-scope-uses-the-line-override",
        ),
        pytest.param(
            "billing_provider", {"billing_provider": OTHER_BILLING}, {}, [], id="billing-scope-ignores-other-group"
        ),
        pytest.param("billing_provider", {"rendering": CHEN}, {}, ["error"], id="billing-scope-counts-same-group"),
        pytest.param(
            "all_providers", {"billing_provider": OTHER_BILLING}, {}, ["error"], id="all-providers-counts-other-group"
        ),
    ],
)
def test_scopes(
    scope: str, history_kwargs: dict[str, Any], current_kwargs: dict[str, Any], expected: list[str]
) -> None:
    # Given ten earlier visits this year, billed/rendered as `history_kwargs` say
    history = _history(_days_before(DOS, 10), **history_kwargs)
    # When the eleventh is scrubbed under the scope
    found = run_rule("BH-AUTH-02", _current(**current_kwargs), tenant=_tenant(scope=scope), history=history)
    # Then
    assert severities(found) == expected


def test_scope_text_names_the_scope() -> None:
    history = _history(_days_before(DOS, 10))
    [found] = run_rule("BH-AUTH-02", _current(), tenant=_tenant(scope="rendering_provider"), history=history)
    assert "for this rendering clinician" in found.message


def test_voided_claims_do_not_count_and_other_payers_do_not_count() -> None:
    # Given ten earlier visits: eight under MCD-TX, one voided, one under another payer
    days = _days_before(DOS, 10)
    history = _history(days[:8])
    history.add(_visit("HVOID", days[8]), voided=True)
    history.add(_visit("HCOMM", days[9], payer_key="COMM-A"))
    # Then the current visit is the ninth
    [found] = run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=history)
    assert (found.severity, "visit 9 of 10" in found.message) == ("warning", True)
    # And once the void is replaced by a live claim it counts
    history.add(_visit("HVOID", days[8]))
    [found] = run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=history)
    assert "visit 10 of 10" in found.message


def test_a_frequency_8_claim_in_history_does_not_count() -> None:
    days = _days_before(DOS, 10)
    history = _history(days[:9])
    history.add(_visit("HVOID", days[9], frequency="8", payer_claim_control_number="PAYERICN1"))
    [found] = run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=history)
    assert (found.severity, "visit 10 of 10" in found.message) == ("warning", True)


def test_only_behavioral_health_codes_make_a_visit() -> None:
    # Given ten earlier E/M-only dates and one screening date
    history = _history(_days_before(DOS, 10), code="99213")
    history.add(_visit("H96127", DOS - timedelta(days=1), code="96127"))
    # Then the E/M dates do not count; the screening does
    [found] = run_rule("BH-AUTH-02", _current(), tenant=_tenant(count=2), history=history)
    assert (found.severity, "visit 2 of 2" in found.message) == ("warning", True)
    # And an E/M-only claim is not counted against the limit at all
    assert run_rule("BH-AUTH-02", _current(code="99214"), tenant=_tenant(count=1), history=history) == []


def test_a_date_already_billed_on_another_claim_is_one_visit() -> None:
    # Given nine earlier visits and a screening on another claim the same day as this claim
    history = _history(_days_before(DOS, 9))
    history.add(_visit("HSAME", DOS, code="96127"))
    [found] = run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=history)
    assert "visit 10 of 10" in found.message


@pytest.mark.parametrize(
    ("claim_auth", "line_auths", "expected"),
    [
        pytest.param(None, (None, None), ["error"], id="no-G1-fails"),
        pytest.param("AUTH1", (None, None), [], id="G1-on-the-claim-passes"),
        pytest.param(None, ("AUTH1", None), [], id="G1-on-a-line-of-the-visit-passes"),
        pytest.param(None, (None, "AUTH1"), [], id="G1-on-the-add-on-line-passes"),
    ],
)
def test_authorization_lifts_the_limit(
    claim_auth: str | None, line_auths: tuple[str | None, ...], expected: list[str]
) -> None:
    # Given the eleventh visit, billed as 90834 + 90785
    lines = tuple(
        line(i, claim_id="CUR", procedure_code=code, prior_authorization=auth)
        for i, (code, auth) in enumerate(zip(("90834", "90785"), line_auths, strict=True), start=1)
    )
    current = _current(prior_authorization=claim_auth, lines=lines)
    # When
    found = run_rule("BH-AUTH-02", current, tenant=_tenant(), history=_history(_days_before(DOS, 10)))
    # Then
    assert severities(found) == expected
    if found:
        assert "lines 1, 2 (90834, 90785)" in found[0].message


def test_a_multi_visit_claim_reports_each_visit_over_the_limit_and_warns_once() -> None:
    # Given seven earlier visits and a claim with four weekly visits (visits 8, 9, 10, 11)
    days = [DOS + timedelta(weeks=k) for k in range(4)]
    lines = tuple(line(i, claim_id="CUR", service_date=d) for i, d in enumerate(days, start=1))
    history = _history(_days_before(DOS, 7))
    found = run_rule("BH-AUTH-02", _current(lines=lines), tenant=_tenant(), history=history, as_of=date(2026, 4, 1))
    # Then only the fourth is over the limit, and the warning is dropped
    assert severities(found) == ["error"]
    assert "line 4 (90837): visit 11" in found[0].message
    # And with a line authorization on the fourth, one warning names the latest visit within the limit
    authorized = (*lines[:3], lines[3].model_copy(update={"prior_authorization": "AUTH1"}))
    found = run_rule(
        "BH-AUTH-02", _current(lines=authorized), tenant=_tenant(), history=history, as_of=date(2026, 4, 1)
    )
    assert severities(found) == ["warning"]
    assert "line 3 (90837): visit 10 of 10" in found[0].message


def test_an_unauthorized_visit_after_an_authorized_one_still_fails() -> None:
    # Given ten earlier visits and a claim whose first visit has a line authorization and second does not
    days = [DOS, DOS + timedelta(weeks=1)]
    lines = (
        line(1, claim_id="CUR", service_date=days[0], prior_authorization="AUTH1"),
        line(2, claim_id="CUR", service_date=days[1]),
    )
    found = run_rule(
        "BH-AUTH-02",
        _current(lines=lines),
        tenant=_tenant(),
        history=_history(_days_before(DOS, 10)),
        as_of=date(2026, 3, 20),
    )
    assert [(str(f.severity), "line 2 (90837): visit 12" in f.message) for f in found] == [("error", True)]


def test_no_limit_no_history_or_a_void_is_not_checked() -> None:
    history = _history(_days_before(DOS, 20))
    commercial = _history(_days_before(DOS, 20), payer_key="COMM-A")
    assert run_rule("BH-AUTH-02", _current(payer_key="COMM-A"), history=commercial) == []
    assert run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=None) == []
    void = _current(frequency="8", payer_claim_control_number="PAYERICN1")
    assert run_rule("BH-AUTH-02", void, tenant=_tenant(), history=history) == []
    # A claim without a patient key has no history: only its own visit counts
    [alone] = run_rule("BH-AUTH-02", _current(patient_key=None), tenant=_tenant(count=1), history=history)
    assert (alone.severity, "visit 1 of 1" in alone.message) == ("warning", True)


def test_the_demo_medicaid_profile_warns_at_visit_27_and_fails_at_31() -> None:
    # Given the demo tenant's MCD-TX (30 visits per calendar year, all providers)
    tenant = tenant_with()
    days_26 = [date(2026, 1, 2) + timedelta(days=k) for k in range(26)]
    days_30 = [date(2026, 1, 2) + timedelta(days=k) for k in range(30)]
    # Then
    assert run_rule("BH-AUTH-02", _current(), tenant=tenant, history=_history(days_26[:25])) == []
    assert severities(run_rule("BH-AUTH-02", _current(), tenant=tenant, history=_history(days_26))) == ["warning"]
    assert severities(run_rule("BH-AUTH-02", _current(), tenant=tenant, history=_history(days_30))) == ["error"]


# PHI -------------------------------------------------------------------------------------------------------------


def test_findings_carry_no_patient_data_or_dates() -> None:
    found = [
        *run_rule("BH-AUTH-01", claim("CLMA1", lines=_lines(("96130", None)))),
        *run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=_history(_days_before(DOS, 10))),
        *run_rule("BH-AUTH-02", _current(), tenant=_tenant(), history=_history(_days_before(DOS, 8))),
    ]
    assert severities(found) == ["error", "error", "warning"]
    text = " ".join(f.model_dump_json() for f in found)
    for secret in ("TESTPATIENT", "ALEX", "W123456789", "1990", "2026-03-02", "20260302", KEY):
        assert secret not in text
