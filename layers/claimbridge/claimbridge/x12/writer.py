"""837P (005010X222A1) writer: ``ProfessionalClaim`` objects -> one X12 interchange (ISA..IEA).

Layout, per ST-SE transaction set (at most ``MAX_CLAIMS_PER_TRANSACTION`` claims each, TR3 recommendation):
1000A submitter and 1000B receiver from the tenant; one 2000A billing provider per distinct billing provider and
pay-to address; under it one 2000B subscriber per claim (with 2000C patient when the patient is not the subscriber,
the 2300 claim then sits under 2000C). HL numbers restart at 1 in each transaction set. A claim's other payers
become 2320/2330A/2330B after the 2310 loops, and each prior payer's line adjudication a 2430 under its 2400.
Names and addresses are cleaned and cut to TR3 lengths by ``claimbridge.x12.segments``; anything that cannot be
written faithfully raises ``X12WriteError`` naming the claim id and X12 location, never a value.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from claimbridge.claim import (
    Address,
    Adjustment,
    BillingProvider,
    ClaimFrequency,
    Clinician,
    EntityType,
    OtherPayer,
    Patient,
    Payer,
    PayerResponsibility,
    PriorAdjudication,
    ProfessionalClaim,
    ServiceFacility,
    ServiceLine,
    Subscriber,
)
from claimbridge.tenants import TenantConfig
from claimbridge.x12 import segments as seg
from claimbridge.x12.escaping import X12WriteError
from claimbridge.x12.segments import OutSegment

__all__ = ["MAX_CLAIMS_PER_TRANSACTION", "InterchangeControl", "X12WriteError", "write_837p"]

MAX_CLAIMS_PER_TRANSACTION = 5000
"""TR3 1.4.1: no more than 5000 CLM segments in one ST-SE."""

_MAX_CONTROL_NUMBER = 999_999_999


class InterchangeControl(BaseModel):
    """ISA13 / GS06 / first ST02 of one interchange, handed out by a counter that never repeats them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    interchange_number: Annotated[int, Field(ge=1, le=999_999_999)]
    group_number: Annotated[int, Field(ge=1, le=999_999_999)]
    transaction_number: Annotated[int, Field(ge=1, le=999_999_999)] = 1


def write_837p(
    claims: Sequence[ProfessionalClaim],
    *,
    tenant: TenantConfig,
    control: InterchangeControl,
    created: datetime,
    max_claims_per_transaction: int = MAX_CLAIMS_PER_TRANSACTION,
) -> str:
    """One complete interchange (ISA..IEA) holding ``claims`` for one payer set of one tenant.

    Parameters
    ----------
    claims:
        Scrubbed claims of ``tenant``, in the order they should appear.
    tenant:
        Supplies ISA06/GS02 and 1000A (``submitter``), ISA08/GS03 and 1000B (``clearinghouse.receiver``), ISA15
        (``clearinghouse.usage_indicator``) and the billing provider's taxonomy and pay-to address when a claim
        bills under the tenant's own billing NPI.
    control:
        ISA13/IEA02, GS06/GE02 and the first ST02; further transaction sets take the following ST02 numbers.
    created:
        ISA09/ISA10, GS04/GS05 and BHT04/BHT05.
    max_claims_per_transaction:
        Claims per ST-SE before a new transaction set starts.

    Returns
    -------
    str
        The interchange, segments terminated by ``~`` with no line breaks.

    Raises
    ------
    X12WriteError
        No claims, a claim of another tenant, a control number overflow, or data a valid 837P cannot carry.
    """
    if not claims:
        raise X12WriteError("ST", "an 837P transaction set needs at least one claim")
    if max_claims_per_transaction < 1:
        raise X12WriteError("ST", "max_claims_per_transaction must be at least 1")
    for claim in claims:
        if claim.tenant_id != tenant.tenant_id:
            raise X12WriteError("2300 CLM", "claim belongs to another tenant", claim_id=claim.claim_id)
    batches = [claims[i : i + max_claims_per_transaction] for i in range(0, len(claims), max_claims_per_transaction)]
    if control.transaction_number + len(batches) - 1 > _MAX_CONTROL_NUMBER:
        raise X12WriteError("ST02", "transaction set control numbers would exceed 999999999")

    sender, receiver = tenant.submitter.id, tenant.clearinghouse.receiver.id
    out: list[OutSegment] = [
        seg.isa(
            sender_id=sender,
            receiver_id=receiver,
            created=created,
            interchange_number=control.interchange_number,
            usage_indicator=tenant.clearinghouse.usage_indicator,
        ),
        seg.gs(sender_id=sender, receiver_id=receiver, created=created, group_number=control.group_number),
    ]
    for offset, batch in enumerate(batches):
        control_number = f"{control.transaction_number + offset:04d}"
        out += _transaction_set(
            batch,
            tenant=tenant,
            control_number=control_number,
            reference=f"{control.interchange_number:09d}-{control_number}",
            created=created,
        )
    out += [
        seg.ge(transaction_count=len(batches), group_number=control.group_number),
        seg.iea(group_count=1, interchange_number=control.interchange_number),
    ]
    return "".join(segment.render() for segment in out)


