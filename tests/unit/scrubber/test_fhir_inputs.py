"""Every BH rule from FHIR input through intake, mapping and the scrubber (issue 5: "written as FHIR inputs so the
whole path is exercised"), with the boundaries the domain reference names, under the demo tenant's four payer
profiles (MCR, COMM-A, MCD-ORIG, MCD-TX).

The base is the contract's telehealth example: COMM-A, 90837 with modifier 95 at POS 10 (patient at home, audio and
video), 53 documented minutes, F41.1, rendered by the LCSW RIVERA (1041C0700X). Each row changes one fact and says
which finding of which rule must appear (or that the rule stays silent). The thorough per-rule boundary tables over
the claim model live next to this file (test_timing.py, test_pairs.py, test_telehealth.py, ...).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from claimbridge.findings import Finding
from claimbridge.intake import intake_bundle
from claimbridge.local.redate import redate_bundle
from claimbridge.scrubber import HELD, READY, InMemoryHistory, scrub
from claimbridge.tenants import TenantConfig
from tests.unit.fhir_builders import (
    CPT,
    ICD,
    MODALITY_URL,
    PHI_VALUES,
    POS,
    Json,
    claim,
    coding,
    demo_tenant,
    example,
    item,
    resource,
    to_bytes,
)
from tests.unit.scrubber.support import DOMAIN_RULE_IDS, tenant_with

pytestmark = pytest.mark.unit

DOS = date(2026, 3, 2)
AS_OF = date(2026, 3, 10)
PAYER_IDS = {"MCR": "05302", "COMM-A": "CMA01", "MCD-ORIG": "MCDO1", "MCD-TX": "MCDT1"}
CHEN = ("1987654328", "363LP0808X")  # PMHNP: enrolled MCR, COMM-A, MCD-TX
OKAFOR = ("1000000004", "103TC0700X")  # clinical psychologist: enrolled MCR, COMM-A


# --- one fact at a time -------------------------------------------------------------------------------------------
Change = Callable[[Json], None]


def payer(key: str) -> Change:
    def change(bundle: Json) -> None:
        resource(bundle, "Organization", 0)["identifier"][0]["value"] = PAYER_IDS[key]

    return change


def code(value: str, index: int = 0) -> Change:
    def change(bundle: Json) -> None:
        item(bundle, index)["productOrService"] = coding(CPT, value)

    return change


def modifiers(*values: str, index: int = 0) -> Change:
    def change(bundle: Json) -> None:
        if values:
            item(bundle, index)["modifier"] = [coding(CPT, value) for value in values]
        else:
            item(bundle, index).pop("modifier", None)

    return change


def minutes(value: int, index: int = 0) -> Change:
    """The line's documented time: ``servicedPeriod`` from 15:00 for ``value`` minutes."""

    def change(bundle: Json) -> None:
        start = datetime.fromisoformat(item(bundle, index)["servicedPeriod"]["start"])
        item(bundle, index)["servicedPeriod"]["end"] = (start + timedelta(minutes=value)).isoformat()

    return change


def no_minutes(bundle: Json) -> None:
    item(bundle).pop("servicedPeriod")
    item(bundle)["servicedDate"] = DOS.isoformat()
    resource(bundle, "Encounter").pop("period")


def no_line_minutes(index: int) -> Change:
    def change(bundle: Json) -> None:
        item(bundle, index).pop("servicedPeriod")
        item(bundle, index)["servicedDate"] = DOS.isoformat()

    return change


def pos(value: str) -> Change:
    def change(bundle: Json) -> None:
        item(bundle)["locationCodeableConcept"] = coding(POS, value)

    return change


def units(value: int) -> Change:
    def change(bundle: Json) -> None:
        item(bundle)["quantity"] = {"value": value}

    return change


def audio_only(bundle: Json) -> None:
    resource(bundle, "Encounter")["extension"] = [{"url": MODALITY_URL, "valueCode": "audio-only"}]


