"""Peak memory and time of ingesting an NDJSON submission, a baseline size against a large one, side by side.

Issue 3's "done when": a 200 MB NDJSON submission ingests with the same peak memory as a 10 MB one. Each size is
generated from the Synthea corpus (``bench.corpus_ndjson``) and ingested in a fresh process, so the peak RSS
(``ru_maxrss``) is that run's alone:

    python -m bench.ingest_memory --run FILE     # read_submission + AnchorScan + iter_intake + scrub; JSON on stdout
    python -m bench.ingest_memory --floor        # only import claimbridge and load the tenant; JSON on stdout

Results are counted and dropped, as the fan-out does (each stored at once), never collected. The parent prints the
sizes side by side with the ratios to the baseline: peak RSS (and peak minus the floor, what ingestion itself adds)
should stay ~1x while time grows like the size (linear).

``--trace`` adds tracemalloc to a run: the 15 source lines holding the most Python memory at the end of reading and
at the end of mapping, to find what grows with the file when the peak does not stay flat.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.corpus_ndjson import MIB, REPO_ROOT, CorpusMissing, corpus_export_dir, load_corpus, write_submission

DEMO_TENANT = REPO_ROOT / "examples" / "tenants" / "demo-practice.json"
SCRUB_AS_OF = date(2026, 11, 28)  # fixed, so runs on different days scrub alike
FLAT_RATIO = 1.25  # peak-minus-floor growth below this counts as flat
TRACE_TOP = 15


def _peak_rss_kib() -> int:
    """This process's peak resident set size (``ru_maxrss`` is KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _trace_top(label: str) -> list[str]:
    import tracemalloc  # noqa: PLC0415 - only with --trace

    snapshot = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(inclusive=False, filename_pattern=tracemalloc.__file__),)
    )
    lines = [
        f"{label}: traced now {tracemalloc.get_traced_memory()[0] / MIB:.1f} MiB, peak "
        f"{tracemalloc.get_traced_memory()[1] / MIB:.1f} MiB"
    ]
    for stat in snapshot.statistics("lineno")[:TRACE_TOP]:
        frame = stat.traceback[0]
        lines.append(f"  {stat.size / 1024:9.1f} KiB {stat.count:8d} blocks  {frame.filename}:{frame.lineno}")
    return lines


def run_ingest(path: Path, *, trace: bool = False) -> dict[str, Any]:
    """Ingest ``path`` as an NDJSON submission for the demo tenant; counts, timings and peak RSS (child side)."""
    if trace:
        import tracemalloc  # noqa: PLC0415 - only with --trace

        tracemalloc.start()
    from claimbridge.fhir import read_submission  # noqa: PLC0415 - imported in the measured process only
    from claimbridge.intake import AnchorScan, MappedClaim, RejectedSource, iter_intake  # noqa: PLC0415
    from claimbridge.scrubber import HELD, scrub  # noqa: PLC0415
    from claimbridge.tenants import load_tenant_config  # noqa: PLC0415

    tenant = load_tenant_config(DEMO_TENANT)
    traced: list[str] = []
    started = time.perf_counter()
    with path.open("rb") as stream:
        index = read_submission(stream, file_name="export.ndjson")
    read_done = time.perf_counter()
    if trace:
        traced += _trace_top("after read_submission")
    claims = held = rejected = 0
    rules: Counter[str] = Counter()
    with index:
        scan = AnchorScan(index, tenant)
        for outcome in iter_intake(index, tenant=tenant, rows=scan):
            if isinstance(outcome, MappedClaim):
                claims += 1
                # The pipeline's RECEIVED -> READY/HELD step (history comes from the store there, not memory)
                scrubbed = scrub(outcome.claim, tenant=tenant, as_of=SCRUB_AS_OF)
                held += outcome.held or scrubbed.status == HELD
                rules.update({finding.rule_id for finding in (*outcome.findings, *scrubbed.findings)})
            elif isinstance(outcome, RejectedSource):
                rejected += 1
                rules.update({finding.rule_id for finding in outcome.findings})
        if trace:
            traced += _trace_top("after iter_intake")
        finished = time.perf_counter()
        found = {
            "resources": index.next_row,
            "kept": index.count(),
            "skipped_types": sum(index.skipped_types.values()),
            "line_errors": index.line_error_count,
            "skipped": scan.skipped,
        }
    return {
        "file_bytes": path.stat().st_size,
        **found,
        "anchors": claims + rejected,
        "claims": claims,
        "held": held,
        "rejected": rejected,
        "rule_ids": dict(rules.most_common()),
        "read_s": read_done - started,
        "map_s": finished - read_done,
        "wall_s": finished - started,
        "peak_rss_kib": _peak_rss_kib(),
        "trace": traced,
    }


