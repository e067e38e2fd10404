"""Example bundles re-dated to this week: one shift for every date, times kept, non-Bundles untouched."""

from __future__ import annotations

import json
from datetime import date

import pytest

from claimbridge.local.redate import redate_bundle

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 28)


def test_every_date_moves_by_the_same_days_and_the_newest_lands_14_days_ago() -> None:
    bundle = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": "2026-03-21T10:15:00Z"},
        "entry": [
            {"resource": {"birthDate": "1985-07-19", "period": {"start": "2026-03-04T14:00:00-05:00"}}},
            {"resource": {"created": "2026-03-20", "note": "2026-03-04 is text, kept"}},
        ],
    }
    moved = json.loads(redate_bundle(json.dumps(bundle).encode(), today=TODAY))
    assert moved["meta"]["lastUpdated"] == "2026-11-14T10:15:00Z"
    assert moved["entry"][0]["resource"]["period"]["start"] == "2026-10-28T14:00:00-05:00"
    assert moved["entry"][0]["resource"]["birthDate"] == "1986-03-14"
    assert moved["entry"][1]["resource"]["created"] == "2026-11-13"
    assert moved["entry"][1]["resource"]["note"] == "2026-03-04 is text, kept"


@pytest.mark.parametrize("raw", [b"{not json", b'{"resourceType": "Patient", "birthDate": "2000-01-01"}', b"[]"])
def test_files_that_are_not_bundles_are_returned_unchanged(raw: bytes) -> None:
    assert redate_bundle(raw, today=TODAY) == raw
