"""Hit ratio of a pair of cumulative counters over an explicit recent window.

The Mothership exposes cumulative hit and miss counters. A ratio of the
cumulative values would barely move on a long-lived process, so the exporter
keeps the counter values it saw at each scrape and reports
``(hits_now - hits_then) / (lookups_now - lookups_then)`` where "then" is the
newest sample at least ``window`` old. Until such a sample exists the oldest
one is used; if the process (re)started inside the window, its start is used
(the counters were zero then). The value therefore always covers at most
``window`` plus one scrape interval. On the exporter's first scrape of a
process that started before the window there is no history, and no value
is reported rather than a lifetime ratio.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class _Sample:
    at: float
    hits: float
    misses: float


class WindowedRatio:
    def __init__(self, window_seconds: float) -> None:
        if window_seconds <= 0:
            raise ValueError("window must be positive")
        self.window = window_seconds
        self._samples: deque[_Sample] = deque()
        self._started_at: float | None = None
        self._lock = threading.Lock()

    def observe(self, now: float, started_at: float, hits: float, misses: float) -> float | None:
        """Record the counters seen at ``now`` and return the windowed ratio,
        or ``None`` when there were no lookups in the window."""
        with self._lock:
            last = self._samples[-1] if self._samples else None
            restarted = (
                self._started_at is not None and started_at != self._started_at
            ) or (last is not None and (hits < last.hits or misses < last.misses))
            if restarted:
                # A counter reset: history from the previous process is meaningless.
                self._samples.clear()
            self._started_at = started_at
            current = _Sample(now, hits, misses)
            self._samples.append(current)

            # Drop samples that are older than the newest one at least a window old.
            cutoff = now - self.window
            while len(self._samples) >= 2 and self._samples[1].at <= cutoff:
                self._samples.popleft()

            if started_at >= cutoff:
                # The process started inside the window: its counters were
                # zero at start, so everything it counted belongs to the window.
                base = _Sample(started_at, 0.0, 0.0)
            elif self._samples[0] is current:
                # No history yet (the exporter just started): a lifetime
                # ratio would be mislabelled as recent, so report nothing.
                return None
            else:
                base = self._samples[0]
            d_hits = current.hits - base.hits
            d_lookups = d_hits + (current.misses - base.misses)
            if d_lookups <= 0:
                return None
            return d_hits / d_lookups
