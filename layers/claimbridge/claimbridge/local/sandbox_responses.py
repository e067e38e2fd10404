"""How the sandbox clearinghouse answers one submitted 837P: a 999 per interchange and a 277CA for what it accepted.

The 999 comes from pyx12's findings (``claimbridge.x12.validate``): segment and element issues become IK3/IK4 on
the transaction set that holds them (IK302 counted from its ST), transaction issues IK502, group issues AK905; any
error rejects the transaction set (IK5 R). A test may also force a whole-interchange rejection or A7 for given
claims. The 277CA reports every claim of the accepted transaction sets: A2:20 with a payer claim control number,
or the forced rejection status. The verdict also names the accepted claims with those numbers: the 835 the sandbox
publishes later for them (``claimbridge.local.sandbox_remits``) echoes each as CLP07.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from claimbridge.local.sandbox_claims import (
    SubmittedClaim,
    SubmittedGroup,
    SubmittedInterchange,
    SubmittedTransaction,
)
from claimbridge.x12.acks import (
    AK905_CODES,
    IK304_CODES,
    IK403_CODES,
    IK502_CODES,
    AckCode,
    AckEnvelope,
    ClaimAckReport,
    ClaimStatus,
    ElementError,
    FunctionalGroupAck,
    LineStatus,
    Party,
    ProviderClaims,
    SegmentError,
    StatusCode,
    TransactionSetAck,
    build_277ca,
    build_999,
)
from claimbridge.x12.validate import X12Issue

SANDBOX_ID = "CBSANDBOX"
SANDBOX_NAME = "CLAIMBRIDGE SANDBOX CLEARINGHOUSE"
ACCEPTED = StatusCode(category="A2", status="20")
DEFAULT_REJECTION = StatusCode(category="A7", status="562", entity="85")

_ELEMENT_REF = re.compile(r"^[A-Z0-9]{2,3}?(?P<position>[0-9]{2})(-(?P<component>[0-9]{1,2}))?$")
# The validator's "GS08 is not 005010X222A1" and "no map for this version": 999 AK905 2 "version not supported".
# Interchange-level findings (what a TA1 would report) reject every group: there is no TA1 from this sandbox.
_GROUP_CODE_ALIASES = {"VERSION": "2", "NO-MAP": "2"}
_UNKNOWN_PARTY = Party(name="UNKNOWN", id_qualifier="46", id="0")


@dataclass(frozen=True)
class AcceptedClaim:
    """A claim the 277CA accepted, with the payer claim control number it gave (REF*1K; the 835's CLP07)."""

    interchange: SubmittedInterchange
    claim: SubmittedClaim
    payer_claim_control_number: str


@dataclass(frozen=True)
class Verdict:
    """What the sandbox decided for one submission, ready to publish."""

    reports: tuple[tuple[str, str], ...]  # (kind, X12 text) in publishing order
    accepted_claims: int
    rejected_claims: int
    accepted: tuple[AcceptedClaim, ...] = ()


@dataclass
class _TransactionFindings:
    errors: dict[int, SegmentError] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)


def _element_error(issue: X12Issue) -> ElementError | None:
    match = _ELEMENT_REF.match(issue.element or "")
    if match is None or issue.code not in IK403_CODES:
        return None
    component = match.group("component")
    return ElementError(
        position=int(match.group("position")), component=int(component) if component else None, code=issue.code
    )


def _findings_for(transaction: SubmittedTransaction, issues: Sequence[X12Issue]) -> _TransactionFindings:
    """Segment/element/transaction issues that fall inside ``transaction`` (ST..SE), as 999 IK3/IK4/IK502 content."""
    findings = _TransactionFindings()
    last = transaction.last_position or 1 << 62
    for issue in issues:
        index = issue.segment_index
        if index is None or not transaction.first_position <= index <= last:
            continue
        if issue.level == "transaction":
            findings.codes.append(issue.code if issue.code in IK502_CODES else "5")
            continue
        if issue.level not in ("segment", "element"):
            continue
        error = findings.errors.get(index) or SegmentError(
            segment_id=issue.segment_id or "UNK",
            position=index - transaction.first_position + 1,
            loop_id=issue.loop,
            claim_ref=_claim_ref(transaction.claim_at(index)),
        )
        if issue.level == "segment":
            error = error.model_copy(update={"code": issue.code if issue.code in IK304_CODES else "8"})
        else:
            element = _element_error(issue)
            update: dict[str, object] = {"code": error.code or "8"}
            if element is not None:
                update["element_errors"] = (*error.element_errors, element)
            error = error.model_copy(update=update)
        findings.errors[index] = error
    return findings


