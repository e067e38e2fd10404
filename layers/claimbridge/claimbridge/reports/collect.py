"""Claim facts from the state store: every claim of a tenant (state index, one state at a time) with its history.

Only ids, states, times, payer keys and amounts are taken from the stored claim; the claim content (patient, dates
of service) is never copied into a fact. A change counts as ``manual`` when its actor is neither the pipeline
(``PipelineDeps.actor``) nor a clearinghouse answer (``clearinghouse-<kind>``): a person acting through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from claimbridge.remit.denials import DenialTable, denial_table
from claimbridge.reports.facts import ClaimFacts, RemittanceFacts, StateChange
from claimbridge.state.models import ClaimState, HistoryEntry, RemittancePosting, StoredClaim
from claimbridge.state.ports import ClaimStorePort

MAX_CLAIMS_PER_STATE = 50_000
"""Bound on what one report reads per state; a tenant beyond it gets a report marked ``truncated``."""
CLEARINGHOUSE_ACTOR_PREFIX = "clearinghouse-"
CONTRACTUAL_GROUP = "CO"


def remittance_facts(posting: RemittancePosting, table: DenialTable | None = None) -> RemittanceFacts:
    """The money of an 835 posting: CLP03 charge, CLP04 paid, the patient's share, and contractual adjustments
    (group CO adjustments the denial table reads as normal adjudication: CO-45, CO-253, ...)."""
    table = table or denial_table()
    payment = posting.payment
    contractual = sum(
        (a.amount for a in payment.all_adjustments if a.group == CONTRACTUAL_GROUP and table.is_normal(a)),
        Decimal(0),
    )
    return RemittanceFacts(
        charge=payment.charge,
        paid=payment.paid,
        patient_responsibility=posting.patient_responsibility,
        contractual=contractual,
        category=posting.category.value if posting.category else None,
    )


def claim_facts(
    claim: StoredClaim, history: Sequence[HistoryEntry], *, pipeline_actor: str, table: DenialTable | None = None
) -> ClaimFacts:
    """One claim's facts; refused attempts in the history are left out (they changed nothing)."""
    changes = tuple(
        StateChange(
            at=entry.at,
            from_state=entry.from_state,
            to_state=entry.to_state,
            manual=entry.actor != pipeline_actor and not entry.actor.startswith(CLEARINGHOUSE_ACTOR_PREFIX),
        )
        for entry in sorted(history, key=lambda entry: (entry.at, entry.revision))
        if not entry.refused
    )
    return ClaimFacts(
        claim_id=claim.claim_id,
        payer_key=claim.payer_key,
        charge=claim.claim.total_charge if claim.claim is not None else Decimal(0),
        changes=changes,
        remittance=remittance_facts(claim.remittance, table) if claim.remittance is not None else None,
    )


def collect_claims(
    store: ClaimStorePort, tenant_id: str, *, pipeline_actor: str, limit: int = MAX_CLAIMS_PER_STATE
) -> tuple[list[ClaimFacts], bool]:
    """Every claim of the tenant as facts, and whether some state held more than ``limit`` claims (truncated).

    The state index is eventually consistent: a claim that moves while the states are read can show up twice; it is
    kept once.
    """
    table = denial_table()
    facts: dict[str, ClaimFacts] = {}
    truncated = False
    for state in ClaimState:
        claims = store.claims_in_state(tenant_id, state, limit=limit)
        truncated = truncated or len(claims) >= limit
        for claim in claims:
            if claim.claim_id not in facts:
                history = store.history(tenant_id, claim.claim_id)
                facts[claim.claim_id] = claim_facts(claim, history, pipeline_actor=pipeline_actor, table=table)
    return list(facts.values()), truncated
