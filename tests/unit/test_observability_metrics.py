"""The metrics recorders: totals, per-tenant shares and breakdowns as separate EMF blobs; durations in milliseconds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from claimbridge.observability import PowertoolsMetricsRecorder
from claimbridge.pipeline.ports import BreakdownPerTenantError, CountingMetrics

pytestmark = pytest.mark.unit


def _blobs(text: str) -> list[dict[str, Any]]:
    """Every EMF blob printed (one JSON object per line)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def _series(blob: dict[str, Any]) -> tuple[str, tuple[str, ...], str]:
    """(metric name, dimension names, unit) of a blob holding one metric."""
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    (metric,) = directive["Metrics"]
    (dimensions,) = directive["Dimensions"]
    return metric["Name"], tuple(sorted(dimensions)), metric["Unit"]


def _values(blob: dict[str, Any], name: str) -> list[float]:
    """The data points of ``name`` in a blob (Powertools writes a list, or one number for a single point)."""
    value = blob[name]
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Metrics:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingest_fhir")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Claimbridge")
    recorder = Metrics()
    recorder.clear_metrics()
    return recorder


def test_recorder_total_and_tenant_share_and_breakdown_are_separate_blobs(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the recorder over the function's metrics
    recorder = PowertoolsMetricsRecorder(metrics)

    # When a total with its tenant share and a breakdown by rule are counted, then the function flushes
    recorder.count("ClaimsHeld", 3, tenant_id="demo-practice")
    recorder.count("ClaimsHeld", 2, dimensions={"rule": "BH-TIME-01"})
    metrics.flush_metrics()

    # Then the tenant share and the breakdown are single metrics, the total is the function's own blob
    blobs = _blobs(capsys.readouterr().out)
    by_series = {_series(blob): blob for blob in blobs}
    assert set(by_series) == {
        ("ClaimsHeld", ("service", "tenant"), "Count"),
        ("ClaimsHeld", ("rule", "service"), "Count"),
        ("ClaimsHeld", ("service",), "Count"),
    }
    assert by_series[("ClaimsHeld", ("service", "tenant"), "Count")]["tenant"] == "demo-practice"
    assert by_series[("ClaimsHeld", ("rule", "service"), "Count")]["rule"] == "BH-TIME-01"
    assert _values(by_series[("ClaimsHeld", ("rule", "service"), "Count")], "ClaimsHeld") == [2.0]
    assert _values(by_series[("ClaimsHeld", ("service",), "Count")], "ClaimsHeld") == [3.0]
    assert all(blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Claimbridge" for blob in blobs)
    assert all(blob["service"] == "ingest_fhir" for blob in blobs)


def test_recorder_timing_is_in_milliseconds_per_clearinghouse(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given / When one measured call to a clearinghouse
    PowertoolsMetricsRecorder(metrics).timing("SubmissionLatency", 412.5, dimensions={"clearinghouse": "CBSANDBOX"})

    # Then it is one data point in milliseconds, by clearinghouse
    (blob,) = _blobs(capsys.readouterr().out)
    assert _series(blob) == ("SubmissionLatency", ("clearinghouse", "service"), "Milliseconds")
    assert (blob["clearinghouse"], _values(blob, "SubmissionLatency")) == ("CBSANDBOX", [412.5])


def test_recorder_skips_zero_counts(metrics: Metrics, capsys: pytest.CaptureFixture[str]) -> None:
    # Given / When nothing happened
    PowertoolsMetricsRecorder(metrics).count("ClaimsDenied", 0, tenant_id="demo-practice")
    PowertoolsMetricsRecorder(metrics).count("ClaimsDenied", 0, dimensions={"category": "coding"})

    # Then no blob is written (an empty series costs nothing and says nothing)
    assert _blobs(capsys.readouterr().out) == []
    assert not metrics.metric_set


@pytest.mark.parametrize("recorder_kind", ["powertools", "counting"])
def test_recorders_refuse_a_breakdown_per_tenant_and_empty_dimensions(metrics: Metrics, recorder_kind: str) -> None:
    # Given either recorder
    recorder = PowertoolsMetricsRecorder(metrics) if recorder_kind == "powertools" else CountingMetrics()

    # When / Then a breakdown per tenant, or one without a dimension value, is a programming error
    with pytest.raises(BreakdownPerTenantError):
        recorder.count("ClaimsHeld", 1, tenant_id="demo-practice", dimensions={"rule": "IN-REF"})
    with pytest.raises(ValueError, match="at least one dimension"):
        recorder.count("ClaimsHeld", 1, dimensions={"rule": ""})
    with pytest.raises(ValueError, match="at least one dimension"):
        recorder.timing("SubmissionLatency", 1.0, dimensions={})


def test_counting_metrics_keeps_totals_breakdowns_and_timings_apart() -> None:
    # Given the in-memory recorder
    metrics = CountingMetrics()

    # When totals, breakdowns and a duration are recorded
    metrics.count("ClaimsDenied", 2, tenant_id="demo-practice")
    metrics.count("ClaimsDenied", 1, dimensions={"category": "coding"})
    metrics.count("ClaimsDenied", 1, dimensions={"category": "authorization"})
    metrics.timing("SubmissionLatency", 12.0, dimensions={"clearinghouse": "CBSANDBOX"})

    # Then a breakdown never adds to the total
    assert metrics.totals["ClaimsDenied"] == 2
    assert metrics.breakdown("ClaimsDenied", "category") == {"coding": 1, "authorization": 1}
    assert metrics.timings == [("SubmissionLatency", 12.0, (("clearinghouse", "CBSANDBOX"),))]
