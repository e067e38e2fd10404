"""Shared by the clearinghouse adapter tests: clean 837Ps, a port nobody listens on, a server that never answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from claimbridge.x12.reader import read_segments
from claimbridge.x12.writer import write_837p
from tests.unit.x12_builders import CONTROL, CREATED, claim, demo_tenant


def clean_837p(claim_ids: Sequence[str] = ("CLMSELF1",)) -> str:
    """An 837P from the project's writer (demo tenant, synthetic one-line claims), clean for pyx12."""
    return write_837p(
        [claim(claim_id) for claim_id in claim_ids], tenant=demo_tenant(), control=CONTROL, created=CREATED
    )


def claim_ids_of(x12: str) -> list[str]:
    return [segment.element(1) for segment in read_segments(x12) if segment.tag == "CLM"]


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections (the kernel's backlog) and never says a word: for timeouts."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port: int = listener.getsockname()[1]
        yield port
