"""A resource and where it sits in its submission; readers live in ``claimbridge.fhir.readers``.

Resources are validated against the R4B models only when a claim reaches them (``claimbridge.fhir.validation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACCEPTED_BUNDLE_TYPES = frozenset({"collection", "transaction", "batch", "searchset", "document"})

JsonObject = dict[str, Any]


@dataclass(frozen=True, eq=False)
class Located:
    """A resource and where it sits in the submission, for references (``root``) and finding paths (``path``)."""

    resource: JsonObject
    path: str
    entry_index: int
    full_url: str | None
    root: JsonObject

    @property
    def resource_type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def id(self) -> str | None:
        value = self.resource.get("id")
        return value if isinstance(value, str) and value else None

    @property
    def key(self) -> tuple[int, str]:
        """This resource's identity in its submission (the parsed object may be re-read from the index)."""
        return (self.entry_index, self.path)

    def at(self, element: str) -> str:
        """The finding path of an element of this resource, e.g. ``Bundle.entry[3].resource(Claim/a).item[0]``."""
        return f"{self.path}.{element}" if element else self.path


def resource_label(resource: JsonObject) -> str:
    """``Type/id`` (or just ``Type``) as paths show it; ids are technical identifiers, never PHI by contract."""
    resource_type = str(resource.get("resourceType", "Resource"))
    rid = resource.get("id")
    return f"{resource_type}/{rid}" if isinstance(rid, str) and rid else resource_type
