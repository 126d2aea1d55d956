"""Simulated peers inside the process: engineers and agents pushing
function-level updates over a shared working set, and pulling."""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field

from aura_sim.mothership import Mothership

log = logging.getLogger("aura_sim.peers")


class WorkingSet:
    """The functions peers are touching right now; scenarios reshape it."""

    def __init__(self, functions: range) -> None:
        self._lock = threading.Lock()
        self._ranges = [functions]
        self._sizes = [len(functions)]

    def set(self, *ranges: range) -> None:
        with self._lock:
            self._ranges = list(ranges)
            self._sizes = [len(r) for r in ranges]

    def pick(self, rng: random.Random, zone: int | None = None, zones: int = 40) -> int:
        with self._lock:
            chosen = rng.choices(self._ranges, weights=self._sizes)[0]
        function = chosen[rng.randrange(len(chosen))]
        if zone is not None:  # move to the same function slot in the given zone
            function = function - (function % zones) + zone
        return function


@dataclass
class PeerGroup:
    kind: str
    count: int
    interval: float  # mean seconds between a peer's operations
    pull_share: float = 0.3
    zone: int | None = None  # None: each peer works in a zone of its own choosing
    functions_per_push: int = 1
    threads: list[threading.Thread] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    operations: int = 0
    failures: int = 0


class LoadGenerator:
    def __init__(self, mothership: Mothership, working_set: WorkingSet, seed: int = 7) -> None:
        self.ms = mothership
        self.working_set = working_set
        self.groups: list[PeerGroup] = []
        self._seed = seed
        self._seq = 0

    def start(self, group: PeerGroup) -> PeerGroup:
        for _ in range(group.count):
            self._seq += 1
            rng = random.Random(self._seed * 100003 + self._seq)
            name = f"{group.kind}-{self._seq}"
            thread = threading.Thread(target=self._run, args=(group, name, rng), name=name, daemon=True)
            group.threads.append(thread)
            thread.start()
        self.groups.append(group)
        log.info("started %d %s peers", group.count, group.kind)
        return group

    def _run(self, group: PeerGroup, name: str, rng: random.Random) -> None:
        zones = self.ms.catalog.active_zones
        zone = group.zone if group.zone is not None else rng.randrange(zones)
        self.ms.subscribe(zone)
        # Spread the first operations over one interval so peers do not start in lockstep.
        if group.stop.wait(rng.uniform(0, group.interval)):
            self.ms.unsubscribe(zone)
            return
        try:
            while not group.stop.is_set():
                try:
                    if rng.random() < group.pull_share:
                        self.ms.pull(name, [self.working_set.pick(rng) for _ in range(3)])
                    else:
                        functions = [self.working_set.pick(rng, group.zone, zones) for _ in range(group.functions_per_push)]
                        self.ms.push(name, functions)
                    group.operations += 1
                except Exception as exc:  # a failed request is counted by the Mothership; the peer retries
                    group.failures += 1
                    log.debug("%s: %s", name, exc)
                if group.stop.wait(rng.expovariate(1.0 / group.interval)):
                    break
        finally:
            self.ms.unsubscribe(zone)

    def burst_pull(self, kind: str, functions: list[list[int]]) -> None:
        """One pull per list, all at once (every peer syncing a merge); returns when all are done."""
        threads = [
            threading.Thread(target=self._one_pull, args=(f"{kind}-{i}", chunk), daemon=True)
            for i, chunk in enumerate(functions)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    def _one_pull(self, name: str, functions: list[int]) -> None:
        try:
            self.ms.pull(name, functions)
        except Exception as exc:
            log.debug("%s: %s", name, exc)

    def stop(self) -> None:
        for group in self.groups:
            group.stop.set()
        for group in self.groups:
            for thread in group.threads:
                thread.join(15)