def _transaction_set(
    claims: Sequence[ProfessionalClaim], *, tenant: TenantConfig, control_number: str, reference: str, created: datetime
) -> list[OutSegment]:
    """ST..SE: header, 1000A/1000B, then the billing-provider hierarchy; SE01 counts ST through SE."""
    body = [
        seg.st(control_number),
        seg.bht(reference=reference, created=created),
        *_loop_1000a(tenant),
        *_loop_1000b(tenant),
    ]
    hl_numbers = itertools.count(1)
    for (provider, pay_to), provider_claims in _by_billing_provider(claims, tenant).items():
        billing_hl = next(hl_numbers)
        body += _loop_2000a(billing_hl, provider, pay_to, tenant)
        for claim in provider_claims:
            try:
                body += _claim_hierarchy(claim, billing_hl, hl_numbers, note=claim_note(claim, tenant))
            except X12WriteError as exc:
                raise X12WriteError(exc.x12_location, exc.reason, claim_id=claim.claim_id) from exc
    body.append(seg.se(segment_count=len(body) + 1, control_number=control_number))
    return body


def _by_billing_provider(
    claims: Sequence[ProfessionalClaim], tenant: TenantConfig
) -> dict[tuple[BillingProvider, Address | None], list[ProfessionalClaim]]:
    """Claims grouped under one 2000A per (billing provider, pay-to address), in order of first appearance."""
    groups: dict[tuple[BillingProvider, Address | None], list[ProfessionalClaim]] = {}
    for claim in claims:
        groups.setdefault((claim.billing_provider, _pay_to(claim, tenant)), []).append(claim)
    return groups


def _pay_to(claim: ProfessionalClaim, tenant: TenantConfig) -> Address | None:
    """2010AB is sent only when a pay-to address exists and differs from the billing address (TR3 2010AB note)."""
    address = claim.pay_to_address
    if address is None and tenant.pay_to is not None and _is_tenant_billing(claim.billing_provider, tenant):
        configured = tenant.pay_to.address
        address = Address(
            lines=(configured.street,), city=configured.city, state=configured.state, postal_code=configured.zip
        )
    return None if address == claim.billing_provider.address else address


def _is_tenant_billing(provider: BillingProvider, tenant: TenantConfig) -> bool:
    return provider.npi == tenant.billing_provider.npi


def _loop_1000a(tenant: TenantConfig) -> list[OutSegment]:
    """1000A Submitter Name: ``NM1*41*2*DEMO BEHAVIORAL HEALTH LLC*****46*DEMOBH01~`` + ``PER*IC*...*TE*...~``."""
    submitter = tenant.submitter
    return [
        seg.nm1(
            loop="1000A",
            entity_code="41",
            person=False,
            last_or_organization=submitter.name,
            id_qualifier="46",
            identifier=submitter.id,
        ),
        seg.per(contact_name=submitter.contact.name, phone=submitter.contact.phone, email=submitter.contact.email),
    ]