def _claim_ref(claim: SubmittedClaim | None) -> str | None:
    return claim.patient_control_number if claim is not None else None


def _in_group(group: SubmittedGroup, index: int | None) -> bool:
    return index is None or group.first_position <= index <= (group.last_position or 1 << 62)


def acknowledge_group(
    group: SubmittedGroup, issues: Sequence[X12Issue], *, force_reject: bool
) -> tuple[FunctionalGroupAck, list[SubmittedTransaction]]:
    """The 999 verdict for one functional group and the transaction sets it lets through."""
    group_codes = [
        _GROUP_CODE_ALIASES.get(issue.code, issue.code)
        for issue in issues
        if issue.level == "interchange" or (issue.level == "group" and _in_group(group, issue.segment_index))
    ]
    rejected_group = force_reject or bool(group_codes)
    transactions: list[TransactionSetAck] = []
    passed: list[SubmittedTransaction] = []
    for transaction in group.transactions:
        findings = _findings_for(transaction, issues)
        errors = tuple(findings.errors[index] for index in sorted(findings.errors))
        codes = tuple(dict.fromkeys([*findings.codes, *(["5"] if errors else [])]))
        ok = not rejected_group and not errors and not codes
        transactions.append(
            TransactionSetAck(
                transaction_set_id=transaction.transaction_set_id or "837",
                control_number=transaction.control_number,
                implementation=transaction.implementation or None,
                status="A" if ok else "R",
                error_codes=codes,
                segment_errors=errors,
            )
        )
        if ok:
            passed.append(transaction)
    count = len(transactions)
    status: AckCode = "A" if len(passed) == count and count else ("P" if passed else "R")
    ack = FunctionalGroupAck(
        functional_id=group.functional_id or "HC",
        group_control_number=group.control_number,
        version=group.version or None,
        status=status,
        transactions_included=count,
        transactions_received=count,
        transactions_accepted=len(passed),
        error_codes=tuple(dict.fromkeys(code for code in group_codes if code in AK905_CODES)),
        transactions=tuple(transactions),
    )
    return ack, passed


def _claim_status(
    claim: SubmittedClaim, status: StatusCode, payer_claim_control_number: str | None, received: datetime
) -> ClaimStatus:
    start, end = claim.service_span(received.date())
    rejected = status.category != ACCEPTED.category
    return ClaimStatus(
        patient=claim.patient or _UNKNOWN_PARTY.model_copy(update={"id_qualifier": "MI"}),
        patient_control_number=claim.patient_control_number,
        status=status,
        total_charge=claim.total_charge,
        service_from=start,
        service_to=end,
        payer_claim_control_number=None if rejected else payer_claim_control_number,
        clearinghouse_trace_number=claim.clearinghouse_trace_number,
        lines=tuple(
            LineStatus(
                procedure=line.procedure,
                charge=line.charge,
                units=line.units,
                status=status,
                line_item_control_number=line.line_item_control_number,
                service_date=line.service_from,
            )
            for line in claim.lines
            if rejected and len(line.procedure) >= 2
        ),
    )


def _statuses(
    transactions: Sequence[SubmittedTransaction],
    *,
    rejections: Mapping[str, StatusCode],
    submission_id: str,
    received: datetime,
) -> list[tuple[SubmittedClaim, ClaimStatus]]:
    """Every claim of ``transactions`` with its 277CA status; accepted ones get ``<submission>-<nnnn>`` (REF*1K)."""
    statuses = []
    for number, claim in enumerate((claim for transaction in transactions for claim in transaction.claims), start=1):
        status = rejections.get(claim.patient_control_number, ACCEPTED)
        statuses.append((claim, _claim_status(claim, status, f"{submission_id}-{number:04d}", received)))
    return statuses


