"""infra/README.md's runbook names every alarm the template defines, so on-call finds what an alarm means."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.sam import load_template

pytestmark = pytest.mark.contract


def test_runbook_explains_every_alarm_of_the_template(repo_root: Path) -> None:
    # Given the alarms of template.yaml and the rows of the runbook table
    alarms = sorted(
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    )
    runbook = (repo_root / "infra" / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([A-Za-z<>]+Alarm)`", runbook, re.MULTILINE))

    # Then each alarm has its row (error-rate alarms share the `<Function>ErrorRateAlarm` row)
    missing = [
        alarm
        for alarm in alarms
        if alarm not in rows and not (alarm.endswith("ErrorRateAlarm") and "<Function>ErrorRateAlarm" in rows)
    ]
    assert missing == []
