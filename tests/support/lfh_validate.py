"""Parse 837P files with LinuxForHealth x12: the second validator of the contract test, next to pyx12.

LinuxForHealth x12 (LFH) parses each transaction set into pydantic models of 005010X222A1 (LFH names that model
package ``x12_837_005010X222A2``) whose validators check what pyx12 does not, above all that CLM02 equals the sum of
the claim's SV102. LFH needs pydantic 1, so this script runs in its own virtualenv and imports only the standard
library and ``linuxforhealth.x12``, never ``claimbridge``::

    .venv-lfh/bin/python -I tests/support/lfh_validate.py FILE_OR_DIRECTORY...

A directory stands for every regular file in it (sorted). One JSON line per file goes to stdout::

    {"file": "...", "ok": false, "transactions": 1, "parsed": 0, "errors": [{"transaction": "0001", "segment": "SE",
     "segment_position": 95, "loop": "loop_2000a/0/loop_2000b/0/loop_2300/0/__root__",
     "message": "Claim Amount 181 != Service Line Total 180"}]}

LFH's reader gives up at the first transaction set that fails, so each ST..SE is handed to ``X12ModelReader`` on its
own, behind the file's ISA and GS: one bad transaction does not hide the next. ``transaction`` is the ST02,
``segment`` and ``segment_position`` (1-based, over the whole file) the segment LFH had just read when it failed; a
model error surfaces at the SE that closes the transaction, and ``loop`` then says where inside it. Envelope
segments (ISA, GS, GE, IEA) are pyx12's business: LFH skips them. Exit status: 0 when every file parsed clean, 1 when
any has an error, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from linuxforhealth.x12.io import X12ModelReader, X12SegmentReader  # type: ignore[import-not-found]
from pydantic import ValidationError

# The model LFH must produce for a 005010X222A1 transaction set (it serves 005010X222 and X222A1 with it).
EXPECTED_MODEL = ("linuxforhealth.x12.v5010.x12_837_005010X222A2.transaction_set", "HealthCareClaimProfessional")
ENVELOPE = {"ISA", "GS", "GE", "IEA"}

# LFH logs each unsupported segment with a traceback: the JSON line already says it, stderr stays for real crashes.
logging.getLogger("linuxforhealth").setLevel(logging.CRITICAL + 1)

Segment = tuple[str, list[str]]


class _Position:
    """Where LFH is in the file: wraps its segment stream, so an error can name the transaction and segment."""

    def __init__(self, transaction: str | None, offset: int) -> None:
        self.transaction = transaction
        self.segment: str | None = None
        self.segment_position = offset  # segments of the file before this chunk's first, less its ISA and GS
        self.offset = offset

    def track(self, segments: Iterator[Segment]) -> Iterator[Segment]:
        for name, fields in segments:
            if name not in ("ISA", "GS"):  # the chunk's copies of the file's envelope
                self.segment_position += 1
            self.segment = name
            yield name, fields

    def error(self, message: str, loop: str | None = None) -> dict[str, Any]:
        return {
            "transaction": self.transaction,
            "segment": self.segment,
            "segment_position": self.segment_position,
            "loop": loop,
            "message": message,
        }


def _file_error(transaction: str | None, segment: str | None, segment_position: int, message: str) -> dict[str, Any]:
    """An error found while cutting the file into transaction sets, before LFH sees them."""
    return {
        "transaction": transaction,
        "segment": segment,
        "segment_position": segment_position,
        "loop": None,
        "message": message,
    }


def _lfh_errors(exc: Exception, position: _Position) -> list[dict[str, Any]]:
    """LFH's exception as error entries: one per pydantic error, else its type and message."""
    if isinstance(exc, ValidationError):
        return [position.error(str(e["msg"]), loop="/".join(str(p) for p in e["loc"])) for e in exc.errors()]
    if isinstance(exc, KeyError):  # LFH's lookup of a segment model (or of an implementation version) by name
        key = exc.args[0] if exc.args else ""
        if key == position.segment:
            return [position.error(f"unsupported segment {key} (KeyError)")]
        return [position.error(f"KeyError: {key}")]
    return [position.error(f"{type(exc).__name__}: {exc}")]


