"""FHIR OperationOutcome, quarantine error reports and the quarantine itself for rejected submissions (contract §10).

Issues carry the ``IN-*`` code, the FHIR path (``expression``) and the finding's message, which by contract names
paths, ids and rule ids only, never element values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

from claimbridge.errors import InputError
from claimbridge.events import FhirSubmissionRejected
from claimbridge.findings import Finding, Severity
from claimbridge.pipeline.ports import PipelineDeps

ERROR_CODE_SYSTEM = "https://claimbridge.dev/fhir/CodeSystem/input-error"

# FHIR issue-type (http://hl7.org/fhir/issue-type) closest to each IN-* code.
_ISSUE_TYPE = {
    "IN-FORMAT": "structure",
    "IN-TENANT": "security",
    "IN-REF": "not-found",
    "IN-REQUIRED": "required",
    "IN-CODE": "code-invalid",
    "IN-CONFLICT": "business-rule",
    "IN-PAYER": "not-found",
    "IN-XWALK": "not-supported",
    "IN-VERSION": "conflict",
}


def submission_id_for(bucket: str, key: str) -> str:
    """A stable id for an S3 drop (the object has no submission id of its own): ``s3-`` + 20 hex of its location."""
    return "s3-" + hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:20]


def operation_outcome(submission_id: str, findings: Sequence[Finding]) -> dict[str, Any]:
    """A valid R4 OperationOutcome, one ``issue`` per finding."""
    issues = [
        {
            "severity": "error" if finding.severity == "error" else "warning",
            "code": _ISSUE_TYPE.get(finding.rule_id, "invalid"),
            "details": {
                "coding": [{"system": ERROR_CODE_SYSTEM, "code": finding.rule_id}],
                "text": f"{finding.rule_id} {finding.fhir_path}: {finding.message}".strip(),
            },
            **({"expression": [finding.fhir_path]} if finding.fhir_path else {}),
        }
        for finding in findings
    ]
    document: dict[str, Any] = {"resourceType": "OperationOutcome", "id": submission_id, "issue": issues}
    OperationOutcome.model_validate(document)  # fails loudly if we ever produce an invalid resource
    return document


def error_report(
    *,
    submission_id: str,
    tenant_id: str,
    source: Mapping[str, Any],
    quarantine_key: str,
    operation_outcome_key: str,
    received_at: datetime,
    outcome: dict[str, Any],
) -> bytes:
    """The ``.error.json`` kept beside a quarantined object: where it came from and the OperationOutcome."""
    report = {
        "submission_id": submission_id,
        "tenant_id": tenant_id,
        "source": dict(source),
        "quarantine_key": quarantine_key,
        "operation_outcome_key": operation_outcome_key,
        "quarantined_at": received_at.isoformat(),
        "operation_outcome": outcome,
    }
    return json.dumps(report, indent=2, sort_keys=True).encode()


NO_TENANT = "_no-tenant"
"""Owner folder (``quarantine/<owner>/``, ``outbound/<owner>/``) of rejections no tenant could be named for."""


@dataclass(frozen=True, kw_only=True)
class RejectedSubmission:
    """A submission rejected whole: who it belongs to, how the EHR knows it, and where it came from.

    ``quarantine_path`` is where it is kept under ``quarantine/<tenant>/``; ``keep`` writes it there (it gets the
    full archive key). ``source`` is the error report's ``source``; ``source_bucket``/``source_key``/``event_id``
    go into the ``FHIR Submission Rejected`` event. None of them carries submission content.
    """

    tenant_id: str  # "" when no tenant could be named
    submission_id: str
    quarantine_path: str
    source: Mapping[str, Any]
    keep: Callable[[str], None]
    source_bucket: str | None = None
    source_key: str | None = None
    event_id: str | None = None


def quarantine_submission(rejected: RejectedSubmission, error: InputError, deps: PipelineDeps) -> str:
    """Keep the submission aside with an error report, tell the EHR (OperationOutcome + event), count it.

    Returns
    -------
    str
        The quarantine key in the archive bucket.
    """
    owner = rejected.tenant_id or NO_TENANT
    quarantine_key = f"quarantine/{owner}/{rejected.quarantine_path}"
    report_key = f"{quarantine_key}.error.json"
    outcome_key = f"outbound/{owner}/OperationOutcome/{rejected.submission_id}.json"
    finding = Finding(rule_id=error.in_code, severity=Severity.ERROR, fhir_path=error.fhir_path, message=error.message)
    outcome = operation_outcome(rejected.submission_id, [finding])
    rejected.keep(quarantine_key)
    deps.objects.put(
        deps.archive_bucket,
        report_key,
        error_report(
            submission_id=rejected.submission_id,
            tenant_id=owner,
            source=rejected.source,
            quarantine_key=quarantine_key,
            operation_outcome_key=outcome_key,
            received_at=deps.clock(),
            outcome=outcome,
        ),
        content_type="application/json",
    )
    deps.objects.put(
        deps.archive_bucket,
        outcome_key,
        json.dumps(outcome, indent=2, sort_keys=True).encode(),
        content_type="application/fhir+json",
    )
    deps.events.publish(
        [
            FhirSubmissionRejected(
                tenant_id=owner,
                submission_id=rejected.submission_id,
                source_bucket=rejected.source_bucket,
                source_key=rejected.source_key,
                event_id=rejected.event_id,
                quarantine_key=quarantine_key,
                error_report_key=report_key,
                operation_outcome_key=outcome_key,
                error_codes=(error.in_code,),
            )
        ]
    )
    deps.metrics.count("InputQuarantined", tenant_id=rejected.tenant_id or None)
    deps.metrics.count("InputQuarantined", dimensions={"code": error.in_code})
    return quarantine_key
