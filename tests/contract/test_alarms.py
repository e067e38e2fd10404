"""Alarms cover the template generically: every function, every dead-letter queue, every queue has a DLQ, every alarm
notifies the topic, and custom-metric alarms watch metrics the code really writes under a real service name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.metric_scan import scan
from tests.support.sam import load_template

pytestmark = pytest.mark.contract

TOPIC = {"Ref": "AlarmTopic"}


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load_template()["Resources"]
    return found


def _of_type(resources: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: value for logical_id, value in resources.items() if value["Type"] == resource_type}


def _alarms(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: value["Properties"] for key, value in _of_type(resources, "AWS::CloudWatch::Alarm").items()}


def _watched_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own (Namespace/MetricName/Dimensions) or each MetricStat of its math."""
    if "MetricName" in alarm:
        return [{key: alarm.get(key) for key in ("Namespace", "MetricName", "Dimensions")}]
    return [query["MetricStat"]["Metric"] for query in alarm.get("Metrics", []) if "MetricStat" in query]


def _dead_letter_queues(resources: dict[str, dict[str, Any]]) -> set[str]:
    """Queues something parks failed messages in: a queue's RedrivePolicy or a rule target's DeadLetterConfig."""
    found: set[str] = set()

    def visit(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            if key in {"deadLetterTargetArn", "DeadLetterConfig"} or set(node) == {"Arn"}:
                getatt = (
                    node.get("Fn::GetAtt") if key == "deadLetterTargetArn" else node.get("Arn", {}).get("Fn::GetAtt")
                )
                if getatt:
                    found.add(getatt[0])
            for child_key, child in node.items():
                visit(child, child_key)
        elif isinstance(node, list):
            for child in node:
                visit(child, key)

    visit(resources)
    return found & set(_of_type(resources, "AWS::SQS::Queue"))


def test_alarms_every_function_has_an_error_rate_alarm(resources: dict[str, dict[str, Any]]) -> None:
    # Given every function of the template (whoever adds one next) and the alarms
    functions = _of_type(resources, "AWS::Serverless::Function")
    alarms = _alarms(resources)

    # Then each has an alarm on its error rate: AWS/Lambda Errors over Invocations of that very function
    assert len(functions) >= 7
    missing = []
    for function in functions:
        dimension = [{"Name": "FunctionName", "Value": {"Ref": function}}]
        rate_alarms = [
            alarm
            for alarm in alarms.values()
            if {(m["Namespace"], m["MetricName"]) for m in _watched_metrics(alarm) if m["Dimensions"] == dimension}
            == {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Invocations")}
        ]
        if len(rate_alarms) != 1:
            missing.append(function)
            continue
        (alarm,) = rate_alarms
        (expression,) = [query for query in alarm["Metrics"] if query.get("ReturnData")]
        ids = {
            query["MetricStat"]["Metric"]["MetricName"]: query["Id"]
            for query in alarm["Metrics"]
            if "MetricStat" in query
        }
        assert f"{ids['Errors']} / {ids['Invocations']}" in expression["Expression"], function
        assert 0 < alarm["Threshold"] <= 10, function  # percent
    assert missing == []


def test_alarms_every_queue_has_a_dlq_and_every_dlq_an_alarm(resources: dict[str, dict[str, Any]]) -> None:
    # Given the queues, which of them are dead-letter queues, and the alarms
    queues = _of_type(resources, "AWS::SQS::Queue")
    dead_letter = _dead_letter_queues(resources)
    alarms = _alarms(resources)

    # Then every work queue redrives to a DLQ ...
    assert len(dead_letter) >= 7
    without_dlq = [
        queue
        for queue, value in queues.items()
        if queue not in dead_letter and "RedrivePolicy" not in value["Properties"]
    ]
    assert without_dlq == []
    # ... and every DLQ has one alarm firing on the first visible message
    for dlq in sorted(dead_letter):
        dimension = [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
        watching = [
            alarm
            for alarm in alarms.values()
            if any(
                (m["Namespace"], m["MetricName"], m["Dimensions"])
                == ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dimension)
                for m in _watched_metrics(alarm)
            )
        ]
        assert len(watching) == 1, dlq
        assert (watching[0]["Threshold"], watching[0]["ComparisonOperator"]) == (0, "GreaterThanThreshold"), dlq


def test_alarms_all_notify_the_alarm_topic(resources: dict[str, dict[str, Any]]) -> None:
    # Given / When / Then every alarm sends to the topic, and missing data (quiet hours) never alarms
    alarms = _alarms(resources)
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert {name: alarm["AlarmActions"] for name, alarm in alarms.items()} == {key: [TOPIC] for key in alarms}
    assert {name: alarm["TreatMissingData"] for name, alarm in alarms.items()} == dict.fromkeys(alarms, "notBreaching")


def test_alarms_on_custom_metrics_watch_what_the_code_writes_under_a_real_service(
    resources: dict[str, dict[str, Any]], repo_root: Path
) -> None:
    # Given the custom-metric alarms, the metrics the code writes (with their dimension sets), the service names
    emitted: dict[str, set[frozenset[str]]] = {}
    for emission in scan(repo_root).emissions:
        emitted.setdefault(emission.name, set()).update(emission.dimension_sets)
    services = {
        value["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for value in _of_type(resources, "AWS::Serverless::Function").values()
    }
    custom = [
        (name, metric)
        for name, alarm in _alarms(resources).items()
        for metric in _watched_metrics(alarm)
        if metric["Namespace"] == "Claimbridge"
    ]

    # Then each watches a metric the code writes, under a dimension set the code writes it with and the service
    # name of a real function, so it can fire
    assert {name for name, _ in custom} >= {
        "ClearinghouseFailureStreakAlarm",
        "ClearinghousePollFailureStreakAlarm",
        "ResponsesUnmatchedAlarm",
        "SubmissionsFailedToSendAlarm",
    }
    for name, metric in custom:
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert metric["MetricName"] in emitted, name
        assert frozenset(dimensions) in emitted[metric["MetricName"]], name
        assert dimensions["service"] in services, name


@pytest.mark.parametrize(
    ("alarm_id", "metric"),
    [("ClearinghouseFailureStreakAlarm", "SubmissionsFailed"), ("ClearinghousePollFailureStreakAlarm", "PollsFailed")],
)
def test_alarms_clearinghouse_streaks_need_consecutive_bad_periods(
    resources: dict[str, dict[str, Any]], alarm_id: str, metric: str
) -> None:
    # Given a streak alarm
    alarm = resources[alarm_id]["Properties"]

    # Then one bad period is not enough: every one of several consecutive periods must have failures
    assert alarm["MetricName"] == metric
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] >= 3
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Sum", "GreaterThanOrEqualToThreshold")
    assert alarm["Threshold"] >= 1
