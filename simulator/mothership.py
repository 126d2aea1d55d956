"""The reference Mothership's request path, each step measured where it happens.

A push of function-level updates:
1. resolves each function's identity through the identity cache; a miss reads
   the identity and its recent history from PostgreSQL (timed: resolution);
2. looks up the function's zone (``zones`` by ``(repo, path)``, through
   ``zones_repo_path_idx`` while it exists) and records the new content;
3. appends an intent, serialized per repository through PostgreSQL (timed: append);
4. stores the function's AST fragment in the fragment store (timed per operation);
5. queues the update for fan-out (may be held back: backpressure).
All of a push's database work runs on one pooled connection (timed: checkout wait).
A pull reads recent intents and the fragments of the functions it asks for.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from aura_sim import __version__
from aura_sim.caches import MB, ByteLRU
from aura_sim.fragment_store import FragmentStore
from aura_sim.histogram import FAST_BOUNDS, REQUEST_BOUNDS, Histogram
from aura_sim.pool import ConnectionPool
from aura_sim.sync_queue import SyncQueue

log = logging.getLogger("aura_sim")

REPO = "acme/platform"
OPERATIONS = ("push", "pull", "subscribe", "admin")
WARM_RECENT_HOURS = 24 * 7


@dataclass(frozen=True)
class Catalog:
    """The seeded catalog: functions 0..functions-1 spread over zones."""

    functions: int = 30000
    zones: int = 1000000  # zone rows; a lost index turns every lookup into a scan of all of them
    active_zones: int = 40
    history_per_function: int = 3

    def zone_of(self, function: int) -> int:
        return function % self.active_zones

    @staticmethod
    def name(function: int) -> str:
        return f"platform.mod{function % 97}.fn{function}"

    @staticmethod
    def path(zone: int) -> str:
        return f"src/zone{zone}"


@dataclass(frozen=True)
class Environment:
    """What surrounds the Mothership, which its TOML does not control."""

    identity_entry_bytes: int = 64 * 1024  # an identity with its resolution history, as cached
    fragment_bytes: int = 2048
    fragment_throttle_ops_per_prefix: float | None = None
    sync_round_trip: float = 0.1
    checkout_timeout: float = 5.0


class Mothership:
    def __init__(self, dsn: str, config: dict, store_dir: Path, env: Environment = Environment(),
                 catalog: Catalog = Catalog(), replica_dsn: str | None = None) -> None:
        self.config = config
        self.env = env
        self.catalog = catalog
        self.id = f"mothership-{os.getpid()}"
        bootstrap(dsn, catalog)
        db = config["database"]
        self.pool = ConnectionPool("primary", dsn, db["pool_size"], db["statement_timeout_ms"], env.checkout_timeout)
        replica = replica_dsn or db["read_replica_url"] or None
        self.replica_pool = (
            ConnectionPool("replica", replica, db["pool_size"], db["statement_timeout_ms"], env.checkout_timeout)
            if replica else None
        )
        self.identity_cache = ByteLRU(int(config["cache"]["identity_cache_mb"] * MB))
        self.resolution = Histogram(FAST_BOUNDS)
        self.intent_append = Histogram(FAST_BOUNDS)
        self.fragments = FragmentStore(
            store_dir, config["cache"]["fragment_cache_mb"], config["fragment_store"]["prefix_sharding"],
            env.fragment_throttle_ops_per_prefix,
        )
        self._subscribers: Counter[int] = Counter()
        self._sub_lock = threading.Lock()
        sync = config["sync"]
        self.sync = SyncQueue(sync["batch_size"], sync["flush_interval_ms"], sync["max_in_flight"],
                              sync["compression"], self.subscribers_of, round_trip=env.sync_round_trip)
        self.requests = {op: Histogram(REQUEST_BOUNDS) for op in OPERATIONS}
        self.errors: Counter[str] = Counter()
        self.cpu_slots = threading.BoundedSemaphore(config["server"]["workers"])
        self.started_at = time.time()

    # -- peers and subscriptions ------------------------------------------------------

    def subscribe(self, zone: int) -> None:
        with self._timed("subscribe"):
            with self._sub_lock:
                self._subscribers[zone] += 1

    def unsubscribe(self, zone: int) -> None:
        with self._sub_lock:
            self._subscribers[zone] -= 1

    def subscribers_of(self, zone: int) -> int:
        return self._subscribers[zone]

    @property
    def peers_connected(self) -> int:
        return sum(self._subscribers.values())

    # -- requests ------------------------------------------------------------------------

    class _Timer:
        def __init__(self, owner: "Mothership", op: str) -> None:
            self.owner, self.op = owner, op

        def __enter__(self):
            self.started = time.monotonic()

        def __exit__(self, kind, exc, tb):
            self.owner.requests[self.op].observe(time.monotonic() - self.started)
            if exc is not None:
                self.owner.errors[self.op] += 1
            return False

    def _timed(self, op: str) -> "_Timer":
        return Mothership._Timer(self, op)

    def resolve(self, conn: psycopg.Connection, function: int) -> tuple[int, str, int]:
        """Identity of a function: cache, else PostgreSQL (identity and history)."""
        key = (REPO, function)
        cached = self.identity_cache.get(key)
        if cached is not None:
            return cached
        started = time.monotonic()
        if self.replica_pool is not None:  # cache-miss reads go to the read replica
            with self.replica_pool.connection() as replica:
                identity = self._read_identity(replica, function)
        else:
            identity = self._read_identity(conn, function)
        self.resolution.observe(time.monotonic() - started)
        self.identity_cache.put(key, identity, self.env.identity_entry_bytes)
        return identity

    @staticmethod
    def _read_identity(conn: psycopg.Connection, function: int) -> tuple[int, str, int]:
        row = conn.execute(
            "SELECT identity_id, content_hash, zone_id FROM function_identities WHERE repo = %s AND qualified_name = %s",
            (REPO, Catalog.name(function)),
        ).fetchone()
        if row is None:
            raise LookupError(f"unknown function {function}")
        conn.execute(
            "SELECT seq, intent FROM intent_log WHERE identity_id = %s ORDER BY seq DESC LIMIT 20", (row[0],)
        ).fetchall()
        return row[0], row[1], row[2]

    def push(self, peer: str, functions: list[int]) -> None:
        """One push carrying updates to ``functions``."""
        with self._timed("push"):
            fragments = []
            with self.cpu_slots:  # the CPU-bound part: parse and hash the updates
                for function in functions:
                    body = f"{peer}:{function}:{random.random()}".encode().ljust(self.env.fragment_bytes, b"#")
                    fragments.append((function, body, hashlib.sha256(body).hexdigest()))
            zones = set()
            resolved = []
            with self.pool.connection() as conn:
                for function, _, digest in fragments:
                    identity_id, _, zone_id = self.resolve(conn, function)
                    zone = self.catalog.zone_of(function)
                    zones.add(zone)
                    conn.execute("SELECT zone_id, state FROM zones WHERE repo = %s AND path = %s",
                                 (REPO, Catalog.path(zone))).fetchall()
                    conn.execute("UPDATE function_identities SET content_hash = %s, updated_at = now() "
                                 "WHERE identity_id = %s", (digest, identity_id))
                    self.identity_cache.put((REPO, function), (identity_id, digest, zone_id),
                                            self.env.identity_entry_bytes)
                    resolved.append((identity_id, digest))
                started = time.monotonic()
                with conn.transaction():
                    # Appends are serialized per repository through PostgreSQL.
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (REPO,))
                    # One statement per push: its intents go in together.
                    conn.execute(
                        "INSERT INTO intent_log (repo, identity_id, peer, intent) "
                        "SELECT %s, unnest(%s::bigint[]), %s, unnest(%s::jsonb[]) RETURNING seq",
                        (REPO, [i for i, _ in resolved], peer,
                         [Jsonb({"op": "update", "hash": d}) for _, d in resolved]),
                    ).fetchall()
                self.intent_append.observe(time.monotonic() - started)
            for _, body, _ in fragments:
                self.fragments.put(body)
            for zone in zones:
                self.sync.enqueue(zone)

    def pull(self, peer: str, functions: list[int], since: int = 0) -> None:
        with self._timed("pull"):
            with self.pool.connection() as conn:
                conn.execute(
                    "SELECT seq, intent FROM intent_log WHERE repo = %s AND seq > %s ORDER BY seq LIMIT 50",
                    (REPO, since),
                ).fetchall()
                digests = [self.resolve(conn, f)[1] for f in functions]
            for digest in digests:
                self.fragments.get(digest)

    def warm(self, branch: str, limit: int | None = None) -> int:
        """Load the identities of the branch's repository changed in the last
        ``WARM_RECENT_HOURS``, most recent first and no more than the cache holds,
        into the identity cache (``aura admin cache warm --branch``). Returns how many."""
        with self._timed("admin"):
            capacity = limit or self.identity_cache.capacity_bytes // self.env.identity_entry_bytes
            with self.pool.connection() as conn:
                rows = conn.execute(
                    "SELECT qualified_name, identity_id, content_hash, zone_id FROM function_identities "
                    "WHERE repo = %s AND updated_at > now() - make_interval(hours => %s) "
                    "ORDER BY updated_at DESC LIMIT %s",
                    (REPO, WARM_RECENT_HOURS, capacity),
                ).fetchall()
            for name, identity_id, digest, zone_id in reversed(rows):
                function = int(name.rsplit("fn", 1)[1])
                self.identity_cache.put((REPO, function), (identity_id, digest, zone_id), self.env.identity_entry_bytes)
            log.info("warmed %d identities for branch %s", len(rows), branch)
            return len(rows)

    # -- the stats contract ------------------------------------------------------------

    def stats(self) -> dict:
        cache = self.identity_cache.stats()
        pools = {"primary": self.pool.snapshot()}
        if self.replica_pool is not None:
            pools["replica"] = self.replica_pool.snapshot()
        cfg = self.config
        return {
            "schema": "aura.mothership.stats/v1",
            "generated_at": time.time(),
            "mothership": {"id": self.id, "version": f"reference-{__version__}", "started_at": self.started_at},
            "config": {
                "server": dict(cfg["server"]),
                "database": {"pool_size": cfg["database"]["pool_size"],
                             "statement_timeout_ms": cfg["database"]["statement_timeout_ms"],
                             "read_replica_configured": self.replica_pool is not None},
                "sync": dict(cfg["sync"]),
                "cache": dict(cfg["cache"]),
                "runtime": dict(cfg["runtime"]),
                "fragment_store": dict(cfg["fragment_store"]),
                "readiness": dict(cfg["readiness"]),
            },
            "requests": {
                op: {"duration_seconds": h.snapshot(), "errors": self.errors[op]}
                for op, h in self.requests.items()
            },
            "db_pool": pools,
            "identity_cache": {**cache, "resolution_seconds": self.resolution.snapshot()},
            "sync": {**self.sync.stats(), "peers_connected": self.peers_connected},
            "fragment_store": self.fragments.stats(),
            "intent_log": {"append_seconds": self.intent_append.snapshot()},
        }

    def warm_ratio(self) -> float:
        """Hit ratio since start, for readiness."""
        cache = self.identity_cache.stats()
        total = cache["hits"] + cache["misses"]
        return cache["hits"] / total if total else 0.0

    def ready(self) -> bool:
        readiness = self.config["readiness"]
        return not readiness["require_cache_warm"] or self.warm_ratio() >= readiness["warm_threshold_ratio"]

    def close(self) -> None:
        self.sync.close()
        self.pool.close()
        if self.replica_pool is not None:
            self.replica_pool.close()


def bootstrap(dsn: str, catalog: Catalog) -> None:
    """Create the catalog (idempotent) and seed it once: identities, zones, history."""
    sql = resources.files("aura_exporter.contract").joinpath("catalog.sql").read_text()
    with psycopg.connect(dsn, autocommit=True, application_name="aura-mothership/bootstrap") as conn:
        conn.execute("SELECT pg_advisory_lock(4242)")  # several replicas may start at once
        try:
            conn.execute(sql)
            # EXISTS reads one row: a full count would show up as a sequential scan of zones.
            if not conn.execute("SELECT EXISTS (SELECT 1 FROM zones)").fetchone()[0]:
                log.info("seeding the catalog: %d zones, %d functions", catalog.zones, catalog.functions)
                conn.execute(
                    "INSERT INTO zones (repo, path) SELECT %s, 'src/zone' || g FROM generate_series(0, %s) g",
                    (REPO, catalog.zones - 1),
                )
                conn.execute(
                    # Lower-numbered functions changed most recently: the working set.
                    "INSERT INTO function_identities (repo, qualified_name, content_hash, zone_id, updated_at) "
                    "SELECT %s, 'platform.mod' || (g %% 97) || '.fn' || g, md5(g::text), 1 + (g %% %s), "
                    "now() - g * interval '10 seconds' "
                    "FROM generate_series(0, %s) g",
                    (REPO, catalog.active_zones, catalog.functions - 1),
                )
                conn.execute(
                    "INSERT INTO intent_log (repo, identity_id, peer, intent) "
                    "SELECT %s, 1 + (g %% %s), 'seed', '{\"op\": \"import\"}'::jsonb FROM generate_series(1, %s) g",
                    (REPO, catalog.functions, catalog.functions * catalog.history_per_function),
                )
                conn.execute("ANALYZE")
        finally:
            conn.execute("SELECT pg_advisory_unlock(4242)")
