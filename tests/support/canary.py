"""Bundles carrying canary PHI: every patient-identifying value replaced by a unique string that exists nowhere else.

Each person gets names, a birth date, a member id (on the coverage they hold), an address, a phone number and
free-text notes (narratives, condition notes) made of ``CANARY`` + a tag. If any of them shows up where PHI must not
go, the place leaked it. Birth dates are real dates (the mapping and the scrubber must accept them); they are picked
from a year and day no example uses, and the test reads them back after re-dating.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PREFIX = "CANARYZQX"
PEOPLE = ("Patient", "RelatedPerson")


@dataclass
class Canaries:
    """The canary values of a set of bundles, by kind (``name``, ``birth_date``, ``member_id``, ``address``, ...)."""

    values: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, value: str) -> str:
        self.values.setdefault(kind, set()).add(value)
        return value

    def all(self) -> set[str]:
        return {value for values in self.values.values() for value in values}

    def forms(self) -> dict[str, str]:
        """Every string to look for -> its kind: X12 and digit-only forms of dates and phones included."""
        found: dict[str, str] = {}
        for kind, values in self.values.items():
            for value in values:
                found[value] = kind
                if kind == "birth_date":
                    found[value.replace("-", "")] = kind  # DMG*D8*CCYYMMDD
                if kind == "phone":
                    digits = "".join(ch for ch in value if ch.isdigit())
                    found[digits] = kind
                    found[digits[-7:-4] + "-" + digits[-4:]] = kind
        return found


def _entries(bundle: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if isinstance(resource, dict):
            yield resource


def _note(canaries: Canaries, tag: str, what: str) -> str:
    return canaries.add("free_text", f"{PREFIX}{tag}{what}NOTE reports sleeping poorly since the move")


def with_canaries(bundle: dict[str, Any], tag: str, canaries: Canaries, *, birth_year: int = 1937) -> dict[str, Any]:
    """A copy of ``bundle`` whose people, coverages and notes carry canary values tagged ``tag`` (letters only)."""
    document = copy.deepcopy(bundle)
    for number, resource in enumerate(_entries(document), start=1):
        kind = resource["resourceType"]
        who = f"{tag}{chr(ord('A') + number)}"
        if kind in PEOPLE:
            given_count = max(1, len(resource.get("name", [{}])[0].get("given", [])))
            resource["name"] = [
                {
                    "family": canaries.add("name", f"{PREFIX}{who}FAMILY"),
                    "given": [canaries.add("name", f"{PREFIX}{who}GIVEN{'ABC'[i]}") for i in range(given_count)],
                }
            ]
            if "birthDate" in resource:
                resource["birthDate"] = f"{birth_year + number}-02-{10 + number:02d}"
            state = resource.get("address", [{}])[0].get("state", "MO")
            postal = resource.get("address", [{}])[0].get("postalCode", "64108")
            resource["address"] = [
                {
                    "line": [canaries.add("address", f"{number}7 {PREFIX}{who} STREET")],
                    "city": canaries.add("address", f"{PREFIX}{who}CITY"),
                    "state": state,
                    "postalCode": postal,
                }
            ]
            resource["telecom"] = [
                {
                    "system": "phone",
                    "value": canaries.add("phone", f"(816) 555-{(ord(who[0]) * 37 + number) % 10000:04d}"),
                }
            ]
            resource["text"] = {
                "status": "generated",
                "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{_note(canaries, who, "PATIENT")}</div>',
            }
        elif kind == "Coverage":
            resource["subscriberId"] = canaries.add("member_id", f"{PREFIX}{who}MBR")
            resource["identifier"] = [{"system": "urn:example:member", "value": resource["subscriberId"]}]
        elif kind == "Condition":
            resource["note"] = [{"text": _note(canaries, who, "CONDITION")}]
        elif kind == "Encounter":
            resource["text"] = {
                "status": "generated",
                "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{_note(canaries, who, "VISIT")}</div>',
            }
    return document


def birth_dates(raw: bytes) -> set[str]:
    """The birth dates of the people in a (re-dated) bundle or of a bare person resource; none if it is not JSON."""
    try:
        document = json.loads(raw)
    except ValueError:
        return set()
    resources = [document] if document.get("resourceType") in PEOPLE else list(_entries(document))
    return {r["birthDate"] for r in resources if r["resourceType"] in PEOPLE and "birthDate" in r}


def bare_resource_with_canaries(resource: dict[str, Any], tag: str, canaries: Canaries) -> dict[str, Any]:
    """One resource (not in a Bundle) with canary values, as ``with_canaries`` gives them inside a bundle."""
    changed: dict[str, Any] = with_canaries({"entry": [{"resource": resource}]}, tag, canaries)["entry"][0]["resource"]
    return changed
