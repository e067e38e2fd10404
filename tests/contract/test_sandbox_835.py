"""The sandbox's 835s: valid per pyx12's 005010X221A1 map, balanced per the TR3, tied to the 837 and the 277CA.

Balancing (X221A1 section 1.10.2) is not in pyx12's map, so ``assert_balanced`` checks it here: per service line
SVC02 - sum(CAS) = SVC03; per claim CLP03 - sum(CAS of the claim and its lines) = CLP04 and CLP05 = sum(PR CAS);
per transaction BPR02 = sum(CLP04) - sum(PLB).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from claimbridge.local.sandbox import FaultRequest, SandboxService, SandboxState
from claimbridge.local.sandbox_remits import payers_by_claim
from claimbridge.x12.acks import parse_277ca
from claimbridge.x12.reader import Segment, read_segments
from claimbridge.x12.validate import validate_835
from tests.unit.test_sandbox_service import BAD_POS_837P, CLEAN_837P

pytestmark = pytest.mark.contract


@dataclass
class Svc:
    procedure: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)
    line_control_number: str | None = None
    remarks: list[str] = field(default_factory=list)


@dataclass
class Clp:
    patient_control_number: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_control_number: str
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)
    lines: list[Svc] = field(default_factory=list)


@dataclass
class Remittance:
    total: Decimal
    handling: str
    method: str
    claims: list[Clp] = field(default_factory=list)
    plb: Decimal = Decimal(0)


def _cas(segment: Segment) -> list[tuple[str, str, Decimal]]:
    group = segment.element(1)
    return [
        (group, segment.element(index), Decimal(segment.element(index + 1)))
        for index in range(2, 20, 3)
        if segment.element(index)
    ]


def read_835(text: str) -> list[Remittance]:
    """The parts of each 835 transaction set the balancing and the tie-back checks need."""
    remittances: list[Remittance] = []
    for segment in read_segments(text):
        if segment.tag == "BPR":
            remittances.append(Remittance(Decimal(segment.element(2)), segment.element(1), segment.element(4)))
        elif segment.tag == "CLP":
            remittances[-1].claims.append(
                Clp(
                    segment.element(1),
                    segment.element(2),
                    Decimal(segment.element(3)),
                    Decimal(segment.element(4)),
                    Decimal(segment.element(5) or 0),
                    segment.element(7),
                )
            )
        elif segment.tag == "SVC":
            remittances[-1].claims[-1].lines.append(
                Svc(segment.components(1), Decimal(segment.element(2)), Decimal(segment.element(3)))
            )
        elif segment.tag == "CAS":
            claim = remittances[-1].claims[-1]
            (claim.lines[-1].adjustments if claim.lines else claim.adjustments).extend(_cas(segment))
        elif segment.tag == "REF" and segment.element(1) == "6R":
            remittances[-1].claims[-1].lines[-1].line_control_number = segment.element(2)
        elif segment.tag == "LQ":
            remittances[-1].claims[-1].lines[-1].remarks.append(f"{segment.element(1)}:{segment.element(2)}")
        elif segment.tag == "PLB":
            remittances[-1].plb += sum(
                (Decimal(segment.element(index)) for index in range(4, 15, 2) if segment.element(index)), Decimal(0)
            )
    return remittances


def assert_balanced(remittances: Sequence[Remittance]) -> None:
    """The three balancing rules of the TR3, on every line, claim and transaction set."""
    for remittance in remittances:
        for claim in remittance.claims:
            for line in claim.lines:
                assert line.charge - sum(amount for _g, _r, amount in line.adjustments) == line.paid
            every = claim.adjustments + [adjustment for line in claim.lines for adjustment in line.adjustments]
            assert claim.charge - sum(amount for _g, _r, amount in every) == claim.paid
            assert claim.patient_responsibility == sum(amount for group, _r, amount in every if group == "PR")
        assert remittance.total == sum(claim.paid for claim in remittance.claims) - remittance.plb


def remit(remit_settings: dict[str, Any], x12: str = CLEAN_837P) -> tuple[SandboxService, list[str], list[str]]:
    """Submit ``x12`` with 835s on; return the service, the report kinds and the 835 texts after one listing."""
    service = SandboxService(SandboxState())
    service.state.apply_faults(FaultRequest.model_validate({"remit": remit_settings}))
    status, _answer, _headers = service.submit(json.dumps({"x12": x12}).encode(), "key-835")
    assert status == 200
    listing = service.list_reports({})
    kinds = [item["kind"] for item in listing["items"]]
    texts = [service.report(item["id"]) for item in listing["items"] if item["kind"] == "835"]
    return service, kinds, texts


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {},
            {
                "CLMSELF1": ("1", Decimal(180), Decimal(180), Decimal(0), []),
                "CLMDEP01": ("1", Decimal("355.5"), Decimal("355.5"), Decimal(0), []),
            },
        ),
        (
            {"default": {"outcome": "partial"}},
            {
                # 180: CO-45 20% = 36, allowed 144, PR-2 20% = 28.8, paid 115.2
                "CLMSELF1": ("1", Decimal(180), Decimal("115.2"), Decimal("28.8"), [("CO", "45"), ("PR", "2")]),
                # 200 -> 40 / 160 / 32 / 128 and 155.5 -> 31.1 / 124.4 / 24.88 / 99.52
                "CLMDEP01": (
                    "1",
                    Decimal("355.5"),
                    Decimal("227.52"),
                    Decimal("56.88"),
                    [("CO", "45"), ("PR", "2"), ("CO", "45"), ("PR", "2")],
                ),
            },
        ),
        (
            {
                "claims": {
                    "CLMSELF1": {"outcome": "partial", "patient_responsibility": "PR-1", "patient_percent": 50},
                    "CLMDEP01": {"outcome": "partial", "patient_responsibility": "PR-3", "contractual_percent": 0},
                }
            },
            {
                "CLMSELF1": ("1", Decimal(180), Decimal(72), Decimal(72), [("CO", "45"), ("PR", "1")]),
                "CLMDEP01": ("1", Decimal("355.5"), Decimal("284.4"), Decimal("71.1"), [("PR", "3"), ("PR", "3")]),
            },
        ),
        (
            {"default": {"outcome": "denied", "carc": "CO-50", "rarc": "N115"}},
            {
                "CLMSELF1": ("4", Decimal(180), Decimal(0), Decimal(0), [("CO", "50")]),
                "CLMDEP01": ("4", Decimal("355.5"), Decimal(0), Decimal(0), [("CO", "50"), ("CO", "50")]),
            },
        ),
        (
            {"claims": {"CLMDEP01": {"outcome": "denied"}}},
            {
                "CLMSELF1": ("1", Decimal(180), Decimal(180), Decimal(0), []),
                "CLMDEP01": ("4", Decimal("355.5"), Decimal(0), Decimal(0), [("CO", "197"), ("CO", "197")]),
            },
        ),
        (
            {"claims": {"CLMDEP01": {"outcome": "partial", "denied_lines": [2], "carc": "CO-197", "rarc": "N54"}}},
            {
                "CLMSELF1": ("1", Decimal(180), Decimal(180), Decimal(0), []),
                # line 1 as partial (200 -> 128 paid, PR-2 32), line 2 denied in full
                "CLMDEP01": (
                    "1",
                    Decimal("355.5"),
                    Decimal(128),
                    Decimal(32),
                    [("CO", "45"), ("PR", "2"), ("CO", "197")],
                ),
            },
        ),
    ],
    ids=["paid", "partial-co45-pr2", "partial-pr1-pr3", "denied-co50-n115", "mixed-co197", "one-line-denied"],
)
def test_sandbox_835_is_pyx12_valid_balanced_and_tied_to_the_837(
    settings: dict[str, Any], expected: dict[str, tuple[str, Decimal, Decimal, Decimal, list[tuple[str, str]]]]
) -> None:
    # Given 835s switched on with these outcomes, and a clean 837P of two claims (three lines) accepted by the 277CA
    # When it is submitted and the reports are listed
    service, kinds, texts = remit(settings)

    # Then an 835 follows the 999 and 277CA, valid per pyx12's 005010X221A1 map and balanced per the TR3
    assert kinds == ["999", "277CA", "835"]
    (text,) = texts
    assert validate_835(text) == []
    remittances = read_835(text)
    assert_balanced(remittances)
    # ... with each claim's CLP01 = CLM01, its status, charge, payment, patient share and adjustment codes
    claims = {claim.patient_control_number: claim for remittance in remittances for claim in remittance.claims}
    assert {
        pcn: (
            claim.status,
            claim.charge,
            claim.paid,
            claim.patient_responsibility,
            [(group, reason) for line in claim.lines for group, reason, _amount in line.adjustments],
        )
        for pcn, claim in claims.items()
    } == expected
    # ... CLP07 = the payer claim control number of the 277CA (REF*1K), SVC REF*6R = the 837's line control numbers
    (ack,) = [service.report(item["id"]) for item in service.list_reports({})["items"] if item["kind"] == "277CA"]
    assert {c.patient_control_number: c.payer_claim_control_number for c in parse_277ca(ack)} == {
        pcn: claim.payer_claim_control_number for pcn, claim in claims.items()
    }
    assert [line.line_control_number for line in claims["CLMDEP01"].lines] == ["CLMDEP01-1", "CLMDEP01-2"]
    assert [line.procedure for line in claims["CLMDEP01"].lines] == [("HC", "90791"), ("HC", "90834", "95")]
    # ... and a denial with a RARC carries it on each line (LQ*HE)
    if settings.get("default", {}).get("rarc"):
        assert all(line.remarks == ["HE:N115"] for claim in claims.values() for line in claim.lines)


def test_sandbox_835_with_nothing_paid_is_a_notification() -> None:
    # Given every claim denied / When the 835 is published
    _service, _kinds, (text,) = remit({"default": {"outcome": "denied"}})
    # Then BPR says notification only, no payment (H / NON / 0), and it is still valid and balanced
    (remittance,) = read_835(text)
    assert (remittance.handling, remittance.method, remittance.total) == ("H", "NON", Decimal(0))
    assert validate_835(text) == []
    assert_balanced([remittance])


def test_sandbox_835_one_transaction_per_payer() -> None:
    # Given the second claim billed to another payer (its own 2000B with another 2010BB)
    x12 = CLEAN_837P.replace(
        "SBR*P**GRP-0042******CI~NM1*IL*1*TESTPATIENT*ALEX****MI*W123456789~NM1*PR*2*COMMERCIAL PLAN A*****PI*CMA01",
        "SBR*P**GRP-0042******MB~NM1*IL*1*TESTPATIENT*ALEX****MI*W123456789~NM1*PR*2*MEDICARE PART B*****PI*05302",
    )
    assert payers_by_claim(x12)["CLMDEP01"].id == "05302"
    # When it is remitted
    _service, _kinds, (text,) = remit({"default": {"outcome": "partial"}}, x12)
    # Then one transaction set per payer, each balanced, the Medicare claim filed as MB
    assert validate_835(text) == []
    remittances = read_835(text)
    assert [[claim.patient_control_number for claim in r.claims] for r in remittances] == [["CLMSELF1"], ["CLMDEP01"]]
    assert_balanced(remittances)
    segments = read_segments(text)
    assert [s.element(2) for s in segments if s.tag == "N1" and s.element(1) == "PR"] == [
        "COMMERCIAL PLAN A",
        "MEDICARE PART B",
    ]
    assert [s.element(6) for s in segments if s.tag == "CLP"] == ["15", "MB"]


@pytest.mark.parametrize(
    ("faults", "x12", "remitted"),
    [
        ({"reject_claims": ["CLMDEP01"]}, CLEAN_837P, ["CLMSELF1"]),
        ({"reject_interchanges": 1}, CLEAN_837P, []),
        ({}, BAD_POS_837P, []),
    ],
    ids=["277ca-rejected-claim", "999-rejected-interchange", "pyx12-rejected"],
)
def test_sandbox_835_only_for_claims_the_277ca_accepted(faults: dict[str, Any], x12: str, remitted: list[str]) -> None:
    # Given a rejected claim or interchange
    service = SandboxService(SandboxState())
    service.state.apply_faults(FaultRequest.model_validate({**faults, "remit": {"after_listings": 0}}))
    # When it is submitted
    service.submit(json.dumps({"x12": x12}).encode(), "key")
    # Then only the accepted claims are remitted (no 835 at all when none was accepted)
    texts = [service.report(item["id"]) for item in service.list_reports({})["items"] if item["kind"] == "835"]
    paid = [claim.patient_control_number for text in texts for r in read_835(text) for claim in r.claims]
    assert paid == remitted
    assert all(validate_835(text) == [] for text in texts)


def test_sandbox_835_waits_for_its_listing() -> None:
    # Given 835s published at the third listing after a submission
    service = SandboxService(SandboxState())
    service.state.apply_faults(FaultRequest.model_validate({"remit": {"after_listings": 3}}))
    service.submit(json.dumps({"x12": CLEAN_837P}).encode(), "key")
    # When the reports are listed three times from the start
    listings = [[item["kind"] for item in service.list_reports({})["items"]] for _ in range(3)]
    # Then the 835 appears at the third listing, after the 999 and 277CA, and only once
    assert listings == [["999", "277CA"], ["999", "277CA"], ["999", "277CA", "835"]]
    assert [item["kind"] for item in service.list_reports({})["items"]] == ["999", "277CA", "835"]
    assert service.state.submissions()["counts"]["remits_published"] == 1
