"""pyx12 validation of a whole X12 interchange, reported as data-free ``X12Issue`` objects.

pyx12's own driver (``pyx12.x12n_document.x12n_document``) keeps its error tree to itself and only exports it through
visitors that drop element errors on the envelope segments (ISA, GS, ST, SE, GE, IEA). ``_Pyx12Run`` follows the same
steps with pyx12's public building blocks (``X12Reader``, ``walk_tree``, ``apply_walk_errors``,
``apply_segment_errors``, the bundled maps) and hands a collecting ``err_handler`` in, so every error arrives with the
segment, loop and element it belongs to.

pyx12 writes offending values (names, member ids, whole segments) into its messages and logs them at ERROR level.
Neither leaves this module: the ``pyx12`` logger is silenced here, and an issue keeps pyx12's message only when it
matches a pattern known to hold map names and counts alone; otherwise the message is rebuilt from the error code.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from typing import Annotated, Any, Literal

import pyx12.error_handler
import pyx12.errors
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.x12file
from pydantic import BaseModel, ConfigDict, Field
from pyx12.map_if._segment import apply_segment_errors
from pyx12.map_walker import apply_walk_errors, walk_tree

__all__ = [
    "X12_835_VERSION",
    "X12_837P_VERSION",
    "IssueLevel",
    "X12Issue",
    "validate_835",
    "validate_837p",
    "validate_x12",
]

X12_837P_VERSION = "005010X222A1"
X12_835_VERSION = "005010X221A1"

# pyx12 logs offending values (PHI) at ERROR level: raise the threshold of its whole logger tree above CRITICAL, which
# holds whatever handlers get attached later (a non-propagating logger is not enough: pytest's caplog attaches to it).
logging.getLogger("pyx12").setLevel(logging.CRITICAL + 1)

IssueLevel = Literal["interchange", "group", "transaction", "segment", "element"]

_ELEMENT_CODES = {  # 999 IK403 (implementation data element syntax error codes)
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated (element marked not used is present)",
    "12": "too many repetitions",
    "13": "too many components",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
}
_SEGMENT_CODES = {  # 999 IK304 plus pyx12's own HL/LX/SEG checks
    "1": "unrecognized or unexpected segment",
    "2": "unexpected segment (marked not used)",
    "3": "required segment or loop missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "HL1": "HL01 does not continue the HL numbering",
    "HL2": "HL02 does not name an open parent HL",
    "LX": "LX01 does not continue the service line numbering",
    "SEG1": "segment ends with empty elements (trailing element separators)",
}
_TRANSACTION_CODES = {  # 999 IK502
    "1": "transaction set not supported",
    "2": "transaction set trailer (SE) missing",
    "3": "ST02 and SE02 do not match",
    "4": "SE01 does not equal the number of segments in the transaction set",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "23": "transaction set control number not unique within the functional group",
}
_GROUP_CODES = {  # 999 AK905
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer (GE) missing",
    "4": "GS06 and GE02 do not match",
    "5": "GE01 does not equal the number of transaction sets in the group",
    "6": "group control number violates syntax",
    "VERSION": "GS08 is not the expected implementation guide version",
}
_INTERCHANGE_CODES = {  # TA105
    "001": "ISA13 and IEA02 do not match",
    "021": "IEA01 does not equal the number of functional groups",
    "023": "improper end of file (a trailer is missing)",
    "024": "invalid interchange content",
    "025": "duplicate interchange control number",
    "NOT-X12": "not a readable X12 interchange (ISA segment and delimiters)",
    "NO-MAP": "no pyx12 map for this ISA12/GS01/GS08",
}
_CODE_TABLES: dict[str, dict[str, str]] = {
    "interchange": _INTERCHANGE_CODES,
    "group": _GROUP_CODES,
    "transaction": _TRANSACTION_CODES,
    "segment": _SEGMENT_CODES,
    "element": _ELEMENT_CODES,
}

# pyx12 messages that hold only map names, ids and counts; any other message is replaced by the code description.
_DATA_FREE_MESSAGES = tuple(
    re.compile(pattern)
    for pattern in (
        r'Mandatory (segment|loop) "[A-Za-z0-9 ,/()&.\'-]*" \([A-Z0-9]{2,6}\) missing',
        r'Mandatory data element "[A-Za-z0-9 ,/()&.\'-]*" \([A-Z0-9]{2,3}[0-9]{2}(-[0-9]{2})?\) is missing',
        r'Data element "[A-Za-z0-9 ,/()&.\'-]*" \([A-Z0-9]{2,3}[0-9]{2}(-[0-9]{2})?\) is marked as Not Used',
        r"(Loop|Segment) [A-Z0-9]{2,6} exceeded max count\.  Found [0-9]+, should have [0-9]+",
        r"(Loop|Segment) [A-Z0-9]{2,6} found but marked as not used",
        r"Segment contains trailing element terminators",
    )
)
_MAP_NAME = re.compile(r"[A-Za-z0-9 ,/()&.'-]{1,80}")
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_ELEMENT_REF = re.compile(r"^[A-Z][A-Z0-9]{1,2}[0-9]{2}(-[0-9]{1,2})?$")
_LOOP_ID = re.compile(r"^[0-9]{4}[A-Z]{0,2}$")


class X12Issue(BaseModel):
    """One pyx12 finding, located by segment/loop/element and free of data values.

    ``segment_index`` is the 1-based ordinal of the segment in the interchange (ISA = 1), ``x12_path`` the pyx12 map
    path of the loop the validator was in (``/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/CLM``), ``loop`` the
    IG loop id from that path (``2300``), ``element`` the reference designator (``CLM05-01``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: IssueLevel
    code: Annotated[str, Field(min_length=1)]
    message: str
    segment_id: str | None = None
    segment_index: int | None = None
    loop: str | None = None
    x12_path: str | None = None
    element: str | None = None

    @property
    def location(self) -> str:
        """``2300 CLM05-01`` style, for ``Finding.x12_location`` and log lines."""
        where = self.element or self.segment_id or self.level.upper()
        return f"{self.loop} {where}" if self.loop else where

    def __str__(self) -> str:
        index = f" (segment {self.segment_index})" if self.segment_index is not None else ""
        return f"{self.location}{index} [{self.level} {self.code}]: {self.message}"


def validate_x12(text: str) -> list[X12Issue]:
    """Validate a whole interchange with pyx12 against the map its ISA12/GS01/GS08 select.

    Parameters
    ----------
    text:
        The interchange (ISA..IEA), any delimiters; a leading byte-order mark is ignored.

    Returns
    -------
    list[X12Issue]
        Every error pyx12 reported, in document order; an empty list means the interchange is valid.
    """
    return _Pyx12Run(text.removeprefix("\ufeff")).run()


def validate_837p(text: str) -> list[X12Issue]:
    """``validate_x12`` for an 837P: additionally every GS08 must be ``005010X222A1`` (HIPAA-adopted TR3)."""
    return _validate_version(text, X12_837P_VERSION)


def validate_835(text: str) -> list[X12Issue]:
    """``validate_x12`` for an 835: additionally every GS08 must be ``005010X221A1`` (HIPAA-adopted TR3).

    pyx12's 835 map checks structure, codes and lengths; the balancing rules of the TR3 (section 1.10.2) are not in
    the map and are the builder's (and its tests') job.
    """
    return _validate_version(text, X12_835_VERSION)


def _validate_version(text: str, expected: str) -> list[X12Issue]:
    issues = validate_x12(text)
    versions = _group_versions(text.removeprefix("\ufeff"))
    if not versions and not issues:
        return [_issue("group", "VERSION", segment_id="GS")]
    wrong = [
        _issue("group", "VERSION", segment_id="GS", segment_index=index)
        for index, version in versions
        if version != expected
    ]
    return wrong + issues


def _group_versions(text: str) -> list[tuple[int, str]]:
    """(segment index, GS08) for every GS, read with pyx12's delimiter detection; empty if unreadable."""
    try:
        reader = pyx12.x12file.X12Reader(io.StringIO(text))
        found = []
        for seg in reader:
            if seg.get_seg_id() == "GS":
                found.append((reader.get_cur_line(), seg.get_value("GS08") or ""))
        reader.close()
    except pyx12.errors.X12Error:
        return []
    return found


def _issue(
    level: IssueLevel,
    code: str,
    pyx12_message: str = "",
    *,
    segment_id: str | None = None,
    segment_index: int | None = None,
    x12_path: str | None = None,
    element: str | None = None,
    element_name: str | None = None,
) -> X12Issue:
    if any(pattern.fullmatch(pyx12_message) for pattern in _DATA_FREE_MESSAGES):
        message = pyx12_message
    else:
        message = _CODE_TABLES[level].get(code, f"pyx12 {level} error")
        if element_name and _MAP_NAME.fullmatch(element_name):
            message = f'{message} ("{element_name}")'
    loop = None
    if x12_path:
        loop = next((part for part in reversed(x12_path.split("/")) if _LOOP_ID.match(part)), None)
    return X12Issue(
        level=level,
        code=code,
        message=message,
        segment_id=segment_id if segment_id and _SEGMENT_ID.match(segment_id) else None,
        segment_index=segment_index,
        loop=loop,
        x12_path=x12_path,
        element=element if element and _ELEMENT_REF.match(element) else None,
    )


class _CollectingErrHandler(pyx12.error_handler.err_handler):  # type: ignore[misc]
    """An ``err_handler`` that records located ``X12Issue`` objects instead of logging pyx12's messages."""

    def __init__(self) -> None:
        super().__init__()
        self.issues: list[X12Issue] = []
        self.segment_id: str | None = None
        self.segment_index: int | None = None
        self.x12_path: str | None = None

    def _record(self, level: IssueLevel, code: str, message: str, **where: Any) -> None:
        self.issues.append(
            _issue(
                level,
                str(code),
                message,
                segment_id=where.get("segment_id", self.segment_id),
                segment_index=where.get("segment_index", self.segment_index),
                x12_path=self.x12_path,
                element=where.get("element"),
                element_name=where.get("element_name"),
            )
        )

    # The overrides below replace pyx12's (which only log the message with its values and extend an error tree
    # nobody reads here); every error is recorded with the segment the run is on.
    def isa_error(self, err_cde: str, err_str: str) -> None:
        self._record("interchange", err_cde, err_str)

    def gs_error(self, err_cde: str, err_str: str) -> None:
        self._record("group", err_cde, err_str)

    def st_error(self, err_cde: str, err_str: str) -> None:
        self._record("transaction", err_cde, err_str)

    def seg_error(self, err_cde: str, err_str: str, err_value: str | None = None, src_line: int | None = None) -> None:
        self._record("segment", err_cde, err_str, segment_index=src_line or self.segment_index)

    def ele_error(self, err_cde: str, err_str: str, bad_value: str | None, refdes: str | None = None) -> None:
        name = getattr(self.cur_ele_node, "name", None)
        self._record("element", err_cde, err_str, element=refdes, element_name=name)


@functools.cache
def _load_map(map_file: str) -> Any:
    """A pyx12 map, parsed once per process (0.27 s for the 837P map): pyx12 4 keeps a walk's counts in its
    ``walk_tree``, not in the map, so one map object serves every validation (one at a time, as pyx12 needs)."""
    return pyx12.map_if.load_map_file(map_file, pyx12.params.ParamsBase())


class _Pyx12Run:
    """One validation pass; mirrors ``pyx12.x12n_document.x12n_document`` for 5010 without its report writers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.errh = _CollectingErrHandler()
        self.param = pyx12.params.ParamsBase()  # defaults only: no ~/.pyx12.conf.xml, maps from package resources

    def run(self) -> list[X12Issue]:
        try:
            src = pyx12.x12file.X12Reader(io.StringIO(self.text))
        except pyx12.errors.X12Error:
            return [_issue("interchange", "NOT-X12", segment_id="ISA", segment_index=1)]
        try:
            self._walk(src)
        except pyx12.errors.X12Error:
            self.errh.issues.append(_issue("interchange", "NOT-X12", segment_index=self.errh.segment_index))
        except _NoMapError as exc:
            self.errh.issues.append(_issue("interchange", "NO-MAP", segment_id="GS", segment_index=exc.segment_index))
        finally:
            src.close()
        return self.errh.issues

    def _walk(self, src: Any) -> None:
        errh = self.errh
        if src.icvn != "00501":
            raise _NoMapError(1)
        control_map = _load_map("x12.control.00501.xml")
        index = pyx12.map_index.map_index()
        map_file = "x12.control.00501.xml"
        transaction_map = control_map
        node = control_map.getnodebypath("/ISA_LOOP/ISA")
        walker = walk_tree()
        icvn: str | None = None
        for seg in src:
            seg_id = seg.get_seg_id()
            errh.segment_id, errh.segment_index = seg_id, src.get_cur_line()
            previous = node
            if seg_id == "ISA":
                node = control_map.getnodebypath("/ISA_LOOP/ISA")
                walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
            elif seg_id == "GS":
                node = control_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
            else:
                node, _pop, _push, walk_errors = walker.walk_errors(
                    node, seg, src.get_seg_count(), src.get_cur_line(), src.get_ls_id()
                )
                apply_walk_errors(errh, walk_errors)
            if node is None:
                node = previous
                continue
            errh.x12_path = node.get_path()
            if seg_id == "ISA":
                errh.add_isa_loop(seg, src)
                icvn = seg.get_value("ISA12")
                errh.handle_errors(src.pop_errors())
            elif seg_id == "IEA":
                errh.handle_errors(src.pop_errors())
                errh.close_isa_loop(node, seg, src)
            elif seg_id == "GS":
                new_map_file = index.get_filename(icvn, seg.get_value("GS08"), seg.get_value("GS01"))
                if new_map_file is None:
                    raise _NoMapError(src.get_cur_line())
                if new_map_file != map_file:
                    map_file = new_map_file
                    transaction_map = _load_map(map_file)
                    src.check_837_lx = transaction_map.id == "837"
                node = transaction_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                errh.add_gs_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "GE":
                errh.handle_errors(src.pop_errors())
                errh.close_gs_loop(node, seg, src)
            elif seg_id == "ST":
                errh.add_st_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "SE":
                errh.handle_errors(src.pop_errors())
                errh.close_st_loop(node, seg, src)
            else:
                errh.add_seg(node, seg, src.get_seg_count(), src.get_cur_line(), src.get_ls_id())
                errh.handle_errors(src.pop_errors())
            apply_segment_errors(node, seg, errh)
        src.cleanup()  # reports trailers that never came
        errh.handle_errors(src.pop_errors())


class _NoMapError(Exception):
    def __init__(self, segment_index: int) -> None:
        super().__init__(segment_index)
        self.segment_index = segment_index
