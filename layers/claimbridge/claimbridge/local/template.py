"""Read ``template.yaml``, the single source of truth for every AWS resource, as plain data.

CloudFormation's short-form tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) are not YAML that ``yaml.safe_load`` accepts;
this loader turns each into its long JSON form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), which is also what
aws-sam-translator and CloudFormation take. Tests build their moto tables and queues from these properties, and the
local stack provisions the same document, so neither can drift from what is deployed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_NAME = "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that also understands CloudFormation's ``!Tag`` short forms."""


def _construct_cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unsupported node for !{tag_suffix}", node.start_mark)
    if tag_suffix in {"Ref", "Condition"}:
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_cfn_tag)  # type: ignore[no-untyped-call]


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: this file, then the cwd) holding ``template.yaml``."""
    candidates = [start] if start is not None else [Path(__file__).resolve(), Path.cwd()]
    for candidate in candidates:
        for directory in (candidate, *candidate.parents):
            if (directory / TEMPLATE_NAME).is_file():
                return directory
    raise FileNotFoundError(f"no {TEMPLATE_NAME} at or above {candidates[0]}")


def parse_template(text: str) -> dict[str, Any]:
    """Parse template text (YAML with CloudFormation tags, or JSON) into plain dicts and lists."""
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - _CfnLoader is a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError("a CloudFormation template is a mapping at the top level")
    return document


@lru_cache(maxsize=4)
def _load_cached(path: Path, mtime_ns: int) -> dict[str, Any]:
    return parse_template(path.read_text(encoding="utf-8"))


def _parsed(path: Path | None) -> dict[str, Any]:
    template_path = path if path is not None else find_repo_root() / TEMPLATE_NAME
    return _load_cached(template_path.resolve(), template_path.stat().st_mtime_ns)


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The repository's ``template.yaml`` as plain data (a fresh copy; callers may mutate it)."""
    copied: dict[str, Any] = _deep_copy(_parsed(path))
    return copied


def template_resource(logical_id: str, path: Path | None = None) -> dict[str, Any]:
    """One resource of the template (a fresh copy of that resource only: test fixtures read a dozen per test);
    ``KeyError`` names a missing id."""
    resources: dict[str, Any] = _parsed(path)["Resources"]
    if logical_id not in resources:
        raise KeyError(f"template.yaml has no resource {logical_id!r}")
    copied: dict[str, Any] = _deep_copy(resources[logical_id])
    return copied


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value