def in_office(bundle: Json) -> None:
    """An in-person visit in the office: ambulatory encounter, no home location, POS 11, no telehealth modifier."""
    encounter = resource(bundle, "Encounter")
    encounter["class"] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}
    encounter.pop("extension", None)
    encounter.pop("location", None)
    encounter.pop("contained", None)
    pos("11")(bundle)
    modifiers()(bundle)


def add_line(value: str, *, at_minutes: int | None = None, modifier: tuple[str, ...] = ()) -> Change:
    """Another line on the same date (a copy of line 1 with another code, charge 50)."""

    def change(bundle: Json) -> None:
        lines = claim(bundle)["item"]
        extra = copy.deepcopy(lines[0])
        extra["sequence"] = len(lines) + 1
        extra["productOrService"] = coding(CPT, value)
        extra["net"] = {"value": 50, "currency": "USD"}
        if modifier:
            extra["modifier"] = [coding(CPT, m) for m in modifier]
        else:
            extra.pop("modifier", None)
        lines.append(extra)
        if at_minutes is not None:
            minutes(at_minutes, len(lines) - 1)(bundle)

    return change


def diagnosis(value: str) -> Change:
    def change(bundle: Json) -> None:
        resource(bundle, "Condition")["code"] = coding(ICD, value)

    return change


def rendering(npi: str, taxonomy: str) -> Change:
    def change(bundle: Json) -> None:
        resource(bundle, "Practitioner")["identifier"][0]["value"] = npi
        claim(bundle)["careTeam"][0]["qualification"] = coding("http://nucc.org/provider-taxonomy", taxonomy)

    return change


def billing_street(value: str) -> Change:
    def change(bundle: Json) -> None:
        resource(bundle, "Organization", 1)["address"][0]["line"] = [value]

    return change


def prior_auth(bundle: Json) -> None:
    claim(bundle)["insurance"][0]["preAuthRef"] = ["AUTH778"]


def diagnoses(count: int) -> Change:
    """``count`` distinct F-chapter diagnoses on the claim (the line points at the first)."""
    codes = ["F411", "F322", "F431", "F900", "F4310", "F4312", "F4320", "F4321", "F4322", "F4323", "F4324", "F4325"]

    def change(bundle: Json) -> None:
        claim(bundle)["diagnosis"] = [
            {"sequence": n + 1, "diagnosisCodeableConcept": coding(ICD, [*codes, "F4329"][n])} for n in range(count)
        ]

    return change


def pointers(*sequences: int) -> Change:
    def change(bundle: Json) -> None:
        item(bundle)["diagnosisSequence"] = list(sequences)

    return change


def net(value: int) -> Change:
    def change(bundle: Json) -> None:
        item(bundle)["net"] = {"value": value, "currency": "USD"}

    return change


def replacement(number: str | None) -> Change:
    """Frequency 7 (Claim.related prior), with or without the payer's claim number."""

    def change(bundle: Json) -> None:
        related: Json = {
            "relationship": coding("http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship", "prior")
        }
        if number:
            related["reference"] = {"value": number}
        else:
            related["claim"] = {"display": "the claim this one replaces"}
        claim(bundle)["related"] = [related]

    return change


def dated(day: date) -> Change:
    """Every date of the bundle moved so the date of service is ``day``."""

    def change(bundle: Json) -> None:
        moved = json.loads(redate_bundle(to_bytes(bundle), today=day, days_before=0))
        bundle.clear()
        bundle.update(moved)

    return change


def build(*changes: Change, claim_id: str = "clm-1", base: str = "telehealth-90837-home.json") -> Json:
    bundle = example(base)
    claim(bundle)["id"] = claim_id
    for change in changes:
        change(bundle)
    return bundle


# --- the whole path -----------------------------------------------------------------------------------------------
@dataclass
class Scrubbed:
    status: str
    findings: list[Finding]

    def of(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id == rule_id]


