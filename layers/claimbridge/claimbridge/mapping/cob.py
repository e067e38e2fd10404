"""Coordination of benefits (contract section 6): the claim's other insurances as 837P 2320/2330A/2330B, and for the
payers before the billed one, their adjudication as 2320 CAS/AMT and 2430 SVD/CAS/DTP*573.

A prior payer's adjudication comes from the ``ClaimResponse`` (or ``ExplanationOfBenefit``) that its
``Claim.insurance.claimResponse`` references. ``read_adjudication`` reads one such resource on its own (no claim
needed); ``map_other_payers`` matches it to the claim's lines and checks the TR3 balancing. Everything that goes wrong
here HOLDS the claim (the claim itself is sound; the biller completes the prior payer's data) instead of rejecting it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import ValidationError

from claimbridge.claim import (
    Adjustment,
    AdjustmentGroup,
    OtherPayer,
    OtherSubscriberRelationship,
    Patient,
    Payer,
    PayerResponsibility,
    PriorAdjudication,
    PriorLineAdjudication,
    ServiceLine,
    Subscriber,
)
from claimbridge.fhir import JsonObject, Located
from claimbridge.mapping.scope import ClaimScope, MappingProblem
from claimbridge.mapping.values import codings, first_code, full_date, items, number, obj, text

__all__ = [
    "ADJUDICATION_SYSTEM",
    "C4BB_ADJUDICATION_SYSTEM",
    "CARC_SYSTEM",
    "CAS_GROUP_SYSTEM",
    "MAX_CAS_SEGMENTS",
    "MAX_OTHER_PAYERS",
    "AdjudicationReading",
    "Issue",
    "LineReading",
    "OtherCoverage",
    "cas_segments_needed",
    "map_other_payers",
    "other_coverages",
    "read_adjudication",
]

ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB_ADJUDICATION_SYSTEM = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
CAS_GROUP_SYSTEM = "https://codesystem.x12.org/005010/1033"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"

MAX_OTHER_PAYERS = 10
"""2320 repeats at most 10 times."""
MAX_CAS_SEGMENTS = 5
"""2320 and 2430 CAS repeat at most 5 times, each with up to 6 reason/amount pairs of one group."""
_REASONS_PER_CAS = 6
_CENT = Decimal("0.01")

# Adjudication categories that are patient responsibility with a fixed CARC (contract section 6).
_PATIENT_SHARE: dict[tuple[str, str], str] = {
    (ADJUDICATION_SYSTEM, "deductible"): "1",
    (ADJUDICATION_SYSTEM, "copay"): "3",
    (C4BB_ADJUDICATION_SYSTEM, "coinsurance"): "2",
}
# Categories that report an amount without adjusting the charge (what was billed, allowed, paid to whom).
_INFORMATIONAL = frozenset(
    {
        (ADJUDICATION_SYSTEM, "submitted"),
        (ADJUDICATION_SYSTEM, "eligible"),
        (ADJUDICATION_SYSTEM, "eligpercent"),
        (ADJUDICATION_SYSTEM, "tax"),
        (C4BB_ADJUDICATION_SYSTEM, "paidtoprovider"),
        (C4BB_ADJUDICATION_SYSTEM, "paidtopatient"),
        (C4BB_ADJUDICATION_SYSTEM, "paidbypatient"),
        (C4BB_ADJUDICATION_SYSTEM, "priorpayerpaid"),
        (C4BB_ADJUDICATION_SYSTEM, "memberliability"),
    }
)
_NOT_ADJUDICATED = frozenset({"queued", "error"})
_BENEFIT = (ADJUDICATION_SYSTEM, "benefit")
_MEMBER_LIABILITY = (C4BB_ADJUDICATION_SYSTEM, "memberliability")
_GROUPS = {group.value: group for group in AdjustmentGroup}

PayerOf = Callable[[ClaimScope, Located], Payer]
SubscriberOf = Callable[[ClaimScope, Located, Located], tuple[Subscriber, Patient | None]]


@dataclass(frozen=True)
class Issue:
    """A problem found while reading or balancing an adjudication; it becomes a hold finding."""

    rule_id: str
    fhir_path: str
    message: str
    x12_location: str
    fix: str = ""


@dataclass(frozen=True)
class LineReading:
    """One adjudicated item as the prior payer reported it (``sequence`` = the claim's ``item.sequence``)."""

    sequence: int | None
    path: str
    paid: Decimal | None
    units: Decimal | None
    adjustments: tuple[Adjustment, ...]
    ungrouped: tuple[str, ...]


@dataclass(frozen=True)
class AdjudicationReading:
    """What one ClaimResponse/ExplanationOfBenefit says, before it is matched to the claim and balanced."""

    path: str
    paid: Decimal | None
    adjudication_date: date | None
    claim_adjustments: tuple[Adjustment, ...]
    claim_ungrouped: tuple[str, ...]
    patient_liability: Decimal | None
    lines: tuple[LineReading, ...]
    issues: tuple[Issue, ...]


@dataclass(frozen=True)
class OtherCoverage:
    """A non-billed ``Claim.insurance`` entry whose payer and subscriber are known (2320 SBR, 2330A, 2330B)."""

    index: int
    responsibility: PayerResponsibility
    prior: bool
    entry: JsonObject
    payer: Payer
    subscriber: Subscriber
    relationship: OtherSubscriberRelationship
    fhir_path: str


@dataclass
class _Adjudications:
    """The adjudication list of a resource (claim level) or of one item, sorted out."""

    explicit: list[Adjustment] = field(default_factory=list)
    shares: list[Adjustment] = field(default_factory=list)
    benefit: Decimal | None = None
    ungrouped: list[str] = field(default_factory=list)

    def adjustments(self) -> tuple[Adjustment, ...]:
        """Explicit CAS entries, then deductible/copay/coinsurance not already sent as the same group and CARC;
        repeated (group, reason) pairs are summed, zero results dropped."""
        explicit_keys = {(a.group, a.reason) for a in self.explicit}
        merged: dict[tuple[AdjustmentGroup, str], Decimal] = {}
        for adjustment in [*self.explicit, *(s for s in self.shares if (s.group, s.reason) not in explicit_keys)]:
            key = (adjustment.group, adjustment.reason)
            merged[key] = merged.get(key, Decimal(0)) + adjustment.amount
        return tuple(
            Adjustment(group=group, reason=reason, amount=amount)
            for (group, reason), amount in merged.items()
            if amount != 0
        )


def cas_segments_needed(adjustments: Iterable[Adjustment]) -> int:
    """CAS segments for these adjustments: one per group code, another for every 6 further reasons of a group."""
    per_group: dict[AdjustmentGroup, int] = {}
    for adjustment in adjustments:
        per_group[adjustment.group] = per_group.get(adjustment.group, 0) + 1
    return sum(-(-count // _REASONS_PER_CAS) for count in per_group.values())


# --- reading one ClaimResponse / ExplanationOfBenefit -----------------------------------------------------------


def read_adjudication(located: Located) -> AdjudicationReading:
    """Read a prior payer's ClaimResponse or ExplanationOfBenefit into amounts, adjustments and dates.

    Parameters
    ----------
    located
        The resource as found in the submission (its ``path`` names findings).

    Returns
    -------
    AdjudicationReading
        ``paid`` is ``payment.amount`` (else the ``benefit`` total), the date ``payment.date`` (else ``created``);
        each item (``itemSequence`` for a ClaimResponse, ``sequence`` for an EOB) gives its ``benefit`` and its
        adjustments: ``category`` in X12 1033 with a CARC ``reason`` is a CAS entry, ``deductible``/``copay``/CARIN
        ``coinsurance`` are PR-1/PR-3/PR-2. ``issues`` lists what is missing or cannot be grouped; nothing raises.
    """
    resource = located.resource
    issues: list[Issue] = []
    if resource.get("use", "claim") != "claim" or resource.get("outcome") in _NOT_ADJUDICATED:
        issues.append(
            Issue(
                "IN-CONFLICT",
                located.path,
                "referenced resource is not the prior payer's adjudication of a claim (use must be claim, outcome "
                "complete or partial)",
                "2320",
                fix="reference the prior payer's final ClaimResponse or ExplanationOfBenefit for this claim",
            )
        )
    claim_level = _sort_adjudications(items(resource.get("adjudication")), located.at("adjudication"), "2320", issues)
    payment = obj(resource.get("payment")) or {}
    paid = _money(payment.get("amount"))
    if paid is None:
        paid = _total(resource, _BENEFIT)
    if paid is None:
        issues.append(
            Issue(
                "IN-REQUIRED",
                located.at("payment.amount"),
                "prior payer's paid amount is required (payment.amount, or a total in category benefit)",
                "2320 AMT*D",
                fix="send the prior payer's payment amount (0 when it paid nothing)",
            )
        )
    elif paid < 0:
        issues.append(
            Issue("IN-CONFLICT", located.at("payment.amount"), "prior payer's paid amount is negative", "2320 AMT*D")
        )
    adjudicated_on = full_date(payment.get("date")) or full_date(resource.get("created"))
    if adjudicated_on is None:
        issues.append(
            Issue(
                "IN-REQUIRED",
                located.at("payment.date"),
                "prior payer's adjudication date is required (payment.date, else created as a full date)",
                "2330B DTP*573",
            )
        )
    sequence_element = "sequence" if located.resource_type == "ExplanationOfBenefit" else "itemSequence"
    lines = tuple(
        _read_item(located, index, item, sequence_element, issues)
        for index, item in enumerate(items(resource.get("item")))
        if isinstance(item, dict)
    )
    liability = _total(resource, _MEMBER_LIABILITY)
    return AdjudicationReading(
        path=located.path,
        paid=paid,
        adjudication_date=adjudicated_on,
        claim_adjustments=claim_level.adjustments(),
        claim_ungrouped=tuple(claim_level.ungrouped),
        patient_liability=liability if liability is not None and liability >= 0 else None,
        lines=lines,
        issues=tuple(issues),
    )


def _read_item(
    located: Located, index: int, item: JsonObject, sequence_element: str, issues: list[Issue]
) -> LineReading:
    path = located.at(f"item[{index}]")
    sequence = item.get(sequence_element)
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        issues.append(
            Issue("IN-REQUIRED", f"{path}.{sequence_element}", "adjudicated item names no claim item", "2430")
        )
        sequence = None
    sorted_out = _sort_adjudications(items(item.get("adjudication")), f"{path}.adjudication", "2430", issues)
    if sorted_out.benefit is None:
        issues.append(
            Issue(
                "IN-REQUIRED",
                f"{path}.adjudication",
                "adjudicated item has no amount in category benefit (the line's paid amount)",
                "2430 SVD02",
                fix="send the prior payer's paid amount for the item (0 when it paid nothing)",
            )
        )
    elif sorted_out.benefit < 0:
        issues.append(Issue("IN-CONFLICT", f"{path}.adjudication", "line paid amount is negative", "2430 SVD02"))
    quantity = number((obj(item.get("quantity")) or {}).get("value"))
    return LineReading(
        sequence=sequence,
        path=path,
        paid=sorted_out.benefit,
        units=quantity if quantity is not None and quantity >= 0 else None,
        adjustments=sorted_out.adjustments(),
        ungrouped=tuple(sorted_out.ungrouped),
    )


def _sort_adjudications(entries: list[object], path: str, loop: str, issues: list[Issue]) -> _Adjudications:
    """Sort an ``adjudication`` list into CAS entries, patient shares, the benefit and amounts that fit nowhere."""
    result = _Adjudications()
    for index, raw in enumerate(entries):
        entry = obj(raw)
        if entry is None:
            continue
        where = f"{path}[{index}]"
        amount = _money(entry.get("amount"))
        group_code = first_code(entry.get("category"), [CAS_GROUP_SYSTEM])
        if group_code is not None:
            adjustment = _explicit(entry, group_code, amount, where=where, loop=loop, issues=issues)
            if adjustment is not None:
                result.explicit.append(adjustment)
            continue
        if amount is None:
            continue  # CARIN discriminators (network status, denial reason) carry no amount
        category = _category(entry.get("category"))
        if category == _BENEFIT:
            if result.benefit is None:
                result.benefit = amount
        elif category in _PATIENT_SHARE:
            if amount != 0:
                reason = _PATIENT_SHARE[category]
                result.shares.append(
                    Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY, reason=reason, amount=amount)
                )
        elif category not in _INFORMATIONAL and amount != 0:
            result.ungrouped.append(where)
    return result


def _explicit(
    entry: JsonObject, group_code: str, amount: Decimal | None, *, where: str, loop: str, issues: list[Issue]
) -> Adjustment | None:
    group = _GROUPS.get(group_code.strip().upper())
    if group is None:
        issues.append(
            Issue(
                "IN-CODE",
                f"{where}.category",
                f"not a claim adjustment group code ({CAS_GROUP_SYSTEM})",
                f"{loop} CAS01",
            )
        )
        return None
    reason = first_code(entry.get("reason"), [CARC_SYSTEM])
    if reason is None:
        issues.append(
            Issue(
                "IN-REQUIRED",
                f"{where}.reason",
                f"adjustment amount cannot be grouped: no claim adjustment reason code ({CARC_SYSTEM})",
                f"{loop} CAS02",
            )
        )
        return None
    reason = reason.strip().upper()
    if not (1 <= len(reason) <= 5 and reason.isalnum()):
        issues.append(Issue("IN-CODE", f"{where}.reason", "claim adjustment reason code is malformed", f"{loop} CAS02"))
        return None
    if amount is None:
        issues.append(Issue("IN-REQUIRED", f"{where}.amount", "adjustment amount is required", f"{loop} CAS03"))
        return None
    return Adjustment(group=group, reason=reason, amount=amount)


def _category(concept: object) -> tuple[str, str] | None:
    """(system, code) of the first adjudication category coding Claimbridge knows; a coding without a system is taken
    as HL7 ``adjudication`` (the R4 examples omit it)."""
    for coding in codings(concept):
        code = text(coding.get("code"))
        if code is None:
            continue
        system = coding.get("system")
        if system is None:
            system = ADJUDICATION_SYSTEM
        if system in (ADJUDICATION_SYSTEM, C4BB_ADJUDICATION_SYSTEM):
            return str(system), code.strip()
    return None


def _money(value: object) -> Decimal | None:
    """A FHIR Money's value, to the cent."""
    amount = number((obj(value) or {}).get("value"))
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP) if amount is not None else None


def _total(resource: JsonObject, category: tuple[str, str]) -> Decimal | None:
    for entry in items(resource.get("total")):
        if isinstance(entry, dict) and _category(entry.get("category")) == category:
            amount = _money(entry.get("amount"))
            if amount is not None:
                return amount
    return None


# --- the claim's other insurances ------------------------------------------------------------------------------


def other_coverages(
    scope: ClaimScope,
    patient: Located,
    slots: Sequence[tuple[int, int, JsonObject]],
    *,
    focal_position: int,
    payer_of: PayerOf,
    subscriber_of: SubscriberOf,
) -> tuple[OtherCoverage, ...]:
    """Payer and subscriber of every non-billed insurance (contract section 6: each one becomes a 2320 loop).

    Parameters
    ----------
    scope
        The claim's mapping scope; problems become holds on it.
    patient
        ``Claim.patient``, which every Coverage's ``beneficiary`` must be.
    slots
        ``(position by sequence, index in Claim.insurance, entry)`` of each non-focal insurance.
    focal_position
        Position of the billed insurance: the ones before it are prior payers (their adjudication is required).
    payer_of, subscriber_of
        The billed coverage's payer matching and subscriber rules, applied the same way here.

    Returns
    -------
    tuple[OtherCoverage, ...]
        One per insurance that could be mapped; the others hold the claim with their finding (2330A/2330B).
    """
    anchor = scope.anchor
    found: list[OtherCoverage] = []
    for position, index, entry in slots[:MAX_OTHER_PAYERS]:
        element = f"insurance[{index}]"
        try:
            coverage = scope.resolve(
                entry.get("coverage"), source=anchor, element=f"{element}.coverage", types=("Coverage",)
            )
            beneficiary = scope.resolve(
                coverage.resource.get("beneficiary"), source=coverage, element="beneficiary", types=("Patient",)
            )
            if beneficiary.resource is not patient.resource:
                scope.hold(
                    "IN-CONFLICT",
                    coverage.at("beneficiary"),
                    "Coverage.beneficiary is not Claim.patient",
                    x12_location="2330A",
                    fix="reference the claim's patient as the coverage beneficiary",
                )
            payer = payer_of(scope, coverage)
            subscriber, dependent = subscriber_of(scope, coverage, patient)
        except MappingProblem as exc:
            finding = exc.finding
            location = (
                finding.x12_location.replace("2010BB", "2330B").replace("2010BA", "2330A").replace("2000B", "2320")
                or "2320"
            )
            scope.holds.append(finding.model_copy(update={"x12_location": location}))
            continue
        found.append(
            OtherCoverage(
                index=index,
                responsibility=PayerResponsibility.at(position),
                prior=position < focal_position,
                entry=entry,
                payer=payer,
                subscriber=subscriber,
                relationship="18" if dependent is None else dependent.relationship,
                fhir_path=anchor.at(element),
            )
        )
    if len(slots) > MAX_OTHER_PAYERS:
        scope.hold(
            "IN-CONFLICT",
            anchor.at("insurance"),
            "more than ten insurances besides the billed one (837P carries at most ten other payers)",
            x12_location="2320",
        )
    return tuple(found)


def map_other_payers(
    scope: ClaimScope, others: Sequence[OtherCoverage], lines: Sequence[ServiceLine]
) -> tuple[OtherPayer, ...]:
    """The claim's ``other_payers``: each prior payer with its balanced adjudication, later payers without one.

    Parameters
    ----------
    scope
        The claim's mapping scope; a prior payer whose adjudication is missing, cannot be grouped or does not balance
        holds the claim (``IN-REQUIRED``, ``IN-REF``, ``IN-CODE``, ``IN-CONFLICT``) and is carried without it.
    others
        From ``other_coverages``.
    lines
        The claim's service lines (their sequence, code, units and charge).

    Returns
    -------
    tuple[OtherPayer, ...]
        In ``Claim.insurance`` order; never raises.
    """
    by_sequence = {line.sequence: line for line in lines}
    result: list[OtherPayer] = []
    seen_payer_ids: set[str] = set()
    for other in others:
        if other.payer.payer_id in seen_payer_ids:
            scope.hold(
                "IN-CONFLICT",
                other.fhir_path,
                "two other payers have the same payer id, so 2430 SVD01 could not say whose adjudication it is",
                x12_location="2330B NM109",
                fix="configure each plan as its own tenant payer with its own payer id",
            )
        seen_payer_ids.add(other.payer.payer_id)
        adjudication = _prior_adjudication(scope, other, by_sequence) if other.prior else None
        try:
            result.append(
                OtherPayer(
                    responsibility=other.responsibility,
                    payer=other.payer,
                    subscriber=other.subscriber,
                    relationship=other.relationship,
                    adjudication=adjudication,
                    fhir_path=other.fhir_path,
                )
            )
        except ValidationError as exc:
            kinds = sorted({str(err["type"]) for err in exc.errors(include_input=False, include_url=False)})
            scope.hold(
                "IN-CODE", other.fhir_path, f"other payer does not fit 2320 ({', '.join(kinds)})", x12_location="2320"
            )
    return tuple(result)


def _prior_adjudication(
    scope: ClaimScope, other: OtherCoverage, by_sequence: dict[int, ServiceLine]
) -> PriorAdjudication | None:
    anchor = scope.anchor
    element = f"insurance[{other.index}].claimResponse"
    reference = other.entry.get("claimResponse")
    if reference is None:
        scope.hold(
            "IN-REQUIRED",
            anchor.at(element),
            "a prior payer's adjudication is required: reference its ClaimResponse (or ExplanationOfBenefit); "
            "without it the payer answers RARC N4",
            x12_location="2320",
            fix="send the prior payer's ClaimResponse or ExplanationOfBenefit and reference it from the insurance",
        )
        return None
    try:
        located = scope.resolve(
            reference, source=anchor, element=element, types=("ClaimResponse", "ExplanationOfBenefit")
        )
    except MappingProblem as exc:
        scope.holds.append(exc.finding.model_copy(update={"x12_location": "2320"}))
        return None
    reading = read_adjudication(located)
    issues = list(reading.issues)
    lines = _line_adjudications(reading, by_sequence, issues)
    if not issues:
        issues += _balance(reading, by_sequence, lines)
    if not issues and cas_segments_needed(reading.claim_adjustments) > MAX_CAS_SEGMENTS:
        issues.append(
            Issue("IN-CONFLICT", located.at("adjudication"), "more claim adjustments than 5 CAS carry", "2320 CAS")
        )
    if issues:
        for issue in issues:
            scope.hold(issue.rule_id, issue.fhir_path, issue.message, x12_location=issue.x12_location, fix=issue.fix)
        return None
    assert reading.paid is not None and reading.adjudication_date is not None  # noqa: S101 - no issues means both read
    try:
        return PriorAdjudication(
            paid=reading.paid,
            adjudication_date=reading.adjudication_date,
            claim_adjustments=reading.claim_adjustments,
            patient_liability=reading.patient_liability,
            lines=tuple(lines),
            fhir_path=located.path,
        )
    except ValidationError as exc:
        kinds = sorted({str(err["type"]) for err in exc.errors(include_input=False, include_url=False)})
        scope.hold(
            "IN-CODE", located.path, f"adjudication amounts do not fit 2320 ({', '.join(kinds)})", x12_location="2320"
        )
        return None


def _line_adjudications(
    reading: AdjudicationReading, by_sequence: dict[int, ServiceLine], issues: list[Issue]
) -> list[PriorLineAdjudication]:
    """2430 per adjudicated item, in the claim's line order; unknown or repeated item sequences are conflicts."""
    found: dict[int, PriorLineAdjudication] = {}
    for line_reading in reading.lines:
        if line_reading.sequence is None or line_reading.paid is None or reading.adjudication_date is None:
            continue
        line = by_sequence.get(line_reading.sequence)
        if line is None or line_reading.sequence in found:
            problem = "names no claim item" if line is None else "repeats an item already adjudicated"
            issues.append(Issue("IN-CONFLICT", line_reading.path, f"adjudicated item {problem}", "2430"))
            continue
        if cas_segments_needed(line_reading.adjustments) > MAX_CAS_SEGMENTS:
            issues.append(Issue("IN-CONFLICT", line_reading.path, "more line adjustments than 5 CAS carry", "2430 CAS"))
            continue
        try:
            found[line.sequence] = PriorLineAdjudication(
                line_sequence=line.sequence,
                procedure_code=line.procedure_code,
                modifiers=line.modifiers,
                paid=line_reading.paid,
                paid_units=line_reading.units if line_reading.units is not None else line.units,
                adjustments=line_reading.adjustments,
                adjudication_date=reading.adjudication_date,
                fhir_path=line_reading.path,
            )
        except ValidationError:
            issues.append(Issue("IN-CODE", line_reading.path, "adjudicated item amounts do not fit 2430", "2430 SVD"))
    return [found[sequence] for sequence in sorted(found)]


def _balance(
    reading: AdjudicationReading, by_sequence: dict[int, ServiceLine], lines: list[PriorLineAdjudication]
) -> list[Issue]:
    """TR3 COB balancing for one prior payer; messages name paths, never amounts.

    Per line: SV102 = SVD02 + line CAS. Per claim: CLM02 = AMT*D + claim CAS + line CAS (X12 RFI 1294), and with
    line-level payments AMT*D = sum of SVD02 - claim CAS (837P TR3 1.4.4.1).
    """
    issues: list[Issue] = []
    readings = {r.sequence: r for r in reading.lines}
    for adjudicated in lines:
        line = by_sequence[adjudicated.line_sequence]
        if line.charge != adjudicated.paid + _sum(adjudicated.adjustments):
            line_reading = readings[adjudicated.line_sequence]
            issues.append(_unbalanced(line_reading.path, line_reading.ungrouped, "2430", "SV102 = SVD02 + CAS"))
    if issues:
        return issues
    assert reading.paid is not None  # noqa: S101 - balancing runs only without reading issues
    total = sum((line.charge for line in by_sequence.values()), Decimal(0))
    line_adjustments = sum((_sum(adjudicated.adjustments) for adjudicated in lines), Decimal(0))
    claim_adjustments = _sum(reading.claim_adjustments)
    ungrouped = reading.claim_ungrouped + tuple(u for r in reading.lines for u in r.ungrouped)
    if total != reading.paid + claim_adjustments + line_adjustments:
        issues.append(_unbalanced(reading.path, ungrouped, "2320 AMT*D", "CLM02 = AMT*D + claim and line CAS"))
    elif lines and reading.paid != sum((a.paid for a in lines), Decimal(0)) - claim_adjustments:
        issues.append(
            Issue(
                "IN-CONFLICT",
                reading.path,
                "prior payer's paid amount differs from its line paid amounts less claim adjustments "
                "(AMT*D = sum of SVD02 - claim CAS); every billed line needs its adjudicated item",
                "2320 AMT*D",
            )
        )
    return issues


def _unbalanced(path: str, ungrouped: tuple[str, ...], loop: str, rule: str) -> Issue:
    if ungrouped:
        return Issue(
            "IN-REQUIRED",
            ungrouped[0],
            f"adjudication amount cannot be grouped (category is neither benefit, a CAS group code with a CARC reason, "
            f"deductible, copay nor coinsurance), so the prior payer's amounts do not balance ({rule})",
            loop,
            fix=f"send the amount with category from {CAS_GROUP_SYSTEM} and reason from {CARC_SYSTEM}",
        )
    return Issue(
        "IN-CONFLICT",
        path,
        f"prior payer's paid amount and adjustments do not balance with the charge ({rule})",
        loop,
        fix="send the prior payer's complete adjudication as its remittance reported it",
    )


def _sum(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((adjustment.amount for adjustment in adjustments), Decimal(0))
