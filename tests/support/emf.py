"""Read the CloudWatch EMF documents Powertools printed (one JSON document per line)."""

from __future__ import annotations

import json


def emf_values(printed: str) -> list[tuple[str, float, dict[str, str]]]:
    """(metric, value, dimensions) of every EMF document in ``printed``, in order."""
    found = []
    for line in printed.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            (dimension_set,) = directive["Dimensions"]
            dimensions = {name: document[name] for name in dimension_set}
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found.append((metric["Name"], float(value[0] if isinstance(value, list) else value), dimensions))
    return found