def _loop_1000b(tenant: TenantConfig) -> list[OutSegment]:
    """1000B Receiver Name: ``NM1*40*2*CLAIMBRIDGE SANDBOX*****46*CBSANDBOX~``."""
    receiver = tenant.clearinghouse.receiver
    return [
        seg.nm1(
            loop="1000B",
            entity_code="40",
            person=False,
            last_or_organization=receiver.name,
            id_qualifier="46",
            identifier=receiver.id,
        )
    ]


def _loop_2000a(
    hl_number: int, provider: BillingProvider, pay_to: Address | None, tenant: TenantConfig
) -> list[OutSegment]:
    """2000A Billing Provider level (``HL*1**20*1~``, ``PRV*BI*PXC*<taxonomy>~``), 2010AA and 2010AB."""
    taxonomy = provider.taxonomy
    if taxonomy is None and _is_tenant_billing(provider, tenant):
        taxonomy = tenant.billing_provider.taxonomy
    out = [seg.hl(number=hl_number, parent=None, level_code="20", has_children=True)]
    if taxonomy:
        out.append(seg.prv(loop="2000A", provider_code="BI", taxonomy=taxonomy))
    out += _loop_2010aa(provider)
    if pay_to is not None:
        out += _loop_2010ab(provider, pay_to)
    return out


def _loop_2010aa(provider: BillingProvider) -> list[OutSegment]:
    """2010AA Billing Provider: ``NM1*85*2*<name>*****XX*<NPI>~``, N3, N4, ``REF*EI*<TIN>~`` (or SY for an SSN)."""
    person = provider.entity is EntityType.PERSON and provider.person_name is not None
    name = provider.person_name
    return [
        seg.nm1(
            loop="2010AA",
            entity_code="85",
            person=person,
            last_or_organization=name.last if person and name else provider.organization_name,
            first=name.first if person and name else "",
            middle=name.middle if person and name else "",
            id_qualifier="XX",
            identifier=provider.npi,
        ),
        *_address("2010AA", provider.address),
        seg.ref(loop="2010AA", qualifier=provider.tin_type, value=provider.tin),
    ]


def _loop_2010ab(provider: BillingProvider, address: Address) -> list[OutSegment]:
    """2010AB Pay-to Address: ``NM1*87*2~``, N3, N4 (only an address: the payee stays the billing provider)."""
    nm1 = OutSegment("NM1", ("87", "1" if provider.entity is EntityType.PERSON else "2"))
    return [nm1, *_address("2010AB", address)]


def _address(loop: str, address: Address) -> list[OutSegment]:
    return [
        seg.n3(loop=loop, lines=address.lines),
        seg.n4(loop=loop, city=address.city, state=address.state, postal_code=address.postal_code),
    ]


def claim_note(claim: ProfessionalClaim, tenant: TenantConfig) -> str | None:
    """The 2300 NTE text the billed payer's profile asks for on this claim (first matching ``claim_notes`` entry)."""
    try:
        notes = tenant.payer(claim.payer.key).profile.claim_notes
    except KeyError:
        return None
    telehealth = any(
        line.telehealth.virtual or (line.place_of_service or claim.place_of_service) in TELEHEALTH_POS
        for line in claim.lines
    )
    applies = {
        "always": True,
        "telehealth": telehealth,
        "replacement": claim.frequency == ClaimFrequency.REPLACEMENT,
        "void": claim.frequency == ClaimFrequency.VOID,
    }
    return next((note.text for note in notes if applies[note.when]), None)


TELEHEALTH_POS = frozenset({"02", "10"})


def _claim_hierarchy(
    claim: ProfessionalClaim, billing_hl: int, hl_numbers: Iterator[int], *, note: str | None = None
) -> list[OutSegment]:
    """2000B (+ 2000C) and the 2300 claim under the lowest level present."""
    subscriber_hl = next(hl_numbers)
    out = [
        seg.hl(number=subscriber_hl, parent=billing_hl, level_code="22", has_children=claim.patient is not None),
        seg.sbr(
            responsibility=claim.payer_responsibility.value,
            patient_is_subscriber=claim.patient is None,
            group_number=claim.subscriber.group_number,
            filing_indicator=claim.payer.claim_filing_indicator,
        ),
        *_loop_2010ba(claim.subscriber, subscriber_is_patient=claim.patient is None),
        *_loop_2010bb(claim.payer),
    ]
    if claim.patient is not None:
        out += _loop_2000c(next(hl_numbers), subscriber_hl, claim.patient)
    return out + _loop_2300(claim, note=note)


