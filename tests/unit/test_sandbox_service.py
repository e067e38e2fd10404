"""The sandbox clearinghouse's API logic without the socket: verdicts from pyx12, faults, idempotency, listing.

The same service runs behind the real HTTP server in tests/integration/test_sandbox_http.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import pytest
from pydantic import ValidationError

from claimbridge.local.sandbox import (
    Answer,
    ApiFailure,
    ConnectionFault,
    FaultRequest,
    Route,
    SandboxService,
    SandboxState,
)
from claimbridge.x12.acks import ClaimStatusAck, FunctionalGroupAck, StatusCode, parse_277ca, parse_999
from claimbridge.x12.reader import read_segments
from claimbridge.x12.validate import validate_837p, validate_x12

pytestmark = pytest.mark.unit

# Synthetic 837P (demo tenant, fake people): a subscriber's own claim with REF*D9, and a dependent's claim with two
# lines (one over a date range). pyx12-clean: see test_sandbox_fixture_is_a_clean_837p.
_SEGMENTS = [
    "ISA*00*          *00*          *ZZ*DEMOBH01       *ZZ*CBSANDBOX      *260302*1530*^*00501*000000007*0*T*:",
    "GS*HC*DEMOBH01*CBSANDBOX*20260302*1530*7*X*005010X222A1",
    "ST*837*0001*005010X222A1",
    "BHT*0019*00*BATCH0007*20260302*1530*CH",
    "NM1*41*2*DEMO BEHAVIORAL HEALTH LLC*****46*DEMOBH01",
    "PER*IC*BILLING OFFICE*TE*8165550100",
    "NM1*40*2*CLAIMBRIDGE SANDBOX*****46*CBSANDBOX",
    "HL*1**20*1",
    "PRV*BI*PXC*193400000X",
    "NM1*85*2*DEMO BEHAVIORAL HEALTH LLC*****XX*1234567893",
    "N3*123 MAIN ST",
    "N4*KANSAS CITY*MO*641081234",
    "REF*EI*123456789",
    "HL*2*1*22*0",
    "SBR*P*18*******CI",
    "NM1*IL*1*TESTPATIENT*ALEX****MI*W123456789",
    "N3*45 ELM ST",
    "N4*KANSAS CITY*MO*641081234",
    "DMG*D8*19900402*F",
    "NM1*PR*2*COMMERCIAL PLAN A*****PI*CMA01",
    "CLM*CLMSELF1*180***11:B:1*Y*A*Y*Y",
    "REF*D9*CHTRACE1",
    "HI*ABK:F411",
    "NM1*82*1*RIVERA*JORDAN****XX*1111111112",
    "PRV*PE*PXC*1041C0700X",
    "LX*1",
    "SV1*HC:90837*180*UN*1***1",
    "DTP*472*D8*20260302",
    "REF*6R*CLMSELF1-1",
    "HL*3*1*22*1",
    "SBR*P**GRP-0042******CI",
    "NM1*IL*1*TESTPATIENT*ALEX****MI*W123456789",
    "NM1*PR*2*COMMERCIAL PLAN A*****PI*CMA01",
    "HL*4*3*23*0",
    "PAT*19",
    "NM1*QC*1*TESTPATIENT*SAM",
    "N3*45 ELM ST",
    "N4*KANSAS CITY*MO*641081234",
    "DMG*D8*20120914*M",
    "CLM*CLMDEP01*355.5***11:B:1*Y*A*Y*Y",
    "HI*ABK:F902",
    "LX*1",
    "SV1*HC:90791*200*UN*1***1",
    "DTP*472*D8*20260302",
    "REF*6R*CLMDEP01-1",
    "LX*2",
    "SV1*HC:90834:95*155.5*UN*1***1",
    "DTP*472*RD8*20260303-20260305",
    "REF*6R*CLMDEP01-2",
]
CLEAN_837P = "~".join([*_SEGMENTS, f"SE*{len(_SEGMENTS) - 1}*0001", "GE*1*7", "IEA*1*000000007"]) + "~"
BAD_POS_837P = CLEAN_837P.replace("CLM*CLMDEP01*355.5***11:B:1", "CLM*CLMDEP01*355.5***1X:B:1")


def _body(x12: object) -> bytes:
    return json.dumps({"x12": x12}).encode()


@pytest.fixture
def service() -> SandboxService:
    return SandboxService(SandboxState())


def _reports(service: SandboxService) -> list[tuple[str, str]]:
    listing = service.list_reports({})
    return [(item["kind"], service.report(item["id"])) for item in listing["items"]]


def _submit(service: SandboxService, x12: str, key: str | None = "key-1") -> dict[str, Any]:
    status, answer, _headers = service.submit(_body(x12), key)
    assert status == HTTPStatus.OK
    return answer


def _acks(service: SandboxService) -> tuple[list[FunctionalGroupAck], list[ClaimStatusAck]]:
    reports = _reports(service)
    for _kind, text in reports:
        assert validate_x12(text) == [], "the sandbox must publish valid 999/277CA"
    groups = [group for kind, text in reports if kind == "999" for group in parse_999(text)]
    claims = [claim for kind, text in reports if kind == "277CA" for claim in parse_277ca(text)]
    return groups, claims


def test_sandbox_fixture_is_a_clean_837p() -> None:
    # Given the synthetic 837P these tests submit / When pyx12 checks it / Then it is clean (else the tests lie)
    assert validate_837p(CLEAN_837P) == []


def test_sandbox_accepts_clean_interchange_with_999_and_277ca(service: SandboxService) -> None:
    # Given a clean 837P with two claims
    # When it is submitted
    answer = _submit(service, CLEAN_837P)
    # Then a submission id comes back and a 999 A plus a 277CA with A2 per claim are published, both pyx12-valid
    assert answer["id"].startswith("SBX")
    groups, claims = _acks(service)
    assert [(g.group_control_number, g.status, g.transactions[0].control_number) for g in groups] == [
        ("7", "A", "0001")
    ]
    assert [(c.patient_control_number, c.status, c.total_charge) for c in claims] == [
        ("CLMSELF1", StatusCode(category="A2", status="20"), Decimal(180)),
        ("CLMDEP01", StatusCode(category="A2", status="20"), Decimal("355.5")),
    ]
    assert all(c.payer_claim_control_number for c in claims)
    assert claims[0].clearinghouse_trace_number == "CHTRACE1"
    assert {c.billing_provider_id for c in claims} == {"1234567893"}


@pytest.mark.parametrize(
    ("fault", "expected_status"),
    [
        ({"reject_claims": ["CLMDEP01"]}, StatusCode(category="A7", status="562", entity="85")),
        (
            {"reject_claims": ["CLMDEP01"], "reject_status": "A6:35:IL"},
            StatusCode(category="A6", status="35", entity="IL"),
        ),
    ],
)
def test_sandbox_rejects_named_claim_in_277ca(
    service: SandboxService, fault: dict[str, Any], expected_status: StatusCode
) -> None:
    # Given a fault naming one claim
    service.state.apply_faults(FaultRequest.model_validate(fault))
    # When the interchange is submitted
    _submit(service, CLEAN_837P)
    # Then the 999 accepts it, and the 277CA rejects that claim (with its lines) and accepts the other
    groups, claims = _acks(service)
    assert groups[0].status == "A"
    by_pcn = {claim.patient_control_number: claim for claim in claims}
    assert by_pcn["CLMSELF1"].outcome == "accepted"
    rejected = by_pcn["CLMDEP01"]
    assert (rejected.status, rejected.outcome, rejected.payer_claim_control_number) == (
        expected_status,
        "rejected",
        None,
    )
    assert [line.line_item_control_number for line in rejected.lines] == ["CLMDEP01-1", "CLMDEP01-2"]


def test_sandbox_rejects_whole_interchange_once_when_asked(service: SandboxService) -> None:
    # Given a fault asking to reject the next interchange
    service.state.apply_faults(FaultRequest(reject_interchanges=1))
    # When the same clean interchange is submitted twice (two keys)
    _submit(service, CLEAN_837P, key="first")
    _submit(service, CLEAN_837P, key="second")
    # Then the first gets a 999 R and no 277CA, the second is accepted
    groups, claims = _acks(service)
    assert [(g.status, g.transactions[0].status, g.transactions_accepted) for g in groups] == [
        ("R", "R", 0),
        ("A", "A", 1),
    ]
    assert len(claims) == 2


def test_sandbox_answers_pyx12_errors_with_located_999_rejection(service: SandboxService) -> None:
    # Given an 837P whose second claim has an invalid place of service (CLM05-01)
    # When it is submitted
    _submit(service, BAD_POS_837P)
    # Then the 999 rejects the transaction set with IK3 on that CLM (position from ST), CTX naming the claim, IK4 5:1
    groups, claims = _acks(service)
    (transaction,) = groups[0].transactions
    assert (groups[0].status, transaction.status, transaction.error_codes) == ("R", "R", ("5",))
    (error,) = transaction.segment_errors
    assert (error.segment_id, error.position, error.loop_id, error.code, error.claim_ref) == (
        "CLM",
        38,
        "2300",
        "8",
        "CLMDEP01",
    )
    assert [(e.position, e.component, e.code) for e in error.element_errors] == [(5, 1, "7")]
    assert claims == []


@pytest.mark.parametrize(
    ("broken", "group_codes"),
    [
        (("GE*1*7", "GE*1*8"), ("4",)),  # GS06 and GE02 differ: AK905 4
        (("IEA*1*", "IEA*2*"), ()),  # an interchange trailer error (a TA1 matter) rejects every group
    ],
)
def test_sandbox_rejects_group_on_envelope_errors(
    service: SandboxService, broken: tuple[str, str], group_codes: tuple[str, ...]
) -> None:
    # Given a clean transaction set inside a broken envelope
    # When it is submitted
    _submit(service, CLEAN_837P.replace(*broken))
    # Then the group is rejected (AK9 R, with the AK905 code when there is one) and nothing reaches the 277CA
    groups, claims = _acks(service)
    assert [(g.status, g.error_codes, g.transactions[0].status) for g in groups] == [("R", group_codes, "R")]
    assert claims == []


def test_sandbox_answers_with_envelope_ids_swapped(service: SandboxService) -> None:
    # Given a submission from DEMOBH01 to CBSANDBOX whose GS ids differ from its ISA ids
    x12 = CLEAN_837P.replace("GS*HC*DEMOBH01*CBSANDBOX*", "GS*HC*DEMOAPP*CHAPP*")
    # When it is answered
    _submit(service, x12)
    # Then every response goes from the receiver back to the sender, at ISA and at GS level
    for _kind, text in _reports(service):
        isa, gs = read_segments(text)[:2]
        assert (isa.element(6).strip(), isa.element(8).strip(), isa.element(15)) == ("CBSANDBOX", "DEMOBH01", "T")
        assert (gs.element(2), gs.element(3)) == ("CHAPP", "DEMOAPP")


def test_sandbox_acknowledges_each_transaction_set(service: SandboxService) -> None:
    # Given one group with a clean and a broken transaction set
    clean_st = CLEAN_837P[CLEAN_837P.index("ST*") : CLEAN_837P.index("GE*")]
    broken_st = BAD_POS_837P[BAD_POS_837P.index("ST*") : BAD_POS_837P.index("GE*")].replace("0001", "0002")
    x12 = CLEAN_837P.replace(clean_st, clean_st + broken_st).replace("GE*1*7", "GE*2*7")
    # When it is submitted
    _submit(service, x12)
    # Then the 999 is partial (P), and the 277CA only reports the claims of the accepted set
    groups, claims = _acks(service)
    assert [(t.control_number, t.status) for t in groups[0].transactions] == [("0001", "A"), ("0002", "R")]
    assert (groups[0].status, groups[0].transactions_accepted) == ("P", 1)
    assert [c.patient_control_number for c in claims] == ["CLMSELF1", "CLMDEP01"]


def test_sandbox_replays_same_idempotency_key_without_second_copy(service: SandboxService) -> None:
    # Given a submission made once
    first = _submit(service, CLEAN_837P, key="same")
    # When it is made again with the same key
    status, second, headers = service.submit(_body(CLEAN_837P), "same")
    # Then the answer is the same and nothing new is published
    assert (status, second, headers) == (HTTPStatus.OK, first, {"Idempotent-Replayed": "true"})
    assert [kind for kind, _text in _reports(service)] == ["999", "277CA"]


def test_sandbox_refuses_reused_key_with_other_interchange(service: SandboxService) -> None:
    # Given a key used for one interchange
    _submit(service, CLEAN_837P, key="same")
    # When another interchange comes with it
    with pytest.raises(ApiFailure) as raised:
        service.submit(_body(BAD_POS_837P), "same")
    # Then 409 says so
    assert raised.value.status == HTTPStatus.CONFLICT
    assert raised.value.errors[0]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_sandbox_without_key_files_each_submission(service: SandboxService) -> None:
    # Given no idempotency key / When the same interchange is sent twice / Then two submissions are filed
    assert _submit(service, CLEAN_837P, key=None)["id"] != _submit(service, CLEAN_837P, key=None)["id"]
    assert len(_reports(service)) == 4


@pytest.mark.parametrize(
    ("body", "code", "location"),
    [
        (b"not json", "INVALID_JSON", "body"),
        (b"\xff\xfe", "INVALID_JSON", "body"),
        (b"[]", "MISSING_X12", "x12"),
        (b'{"edi": "x"}', "MISSING_X12", "x12"),
        (b'{"x12": 12}', "MISSING_X12", "x12"),
        (b'{"x12": "  "}', "MISSING_X12", "x12"),
        (_body("NM1*IL*1*TESTPATIENT*ALEX~"), "X12_UNREADABLE", "x12.ISA"),
        (_body(CLEAN_837P[:80]), "X12_UNREADABLE", "x12.ISA"),
        (_body(CLEAN_837P.replace("*00501*", "*0501*")), "X12_UNREADABLE", "x12.ISA"),
    ],
)
def test_sandbox_refuses_unreadable_requests_with_data_free_400(
    service: SandboxService, body: bytes, code: str, location: str
) -> None:
    # Given a body that is not an X12 submission
    # When it is submitted
    with pytest.raises(ApiFailure) as raised:
        service.submit(body, "key")
    # Then 400 names the problem and the place, never the data, and nothing is published
    assert raised.value.status == HTTPStatus.BAD_REQUEST
    assert raised.value.errors == [
        {"code": code, "description": raised.value.errors[0]["description"], "location": location}
    ]
    assert "TESTPATIENT" not in json.dumps(raised.value.errors)
    assert _reports(service) == []


@pytest.mark.parametrize(
    ("fail_next", "headers"),
    [
        ({"count": 2, "status": 503}, {}),
        ({"count": 2, "status": 429, "retry_after": 7}, {"Retry-After": "7"}),
    ],
)
def test_sandbox_fails_next_submissions_when_asked(
    service: SandboxService, fail_next: dict[str, Any], headers: dict[str, str]
) -> None:
    # Given a fault failing the next two submissions
    service.state.apply_faults(FaultRequest.model_validate({"fail_next": fail_next}))
    # When three submissions come (same key, as a retrying client sends)
    outcomes = [service.submit(_body(CLEAN_837P), "retried") for _ in range(3)]
    # Then two fail with the status (and Retry-After), the third is taken, and only it published anything
    assert [(status, extra) for status, _body_, extra in outcomes[:2]] == [(fail_next["status"], headers)] * 2
    assert outcomes[2][0] == HTTPStatus.OK
    assert len(_reports(service)) == 2
    assert service.state.faults()["next"] == []
    # and the sandbox filed exactly one submission for the three requests
    summary = service.state.submissions()
    assert [taken["idempotency_key"] for taken in summary["taken"]] == ["retried"]
    assert (summary["counts"]["submit_requests"], summary["counts"]["injected_fail"]) == (3, 2)


@pytest.mark.parametrize(
    ("fault", "filed", "hold", "late_answer"),
    [
        ({"timeout_next": {"seconds": 0.5}}, False, 0.5, False),
        ({"timeout_next": {"seconds": 0.5, "taken": True}}, True, 0.5, True),
        ({"drop_next": {}}, False, 0.0, False),
        ({"drop_next": {"taken": True}}, True, 0.0, False),
    ],
    ids=["timeout-before-taking", "timeout-after-taking", "drop-before-taking", "drop-after-taking"],
)
def test_sandbox_connection_faults_file_the_submission_only_when_taken(
    service: SandboxService, fault: dict[str, Any], filed: bool, hold: float, late_answer: bool
) -> None:
    # Given a connection fault for the next submission
    service.state.apply_faults(FaultRequest.model_validate(fault))
    # When a submission comes, and its retry with the same key
    with pytest.raises(ConnectionFault) as raised:
        service.submit(_body(CLEAN_837P), "lost-answer")
    filed_before_retry = len(service.state.submissions()["taken"])
    status, answer, headers = service.submit(_body(CLEAN_837P), "lost-answer")
    # Then the handler is told to hold / drop (with the late answer only for a taken timeout) ...
    assert (raised.value.hold_seconds, raised.value.late_answer is not None) == (hold, late_answer)
    assert filed_before_retry == int(filed)
    # ... and the retry is answered, a replay when the first request had been taken: one copy either way
    assert status == HTTPStatus.OK
    assert headers == ({"Idempotent-Replayed": "true"} if filed else {})
    summary = service.state.submissions()
    assert [taken["submission_id"] for taken in summary["taken"]] == [answer["id"]]
    assert summary["counts"].get("replays", 0) == int(filed)
    assert [kind for kind, _text in _reports(service)] == ["999", "277CA"]


@pytest.mark.parametrize("route", ["list", "download"])
def test_sandbox_report_routes_fail_as_asked_and_then_serve(service: SandboxService, route: Route) -> None:
    # Given published reports and, for one route, a 503, a timeout and a dropped connection (the order of one request)
    _submit(service, CLEAN_837P)
    service.state.apply_faults(
        FaultRequest.model_validate(
            {
                "fail_next": {"status": 503, "route": route, "retry_after": 3},
                "timeout_next": {"seconds": 1, "route": route, "taken": True},
                "drop_next": {"route": route},
            }
        )
    )
    answer: Answer = (HTTPStatus.OK, b"served", "text/plain", {})
    # When that route is asked four times
    first = service.serve(route, lambda: answer)
    with pytest.raises(ConnectionFault) as held:
        service.serve(route, lambda: answer)
    with pytest.raises(ConnectionFault) as dropped:
        service.serve(route, lambda: answer)
    fourth = service.serve(route, lambda: answer)
    # Then: 503 with Retry-After, a hold with the late answer, a drop, then the answer; the other route is untouched
    assert (first[0], first[3]) == (HTTPStatus.SERVICE_UNAVAILABLE, {"Retry-After": "3"})
    assert (held.value.hold_seconds, held.value.late_answer) == (1.0, answer)
    assert (dropped.value.hold_seconds, dropped.value.late_answer) == (0.0, None)
    assert fourth == answer
    other: Route = "download" if route == "list" else "list"
    assert service.serve(other, lambda: answer) == answer


def test_sandbox_faults_reset_clears_everything(service: SandboxService) -> None:
    # Given every kind of fault set
    service.state.apply_faults(
        FaultRequest.model_validate(
            {
                "reject_claims": ["A"],
                "reject_interchanges": 2,
                "fail_next": {"count": 1, "status": 500},
                "timeout_next": {"seconds": 1, "route": "list"},
                "drop_next": {"count": 2, "taken": True},
                "remit": {"after_listings": 2},
            }
        )
    )
    faults = service.state.faults()
    assert faults["reject_claims"] == ["A"]
    assert [(item["fault"], item["route"], item["count"]) for item in faults["next"]] == [
        ("fail", "submit", 1),
        ("drop", "submit", 2),
        ("timeout", "list", 1),
    ]
    assert faults["remit"]["after_listings"] == 2
    # When they are reset
    faults = service.state.apply_faults(FaultRequest(reset=True))
    # Then none is left
    assert faults == {"reject_claims": [], "reject_interchanges": 0, "next": [], "remit": None}


@pytest.mark.parametrize(
    "request_body",
    [
        {"reject_claims": "CLM1"},
        {"reject_status": "rejected"},
        {"fail_next": {"status": 404}},
        {"fail_next": {"route": "everywhere"}},
        {"timeout_next": {"seconds": 0}},
        {"timeout_next": {"seconds": 31}},
        {"drop_next": {"count": 0}},
        {"remit": {"default": {"outcome": "lost"}}},
        {"remit": {"default": {"outcome": "denied", "carc": "197"}}},
        {"remit": {"default": {"outcome": "denied", "rarc": "n54"}}},
        {"remit": {"default": {"outcome": "partial", "patient_responsibility": "PR-4"}}},
        {"remit": {"default": {"outcome": "partial", "contractual_percent": 101}}},
        {"reject_everything": True},
    ],
)
def test_fault_request_refuses_unknown_shapes(request_body: dict[str, Any]) -> None:
    # Given a malformed fault request / When it is parsed / Then it is refused
    with pytest.raises(ValidationError):
        FaultRequest.model_validate(request_body)


def test_sandbox_lists_reports_after_cursor_in_pages(service: SandboxService) -> None:
    # Given three submissions (six reports)
    for key in ("a", "b", "c"):
        _submit(service, CLEAN_837P, key=key)
    # When the listing is walked two at a time
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": ["2"], **({"after": [cursor]} if cursor else {})}
        page = service.list_reports(query)
        if not page["items"]:
            break
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
    # Then every report comes once, in order, and the cursor stays put at the end
    assert seen == [f"rpt-{n:010d}" for n in range(1, 7)]
    assert service.list_reports({"after": [seen[-1]]}) == {"items": [], "next_cursor": seen[-1]}


@pytest.mark.parametrize(
    ("query", "code"),
    [({"after": ["42"]}, "INVALID_CURSOR"), ({"limit": ["0"]}, "INVALID_LIMIT"), ({"limit": ["x"]}, "INVALID_LIMIT")],
)
def test_sandbox_refuses_bad_listing_queries(service: SandboxService, query: dict[str, list[str]], code: str) -> None:
    # Given a malformed cursor or limit / When the listing is asked / Then 400 names it
    with pytest.raises(ApiFailure) as raised:
        service.list_reports(query)
    assert (raised.value.status, raised.value.errors[0]["code"]) == (HTTPStatus.BAD_REQUEST, code)


def test_sandbox_report_not_found(service: SandboxService) -> None:
    # Given no report / When one is fetched / Then 404
    with pytest.raises(ApiFailure) as raised:
        service.report("rpt-0000000009")
    assert raised.value.status == HTTPStatus.NOT_FOUND
