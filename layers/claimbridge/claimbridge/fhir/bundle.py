"""Reading a FHIR R4 Bundle submission: bytes (JSON, possibly gzip) to an index of located resources.

Only the Bundle envelope is checked here; resources are validated against the R4B models when a claim reaches them
(``claimbridge.fhir.validation``), so a 2 MB Synthea bundle full of Observations costs one ``json.loads``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from claimbridge.errors import FileFormatError
from claimbridge.fhir.validation import validation_problems

ACCEPTED_BUNDLE_TYPES = frozenset({"collection", "transaction", "batch", "searchset", "document"})
_GZIP_MAGIC = b"\x1f\x8b"

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

    def at(self, element: str) -> str:
        """The finding path of an element of this resource, e.g. ``Bundle.entry[3].resource(Claim/a).item[0]``."""
        return f"{self.path}.{element}" if element else self.path


def resource_label(resource: JsonObject) -> str:
    """``Type/id`` (or just ``Type``) as paths show it; ids are technical identifiers, never PHI by contract."""
    resource_type = str(resource.get("resourceType", "Resource"))
    rid = resource.get("id")
    return f"{resource_type}/{rid}" if isinstance(rid, str) and rid else resource_type


@dataclass
class Submission:
    """The readable content of one Bundle: its top-level resources in entry order."""

    file_name: str
    bundle_type: str
    entries: list[Located] = field(default_factory=list)


def _decode(raw: bytes, file_name: str) -> Any:
    data = raw
    if raw[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            raise FileFormatError(file_name, "file is not readable gzip") from None
    try:
        return json.loads(data, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        position = getattr(exc, "lineno", None)
        where = f" (line {position})" if position else ""
        raise FileFormatError(file_name, f"file is not valid JSON{where}") from None


def _check_envelope(document: JsonObject, file_name: str) -> None:
    """Validate the Bundle shell with the R4B model, leaving the (separately validated) resources out."""
    shell = dict(document)
    entries = shell.get("entry")
    if isinstance(entries, list):
        shell["entry"] = [
            {key: value for key, value in entry.items() if key != "resource"} if isinstance(entry, dict) else entry
            for entry in entries
        ]
    problems = validation_problems(shell, f"{file_name}:Bundle")
    if problems:
        where, kind = problems[0]
        raise FileFormatError(where, f"Bundle envelope is not valid FHIR R4 ({kind})")


def load_bundle(raw: bytes, *, file_name: str) -> Submission:
    """Parse one Bundle; raise ``FileFormatError`` (IN-FORMAT) naming the file when it cannot be read at all.

    Entries without ``resource`` and searchset ``outcome`` entries are skipped, ``entry.request`` is ignored.
    """
    document = _decode(raw, file_name)
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        kind = document.get("resourceType") if isinstance(document, dict) else None
        found = f"a {kind} resource" if isinstance(kind, str) else "not a FHIR resource"
        raise FileFormatError(file_name, f"expected a FHIR Bundle, found {found}")
    bundle_type = document.get("type")
    if bundle_type not in ACCEPTED_BUNDLE_TYPES:
        raise FileFormatError(
            f"{file_name}:Bundle.type", "Bundle.type must be collection, transaction, batch, searchset or document"
        )
    _check_envelope(document, file_name)
    submission = Submission(file_name=file_name, bundle_type=str(bundle_type))
    for index, entry in enumerate(document.get("entry") or []):
        resource = entry.get("resource")
        search = entry.get("search")
        if resource is None or (isinstance(search, dict) and search.get("mode") == "outcome"):
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            where = f"{file_name}:Bundle.entry[{index}].resource"
            raise FileFormatError(where, "entry resource is not a FHIR resource")
        full_url = entry.get("fullUrl")
        submission.entries.append(
            Located(
                resource=resource,
                path=f"Bundle.entry[{index}].resource({resource_label(resource)})",
                entry_index=index,
                full_url=full_url if isinstance(full_url, str) and full_url else None,
                root=resource,
            )
        )
    return submission
