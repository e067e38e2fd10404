"""Every 837P the suite generated must pass pyx12 (005010X222A1), and pyx12 must be able to fail one.

``tests/conftest.py`` records each ``claimbridge.x12.writer.write_837p`` output with the test that produced it and
runs this module after every other test. Run alone, it writes representative interchanges itself, so it can never
pass on an empty list.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from claimbridge.x12 import writer
from claimbridge.x12.validate import validate_837p
from tests import conftest
from tests.unit.x12_builders import (
    CONTROL,
    CREATED,
    claim,
    demo_tenant,
    dependent,
    representative_claims,
    secondary_claim,
)

pytestmark = pytest.mark.contract


def _representative_interchanges() -> list[str]:
    """Written through the (captured) module attribute, like any other test's output."""
    tenant = demo_tenant()
    return [
        writer.write_837p(representative_claims(), tenant=tenant, control=CONTROL, created=CREATED),
        writer.write_837p([claim(patient=dependent())], tenant=tenant, control=CONTROL, created=CREATED),
        writer.write_837p([secondary_claim()], tenant=tenant, control=CONTROL, created=CREATED),
        writer.write_837p(
            [claim(f"CLMSPLIT{n}") for n in range(3)],
            tenant=tenant,
            control=CONTROL,
            created=CREATED,
            max_claims_per_transaction=2,
        ),
    ]


@pytest.mark.validates_generated
def test_generated_837p_all_pass_pyx12() -> None:
    # Given every interchange written during this session (or, run alone, a representative set)
    if not conftest.GENERATED_837P:
        _representative_interchanges()
    generated = list(conftest.GENERATED_837P)
    assert generated, "no 837P was generated, nothing would be validated"
    producers: dict[str, list[str]] = defaultdict(list)
    for node_id, text in generated:
        producers[text].append(node_id)
    # When each distinct interchange is validated with pyx12 against 005010X222A1
    failures = []
    for text, node_ids in producers.items():
        issues = validate_837p(text)
        if issues:
            failures.append(f"{', '.join(sorted(set(node_ids)))}:\n    " + "\n    ".join(str(i) for i in issues))
    # Then none has an issue
    assert not failures, f"{len(failures)} generated 837P failed pyx12:\n" + "\n".join(failures)


@pytest.mark.parametrize(
    ("breakage", "expected_code"),
    [
        ("drop 2010AA NM1*85", "3"),
        ("wrong SE01", "4"),
        ("wrong GE01", "5"),
        ("bad CLM05-2", "7"),
        ("GS08 A2 errata", "VERSION"),
    ],
)
def test_generated_837p_validator_catches_broken_interchange(breakage: str, expected_code: str) -> None:
    # Given a generated 837P, then broken in one place
    text = writer.write_837p([claim()], tenant=demo_tenant(), control=CONTROL, created=CREATED)
    segments = text.split("~")
    if breakage == "drop 2010AA NM1*85":
        broken = "~".join(s for s in segments if not s.startswith("NM1*85*"))
    elif breakage == "wrong SE01":
        broken = "~".join(
            f"SE*{int(s.split('*')[1]) + 1}*{s.split('*')[2]}" if s.startswith("SE*") else s for s in segments
        )
    elif breakage == "wrong GE01":
        broken = text.replace("~GE*1*", "~GE*2*")
    elif breakage == "bad CLM05-2":
        broken = text.replace(":B:1*", ":X:1*")
    else:
        broken = text.replace("005010X222A1", "005010X222A2")
    assert broken != text
    # When both are validated
    clean_issues, broken_issues = validate_837p(text), validate_837p(broken)
    # Then only the broken one fails, with the expected pyx12 code
    assert clean_issues == []
    assert expected_code in {issue.code for issue in broken_issues}, [str(i) for i in broken_issues]