def _loop_2010ba(subscriber: Subscriber, *, subscriber_is_patient: bool) -> list[OutSegment]:
    """2010BA Subscriber: ``NM1*IL*1*<last>*<first>****MI*<member id>~``; N3/N4 and DMG required when patient."""
    out = [
        seg.nm1(
            loop="2010BA",
            entity_code="IL",
            person=True,
            last_or_organization=subscriber.name.last,
            first=subscriber.name.first,
            middle=subscriber.name.middle,
            id_qualifier="MI",
            identifier=subscriber.member_id,
        )
    ]
    if subscriber.address is not None:
        out += _address("2010BA", subscriber.address)
    elif subscriber_is_patient:
        raise X12WriteError("2010BA N3", "subscriber address is required when the subscriber is the patient")
    if subscriber.birth_date is not None:
        out.append(seg.dmg(birth_date=subscriber.birth_date, gender=subscriber.gender.value))
    elif subscriber_is_patient:
        raise X12WriteError("2010BA DMG02", "subscriber birth date is required when the subscriber is the patient")
    return out


def _loop_2010bb(payer: Payer) -> list[OutSegment]:
    """2010BB Payer: ``NM1*PR*2*COMMERCIAL PLAN A*****PI*CMA01~``."""
    return [
        seg.nm1(
            loop="2010BB",
            entity_code="PR",
            person=False,
            last_or_organization=payer.name,
            id_qualifier="PI",
            identifier=payer.payer_id,
        )
    ]


def _loop_2000c(hl_number: int, subscriber_hl: int, patient: Patient) -> list[OutSegment]:
    """2000C Patient level ``HL*3*2*23*0~`` + ``PAT*19~`` and 2010CA ``NM1*QC*1*<last>*<first>~``, N3, N4, DMG."""
    if patient.address is None:
        raise X12WriteError("2010CA N3", "patient address is required")
    if patient.birth_date is None:
        raise X12WriteError("2010CA DMG02", "patient birth date is required")
    return [
        seg.hl(number=hl_number, parent=subscriber_hl, level_code="23", has_children=False),
        seg.pat(relationship=patient.relationship),
        seg.nm1(
            loop="2010CA",
            entity_code="QC",
            person=True,
            last_or_organization=patient.name.last,
            first=patient.name.first,
            middle=patient.name.middle,
        ),
        *_address("2010CA", patient.address),
        seg.dmg(birth_date=patient.birth_date, gender=patient.gender.value),
    ]


def _loop_2300(claim: ProfessionalClaim, *, note: str | None = None) -> list[OutSegment]:
    """2300 Claim: CLM, REF*9F (referral), REF*G1 (prior authorization), REF*F8 (frequency 7/8), NTE (payer-asked
    note), HI, then 2310A-D, 2320 and 2400 (REF segments in the TR3's order: 9F, G1, F8)."""
    out = [
        seg.clm(
            claim_id=claim.claim_id,
            total=claim.total_charge,
            place_of_service=claim.place_of_service,
            frequency=claim.frequency.value,
        )
    ]
    if claim.referral_number:
        out.append(seg.ref(loop="2300", qualifier="9F", value=claim.referral_number))
    if claim.prior_authorization:
        out.append(seg.ref(loop="2300", qualifier="G1", value=claim.prior_authorization))
    if claim.frequency in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID):
        if not claim.payer_claim_control_number:
            raise X12WriteError("2300 REF*F8", "payer claim control number is required for frequency 7 and 8")
        out.append(seg.ref(loop="2300", qualifier="F8", value=claim.payer_claim_control_number))
    if note:
        out.append(seg.nte(note))
    out.append(seg.hi(claim.diagnoses))
    if claim.referring is not None:
        out += _clinician("2310A", "DN", claim.referring, with_taxonomy=False)
    if claim.rendering is not None and claim.rendering.npi != claim.billing_provider.npi:
        out += _clinician("2310B", "82", claim.rendering, with_taxonomy=True)
    facility = claim.service_facility
    if facility is not None and facility.address != claim.billing_provider.address:
        out += _loop_2310c(facility)
    if claim.supervising is not None:
        out += _clinician("2310D", "DQ", claim.supervising, with_taxonomy=False)
    _check_prior_payers(claim)
    for other in claim.other_payers:
        out += _loop_2320(other)
    for number, line in enumerate(sorted(claim.lines, key=lambda line: line.sequence), 1):
        out += _loop_2400(number, line, claim)
    return out


