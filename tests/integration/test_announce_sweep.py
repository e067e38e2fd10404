"""The sweep that announces claims a biller's action moved but whose event never reached the bus."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import pytest

from claimbridge.events import BusEventDetail
from claimbridge.local.sandbox import SandboxClearinghouse
from claimbridge.overrides import ClaimOverrides
from claimbridge.pipeline.actions import resubmit_claim
from claimbridge.pipeline.announce import STALE_AFTER, announce_stale, state_event
from claimbridge.pipeline.poll import poll_due_tenants
from claimbridge.pipeline.ports import StorageUnavailable, utc_now
from claimbridge.state import ClaimState
from tests.integration.conftest import Infra
from tests.integration.test_claim_actions import (
    BILLER,
    CLAIM_ID,
    REASON,
    TENANT,
    deps,
    held_for_auth,
    stored,
    submit_queued,
)

pytestmark = pytest.mark.integration


class UnreachableBus:
    """An EventBridge that refuses every PutEvents (throttled, or down)."""

    def publish(self, details: Sequence[BusEventDetail]) -> None:
        raise StorageUnavailable("events: PutEvents failed")


def test_a_claim_moved_by_an_action_whose_event_was_lost_is_announced_by_the_sweep(
    infra: Infra, sandbox: SandboxClearinghouse
) -> None:
    # Given a held claim fixed by a biller while the bus refuses every event: the claim is READY, unannounced
    held_for_auth(infra)
    with pytest.raises(StorageUnavailable):
        resubmit_claim(
            TENANT,
            CLAIM_ID,
            reason=REASON,
            actor=BILLER,
            deps=dataclasses.replace(deps(), events=UnreachableBus()),
            overrides=ClaimOverrides(prior_authorization="AUTH12345"),
        )
    waiting = stored(infra)
    assert (waiting.state, waiting.announced) == (ClaimState.READY, False)
    assert submit_queued(infra) == []

    # When the poll schedule's sweep runs before the claim is stale, then nothing happens
    assert announce_stale(TENANT, deps()) == 0

    # When the poll schedule runs once the claim waited longer than STALE_AFTER
    later = dataclasses.replace(deps(), clock=lambda: utc_now() + STALE_AFTER + timedelta(seconds=1))
    poll_due_tenants(later)

    # Then Claim Ready reaches the submit flow and the claim is sent; a second sweep announces nothing
    assert submit_queued(infra) == ["Claim Ready"]
    assert stored(infra).state == ClaimState.SUBMITTED
    assert announce_stale(TENANT, later) == 0


def test_state_event_names_the_event_of_each_announced_state(infra: Infra) -> None:
    # Given a held claim
    held = held_for_auth(infra)

    # When / Then its event is Claim Held with the rule ids, and a state without an event of its own has none
    event = state_event(held)
    assert event is not None and event.detail_type == "Claim Held"
    assert event.model_dump()["rule_ids"] == ("BH-AUTH-01",)
    assert state_event(held.model_copy(update={"state": ClaimState.SUBMITTED})) is None