def scrub_bundles(*bundles: Json, tenant: TenantConfig | None = None, as_of: date = AS_OF) -> dict[str, Scrubbed]:
    """Intake, mapping and scrubber for each bundle in order, the patient's earlier claims as history (as ingest)."""
    tenant = tenant or demo_tenant()
    history = InMemoryHistory()
    outcomes: dict[str, Scrubbed] = {}
    for number, bundle in enumerate(bundles):
        result = intake_bundle(to_bytes(bundle), file_name=f"bundle-{number}.json", tenant=tenant)
        for mapped in result.claims:
            scrubbed = scrub(mapped.claim, tenant=tenant, as_of=as_of, history=history)
            history.add(mapped.claim)
            findings = [*mapped.findings, *scrubbed.findings]
            status = HELD if mapped.held or scrubbed.status == HELD else READY
            outcomes[mapped.claim.source.key] = Scrubbed(status, findings)
        for rejected in result.rejected:
            outcomes[rejected.source_key] = Scrubbed(HELD, list(rejected.findings))
    return outcomes


def outcome_of(*bundles: Json, tenant: TenantConfig | None = None, as_of: date = AS_OF) -> Scrubbed:
    """The outcome of the last bundle's claim."""
    last = claim(bundles[-1])["id"]
    return scrub_bundles(*bundles, tenant=tenant, as_of=as_of)[f"Claim/{last}"]


@dataclass(frozen=True)
class Case:
    rule_id: str
    bundles: tuple[Json, ...]
    expected: str | None  # "error" | "warning" | None (the rule is silent)
    fix: str = ""  # a part of the fix the biller reads
    as_of: date = AS_OF
    tenant: TenantConfig | None = None


def case(
    rule_id: str,
    case_id: str,
    *bundles: Json,
    expected: str | None,
    fix: str = "",
    as_of: date = AS_OF,
    tenant: TenantConfig | None = None,
) -> Any:
    return pytest.param(Case(rule_id, bundles, expected, fix, as_of, tenant), id=f"{rule_id}:{case_id}")


COMM_A_VISIT_LIMIT = tenant_with(
    profiles={
        "COMM-A": {"telehealth": {"modifier": "95"}, "auth": {"visit_limit": {"count": 5, "period": "calendar_year"}}}
    }
)


COMM_A_ALLOWS_90791_90834 = tenant_with(
    profiles={
        "COMM-A": {"telehealth": {"modifier": "95"}, "ptp_overrides": [{"pair": ["90791", "90834"], "action": "allow"}]}
    }
)


def visits(count: int) -> tuple[Json, ...]:
    """``count`` claims of the same patient on ``count`` different days (one a week before the base DOS)."""
    return tuple(build(dated(DOS - timedelta(days=7 * (count - 1 - n))), claim_id=f"clm-v{n}") for n in range(count))


