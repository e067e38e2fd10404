"""Claimbridge claim ids (CLM01): deterministic per tenant and source key, so a new version keeps its claim id."""

from __future__ import annotations

import base64
import hashlib

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
