"""Readers for every submission shape (contract section 1), all streaming into a ``SubmissionIndex``.

* a Bundle (``collection``, ``transaction``, ``batch``, ``searchset``, ``document``), read entry by entry with
  ijson, so a 200 MB Bundle never sits in memory as one document;
* an NDJSON file as FHIR Bulk Data ``$export`` writes it, line by line; a line that is not a resource is an
  ``IN-FORMAT`` line error (``file:line``) and the rest of the file goes on;
* a bulk set: the export manifest (complete-status body) naming its NDJSON files, all read into one index so
  references resolve across the files.

Plain or gzip-compressed input alike. Only a file that cannot be read at all raises ``FileFormatError``.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

import ijson
from ijson.common import ObjectBuilder

from claimbridge.errors import FileFormatError
from claimbridge.fhir.bundle import ACCEPTED_BUNDLE_TYPES, resource_label
from claimbridge.fhir.index import LineError, SubmissionIndex, load_json
from claimbridge.fhir.validation import validation_problems

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
MAX_LINE_ERRORS = 1000
MAX_NESTING = 128  # JSON containers open at once in a Bundle (FHIR needs a few dozen at most)
BULK_MANIFEST_NAME = "manifest.json"


class _RawReader(io.RawIOBase):
    """Any object with ``read(n)`` (a botocore StreamingBody) as a raw stream ``io.BufferedReader`` can wrap.

    ``readinto`` fills the buffer unless the source ends: a network body may return short reads, and
    ``BufferedReader.peek`` (the gzip check) makes one raw read only.
    """

    def __init__(self, source: Any) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            data = self._source.read(len(view) - filled)
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled


def binary_stream(source: Any) -> io.BufferedReader:
    """A buffered binary stream over ``source`` (bytes, a file, or anything with ``read(n)``)."""
    if isinstance(source, bytes | bytearray):
        return io.BufferedReader(io.BytesIO(bytes(source)))
    if isinstance(source, io.BufferedReader):
        return source
    return io.BufferedReader(_RawReader(source))


@contextmanager
def _decompressed(source: Any, file_name: str) -> Iterator[IO[bytes]]:
    """The stream itself, or a gunzipping view of it when it starts with the gzip magic."""
    stream = binary_stream(source)
    if stream.peek(2)[:2] == _GZIP_MAGIC:
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            _skip_bom(unzipped)
            yield unzipped  # type: ignore[misc]
    else:
        _skip_bom(stream)
        yield stream


def _skip_bom(stream: Any) -> None:
    """Drop a UTF-8 byte order mark: JSON forbids writing one, but some EHR exports start with it."""
    if stream.peek(3)[:3] == _UTF8_BOM:
        stream.read(3)


def _gzip_errors() -> tuple[type[BaseException], ...]:
    return (OSError, EOFError, zlib.error)


def is_ndjson(file_name: str) -> bool:
    return file_name.endswith((".ndjson", ".ndjson.gz"))


def read_submission(source: Any, *, file_name: str, index: SubmissionIndex | None = None) -> SubmissionIndex:
    """Index one object: NDJSON by its name (``.ndjson``/``.ndjson.gz``), otherwise a Bundle."""
    if is_ndjson(file_name):
        index = index or SubmissionIndex(file_name)
        index.kind = "ndjson"
        try:
            read_ndjson(source, index=index, file_name=file_name)
        except FileFormatError:
            index.close()  # as read_bundle does: no half-read index (or temporary file) is left behind
            raise
        return index.finish()
    return read_bundle(source, file_name=file_name, index=index)


def load_bundle(raw: bytes, *, file_name: str) -> SubmissionIndex:
    """Index a Bundle held in memory (tests, the offline CLI); raises ``FileFormatError`` when unreadable."""
    return read_bundle(raw, file_name=file_name)


# Bundles --------------------------------------------------------------------------------------------------------
class _BundleReader:
    """Consumes ijson events of one Bundle: top-level elements into ``shell``, each entry into the index.

    Fed by ``ijson.basic_parse`` (no prefixes: ijson builds a prefix string per event, quadratic in the nesting
    depth, so a small file of ``[[[[...`` exhausted memory); the reader tracks the depth itself and refuses JSON
    nested deeper than ``MAX_NESTING``, which no FHIR resource needs and the recursive steps after it cannot take.
    """

    def __init__(self, index: SubmissionIndex, file_name: str) -> None:
        self.index = index
        self.file_name = file_name
        self.shell: dict[str, Any] = {}
        self.entry_count = 0
        self._key: str | None = None
        self._value: ObjectBuilder | None = None
        self._depth = 0  # containers open after the current event; 1 = inside the Bundle object

    def feed(self, event: str, value: Any) -> None:
        depth = self._depth  # before this event
        if event in ("start_map", "start_array"):
            self._depth += 1
            if self._depth > MAX_NESTING:
                raise FileFormatError(self.file_name, f"JSON is nested deeper than {MAX_NESTING} levels")
        elif event in ("end_map", "end_array"):
            self._depth -= 1
        if depth == 0:
            if event != "start_map":
                raise FileFormatError(self.file_name, "expected a FHIR Bundle, found not a FHIR resource")
            return
        if depth == 1 and event == "end_map":
            return
        if depth == 1 and event == "map_key":
            self._key = str(value)
            self._value = None
            return
        if self._key == "entry":
            self._entry_event(depth, event, value)
            return
        self._top_level_event(event, value)

    def _top_level_event(self, event: str, value: Any) -> None:
        if self._value is None:
            self._value = ObjectBuilder()
        self._value.event(event, value)
        if self._depth == 1 and self._key is not None:  # the element's value is complete
            self.shell[self._key] = self._value.value
            if self._key == "resourceType" and value != "Bundle":
                kind = value if isinstance(value, str) else None
                found = f"a {kind} resource" if kind else "not a FHIR resource"
                raise FileFormatError(self.file_name, f"expected a FHIR Bundle, found {found}")

    def _entry_event(self, depth: int, event: str, value: Any) -> None:
        if depth == 1:  # the value of Bundle.entry itself
            if event != "start_array":
                raise FileFormatError(f"{self.file_name}:Bundle.entry", "Bundle.entry must be a list")
            return
        if depth == 2:  # an item of the list, or its end
            if event == "end_array":
                return
            if event != "start_map":
                where = f"{self.file_name}:Bundle.entry[{self.entry_count}]"
                raise FileFormatError(where, "Bundle envelope is not valid FHIR R4 (entry is not an object)")
            self._value = ObjectBuilder()
        builder = self._value
        if builder is None:  # unreachable: every item starts at depth 2
            raise FileFormatError(f"{self.file_name}:Bundle.entry[{self.entry_count}]", "entry is not an object")
        builder.event(event, value)
        if self._depth == 2:
            self._entry(builder.value, self.entry_count)
            self.entry_count += 1
            self._value = None

    def _entry(self, entry: dict[str, Any], position: int) -> None:
        resource = entry.get("resource")
        search = entry.get("search")
        shell = {key: value for key, value in entry.items() if key != "resource"}
        problems = validation_problems({"resourceType": "Bundle", "type": "collection", "entry": [shell]}, "Bundle")
        if problems:
            where, kind = problems[0]
            path = where.replace("Bundle.entry[0]", f"Bundle.entry[{position}]", 1)
            raise FileFormatError(f"{self.file_name}:{path}", f"Bundle envelope is not valid FHIR R4 ({kind})")
        if resource is None or (isinstance(search, dict) and search.get("mode") == "outcome"):
            return
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            where = f"{self.file_name}:Bundle.entry[{position}].resource"
            raise FileFormatError(where, "entry resource is not a FHIR resource")
        full_url = entry.get("fullUrl")
        self.index.add(
            resource,
            path=f"Bundle.entry[{position}].resource({resource_label(resource)})",
            full_url=full_url if isinstance(full_url, str) and full_url else None,
        )

    def finish(self) -> None:
        if self.shell.get("resourceType") != "Bundle":
            kind = self.shell.get("resourceType")
            found = f"a {kind} resource" if isinstance(kind, str) else "not a FHIR resource"
            raise FileFormatError(self.file_name, f"expected a FHIR Bundle, found {found}")
        if self.shell.get("type") not in ACCEPTED_BUNDLE_TYPES:
            raise FileFormatError(
                f"{self.file_name}:Bundle.type",
                "Bundle.type must be collection, transaction, batch, searchset or document",
            )
        problems = validation_problems(self.shell, f"{self.file_name}:Bundle")
        if problems:
            where, kind = problems[0]
            raise FileFormatError(where, f"Bundle envelope is not valid FHIR R4 ({kind})")


def read_bundle(source: Any, *, file_name: str, index: SubmissionIndex | None = None) -> SubmissionIndex:
    """Stream one Bundle into an index (``FileFormatError`` when the file is not a readable Bundle)."""
    index = index or SubmissionIndex(file_name)
    index.kind = "bundle"
    reader = _BundleReader(index, file_name)
    try:
        with _decompressed(source, file_name) as stream:
            for event, value in ijson.basic_parse(stream, use_float=False):
                reader.feed(event, value)
    except FileFormatError:
        index.close()
        raise
    except ijson.common.IncompleteJSONError as exc:
        index.close()
        raise FileFormatError(file_name, f"file is not valid JSON ({_json_problem(exc)})") from None
    except _gzip_errors():
        index.close()
        raise FileFormatError(file_name, "file is not readable gzip") from None
    except UnicodeDecodeError:
        index.close()
        raise FileFormatError(file_name, "file is not valid JSON (not UTF-8)") from None
    try:
        reader.finish()
    except FileFormatError:
        index.close()
        raise
    index.set_meta("bundle_type", str(reader.shell["type"]))
    return index.finish()


def _json_problem(exc: Exception) -> str:
    """ijson's message without the input excerpt it sometimes quotes (no PHI in errors), nor a bytes repr."""
    text = str(exc)
    if text.startswith(("b'", 'b"')):
        text = text[2:]
    text = text.split(":", 1)[0].strip()
    return text[:80] if text else "parse error"


# NDJSON ---------------------------------------------------------------------------------------------------------
def read_ndjson(source: Any, *, index: SubmissionIndex, file_name: str) -> None:
    """Stream one NDJSON file into ``index``; bad lines become ``index.line_errors``, not exceptions."""
    try:
        with _decompressed(source, file_name) as stream:
            for number, raw_line in enumerate(stream, start=1):
                line = raw_line.strip()
                if not line:
                    continue
                _ndjson_line(index, file_name, number, line)
    except _gzip_errors():
        raise FileFormatError(file_name, "file is not readable gzip") from None


def _ndjson_line(index: SubmissionIndex, file_name: str, number: int, line: bytes) -> None:
    where = f"{file_name}:{number}"
    try:
        text = line.decode("utf-8")
        resource = load_json(text)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, NaN/Infinity, nested too deep
        _line_error(index, LineError(where, "line is not valid JSON"))
        return
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        _line_error(index, LineError(where, "line is not a FHIR resource"))
        return
    index.add(resource, path=f"{where}({resource_label(resource)})", body=text)


def _line_error(index: SubmissionIndex, error: LineError) -> None:
    index.line_error_count += 1
    if len(index.line_errors) < MAX_LINE_ERRORS:
        index.line_errors.append(error)


# Bulk sets ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestOutput:
    """One ``output`` entry of a Bulk Data complete-status manifest."""

    resource_type: str
    name: str
    path: str


def parse_manifest(raw: bytes, *, file_name: str) -> list[ManifestOutput]:
    """The NDJSON files a manifest lists, as names relative to its folder (``FileFormatError`` when malformed)."""
    try:
        document = load_json(raw)
    except (ValueError, RecursionError):
        raise FileFormatError(file_name, "manifest is not valid JSON") from None
    outputs = document.get("output") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(outputs, list) or "transactionTime" not in document:
        raise FileFormatError(file_name, "not a Bulk Data manifest (transactionTime and output[] are required)")
    found: list[ManifestOutput] = []
    for position, output in enumerate(outputs):
        path = f"{file_name}:output[{position}]"
        url = output.get("url") if isinstance(output, dict) else None
        resource_type = output.get("type") if isinstance(output, dict) else None
        if not isinstance(url, str) or not isinstance(resource_type, str):
            raise FileFormatError(path, "output entries need type and url")
        relative = PurePosixPath(url)
        if "://" in url or relative.is_absolute() or ".." in relative.parts or not is_ndjson(url):
            raise FileFormatError(f"{path}.url", "url must name an .ndjson file relative to the manifest's folder")
        if any(earlier.path == str(relative) for earlier in found):
            raise FileFormatError(f"{path}.url", "the manifest lists this file twice")
        found.append(ManifestOutput(resource_type=resource_type, name=relative.name, path=str(relative)))
    if not found:
        raise FileFormatError(f"{file_name}:output", "the manifest lists no files")
    return found


def read_bulk_set(
    manifest: bytes, *, file_name: str, open_file: Callable[[str], Any], index: SubmissionIndex | None = None
) -> SubmissionIndex:
    """Index every NDJSON file a manifest lists into one submission; ``open_file(relative path)`` gives a stream.

    ``open_file`` raises ``FileNotFoundError`` for a listed file that is not there: the set is incomplete, which is
    a file-level error (the whole submission is quarantined, nothing half-processed).
    """
    outputs = parse_manifest(manifest, file_name=file_name)
    index = index or SubmissionIndex(file_name)
    index.kind = "bulk"
    try:
        for position, output in enumerate(outputs):
            try:
                stream = open_file(output.path)
            except FileNotFoundError:
                raise FileFormatError(
                    f"{file_name}:output[{position}].url", "a file the manifest lists is missing"
                ) from None
            try:
                read_ndjson(stream, index=index, file_name=output.name)
            finally:
                close = getattr(stream, "close", None)
                if callable(close):  # a set may list hundreds of files: one open at a time
                    close()
    except FileFormatError:
        index.close()
        raise
    return index.finish()