CASES = [
    # time-based psychotherapy (BH-TIME-01): 90832 16-37, 90834 38-52, 90837 >= 53; < 16 no psychotherapy code
    case("BH-TIME-01", "90837-53", build(minutes(53)), expected=None),
    case("BH-TIME-01", "90837-52", build(minutes(52)), expected="error", fix="90834"),
    case("BH-TIME-01", "90834-52", build(code("90834"), minutes(52)), expected=None),
    case("BH-TIME-01", "90834-38", build(code("90834"), minutes(38)), expected=None),
    case("BH-TIME-01", "90834-37", build(code("90834"), minutes(37)), expected="error", fix="90832"),
    case("BH-TIME-01", "90832-37", build(code("90832"), minutes(37)), expected=None),
    case("BH-TIME-01", "90832-16", build(code("90832"), minutes(16)), expected=None),
    case("BH-TIME-01", "90832-15", build(code("90832"), minutes(15)), expected="error"),
    case("BH-TIME-02", "documented", build(), expected=None),
    case("BH-TIME-02", "no-minutes", build(no_minutes), expected="error"),
    case(
        "BH-TIME-03",
        "em-addon-timed",
        build(code("99214"), minutes(25), add_line("90833", at_minutes=30)),
        expected=None,
    ),
    case(
        "BH-TIME-03",
        "em-addon-without-own-minutes",
        build(code("99214"), minutes(25), add_line("90833"), no_line_minutes(1)),
        expected="error",
    ),
    case(
        "BH-TIME-03",
        "em-addon-same-minutes-as-em",
        build(code("99214"), minutes(25), add_line("90833", at_minutes=25)),
        expected="warning",
    ),
    case("BH-TIME-04", "one-unit", build(), expected=None),
    case("BH-TIME-04", "two-units", build(units(2)), expected="error"),
    # crisis (BH-TIME-05): 90839 30-74 minutes, +90840 per 30 minutes beyond 74
    case("BH-TIME-05", "90839-30", build(code("90839"), minutes(30)), expected=None),
    case("BH-TIME-05", "90839-29", build(code("90839"), minutes(29)), expected="error"),
    case("BH-TIME-05", "90839-74", build(code("90839"), minutes(74)), expected=None),
    # +90840 block arithmetic is unverified in the domain reference: a unit mismatch warns (BH-TIME-05 docstring)
    case("BH-TIME-05", "90839-75-no-addon", build(code("90839"), minutes(75)), expected="warning", fix="90840"),
    case(
        "BH-TIME-05",
        "90839-104-one-90840",
        build(code("90839"), minutes(104), add_line("90840")),
        expected=None,
    ),
    case(
        "BH-TIME-05",
        "90839-105-one-90840",
        build(code("90839"), minutes(105), add_line("90840")),
        expected="warning",
    ),
    case("BH-TIME-05", "90840-after-74", build(code("90839"), minutes(74), add_line("90840")), expected="error"),
    case("BH-TIME-06", "90847-26", build(code("90847"), minutes(26)), expected=None),
    case("BH-TIME-06", "90847-25", build(code("90847"), minutes(25)), expected="warning"),
    # same-day pairs and add-ons
    case("BH-PTP-01", "90791-alone", build(code("90791")), expected=None),
    case("BH-PTP-01", "90791-em", build(code("90791"), add_line("99213")), expected="error"),
    case("BH-PTP-02", "90791-90834", build(code("90791"), add_line("90834", at_minutes=45)), expected="error"),
    case(
        "BH-PTP-02",
        "90791-90834-payer-allows",
        build(code("90791"), add_line("90834", at_minutes=45)),
        expected=None,
        tenant=COMM_A_ALLOWS_90791_90834,
    ),
    case("BH-PTP-03", "90791-alone", build(code("90791")), expected=None),
    case("BH-PTP-03", "90791-90839", build(code("90791"), add_line("90839", at_minutes=45)), expected="error"),
    case("BH-PTP-04", "90837-alone", build(), expected=None),
    case("BH-PTP-04", "90837-90834", build(add_line("90834", at_minutes=45)), expected="error"),
    case("BH-PTP-05", "90839-alone", build(code("90839"), minutes(45)), expected=None),
    case("BH-PTP-05", "90839-90785", build(code("90839"), minutes(45), add_line("90785")), expected="error"),
    case("BH-PTP-06", "90785-90837", build(add_line("90785")), expected=None),
    case("BH-PTP-06", "90785-90846", build(code("90846"), minutes(45), add_line("90785")), expected="error"),
    case("BH-PTP-07", "90837-90847", build(add_line("90847", at_minutes=50)), expected="warning"),
    case(
        "BH-PTP-07",
        "90837-90847-distinct-59",
        build(add_line("90847", at_minutes=50, modifier=("95", "59"))),
        expected=None,
    ),
    case("BH-ADD-01", "90785-with-90837", build(add_line("90785")), expected=None),
    case("BH-ADD-01", "90785-alone", build(code("90785")), expected="error"),
    case("BH-FREQ-01", "once", build(code("90791")), expected=None),
    case(
        "BH-FREQ-01",
        "again-after-3-months",
        build(code("90791"), dated(DOS - timedelta(days=90)), claim_id="clm-early"),
        build(code("90791")),
        expected="warning",
    ),
    # scope of practice
    case("BH-SCOPE-01", "90792-by-np", build(code("90792"), rendering(*CHEN)), expected=None),
    case("BH-SCOPE-01", "90792-by-lcsw", build(code("90792")), expected="error"),
    # telehealth under each payer convention: POS 02 vs 10
    case("BH-TEL-01", "comm-a-home-10", build(), expected=None),
    case("BH-TEL-01", "comm-a-home-02", build(pos("02")), expected="error", fix="10"),
    case("BH-TEL-01", "mcr-home-10", build(payer("MCR"), modifiers()), expected=None),
    case("BH-TEL-01", "mcr-home-02", build(payer("MCR"), modifiers(), pos("02")), expected="error"),
    case("BH-TEL-01", "mcd-orig-11", build(payer("MCD-ORIG"), pos("11"), modifiers("95", "AJ")), expected=None),
    case("BH-TEL-01", "mcd-orig-10", build(payer("MCD-ORIG"), modifiers("95", "AJ")), expected="error"),
    case("BH-TEL-02", "mcr-90837-listed", build(payer("MCR"), modifiers()), expected=None),
    case("BH-TEL-02", "mcr-h0031-unlisted", build(payer("MCR"), modifiers(), code("H0031")), expected="error"),
    case("BH-TEL-03", "mcr-audio-93", build(payer("MCR"), audio_only, modifiers("93")), expected=None),
    case("BH-TEL-03", "comm-a-audio-95", build(audio_only), expected="error"),
    case(
        "BH-TEL-03",
        "mcd-orig-audio-not-allowed",
        build(payer("MCD-ORIG"), audio_only, pos("11"), modifiers("93", "AJ")),
        expected="error",
    ),
    case("BH-TEL-04", "mcr-no-modifier", build(payer("MCR"), modifiers()), expected=None),
    case("BH-TEL-04", "mcr-gt", build(payer("MCR"), modifiers("GT")), expected="error"),
    case("BH-TEL-04", "mcr-95", build(payer("MCR")), expected="warning"),
    case("BH-TEL-05", "comm-a-95", build(), expected=None),
    case("BH-TEL-05", "comm-a-missing-95", build(modifiers()), expected="error", fix="95"),
    case("BH-TEL-05", "mcd-tx-unknown-convention", build(payer("MCD-TX"), modifiers()), expected="warning"),
    case(
        "BH-TEL-06",
        "mcr-2027-12-31",
        build(payer("MCR"), modifiers(), dated(date(2027, 12, 31))),
        expected=None,
        as_of=date(2028, 1, 5),
    ),
    case(
        "BH-TEL-06",
        "mcr-2028-01-02-no-in-person",
        build(payer("MCR"), modifiers(), dated(date(2028, 1, 2))),
        expected="warning",
        as_of=date(2028, 1, 5),
    ),
    case(
        "BH-TEL-06",
        "mcr-2028-01-02-after-office-visit",
        build(payer("MCR"), in_office, code("90834"), minutes(45), dated(date(2027, 12, 1)), claim_id="clm-office"),
        build(payer("MCR"), modifiers(), dated(date(2028, 1, 2))),
        expected=None,
        as_of=date(2028, 1, 5),
    ),
    # diagnoses
    case("BH-DX-01", "dotted-normalised", build(diagnosis("F41.1")), expected=None),
    case("BH-DX-01", "malformed", build(diagnosis("4F1.1")), expected="error"),
    case("BH-DX-02", "billable", build(diagnosis("F32.81")), expected=None),
    case("BH-DX-02", "header", build(diagnosis("F32.8")), expected="error", fix="F3281"),
    case("BH-DX-03", "12-diagnoses", build(diagnoses(12)), expected=None),
    case("BH-DX-03", "13-diagnoses", build(diagnoses(13)), expected="warning"),
    case("BH-DX-04", "points-at-1", build(), expected=None),
    case("BH-DX-04", "points-at-nothing", build(pointers(2)), expected="error"),
    case("BH-DX-04", "five-pointers", build(diagnoses(5), pointers(1, 2, 3, 4, 5)), expected="warning"),
    case("BH-DX-05", "comm-a-f-primary", build(), expected=None),
    case("BH-DX-05", "comm-a-z-primary", build(diagnosis("Z63.0")), expected="error"),
    case("BH-DX-05", "mcr-z-primary", build(payer("MCR"), modifiers(), diagnosis("Z63.0")), expected="warning"),
    # providers
    case("BH-NPI-01", "valid", build(), expected=None),
    case("BH-NPI-01", "check-digit", build(rendering("1111111113", "1041C0700X")), expected="error"),
    case("BH-ADDR-01", "street", build(), expected=None),
    case("BH-ADDR-01", "po-box", build(billing_street("PO BOX 1200")), expected="error", fix="2010AB"),
    case("BH-TIN-01", "tenant-tin", build(), expected=None),
    case("BH-CRED-01", "enrolled", build(payer("MCD-TX"), rendering(*CHEN)), expected=None),
    case(
        "BH-CRED-01",
        "not-enrolled",
        build(payer("MCD-ORIG"), pos("11"), rendering(*CHEN)),
        expected="error",
    ),
    case("BH-CRED-02", "roster-taxonomy", build(), expected=None),
    case("BH-CRED-02", "other-taxonomy", build(rendering("1111111112", "101YM0800X")), expected="warning"),
    case("BH-MOD-01", "mcd-orig-aj", build(payer("MCD-ORIG"), pos("11"), modifiers("95", "AJ")), expected=None),
    case("BH-MOD-01", "mcd-orig-no-aj", build(payer("MCD-ORIG"), pos("11")), expected="error", fix="AJ"),
    case("BH-MOD-01", "mcr-no-map", build(payer("MCR"), modifiers()), expected=None),
    # authorization
    case("BH-AUTH-01", "testing-with-auth", build(code("96130"), prior_auth), expected=None),
    case("BH-AUTH-01", "testing-without-auth", build(code("96130")), expected="error"),
    case("BH-AUTH-02", "first-visit", *visits(1), expected=None, tenant=COMM_A_VISIT_LIMIT),
    case("BH-AUTH-02", "fifth-visit-near-limit", *visits(5), expected="warning", tenant=COMM_A_VISIT_LIMIT),
    case("BH-AUTH-02", "sixth-visit", *visits(6), expected="error", tenant=COMM_A_VISIT_LIMIT),
    # claim level
    case("BH-CLM-01", "replacement-with-number", build(replacement("ICN2026")), expected=None),
    case("BH-CLM-01", "replacement-without-number", build(replacement(None)), expected="error"),
    case("BH-CLM-02", "charged", build(), expected=None),
    case("BH-CLM-02", "zero", build(net(0)), expected="error"),
    case("BH-TF-01", "comm-a-day-90", build(), expected="warning", as_of=DOS + timedelta(days=90)),
    case("BH-TF-01", "comm-a-day-91", build(), expected="error", as_of=DOS + timedelta(days=91)),
    case("BH-TF-01", "comm-a-day-8", build(), expected=None),
]


