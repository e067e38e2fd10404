"""Claimbridge claim ids (CLM01): deterministic per tenant and source key, so a new version keeps its claim id."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

_PREFIX = "CB"
_MAX_LENGTH = 20


def claim_id_for(tenant_id: str, source_key: str) -> str:
    """``CB`` + 18 base32 characters of SHA-256(tenant, source key): upper-case A-Z2-7, 20 characters (CLM01 <= 20).

    90 bits of hash make a collision within one tenant's claims practically impossible, and the id reveals nothing
    about the patient or the EHR's ids.

    >>> claim_id_for("demo-practice", "Claim/clm-1") == claim_id_for("demo-practice", "Claim/clm-1")
    True
    """
    digest = hashlib.sha256(f"{tenant_id}\x1f{source_key}".encode()).digest()
    encoded = base64.b32encode(digest).decode("ascii").rstrip("=")
    return (_PREFIX + encoded)[:_MAX_LENGTH]


_MEDICAL_RECORD_TYPE = "MR"


def patient_key_for(tenant_id: str, patient: dict[str, Any]) -> str:
    """A stable, PHI-free key for one patient of a tenant: SHA-256 of the medical-record identifier (type ``MR``),
    else the first identifier with a system and value, else the resource id.

    History-aware scrubber rules (visit limits, repeat evaluations) count a patient's services across claims and
    submissions by this key; it never leaves the state store and cannot be turned back into an identifier.
    """
    identifiers = [
        i for i in patient.get("identifier") or [] if isinstance(i, dict) and i.get("system") and i.get("value")
    ]
    chosen = next((i for i in identifiers if _is_medical_record(i)), identifiers[0] if identifiers else None)
    basis = f"{chosen['system']}|{chosen['value']}" if chosen else f"Patient/{patient.get('id', '')}"
    return hashlib.sha256(f"{tenant_id}\x1f{basis}".encode()).hexdigest()


def _is_medical_record(identifier: dict[str, Any]) -> bool:
    codings = (identifier.get("type") or {}).get("coding") or []
    return any(isinstance(c, dict) and c.get("code") == _MEDICAL_RECORD_TYPE for c in codings)


def patient_reference(patient: Any) -> str | None:
    """``Patient/<id>`` of the resolved Patient (``Located``), for the write-back's ``ClaimResponse.patient``."""
    if patient is None:
        return None
    resource_id = patient.resource.get("id")
    return f"Patient/{resource_id}" if isinstance(resource_id, str) and resource_id else None
