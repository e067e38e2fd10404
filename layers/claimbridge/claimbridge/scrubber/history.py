"""Claim history for history-aware rules (visit limits BH-AUTH-02, repeat evaluations BH-FREQ-01, BH-TEL-06).

A ``ServiceRecord`` is one billed line of another claim of the same patient (by the PHI-free ``patient_key``):
enough to count visits and find earlier evaluations, nothing else. The pipeline reads them from the state store
(claims of the same submission are stored before the next one is scrubbed, so they count too); the offline CLI keeps
them in memory as it scrubs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from claimbridge.claim import ClaimFrequency, ProfessionalClaim


@dataclass(frozen=True)
class ServiceRecord:
    """One line of one of the patient's claims, as history-aware rules see it."""

    claim_id: str
    payer_key: str
    service_date: date
    procedure_code: str
    modifiers: tuple[str, ...]
    place_of_service: str
    billing_npi: str
    rendering_npi: str
    prior_authorization: bool
    voided: bool = False


class ClaimHistory(Protocol):
    """The patient's services on stored (or already scrubbed) claims."""

    def services(self, patient_key: str) -> Sequence[ServiceRecord]: ...


class NoHistory:
    """No other claims are known (a single claim scrubbed on its own)."""

    def services(self, patient_key: str) -> Sequence[ServiceRecord]:
        return ()


def service_records(claim: ProfessionalClaim, *, voided: bool = False) -> list[ServiceRecord]:
    """The history rows one claim contributes (a void contributes rows marked ``voided``)."""
    is_void = voided or claim.frequency == ClaimFrequency.VOID
    records = []
    for line in claim.lines:
        rendering = line.rendering_override or claim.rendering
        records.append(
            ServiceRecord(
                claim_id=claim.claim_id,
                payer_key=claim.payer.key,
                service_date=line.service_date,
                procedure_code=line.procedure_code,
                modifiers=line.modifiers,
                place_of_service=line.place_of_service or claim.place_of_service,
                billing_npi=claim.billing_provider.npi,
                rendering_npi=rendering.npi if rendering is not None else claim.billing_provider.npi,
                prior_authorization=bool(line.prior_authorization or claim.prior_authorization),
                voided=is_void,
            )
        )
    return records


class InMemoryHistory:
    """History held in memory: the CLI and tests add claims as they are scrubbed."""

    def __init__(self, claims: Iterable[ProfessionalClaim] = ()) -> None:
        self._by_patient: dict[str, dict[str, list[ServiceRecord]]] = defaultdict(dict)
        for claim in claims:
            self.add(claim)

    def add(self, claim: ProfessionalClaim, *, voided: bool = False) -> None:
        """Record (or replace) a claim's services under its patient."""
        if claim.patient_key is None:
            return
        self._by_patient[claim.patient_key][claim.claim_id] = service_records(claim, voided=voided)

    def services(self, patient_key: str) -> Sequence[ServiceRecord]:
        return [record for records in self._by_patient.get(patient_key, {}).values() for record in records]