@pytest.mark.parametrize("row", CASES)
def test_rule_from_fhir_input(row: Case) -> None:
    outcome = outcome_of(*row.bundles, tenant=row.tenant, as_of=row.as_of)
    found = outcome.of(row.rule_id)
    if row.expected is None:
        assert found == [], found
        return
    assert {f.severity.value for f in found} == {row.expected}, outcome.findings
    assert outcome.status == (HELD if row.expected == "error" else outcome.status)
    assert all(f.fhir_path and f.message for f in found)
    if row.fix:
        assert any(row.fix in f.fix for f in found), [f.fix for f in found]
    text = "\n".join(f.model_dump_json() for f in outcome.findings)
    for value in PHI_VALUES:
        assert value not in text


UNFAILABLE_FROM_FHIR = {"BH-TIN-01": "tenant validation refuses a TIN that is not 9 digits (EI/SY)"}


def test_every_domain_rule_has_a_passing_and_a_failing_fhir_case() -> None:
    rows = [param.values[0] for param in CASES]
    passing = {row.rule_id for row in rows if row.expected is None}
    failing = {row.rule_id for row in rows if row.expected is not None}
    assert DOMAIN_RULE_IDS - passing == set()
    assert DOMAIN_RULE_IDS - failing == set(UNFAILABLE_FROM_FHIR)