def _clinician(loop: str, entity_code: str, clinician: Clinician, *, with_taxonomy: bool) -> list[OutSegment]:
    """2310A/B/D, 2420A/D: ``NM1*82*1*RIVERA*JORDAN****XX*1111111112~`` (+ ``PRV*PE*PXC*1041C0700X~``)."""
    out = [
        seg.nm1(
            loop=loop,
            entity_code=entity_code,
            person=True,
            last_or_organization=clinician.name.last,
            first=clinician.name.first,
            middle=clinician.name.middle,
            id_qualifier="XX",
            identifier=clinician.npi,
        )
    ]
    if with_taxonomy and clinician.taxonomy:
        out.append(seg.prv(loop=loop, provider_code="PE", taxonomy=clinician.taxonomy))
    return out


def _loop_2310c(facility: ServiceFacility) -> list[OutSegment]:
    """2310C Service Facility Location: ``NM1*77*2*EASTSIDE CLINIC*****XX*1234567893~``, N3, N4.

    Required by the TR3 only when the service was rendered somewhere other than the 2010AA address (the writer
    drops it when the two are equal); NM108/NM109 only when the facility has an NPI.
    """
    return [
        seg.nm1(
            loop="2310C",
            entity_code="77",
            person=False,
            last_or_organization=facility.name,
            id_qualifier="XX" if facility.npi else "",
            identifier=facility.npi or "",
        ),
        *_address("2310C", facility.address),
    ]


def _loop_2400(number: int, line: ServiceLine, claim: ProfessionalClaim) -> list[OutSegment]:
    """2400 Service Line: LX, SV1, ``DTP*472~``, REF*G1 (line authorization), REF*6R (line control), 2420A, 2420D."""
    if max(line.diagnosis_pointers) > len(claim.diagnoses):
        raise X12WriteError(f"2400 LX{number} SV107", "diagnosis pointer beyond the HI codes")
    line_pos = line.place_of_service if line.place_of_service != claim.place_of_service else None
    out = [
        seg.lx(number),
        seg.sv1(
            procedure_code=line.procedure_code,
            modifiers=line.modifiers,
            charge=line.charge,
            units=line.units,
            place_of_service=line_pos,
            diagnosis_pointers=line.diagnosis_pointers,
        ),
        seg.dtp_service(line.service_date, line.service_date_end),
    ]
    if line.prior_authorization:
        out.append(seg.ref(loop="2400", qualifier="G1", value=line.prior_authorization))
    out.append(seg.ref(loop="2400", qualifier="6R", value=line.line_control_number))
    override = line.rendering_override
    if override is not None and (claim.rendering is None or override.npi != claim.rendering.npi):
        out += _clinician("2420A", "82", override, with_taxonomy=True)
    supervising = line.supervising_override
    if supervising is not None and (claim.supervising is None or supervising.npi != claim.supervising.npi):
        out += _clinician("2420D", "DQ", supervising, with_taxonomy=False)
    for other in claim.other_payers:
        out += _loop_2430(other, line)
    return out


