"""FHIR OperationOutcome and quarantine error reports for rejected submissions (contract section 10).

Issues carry the ``IN-*`` code, the FHIR path (``expression``) and the finding's message, which by contract names
paths, ids and rule ids only, never element values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

from claimbridge.findings import Finding

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
    source_bucket: str,
    source_key: str,
    quarantine_key: str,
    operation_outcome_key: str,
    received_at: datetime,
    outcome: dict[str, Any],
) -> bytes:
    """The ``.error.json`` kept beside a quarantined object: where it came from and the OperationOutcome."""
    report = {
        "submission_id": submission_id,
        "tenant_id": tenant_id,
        "source": {"bucket": source_bucket, "key": source_key},
        "quarantine_key": quarantine_key,
        "operation_outcome_key": operation_outcome_key,
        "quarantined_at": received_at.isoformat(),
        "operation_outcome": outcome,
    }
    return json.dumps(report, indent=2, sort_keys=True).encode()
