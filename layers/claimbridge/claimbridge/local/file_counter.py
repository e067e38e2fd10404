"""Offline interchange control numbers (ISA13/GS06) from a counter file, for ``claimbridge convert``.

The pipeline takes its numbers from DynamoDB counters; on a developer machine a JSON file in the state directory does
the same job. An exclusive ``fcntl`` lock around read-increment-write makes two concurrent runs draw different
numbers, and the write goes through a temporary file and ``os.replace`` so a crash never leaves half a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path

from claimbridge.x12.writer import InterchangeControl

STATE_DIR_ENV = "CLAIMBRIDGE_STATE_DIR"
COUNTER_FILE = "control-numbers.json"
_LOCK_FILE = "control-numbers.lock"
_MAX_CONTROL_NUMBER = 999_999_999


def default_state_dir() -> Path:
    """``$CLAIMBRIDGE_STATE_DIR``, else ``~/.claimbridge``."""
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".claimbridge"


def next_interchange_control(state_dir: Path, *, counter_key: str) -> InterchangeControl:
    """The next never-used ISA13/GS06 for ``counter_key`` (e.g. ``<submitter id>:<receiver id>``).

    Numbers run 1..999,999,999 and then wrap to 1 (ISA13 is nine digits).
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    counter_path = state_dir / COUNTER_FILE
    with (state_dir / _LOCK_FILE).open("a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            counters = _read(counter_path)
            number = counters.get(counter_key, 0) % _MAX_CONTROL_NUMBER + 1
            counters[counter_key] = number
            _write(counter_path, counters)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return InterchangeControl(interchange_number=number, group_number=number, transaction_number=1)


def _read(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return {}
    return {str(key): int(value) for key, value in data.items() if isinstance(value, int)}


def _write(path: Path, counters: dict[str, int]) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".counter-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(counters, stream, sort_keys=True)
        stream.flush()
        os.fsync(stream.fileno())
    Path(temporary).replace(path)
