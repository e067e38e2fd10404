"""R4B model validation of the resources a claim actually reads.

Claimbridge reads plain JSON (so an R4-mandatory element it does not use, such as ``Claim.priority``, is not an error,
contract section 0), but every resource a claim reaches must still be well-formed R4: wrong types, malformed dates or
decimals and unknown elements make that claim ``IN-FORMAT``. Messages carry the error kind and the element path only;
pydantic input values are never included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

_MISSING_KINDS = ("missing", "model_field_validation.missing")


def tolerated(error: Any) -> bool:
    """A missing mandatory element: the mapping decides whether it needed it (IN-REQUIRED/IN-REF)."""
    return str(error.get("type", "")) in _MISSING_KINDS


def element_path(base: str, loc: Sequence[Any]) -> str:
    """``base`` + a pydantic error location, as a FHIR path: ``('item', 0, 'net')`` -> ``base.item[0].net``."""
    path = base
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}"
    return path


def validation_problems(resource: dict[str, Any], path: str) -> list[tuple[str, str]]:
    """``(fhir_path, kind)`` for every R4B validation error of ``resource`` except tolerated missing elements."""
    try:
        model = get_fhir_model_class(str(resource.get("resourceType")))
    except ValueError:
        return [(path, "unknown resourceType")]
    try:
        model.model_validate(resource)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if errors is None:
            return [(path, "invalid resource")]
        return [
            (element_path(path, err["loc"]), str(err["type"]))
            for err in errors(include_input=False, include_url=False)
            if not tolerated(err)
        ]
    except (KeyError, TypeError, AttributeError):
        # fhir.resources raises these for an unknown resourceType inside ``contained``.
        return [(path, "invalid contained resource")]
    return []
