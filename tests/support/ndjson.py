"""Test data in the NDJSON shapes FHIR Bulk Data ``$export`` writes, made from the example Bundles."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

Json = dict[str, Any]


def _rewrite(value: Any, by_full_url: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: by_full_url.get(item, item)
            if key == "reference" and isinstance(item, str)
            else _rewrite(item, by_full_url)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(item, by_full_url) for item in value]
    return value


def bundle_resources(bundle: Json) -> list[Json]:
    """The Bundle's resources with ``urn:uuid`` references rewritten to ``Type/id`` (NDJSON has no fullUrl)."""
    by_full_url = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in bundle["entry"]
        if "fullUrl" in entry
    }
    return [_rewrite(entry["resource"], by_full_url) for entry in bundle["entry"]]


def ndjson(resources: list[Json]) -> bytes:
    """One resource per line."""
    return "".join(json.dumps(resource) + "\n" for resource in resources).encode()


def bulk_files(resources: list[Json]) -> dict[str, bytes]:
    """``<Type>.000.ndjson`` per resource type, as an export writes them."""
    by_type: dict[str, list[Json]] = defaultdict(list)
    for resource in resources:
        by_type[resource["resourceType"]].append(resource)
    return {f"{resource_type}.000.ndjson": ndjson(items) for resource_type, items in sorted(by_type.items())}


def manifest(files: dict[str, bytes], *, transaction_time: str = "2026-03-02T21:00:00Z") -> bytes:
    """The Bulk Data complete-status body listing ``files`` relative to the manifest's folder."""
    return json.dumps(
        {
            "transactionTime": transaction_time,
            "request": "https://ehr.example/fhir/$export",
            "requiresAccessToken": False,
            "output": [{"type": name.split(".", 1)[0], "url": name} for name in files],
            "error": [],
        }
    ).encode()
