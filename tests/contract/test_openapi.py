"""docs/openapi.json: the tenant API's committed OpenAPI document is the one the resolver generates, and valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from claimbridge.api.openapi import render

pytestmark = pytest.mark.contract


def test_openapi_committed_document_is_current(repo_root: Path) -> None:
    # Given the committed document and the routes as the code declares them
    committed = (repo_root / "docs" / "openapi.json").read_text(encoding="utf-8")

    # When the document is generated again
    generated = render()

    # Then nothing changed since `make docs` last ran
    assert committed == generated, "docs/openapi.json is stale: run `make docs`"


def test_openapi_document_is_valid_openapi_31_with_sigv4_and_problem_responses(repo_root: Path) -> None:
    # Given the committed document
    document = json.loads((repo_root / "docs" / "openapi.json").read_text(encoding="utf-8"))

    # When / Then it validates against the OpenAPI 3.1 schema
    validate(document)
    assert document["openapi"].startswith("3.1")
    # and every operation needs the SigV4 scheme and documents its success and the problem statuses
    assert document["security"] == [{"sigv4": []}]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"200", "400", "403", "404"} <= statuses, (method, path)
            assert "422" not in statuses, (method, path)
            problem = operation["responses"]["404"]["content"]["application/problem+json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/Problem"}