def _parse_transaction(chunk: str, position: _Position) -> tuple[int, list[dict[str, Any]]]:
    """One ISA+GS+ST..SE chunk through X12ModelReader: (models parsed, errors)."""
    models = 0
    errors: list[dict[str, Any]] = []
    try:
        with X12ModelReader(chunk) as reader:
            # LFH keeps its segment stream private; wrapping it is the only way to learn where a failure happened.
            segment_reader = reader._x12_segment_reader
            stream = segment_reader.segments
            segment_reader.segments = lambda: position.track(stream())
            for model in reader.models():
                models += 1
                kind = (type(model).__module__, type(model).__name__)
                if kind != EXPECTED_MODEL:
                    errors.append(position.error(f"parsed as {'.'.join(kind)}, not a 005010X222A1 837P"))
    except Exception as exc:
        errors.extend(_lfh_errors(exc, position))
        return models, errors
    if models != 1:
        errors.append(position.error(f"{models} transaction sets parsed from one ST (SE missing?)"))
    return models, errors


def _known_deviation(name: str, fields: list[str]) -> Segment:
    """LFH 0.57.0 only knows DMG03 ``F``/``M``; 005010X222A1 also allows ``U`` (unknown), and pyx12 checks it.

    The runner hands LFH ``F`` for a ``U`` so the rest of the transaction is still validated instead of LFH giving
    up at the DMG (the gender is not part of any LFH cross-field check). Nothing else is ever changed.
    """
    if name == "DMG" and len(fields) > 3 and fields[3] == "U":
        return name, [*fields[:3], "F", *fields[4:]]
    return name, fields


def _st02(transaction: list[Segment]) -> str | None:
    fields = transaction[0][1]
    return fields[2] if len(fields) > 2 else None


def validate_file(path: Path) -> dict[str, Any]:
    """Parse every transaction set of one file into LFH's 837P models; problems become ``errors``, never raised."""
    errors: list[dict[str, Any]] = []
    transactions = parsed = 0
    try:
        text = path.read_text(encoding="utf-8")
        with X12SegmentReader(text) as reader:
            delimiters = reader.delimiters
            segments: list[Segment] = list(reader.segments())
    except Exception as exc:
        errors.append(_file_error(None, None, 0, f"{type(exc).__name__}: {exc}"))
        return {"file": str(path), "ok": False, "transactions": 0, "parsed": 0, "errors": errors}

    def join(chunk: list[Segment]) -> str:
        return "".join(delimiters.element_separator.join(f) + delimiters.segment_terminator for _, f in chunk)

    envelope: dict[str, Segment] = {}
    current: list[Segment] | None = None
    start = 0
    for index, (name, fields) in enumerate(segments):
        if name == "ST":
            if current is not None:
                errors.append(_file_error(_st02(current), name, index + 1, "ST before the SE of the previous ST"))
            current, start = [(name, fields)], index
            transactions += 1
        elif current is not None:
            current.append(_known_deviation(name, fields))
        elif name in ENVELOPE:
            envelope[name] = (name, fields)
        else:
            errors.append(_file_error(None, name, index + 1, f"segment {name} outside any ST..SE"))
        if name == "SE" and current is not None:
            header = [envelope[n] for n in ("ISA", "GS") if n in envelope]
            models, chunk_errors = _parse_transaction(join(header + current), _Position(_st02(current), start))
            parsed += models
            errors.extend(chunk_errors)
            current = None
    if current is not None:
        last = segments[-1][0]
        errors.append(_file_error(_st02(current), last, len(segments), "transaction set not closed by SE"))
    if transactions == 0:
        errors.append(_file_error(None, None, len(segments), "no transaction set (no ST segment)"))
    return {"file": str(path), "ok": not errors, "transactions": transactions, "parsed": parsed, "errors": errors}


def _files(arguments: list[str]) -> list[Path]:
    files: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files.extend(sorted(child for child in path.iterdir() if child.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(argument)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parse 837P files with LinuxForHealth x12, one JSON line per file.")
    parser.add_argument("paths", nargs="+", help="837P files, or directories of them")
    arguments = parser.parse_args(argv)
    try:
        files = _files(arguments.paths)
    except FileNotFoundError as exc:
        print(f"no such file or directory: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    all_ok = True
    for path in files:
        result = validate_file(path)
        all_ok = all_ok and result["ok"]
        print(json.dumps(result))  # noqa: T201
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
