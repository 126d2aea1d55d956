"""What every source implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import Metric

from aura_exporter.deadline import Deadline


@dataclass
class Collected:
    """One successful collection: fresh metric families, plus notes about
    anything optional that is missing (shown by ``aura-exporter check`` and
    logged once)."""

    metrics: list[Metric]
    notes: list[str] = field(default_factory=list)


class Source(Protocol):
    #: label value of ``source`` on the exporter's own metrics
    name: str
    #: (name, help) of the gauge that says whether the target itself is up
    up_metric: tuple[str, str]
    #: every ``reason`` this source may raise, so error counters start at zero
    error_reasons: tuple[str, ...]

    def target(self) -> str:
        """Where the source reads from, safe to print (no secrets)."""
        ...

    def collect(self, deadline: Deadline) -> Collected:
        """Read the target and build fresh metric families. Raise
        ``SourceError`` on failure. Must return before ``deadline``."""
        ...

    def abort(self, deadline: Deadline) -> None:
        """Called from another thread when ``deadline`` passed while the
        ``collect`` call given that deadline was still running: release
        whatever that call is blocked on (and nothing another call uses)."""
        ...

    def close(self) -> None:
        ...
