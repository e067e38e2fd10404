"""The denial category and next action of an adjudicated claim, from the 835 posting the claim keeps.

``claimbridge.pipeline.responses`` stores the payment it posted (``StoredClaim.remittance``) with the category and next
action ``claimbridge.remit.classify`` gave it; the codes that decided it are read again from the same payment with the
same table, so the worklist shows exactly what the ``Claim Adjudicated`` event and the claim's finding said.
"""

from __future__ import annotations

from claimbridge.pipeline.responses import NEXT_ACTION_TEXT
from claimbridge.remit import classify
from claimbridge.state.models import StoredClaim
from claimbridge.worklists.models import Denial


def denial_of(claim: StoredClaim) -> Denial | None:
    """The claim's current 835 verdict; None when no posting is kept (never adjudicated, or reversed)."""
    posting = claim.remittance
    if posting is None:
        return None
    outcome = classify(posting.payment)
    codes = [*dict.fromkeys(reason.carc for reason in outcome.denials), *outcome.rarcs]
    return Denial(
        outcome=posting.outcome.value.lower(),
        status_code=posting.payment.status_code,
        category=posting.category.value if posting.category else "uncategorised",
        reason_codes=codes,
        action=posting.action.value if posting.action else None,
        next_action=NEXT_ACTION_TEXT.get(posting.action) if posting.action else None,
    )