def run_floor() -> dict[str, Any]:
    """Import what a run imports and load the tenant, nothing else: the RSS every run starts from (child side)."""
    import claimbridge.fhir  # noqa: PLC0415
    import claimbridge.intake  # noqa: F401, PLC0415
    from claimbridge.tenants import load_tenant_config  # noqa: PLC0415

    load_tenant_config(DEMO_TENANT)
    return {"peak_rss_kib": _peak_rss_kib()}


def _child(*args: str) -> dict[str, Any]:
    """Run this module in a fresh interpreter; its last stdout line is the JSON result."""
    done = subprocess.run(  # noqa: S603 - our own module, arguments we built
        [sys.executable, "-m", "bench.ingest_memory", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.ingest_memory {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@dataclass(frozen=True)
class SizeRun:
    """One size's generated file and the child's measurements."""

    target_mb: float
    generated_s: float
    result: dict[str, Any]

    @property
    def peak_mib(self) -> float:
        return float(self.result["peak_rss_kib"]) / 1024


def _label(size_mb: float) -> str:
    return f"{size_mb:g} MB"


def measure(sizes_mb: list[float], *, trace: bool = False) -> tuple[float, list[SizeRun]] | None:
    """Floor and one run per size (the first is the baseline); ``None`` when the corpus is absent."""
    try:
        folder = corpus_export_dir()
    except CorpusMissing as exc:
        print(f"ingest_memory: skipped, the Synthea corpus is absent ({exc})")
        return None
    corpus = load_corpus(folder)
    floor_mib = float(_child("--floor")["peak_rss_kib"]) / 1024
    runs: list[SizeRun] = []
    for size_mb in sizes_mb:
        with tempfile.TemporaryDirectory(prefix="claimbridge-bench-") as folder_name:
            path = Path(folder_name) / "export.ndjson"
            started = time.perf_counter()
            made = write_submission(path, corpus, target_bytes=int(size_mb * MIB))
            generated_s = time.perf_counter() - started
            print(
                f"  {_label(size_mb)}: generated {made.size_bytes / MIB:.1f} MiB ({made.patients} patients in "
                f"{made.copies} copies) in {generated_s:.1f} s, ingesting ...",
                flush=True,
            )
            args = ["--run", str(path), *(["--trace"] if trace else [])]
            runs.append(SizeRun(target_mb=size_mb, generated_s=generated_s, result=_child(*args)))
    return floor_mib, runs


def _ratio(value: float, baseline: float) -> str:
    return f"x{value / baseline:.2f}" if baseline else "-"


def report(floor_mib: float, runs: list[SizeRun]) -> str:
    """The side-by-side table, the ratios to the first size, and a one-line reading of them."""
    columns = (
        ("size", 8), ("file MiB", 9), ("resources", 10), ("anchors", 8), ("claims", 7), ("rejected", 9),
        ("skipped", 8), ("peak RSS MiB", 13), ("peak-floor MiB", 15), ("read s", 7), ("map s", 7), ("wall s", 7),
    )  # fmt: skip
    header = "  ".join(name.rjust(width) for name, width in columns)
    lines = [
        "Ingest memory: NDJSON from the Synthea bulk export, demo-practice tenant, one fresh process per size",
        f"floor (import claimbridge + load the tenant): {floor_mib:.1f} MiB peak RSS",
        "",
        header,
        "-" * len(header),
    ]
    for run in runs:
        r = run.result
        values = (
            _label(run.target_mb), f"{r['file_bytes'] / MIB:.1f}", str(r["resources"]), str(r["anchors"]),
            str(r["claims"]), str(r["rejected"]), str(r["skipped"]), f"{run.peak_mib:.1f}",
            f"{run.peak_mib - floor_mib:.1f}", f"{r['read_s']:.1f}", f"{r['map_s']:.1f}", f"{r['wall_s']:.1f}",
        )  # fmt: skip
        lines.append("  ".join(value.rjust(width) for value, (_, width) in zip(values, columns, strict=True)))
    base = runs[0]
    for run in runs[1:]:
        r, b = run.result, base.result
        values = (
            f"{run.target_mb:g}/{base.target_mb:g}", _ratio(r["file_bytes"], b["file_bytes"]),
            _ratio(r["resources"], b["resources"]), _ratio(r["anchors"], b["anchors"]), "", "", "",
            _ratio(run.peak_mib, base.peak_mib), _ratio(run.peak_mib - floor_mib, base.peak_mib - floor_mib),
            _ratio(r["read_s"], b["read_s"]), _ratio(r["map_s"], b["map_s"]), _ratio(r["wall_s"], b["wall_s"]),
        )  # fmt: skip
        lines.append("  ".join(value.rjust(width) for value, (_, width) in zip(values, columns, strict=True)))
        size_ratio = r["file_bytes"] / b["file_bytes"]
        added = run.peak_mib - base.peak_mib
        growth = (run.peak_mib - floor_mib) / (base.peak_mib - floor_mib)
        time_ratio = r["wall_s"] / b["wall_s"]
        verdict = "flat" if growth < FLAT_RATIO else "NOT flat (grows with the file)"
        lines.append(
            f"  -> x{size_ratio:.1f} the data: peak {added:+.1f} MiB, above the floor x{growth:.2f} "
            f"({verdict}, flat < x{FLAT_RATIO}); "
            f"time x{time_ratio:.1f} (linear when close to x{size_ratio:.1f})"
        )
    rules = runs[-1].result["rule_ids"]
    if rules:
        shown = ", ".join(f"{rule} {count}" for rule, count in rules.items())
        lines.append(f"findings per rule id ({_label(runs[-1].target_mb)}, anchors carrying it): {shown}")
    for run in runs:
        if run.result["trace"]:
            lines += ["", f"tracemalloc, {_label(run.target_mb)}:", *run.result["trace"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``--run FILE`` / ``--floor`` in the measured child; otherwise measure ``--sizes`` and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="child: ingest this NDJSON file and print JSON")
    parser.add_argument("--floor", action="store_true", help="child: only import and load the tenant, print JSON")
    parser.add_argument("--sizes", default="10,200", help="MiB, comma-separated; the first is the baseline")
    parser.add_argument("--trace", action="store_true", help="add tracemalloc's top allocations (slower)")
    args = parser.parse_args(argv)
    if args.run is not None:
        print(json.dumps(run_ingest(args.run, trace=args.trace)))
        return 0
    if args.floor:
        print(json.dumps(run_floor()))
        return 0
    return benchmark(parse_sizes(args.sizes), trace=args.trace)


def parse_sizes(text: str) -> list[float]:
    """``"10,200"`` -> ``[10.0, 200.0]`` (at least two positive sizes: a baseline and one to compare)."""
    sizes = [float(part) for part in text.split(",") if part.strip()]
    if len(sizes) < 2 or min(sizes) <= 0:
        raise SystemExit("--sizes needs at least two positive sizes in MiB, the first being the baseline")
    return sizes


def benchmark(sizes_mb: list[float], *, trace: bool = False) -> int:
    """Measure and print; exit status 0 (a benchmark reports, it does not judge)."""
    print(f"ingest_memory: sizes {', '.join(_label(size) for size in sizes_mb)} (baseline {_label(sizes_mb[0])})")
    measured = measure(sizes_mb, trace=trace)
    if measured is not None:
        print()
        print(report(*measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
