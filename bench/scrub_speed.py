"""Scrubber time per claim, a baseline batch against a larger one, side by side.

Every claim goes through all registered rules with the patient's earlier claims as history (eight visits per
patient, as a weekly therapy patient has in two months), like ingest does. Time per claim should stay ~1x as the
batch grows: a rule that scans history or tables in a way that grows with the batch shows as a ratio above 1.

    python -m bench.scrub_speed [--claims 200,2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

from claimbridge.claim import ProfessionalClaim
from claimbridge.scrubber import HELD, InMemoryHistory, scrub
from claimbridge.tenants import DEMO_TENANT_FILE, load_tenant_config
from tests.unit.x12_builders import claim, line

VISITS_PER_PATIENT = 8
AS_OF = date(2026, 3, 10)
FLAT_RATIO = 1.25


def claims(count: int) -> list[ProfessionalClaim]:
    """``count`` one-line 90837 claims, eight weekly visits per patient (distinct patient keys)."""
    built = []
    for number in range(count):
        patient, visit = divmod(number, VISITS_PER_PATIENT)
        claim_id = f"CB{number:08d}"
        day = AS_OF - timedelta(days=7 * (VISITS_PER_PATIENT - visit))
        built.append(
            claim(
                claim_id,
                patient_key=f"{patient:064x}",
                lines=(line(claim_id=claim_id, service_date=day, documented_minutes=55, charge=Decimal(180)),),
            )
        )
    return built


def run(count: int) -> tuple[float, int]:
    """Seconds per claim and the number held, for ``count`` claims."""
    tenant = load_tenant_config(DEMO_TENANT_FILE)
    batch = claims(count)
    history = InMemoryHistory()
    held = 0
    started = time.perf_counter()
    for item in batch:
        held += scrub(item, tenant=tenant, as_of=AS_OF, history=history).status == HELD
        history.add(item)
    return (time.perf_counter() - started) / count, held


def benchmark(sizes: list[int]) -> int:
    """Print the per-claim time of each size and its ratio to the first (the baseline)."""
    run(20)  # warm up: tables and the ICD-10-CM list load once per process
    results = [(size, *run(size)) for size in sizes]
    print("Scrubber speed: demo tenant, every registered rule, patient history in memory")
    print(f"{'claims':>8}  {'ms/claim':>9}  {'held':>5}  {'ratio':>6}")
    base = results[0][1]
    status = 0
    for size, per_claim, held in results:
        ratio = per_claim / base
        print(f"{size:>8}  {per_claim * 1000:>9.2f}  {held:>5}  x{ratio:>5.2f}")
        if held:
            status = 1  # the synthetic claims are clean; a hold means a rule misfires
    verdict = "flat" if results[-1][1] / base < FLAT_RATIO else "NOT flat (grows with the batch)"
    print(f"  -> per-claim time {verdict} (flat < x{FLAT_RATIO})")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scrub_speed", description=__doc__)
    parser.add_argument("--claims", default="200,2000", help="batch sizes, comma-separated, baseline first")
    args = parser.parse_args(argv)
    return benchmark([int(size) for size in args.claims.split(",")])


if __name__ == "__main__":
    sys.exit(main())
