"""template.yaml for tests: moto fixtures take key schemas, queue settings and names from the template itself.

Usage in a fixture (moto's ``mock_aws`` active)::

    spec = sam_resource("ClaimsTable")["Properties"]
    boto3.client("dynamodb").create_table(TableName="claims-test", **table_create_kwargs(spec))

The returned dicts keep CloudFormation intrinsics in long form (``{"Ref": "DataKey"}``); the helpers below drop
the properties that only make sense in a real account (KMS key ids, PITR) so moto accepts the rest unchanged.
"""

from __future__ import annotations

from typing import Any

from claimbridge.local.template import find_repo_root, load_template, template_resource

__all__ = [
    "find_repo_root",
    "load_template",
    "sam_resource",
    "table_create_kwargs",
]


def sam_resource(logical_id: str) -> dict[str, Any]:
    """One resource of template.yaml (``Type``, ``Properties``, ...); KeyError names the missing id."""
    return template_resource(logical_id)


def table_create_kwargs(properties: dict[str, Any]) -> dict[str, Any]:
    """``create_table`` keyword arguments for a table's template properties (key schema, attributes, GSIs)."""
    kwargs: dict[str, Any] = {
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
    }
    indexes = properties.get("GlobalSecondaryIndexes")
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    return kwargs
