"""``make goldens``: rewrite tests/goldens/837p/*.x12 from tests/goldens/scenarios.py, then review the diff.

Run from the repository root with the venv python (``python -m tests.goldens.regenerate``). A scenario whose
interchange pyx12 rejects is not written (exit 1); golden files of scenarios that no longer exist are removed.
"""

from __future__ import annotations

import sys

from claimbridge.x12.validate import validate_837p
from tests.goldens.scenarios import GOLDEN_DIR, SCENARIOS, readable, write


def main() -> int:
    """Write every scenario's golden; report each as written, unchanged or rejected by pyx12."""
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    status = 0
    for scenario in SCENARIOS:
        interchange = write(scenario)
        issues = validate_837p(interchange)
        if issues:
            status = 1
            sys.stderr.write(f"NOT written {scenario.path.name}: pyx12 found\n")
            sys.stderr.writelines(f"    {issue}\n" for issue in issues)
            continue
        text = readable(interchange)
        old = scenario.path.read_text(encoding="utf-8") if scenario.path.is_file() else None
        scenario.path.write_text(text, encoding="utf-8", newline="\n")
        sys.stdout.write(f"{'unchanged' if old == text else 'written  '} {scenario.path.name}: {scenario.shows}\n")
    wanted = {scenario.path.name for scenario in SCENARIOS}
    for stale in sorted(GOLDEN_DIR.glob("*.x12")):
        if stale.name not in wanted:
            stale.unlink()
            sys.stdout.write(f"removed   {stale.name} (no scenario)\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
