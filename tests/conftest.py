"""Suite-wide fixtures: dummy AWS credentials, the 837P capture for the contract test, and test ordering.

Every interchange ``claimbridge.x12.writer.write_837p`` produces during the session is recorded; the contract test
``tests/contract/test_generated_837p.py`` runs last and validates all of them with pyx12 (005010X222A1).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Before anything imports boto3: no test may ever reach a real AWS account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Claimbridge",
        "POWERTOOLS_SERVICE_NAME": "claimbridge-tests",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "corpus"

GENERATED_837P: list[tuple[str, str]] = []  # (test node id, interchange text)
_current_test: dict[str, str] = {"node": "<collection>"}


def pytest_configure(config: pytest.Config) -> None:
    """Wrap the writer before any test module imports it, so every interchange is captured."""
    from claimbridge.x12 import writer

    original: Callable[..., str] = writer.write_837p

    def capturing_write_837p(*args: Any, **kwargs: Any) -> str:
        text = original(*args, **kwargs)
        GENERATED_837P.append((_current_test["node"], text))
        return text

    capturing_write_837p.__wrapped__ = original  # type: ignore[attr-defined]
    writer.write_837p = capturing_write_837p


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _current_test["node"] = item.nodeid


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run tests marked ``validates_generated`` after everything else, so they see every generated file."""
    items.sort(key=lambda item: item.get_closest_marker("validates_generated") is not None)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus; tests that need it skip cleanly when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture(autouse=True)
def package_logs_reach_caplog() -> Iterator[None]:
    """Let ``claimbridge.*`` records reach pytest's root-level capture too.

    ``build_logger`` routes the package's loggers through the function's JSON handler and stops them propagating
    (in Lambda the root handler would print each line twice); tests that look at ``caplog`` for PHI must still see
    those lines.
    """
    package = logging.getLogger("claimbridge")
    previous = package.propagate
    package.propagate = True
    yield
    package.propagate = previous
