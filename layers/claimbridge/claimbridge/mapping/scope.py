"""Per-claim mapping context: reference resolution that records what a claim read, and its findings.

Every resource a claim resolves is validated against its R4B model (once per submission) and remembered, because the
source version of a claim without ``meta.versionId`` is the hash of the anchor plus everything it resolved.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from claimbridge.fhir import Located, Resolver, UnresolvedReference, validation_problems
from claimbridge.findings import Finding, Severity
from claimbridge.tenants import TenantConfig


class MappingProblem(Exception):
    """An error that stops one part of a claim from being built; carries the finding the biller sees."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.rule_id} {finding.fhir_path}: {finding.message}")
        self.finding = finding


def error_finding(rule_id: str, fhir_path: str, message: str, *, x12_location: str = "", fix: str = "") -> Finding:
    """An error finding; the message names no values (contract section 10)."""
    return Finding(
        rule_id=rule_id,
        severity=Severity.ERROR,
        fhir_path=fhir_path,
        x12_location=x12_location,
        message=message,
        fix=fix,
    )


def invalid_value_findings(exc: ValidationError, fhir_path: str) -> list[Finding]:
    """IN-CODE findings for mapped values a claim model refused (the field, never the value)."""
    return [
        error_finding(
            "IN-CODE",
            fhir_path,
            f"mapped value does not fit the claim field {'.'.join(str(part) for part in err['loc'])} ({err['type']})",
            fix="correct the element so its value has the format the 837P needs",
        )
        for err in exc.errors(include_input=False, include_url=False)
    ]


def problem(rule_id: str, fhir_path: str, message: str, *, x12_location: str = "", fix: str = "") -> MappingProblem:
    """A ``MappingProblem`` carrying an error finding: the claim cannot be built."""
    return MappingProblem(error_finding(rule_id, fhir_path, message, x12_location=x12_location, fix=fix))


class ValidationCache:
    """R4B validation results per top-level entry, shared by the claims of one submission (bounded: LRU)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._results: OrderedDict[int, list[tuple[str, str]]] = OrderedDict()
        self._max_entries = max_entries

    def problems(self, located: Located, root_path: str) -> list[tuple[str, str]]:
        found = self._results.get(located.entry_index)
        if found is None:
            found = validation_problems(located.root, root_path)
            self._results[located.entry_index] = found
            if len(self._results) > self._max_entries:
                self._results.popitem(last=False)
        else:
            self._results.move_to_end(located.entry_index)
        return found


@dataclass
class ClaimScope:
    """What one claim's mapping reads and reports."""

    anchor: Located
    resolver: Resolver
    tenant: TenantConfig
    validation: ValidationCache
    warnings: list[Finding] = field(default_factory=list)
    holds: list[Finding] = field(default_factory=list)
    touched: dict[tuple[int, str], Located] = field(default_factory=dict)

    def touch(self, located: Located) -> Located:
        """Remember ``located`` for the version hash; an invalid R4 resource rejects the claim (IN-FORMAT)."""
        if located.key in self.touched:
            return located
        self.touched[located.key] = located
        root_path = self._root_path(located)
        problems = self.validation.problems(located, root_path)
        if problems:
            where, kind = problems[0]
            raise problem(
                "IN-FORMAT",
                where,
                f"resource is not valid FHIR R4 ({kind}; {len(problems)} problem(s) in this resource)",
                fix="correct the element so the resource validates against FHIR R4",
            )
        return located

    def _root_path(self, located: Located) -> str:
        marker = located.path.find(".contained[")
        return located.path[:marker] if marker >= 0 else located.path

    def resolve(
        self, reference: object, *, source: Located, element: str, types: Iterable[str] | None = None
    ) -> Located:
        """A required reference: no match or several is ``IN-REF`` naming ``source.element``."""
        path = source.at(element)
        try:
            found = self.resolver.resolve(reference, source=source, path=path, types=types)
        except UnresolvedReference as exc:
            raise problem(
                "IN-REF",
                path,
                f"required reference {exc.problem.value}",
                fix="send the referenced resource in the same submission, referenced by fullUrl, Type/id or identifier",
            ) from None
        return self.touch(found)

    def resolve_optional(
        self, reference: object, *, source: Located, element: str, types: Iterable[str] | None = None
    ) -> Located | None:
        """A reference Claimbridge can do without: unresolved means a warning, and ``None``."""
        if reference is None:
            return None
        path = source.at(element)
        try:
            found = self.resolver.resolve(reference, source=source, path=path, types=types)
        except UnresolvedReference as exc:
            self.warn("IN-REF", path, f"reference {exc.problem.value}; ignored")
            return None
        return self.touch(found)

    def warn(self, rule_id: str, fhir_path: str, message: str, *, x12_location: str = "", fix: str = "") -> None:
        """A warning travels with the claim; the same one twice (a reference two parts resolve) is kept once."""
        finding = Finding(
            rule_id=rule_id,
            severity=Severity.WARNING,
            fhir_path=fhir_path,
            x12_location=x12_location,
            message=message,
            fix=fix,
        )
        if finding not in self.warnings:
            self.warnings.append(finding)

    def hold(self, rule_id: str, fhir_path: str, message: str, *, x12_location: str = "", fix: str = "") -> None:
        """An error that still lets the claim be built: it is stored HELD with this finding."""
        self.holds.append(error_finding(rule_id, fhir_path, message, x12_location=x12_location, fix=fix))
