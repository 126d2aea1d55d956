"""Named load profiles. Each starts a healthy team, then at ``trigger_after``
seconds changes the load or the environment the way the tuning guide's
bottleneck pattern describes. A scenario never writes a symptom into the
stats: the symptoms come out of the mechanics.

Time is compressed: patterns the guide describes over minutes to hours
show within about a minute here (see docs/reference-mothership.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from aura_sim.mothership import Mothership
from aura_sim.peers import LoadGenerator, PeerGroup, WorkingSet

log = logging.getLogger("aura_sim.scenarios")

WORKING_SET = range(0, 2000)
MERGE_POOL = range(2000, 30000)


@dataclass
class Settings:
    peers: int = 50
    trigger_after: float = 10.0
    storm_agents: int = 80
    merge_functions: int = 6000
    merge_every: float = 15.0
    fragment_throttle_ops: float = 30.0


@dataclass
class Context:
    ms: Mothership
    load: LoadGenerator
    working_set: WorkingSet
    dsn: str
    settings: Settings
    stop: threading.Event


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    trigger: Callable[[Context], None] | None
    warm_at_start: bool = True


def start_team(ctx: Context) -> None:
    """A healthy team: four engineers for every agent."""
    peers = ctx.settings.peers
    engineers = round(peers * 0.8)
    if engineers:
        ctx.load.start(PeerGroup("engineer", engineers, interval=2.0))
    if peers - engineers:
        ctx.load.start(PeerGroup("agent", peers - engineers, interval=0.5))


def _large_merge(ctx: Context) -> None:
    """Merges touching thousands of functions outside the working set land one after
    another. Every peer syncs each merge at once (together their pulls touch every
    merged function), then keeps working on the old and the merged functions."""
    size = ctx.settings.merge_functions
    start = MERGE_POOL.start
    peers = max(1, ctx.settings.peers)
    while not ctx.stop.is_set():
        merged = range(start, start + size)
        start = start + size if start + 2 * size <= MERGE_POOL.stop else MERGE_POOL.start
        log.info("a merge of %d functions lands (%d..%d)", size, merged.start, merged.stop - 1)
        ctx.load.burst_pull("sync-merge", [list(merged[i::peers]) for i in range(peers)])
        ctx.working_set.set(WORKING_SET, merged)
        if ctx.stop.wait(ctx.settings.merge_every):
            return


def _agent_storm(ctx: Context) -> None:
    """An agent fleet starts a parallel refactor: all of them in one zone, pushing fast."""
    log.info("an agent storm starts: %d agents", ctx.settings.storm_agents)
    ctx.load.start(PeerGroup("storm-agent", ctx.settings.storm_agents, interval=0.5, pull_share=0.0, zone=0))


def _postgres_cpu(ctx: Context) -> None:
    """The zone-lookup index stops being usable (as after a PostgreSQL upgrade):
    every zone lookup scans the whole zones table."""
    log.info("the zone-lookup index is lost")
    with psycopg.connect(ctx.dsn, autocommit=True, application_name="aura-mothership/scenario") as conn:
        conn.execute("DROP INDEX IF EXISTS zones_repo_path_idx")


def _fragment_throttle(ctx: Context) -> None:
    """The object store starts capping requests per key prefix (working hours on S3)."""
    log.info("the object store throttles at %s ops/s per prefix", ctx.settings.fragment_throttle_ops)
    ctx.ms.fragments.set_throttle(ctx.settings.fragment_throttle_ops)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("baseline", "a healthy team; nothing goes wrong", None),
        Scenario("large-merge", "large merges blow out the identity cache and exhaust the pool", _large_merge),
        Scenario("agent-storm", "an agent fleet outpaces fan-out; the sync queue grows to max_in_flight", _agent_storm),
        Scenario("postgres-cpu", "zone lookups lose their index and saturate PostgreSQL", _postgres_cpu),
        Scenario("fragment-throttle", "per-prefix throttling pushes fragment-store P99 over 500 ms", _fragment_throttle),
        Scenario("cold-start", "a restart with empty caches; latency and hit ratio settle over time", None,
                 warm_at_start=False),
    )
}


def run(scenario: Scenario, ctx: Context) -> None:
    """Start the team, then trigger the pattern; returns at once (threads do the work)."""
    if scenario.warm_at_start:
        ctx.ms.warm("main")
    start_team(ctx)
    if scenario.trigger is None:
        return

    def trigger() -> None:
        if not ctx.stop.wait(ctx.settings.trigger_after):
            scenario.trigger(ctx)

    threading.Thread(target=trigger, name=f"scenario-{scenario.name}", daemon=True).start()
