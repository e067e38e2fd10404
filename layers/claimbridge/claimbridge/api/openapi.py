"""``python -m claimbridge.api.openapi``: the tenant API's OpenAPI document (``make docs`` -> docs/openapi.json)."""

from __future__ import annotations

import json
import sys

from claimbridge.api.app import openapi_document


def render() -> str:
    """The document as committed: sorted keys, two-space indent, final newline (stable diffs)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
