"""The sync queue: batches accepted updates by ``batch_size`` / ``flush_interval_ms``
and fans each batch out to the peers subscribed to its zones.

Fan-out model: every delivery (one update to one subscribed peer) stays in
flight until that peer acknowledges it, one round trip later. At most
``max_in_flight`` deliveries are in flight, so fan-out throughput is
``max_in_flight / (subscribers x round trip)`` updates per second: many
subscribers on one zone (an agent fleet refactoring together) shrink it.
Pushers are held back (backpressure) while the queue holds ``max_in_flight``
updates or more. ``compression = "zstd"`` halves the round trip (less to send).
"""

from __future__ import annotations

import collections
import heapq
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class Backpressure(Exception):
    pass


@dataclass
class Update:
    zone: int
    queued_at: float


class SyncQueue:
    def __init__(
        self,
        batch_size: int,
        flush_interval_ms: int,
        max_in_flight: int,
        compression: str,
        subscribers: Callable[[int], int],
        round_trip: float = 0.05,
        batch_overhead: float = 0.002,
        push_timeout: float = 10.0,
    ) -> None:
        self.batch_size = batch_size
        self.flush_interval = flush_interval_ms / 1000.0
        self.max_in_flight = max_in_flight
        self.round_trip = round_trip * (0.5 if compression == "zstd" else 1.0)
        self.batch_overhead = batch_overhead
        self.push_timeout = push_timeout
        self._subscribers = subscribers
        self._queue: collections.deque[Update] = collections.deque()
        self._cond = threading.Condition()
        self.in_flight = 0
        self.updates = 0
        self.batches = 0
        self.backpressure_events = 0
        self._acks: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._sender, name="sync-sender", daemon=True),
            threading.Thread(target=self._acker, name="sync-acker", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def depth(self) -> int:
        return len(self._queue)

    def enqueue(self, zone: int) -> None:
        """Accept one update; blocks (backpressure) while the queue is full."""
        with self._cond:
            if len(self._queue) >= self.max_in_flight:
                self.backpressure_events += 1
                deadline = time.monotonic() + self.push_timeout
                while len(self._queue) >= self.max_in_flight:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._stop.is_set():
                        raise Backpressure("sync queue at max_in_flight")
                    self._cond.wait(remaining)
            self._queue.append(Update(zone, time.monotonic()))
            self.updates += 1
            self._cond.notify_all()

    def _take_batch(self) -> list[Update]:
        with self._cond:
            while not self._stop.is_set():
                if self._queue:
                    age = time.monotonic() - self._queue[0].queued_at
                    if len(self._queue) >= self.batch_size or age >= self.flush_interval:
                        batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
                        self._cond.notify_all()
                        return batch
                    self._cond.wait(self.flush_interval - age)
                else:
                    self._cond.wait(0.1)
            return []

    def _sender(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            if not batch:
                continue
            self.batches += 1
            time.sleep(self.batch_overhead)
            deliveries = sum(max(1, self._subscribers(u.zone)) for u in batch)
            # Send in chunks that fit the in-flight window, waiting for acks in between.
            while deliveries > 0 and not self._stop.is_set():
                with self._cond:
                    while self.in_flight >= self.max_in_flight and not self._stop.is_set():
                        self._cond.wait(0.05)
                    chunk = min(deliveries, self.max_in_flight - self.in_flight)
                    self.in_flight += chunk
                    heapq.heappush(self._acks, (time.monotonic() + self.round_trip, chunk))
                    self._cond.notify_all()
                deliveries -= chunk

    def _acker(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                now = time.monotonic()
                while self._acks and self._acks[0][0] <= now:
                    _, count = heapq.heappop(self._acks)
                    self.in_flight -= count
                    self._cond.notify_all()
                wait = (self._acks[0][0] - now) if self._acks else 0.05
            time.sleep(max(0.001, min(wait, 0.05)))

    def stats(self) -> dict:
        return {
            "queue_depth": self.depth,
            "in_flight": self.in_flight,
            "updates": self.updates,
            "batches": self.batches,
            "backpressure_events": self.backpressure_events,
        }

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(2)
