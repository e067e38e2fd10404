"""``python -m bench``: run every benchmark (``--sizes 10,200`` to choose the sizes, ``--quick`` for 2,20 MB)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bench import ingest_memory, scrub_speed

QUICK_SIZES = "2,20"

# name -> runner(sizes in MiB, baseline first) -> exit status
BENCHMARKS: dict[str, Callable[[list[float]], int]] = {
    "ingest_memory": ingest_memory.benchmark,
    # claim counts, not MiB: the scrubber's cost is per claim
    "scrub_speed": lambda _sizes: scrub_speed.benchmark([200, 2000]),
}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks in order; the exit status is the first non-zero one."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default=None, help="MiB, comma-separated, baseline first (default 10,200)")
    parser.add_argument("--quick", action="store_true", help=f"small sizes ({QUICK_SIZES} MiB) for a fast look")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run only these benchmarks")
    args = parser.parse_args(argv)
    sizes = ingest_memory.parse_sizes(args.sizes or (QUICK_SIZES if args.quick else "10,200"))
    status = 0
    for name, runner in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        status = status or runner(sizes)
    return status


if __name__ == "__main__":
    sys.exit(main())