def _check_prior_payers(claim: ProfessionalClaim) -> None:
    """A claim billed to the S or T payer carries every payer before it, adjudicated (TR3 2320/2430 notes)."""
    order = list(PayerResponsibility)
    billed = order.index(claim.payer_responsibility)
    adjudicated = {other.responsibility for other in claim.other_payers if other.adjudication is not None}
    for position, other in enumerate(order[:billed]):
        if other not in adjudicated:
            raise X12WriteError(
                "2320 AMT*D", f"the prior payer in position {position + 1} and its adjudication are required"
            )
    responsibilities = [claim.payer_responsibility, *(other.responsibility for other in claim.other_payers)]
    if len(set(responsibilities)) != len(responsibilities):
        raise X12WriteError("2320 SBR01", "two payers share one payer responsibility sequence")


def _loop_2320(other: OtherPayer) -> list[OutSegment]:
    """2320 Other Subscriber Information: SBR, CAS, ``AMT*D*<paid>~``, ``AMT*EAF~``, ``OI***Y***Y~``, then 2330A/B."""
    subscriber = other.subscriber
    out = [
        seg.other_sbr(
            responsibility=other.responsibility.value,
            relationship=other.relationship,
            group_number=subscriber.group_number,
            filing_indicator=other.payer.claim_filing_indicator,
        )
    ]
    adjudication = other.adjudication
    if adjudication is not None:
        out += _cas("2320", adjudication.claim_adjustments)
        out.append(seg.amt(qualifier="D", amount=adjudication.paid))
        if adjudication.patient_liability is not None:
            out.append(seg.amt(qualifier="EAF", amount=adjudication.patient_liability))
    out.append(seg.oi())
    out.append(
        seg.nm1(
            loop="2330A",
            entity_code="IL",
            person=True,
            last_or_organization=subscriber.name.last,
            first=subscriber.name.first,
            middle=subscriber.name.middle,
            id_qualifier="MI",
            identifier=subscriber.member_id,
        )
    )
    if subscriber.address is not None:
        out += _address("2330A", subscriber.address)
    out.append(
        seg.nm1(
            loop="2330B",
            entity_code="PR",
            person=False,
            last_or_organization=other.payer.name,
            id_qualifier="PI",
            identifier=other.payer.payer_id,
        )
    )
    if adjudication is not None and not adjudication.lines:
        out.append(seg.dtp_adjudication(adjudication.adjudication_date))
    return out


def _loop_2430(other: OtherPayer, line: ServiceLine) -> list[OutSegment]:
    """2430 Line Adjudication: ``SVD*<2330B NM109>*<paid>*HC:<code>:<mods>**<units>~``, CAS, ``DTP*573~``."""
    adjudication: PriorAdjudication | None = other.adjudication
    if adjudication is None:
        return []
    adjudicated = next((a for a in adjudication.lines if a.line_sequence == line.sequence), None)
    if adjudicated is None:
        return []
    return [
        seg.svd(
            payer_id=other.payer.payer_id,
            paid=adjudicated.paid,
            procedure_code=adjudicated.procedure_code,
            modifiers=adjudicated.modifiers,
            units=adjudicated.paid_units,
        ),
        *_cas("2430", adjudicated.adjustments),
        seg.dtp_adjudication(adjudicated.adjudication_date),
    ]


def _cas(loop: str, adjustments: tuple[Adjustment, ...]) -> list[OutSegment]:
    """One CAS per group code (in order of first appearance), another for every six further reasons; at most 5.

    A zero adjustment changes no balance and says nothing a payer can use, so it is not written (a CAS of zeros is
    also refused by stricter readers such as LinuxForHealth x12).
    """
    by_group: dict[str, list[tuple[str, Decimal]]] = {}
    for adjustment in adjustments:
        if adjustment.amount == 0:
            continue
        by_group.setdefault(adjustment.group.value, []).append((adjustment.reason, adjustment.amount))
    out = [
        seg.cas(loop=loop, group=group, adjustments=tuple(pairs[start : start + 6]))
        for group, pairs in by_group.items()
        for start in range(0, len(pairs), 6)
    ]
    if len(out) > 5:
        raise X12WriteError(f"{loop} CAS", "more adjustments than five CAS segments carry")
    return out