def claim_report(
    interchange: SubmittedInterchange,
    transactions: Sequence[SubmittedTransaction],
    statuses: Sequence[tuple[SubmittedClaim, ClaimStatus]],
    *,
    submission_id: str,
    received: datetime,
) -> ClaimAckReport | None:
    """The 277CA content for ``statuses`` (None when there is no claim to report)."""
    providers: dict[tuple[str, str], list[ClaimStatus]] = {}
    parties: dict[tuple[str, str], Party] = {}
    for claim, status in statuses:
        provider = claim.billing_provider or _UNKNOWN_PARTY.model_copy(update={"id_qualifier": "XX"})
        key = (provider.id_qualifier, provider.id)
        parties.setdefault(key, provider)
        providers.setdefault(key, []).append(status)
    if not providers:
        return None
    reference = next((transaction.reference for transaction in transactions if transaction.reference), "")
    return ClaimAckReport(
        source=interchange.receiver or Party(name=SANDBOX_NAME, id_qualifier="46", id=SANDBOX_ID),  # 1000B echoed
        receiver=interchange.submitter or Party(name="SUBMITTER", id_qualifier="46", id=interchange.sender_id or "0"),
        source_trace=submission_id,
        receiver_trace=reference or interchange.control_number or submission_id,
        received=received.date(),
        processed=received.date(),
        providers=tuple(
            ProviderClaims(provider=parties[key], claims=tuple(claims)) for key, claims in providers.items()
        ),
    )


def answer_submission(
    interchanges: Sequence[SubmittedInterchange],
    issues: Sequence[X12Issue],
    *,
    submission_id: str,
    received: datetime,
    force_reject: bool,
    rejections: Mapping[str, StatusCode],
    next_control_number: Callable[[], int],
) -> Verdict:
    """The 999 (always) and 277CA (when a transaction set passed) for every interchange of one submission."""
    reports: list[tuple[str, str]] = []
    taken: list[AcceptedClaim] = []
    accepted = rejected = 0
    for interchange in interchanges:
        in_interchange = [
            issue
            for issue in issues
            if issue.segment_index is None
            or interchange.first_position <= issue.segment_index <= (interchange.last_position or 1 << 62)
        ]
        acks: list[FunctionalGroupAck] = []
        passed: list[SubmittedTransaction] = []
        for group in interchange.groups:
            ack, group_passed = acknowledge_group(group, in_interchange, force_reject=force_reject)
            acks.append(ack)
            passed.extend(group_passed)
        if not acks:
            continue
        reports.append(
            ("999", build_999(acks, envelope=response_envelope(interchange, next_control_number(), received)))
        )
        statuses = _statuses(passed, rejections=rejections, submission_id=submission_id, received=received)
        report = claim_report(interchange, passed, statuses, submission_id=submission_id, received=received)
        if report is not None:
            envelope = response_envelope(interchange, next_control_number(), received)
            reports.append(("277CA", build_277ca(report, envelope=envelope)))
        for claim, status in statuses:
            if status.rejected:
                rejected += 1
            else:
                accepted += 1
                taken.append(AcceptedClaim(interchange, claim, status.payer_claim_control_number or submission_id))
    return Verdict(reports=tuple(reports), accepted_claims=accepted, rejected_claims=rejected, accepted=tuple(taken))


def response_envelope(interchange: SubmittedInterchange, control_number: int, created: datetime) -> AckEnvelope:
    """The response goes back the way the submission came: ISA06/ISA08 swapped, same usage indicator."""
    qualifier = interchange.receiver_qualifier if len(interchange.receiver_qualifier) == 2 else "ZZ"
    return AckEnvelope(
        sender_qualifier=qualifier,
        sender_id=(interchange.receiver_id or SANDBOX_ID)[:15],
        application_sender=_application_id(interchange.application_receiver),
        application_receiver=_application_id(interchange.application_sender),
        receiver_qualifier=interchange.sender_qualifier if len(interchange.sender_qualifier) == 2 else "ZZ",
        receiver_id=(interchange.sender_id or "UNKNOWN")[:15],
        interchange_number=control_number,
        group_number=control_number,
        usage_indicator="P" if interchange.usage_indicator == "P" else "T",
        created=created,
    )


def _application_id(value: str) -> str | None:
    """GS02/GS03 of the submission, reused swapped when it fits the 2-15 characters of the response's GS."""
    return value if 2 <= len(value) <= 15 else None
