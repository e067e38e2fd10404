"""Every custom metric the code emits, found by reading the source with ``ast`` (no import, no run).

An emission is a call that names a metric:

* ``<metrics>.count("Name", ...)``, ``<metrics>.timing("Name", ...)`` or any other metric-writing method called on a
  metrics object (an expression ending in ``metrics`` / ``_metrics``: the ``MetricsPort`` or a Powertools ``Metrics``);
* ``<anything>.add_metric(name="Name", unit=MetricUnit.X, ...)`` and ``single_metric(name="Name", ...)``.

The name must be a string literal (or a conditional choosing between literals), and dimensions a dict literal with
literal keys: anything else is reported as a problem, so a computed name cannot slip past the dashboard and docs
checks. Two other ways around the scan are reported too: binding a metrics object to a name that does not end in
``metrics``, and taking a metric method without calling it. The one exception is a metrics recorder itself (a class
defining ``count``), which forwards the ``name`` parameter it was given.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SOURCE_ROOTS = ("layers/claimbridge/claimbridge", "functions")
METRICS_RECEIVER = re.compile(r"^_?metrics$")
NOT_EMITTING = frozenset(
    {
        "log_metrics",
        "flush_metrics",
        "add_dimension",
        "add_metadata",
        "set_default_dimensions",
        "clear_default_dimensions",
        "clear_metrics",
        "serialize_metric_set",
    }
)
"""Methods of a metrics object that do not write a metric (Powertools ``Metrics``)."""
UNIT_OF_METHOD = {"count": "Count", "timing": "Milliseconds"}
"""Units of the ``MetricsPort`` methods; any other method of a metrics object must name a ``MetricUnit``."""
AUTOMATIC_DIMENSION = "service"  # Powertools adds POWERTOOLS_SERVICE_NAME to every blob


@dataclass(frozen=True)
class Emission:
    """One place in the code that writes metric ``name`` in ``unit``, under each of ``dimension_sets``.

    A ``MetricsPort.count`` with ``tenant_id`` writes the total ({service}) and the tenant's share ({service, tenant});
    one with ``dimensions`` writes that breakdown only ({service, rule}, ...). ``service`` is always there.
    """

    name: str
    unit: str
    dimension_sets: frozenset[frozenset[str]]
    path: str
    line: int


@dataclass(frozen=True)
class ScanResult:
    emissions: list[Emission]
    problems: list[str]

    def names(self) -> set[str]:
        return {emission.name for emission in self.emissions}


def _ends_in_metrics(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return bool(METRICS_RECEIVER.match(node.id))
    if isinstance(node, ast.Attribute):
        return bool(METRICS_RECEIVER.match(node.attr))
    return False


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _literal_names(node: ast.expr | None) -> list[str] | None:
    """The names a name expression can take: a string literal, or ``"A" if cond else "B"`` of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literal_names(node.body), _literal_names(node.orelse)
        return None if body is None or orelse is None else [*body, *orelse]
    return None


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.emissions: list[Emission] = []
        self.problems: list[str] = []
        self._recorder_class: list[bool] = []
        self._parameters: list[set[str]] = []
        self._called: set[int] = set()

    # -- context: am I inside a recorder's method that was given ``name``?

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        defines_count = any(
            isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == "count" for item in node.body
        )
        self._recorder_class.append(defines_count)
        self.generic_visit(node)
        self._recorder_class.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        arguments = node.args
        names = {arg.arg for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
        self._parameters.append(names)
        self.generic_visit(node)
        self._parameters.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _forwarding(self, value: ast.expr) -> bool:
        """A recorder passing on the ``name`` it was called with."""
        return (
            isinstance(value, ast.Name)
            and value.id == "name"
            and bool(self._recorder_class and self._recorder_class[-1])
            and bool(self._parameters and "name" in self._parameters[-1])
        )

    # -- bypasses

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_binding(target, node.value, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._check_binding(node.target, node.value, node.lineno)
        self.generic_visit(node)

    def _check_binding(self, target: ast.expr, value: ast.expr, line: int) -> None:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for one_target, one_value in zip(target.elts, value.elts, strict=False):
                self._check_binding(one_target, one_value, line)
            return
        if _ends_in_metrics(value) and not _ends_in_metrics(target):
            self.problems.append(f"{self.path}:{line}: a metrics object bound to a name not ending in 'metrics'")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            _ends_in_metrics(node.value)
            and node.attr not in NOT_EMITTING
            and id(node) not in self._called
            and not node.attr.startswith("_")
            and node.attr not in {"namespace", "service", "metric_set", "dimension_set", "totals", "breakdowns"}
        ):
            self.problems.append(f"{self.path}:{node.lineno}: metric method {node.attr!r} taken without a call")
        self.generic_visit(node)

    # -- emissions

    def visit_Call(self, node: ast.Call) -> None:
        callee = _callee(node)
        func = node.func
        on_metrics = isinstance(func, ast.Attribute) and _ends_in_metrics(func.value)
        if on_metrics:
            self._called.add(id(func))
        if callee in {"add_metric", "single_metric"}:
            self._emission(node, _keyword(node, "name"), callee)
        elif on_metrics and callee not in NOT_EMITTING:
            self._emission(node, node.args[0] if node.args else _keyword(node, "name"), callee)
        self.generic_visit(node)

    def _emission(self, call: ast.Call, name: ast.expr | None, callee: str) -> None:
        if name is not None and self._forwarding(name):
            return
        where = f"{self.path}:{call.lineno}"
        names = _literal_names(name)
        if names is None:
            self.problems.append(f"{where}: the metric name is not a string literal")
            return
        unit = self._unit(call, callee)
        dimensions = self._dimensions(call, callee)
        for literal in names:
            if unit is None:
                self.problems.append(f"{where}: the unit of {literal} is not a MetricUnit member")
            elif dimensions is None:
                self.problems.append(f"{where}: the dimensions of {literal} are not a dict literal")
            else:
                self.emissions.append(
                    Emission(name=literal, unit=unit, dimension_sets=dimensions, path=self.path, line=call.lineno)
                )

    @staticmethod
    def _unit(call: ast.Call, callee: str) -> str | None:
        if callee in UNIT_OF_METHOD:
            return UNIT_OF_METHOD[callee]
        unit = _keyword(call, "unit")
        if isinstance(unit, ast.Attribute) and isinstance(unit.value, ast.Name) and unit.value.id == "MetricUnit":
            return unit.attr
        return None

    @staticmethod
    def _dimensions(call: ast.Call, callee: str) -> frozenset[frozenset[str]] | None:
        """The dimension sets written, ``service`` included; ``None`` when they cannot be read from the source."""
        service = frozenset({AUTOMATIC_DIMENSION})
        mapping = _keyword(call, "default_dimensions" if callee == "single_metric" else "dimensions")
        if mapping is not None and not (isinstance(mapping, ast.Constant) and mapping.value is None):
            if not isinstance(mapping, ast.Dict) or not all(
                isinstance(key, ast.Constant) and isinstance(key.value, str) for key in mapping.keys
            ):
                return None
            keys = {str(key.value) for key in mapping.keys if isinstance(key, ast.Constant)}
            return frozenset({service | keys})
        tenant = _keyword(call, "tenant_id")
        if tenant is not None and not (isinstance(tenant, ast.Constant) and tenant.value is None):
            return frozenset({service, service | {"tenant"}})
        return frozenset({service})


def source_files(repo_root: Path) -> Iterator[Path]:
    for root in SOURCE_ROOTS:
        yield from sorted((repo_root / root).rglob("*.py"))


def scan_source(source: str, path: str) -> ScanResult:
    """The emissions and problems of one module's source."""
    visitor = _Visitor(path)
    visitor.visit(ast.parse(source, filename=path))
    return ScanResult(visitor.emissions, visitor.problems)


def scan(repo_root: Path) -> ScanResult:
    """Every emission in the package and the handlers."""
    emissions: list[Emission] = []
    problems: list[str] = []
    for path in source_files(repo_root):
        result = scan_source(path.read_text(encoding="utf-8"), path.relative_to(repo_root).as_posix())
        emissions.extend(result.emissions)
        problems.extend(result.problems)
    return ScanResult(emissions, problems)
