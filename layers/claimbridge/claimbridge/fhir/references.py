"""Reference resolution inside one submission (contract section 3).

Forms: ``#id`` (contained), ``urn:uuid:``/``urn:oid:``/absolute URL (identical ``fullUrl``; an absolute URL's
``/_history/n`` is dropped first, as FHIR R4 Bundle resolution says), relative ``Type/id``
(``/_history/n`` ignored; base of the referencing entry's ``fullUrl``, else the single resource of that type and id),
``Type?identifier=system|value`` and ``Reference.identifier`` alone (the single resource with that identifier).
References never leave the submission.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from claimbridge.fhir.bundle import JsonObject, Located, resource_label
from claimbridge.fhir.index import SubmissionIndex, reference_aliases, references_at

_RELATIVE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_ABSOLUTE_TAIL = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_SEARCH = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)\?(?P<query>.+)$")
_HISTORY = re.compile(r"/_history/[^/]+$")


class ReferenceProblem(StrEnum):
    """Why a reference did not give exactly one resource."""

    ABSENT = "absent"
    NOT_FOUND = "not found in the submission"
    AMBIGUOUS = "matches several resources in the submission"
    WRONG_TYPE = "points to a resource of an unexpected type"
    UNSUPPORTED = "uses a reference form Claimbridge does not resolve"


class UnresolvedReference(Exception):
    """A reference that resolves to no resource or to several; ``path`` names the referencing element."""

    def __init__(self, path: str, problem: ReferenceProblem) -> None:
        super().__init__(f"{path}: reference {problem.value}")
        self.path = path
        self.problem = problem


def identifier_pairs(resource: JsonObject) -> Iterable[tuple[str | None, str]]:
    """Every (system, value) of a resource's ``identifier`` list."""
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            system = ident.get("system")
            yield (system if isinstance(system, str) else None, ident["value"])


class Resolver:
    """Answers references from any resource of one submission, through its on-disk index."""

    def __init__(self, index: SubmissionIndex) -> None:
        self.index = index

    def resolve(self, reference: object, *, source: Located, path: str, types: Iterable[str] | None = None) -> Located:
        """The one resource ``reference`` (a FHIR Reference object) points to, seen from ``source``.

        Raises ``UnresolvedReference`` with ``path`` when it is absent, matches nothing, several, or a wrong type.
        """
        allowed = frozenset(types) if types is not None else None
        if not isinstance(reference, dict):
            raise UnresolvedReference(path, ReferenceProblem.ABSENT)
        literal = reference.get("reference")
        if isinstance(literal, str) and literal:
            found = self._literal(literal, source, path, allowed)
        elif isinstance(reference.get("identifier"), dict):
            declared = reference.get("type")
            wanted = frozenset({declared}) if isinstance(declared, str) else allowed
            ident = reference["identifier"]
            found = self._by_identifier_match(wanted, ident.get("system"), ident.get("value"), path)
        else:
            raise UnresolvedReference(path, ReferenceProblem.ABSENT)
        if allowed is not None and found.resource_type not in allowed:
            raise UnresolvedReference(path, ReferenceProblem.WRONG_TYPE)
        return found

    def _literal(self, literal: str, source: Located, path: str, allowed: frozenset[str] | None) -> Located:
        if literal.startswith("#"):
            return self._contained(literal[1:], source, path)
        search = _SEARCH.match(literal)
        if search:
            return self._search(search.group("type"), search.group("query"), path)
        if literal.startswith(("urn:uuid:", "urn:oid:")):
            return self._single(self.index.rows_by_full_url(literal), path)
        if urlsplit(literal).scheme in {"http", "https"}:  # a version-specific URL names the entry without it
            return self._single(self.index.rows_by_full_url(_HISTORY.sub("", literal)), path)
        relative = _RELATIVE.match(literal)
        if relative is None:
            raise UnresolvedReference(path, ReferenceProblem.UNSUPPORTED)
        resource_type, rid = relative.group("type"), relative.group("id")
        base = self._restful_base(source.full_url)
        if base is not None:
            candidates = self.index.rows_by_full_url(f"{base}{resource_type}/{rid}")
            if candidates:
                return self._single(candidates, path)
        return self._single(self.index.rows_by_type_id(resource_type, rid), path)

    @staticmethod
    def _restful_base(full_url: str | None) -> str | None:
        """``http://x/fhir/`` for ``http://x/fhir/Claim/1``; ``None`` for urn fullUrls."""
        if not full_url or urlsplit(full_url).scheme not in {"http", "https"}:
            return None
        tail = _ABSOLUTE_TAIL.search(full_url)
        return full_url[: tail.start()] if tail else None

    def _contained(self, local_id: str, source: Located, path: str) -> Located:
        root = source.root
        if not local_id:
            return Located(root, self._root_path(source), source.entry_index, source.full_url, root)
        matches = [
            (index, item)
            for index, item in enumerate(root.get("contained") or [])
            if isinstance(item, dict) and item.get("id") == local_id
        ]
        if not matches:
            raise UnresolvedReference(path, ReferenceProblem.NOT_FOUND)
        if len(matches) > 1:
            raise UnresolvedReference(path, ReferenceProblem.AMBIGUOUS)
        index, item = matches[0]
        contained_path = f"{self._root_path(source)}.contained[{index}]({resource_label(item)})"
        return Located(item, contained_path, source.entry_index, source.full_url, root)

    def _root_path(self, source: Located) -> str:
        return self.index.located(source.entry_index).path

    def _search(self, resource_type: str, query: str, path: str) -> Located:
        params = dict(parse_qsl(query, keep_blank_values=True))
        token = params.get("identifier")
        if token is None or len(params) != 1:
            raise UnresolvedReference(path, ReferenceProblem.UNSUPPORTED)
        system, _, value = token.rpartition("|")
        return self._by_identifier_match(frozenset({resource_type}), system or None, value, path)

    def _by_identifier_match(self, types: frozenset[str] | None, system: object, value: object, path: str) -> Located:
        if not isinstance(value, str) or not value:
            raise UnresolvedReference(path, ReferenceProblem.ABSENT)
        candidates = [
            row
            for row in self.index.rows_by_identifier(value)
            if (types is None or self.index.located(row).resource_type in types)
            and (system is None or (system, value) in set(identifier_pairs(self.index.located(row).resource)))
        ]
        return self._single(candidates, path)

    def _single(self, rows: list[int], path: str) -> Located:
        unique = sorted(set(rows))
        if not unique:
            raise UnresolvedReference(path, ReferenceProblem.NOT_FOUND)
        if len(unique) > 1:
            raise UnresolvedReference(path, ReferenceProblem.AMBIGUOUS)
        return self.index.located(unique[0])

    def referrers(self, target: Located, kind: str) -> list[Located]:
        """Top-level resources whose ``kind`` element (``Procedure.encounter``...) resolves to ``target``.

        The reverse-link index proposes candidates by the literal forms that could name ``target``; each is
        confirmed by resolving its reference forward, so relative references and bases are handled as above.
        """
        resource_type, element = kind.split(".", 1)
        found: list[Located] = []
        for row in self.index.rows_linked(kind, reference_aliases(target)):
            candidate = self.index.located(row)
            for reference in references_at(candidate.resource, element):
                try:
                    resolved = self.resolve(reference, source=candidate, path=candidate.at(element))
                except UnresolvedReference:
                    continue
                if resolved.key == target.key and candidate.resource_type == resource_type:
                    found.append(candidate)
                    break
        return found
