"""The denial category and next action of a DENIED claim, read back from its ``REMIT-835`` finding.

``claimbridge.pipeline.responses.remittance_finding`` writes the 835's verdict as the claim's finding: message
``<outcome> (CLP02 <code>): <category>, <CARC/RARC ...> -> <ACTION>`` and the action's instruction as ``fix``. That
finding is what the claim keeps, so the denied worklist reads it here; the unit test round-trips every category and
action through ``remittance_finding`` so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from claimbridge.findings import Finding
from claimbridge.remit import Action, Category
from claimbridge.worklists.models import Denial

REMIT_RULE = "REMIT-835"
_MESSAGE = re.compile(
    r"^(?P<outcome>[a-z_]+) \(CLP02 (?P<status>[0-9A-Z]+)\): (?P<category>[a-z_]+), (?P<codes>.*?)"
    r"(?: -> (?P<action>[A-Z_]+))?$"
)
_CATEGORIES = {category.value for category in Category} | {"uncategorised"}
_ACTIONS = {action.value for action in Action}


def denial_of(findings: Sequence[Finding]) -> Denial | None:
    """The latest 835 verdict among ``findings``; None when the claim has none (or it cannot be read)."""
    for finding in reversed(findings):
        if finding.rule_id != REMIT_RULE:
            continue
        match = _MESSAGE.fullmatch(finding.message)
        if match is None or match["category"] not in _CATEGORIES:
            return None
        action = match["action"] if match["action"] in _ACTIONS else None
        return Denial(
            outcome=match["outcome"],
            status_code=match["status"],
            category=match["category"],
            reason_codes=match["codes"].split(),
            action=action,
            next_action=finding.fix or None,
        )
    return None
