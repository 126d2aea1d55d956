"""How many simulated peers the reference Mothership sustains on this machine.

For each peer count, runs the baseline scenario on a throwaway PostgreSQL for
--seconds and reads /debug/stats at the start and end of a measurement window.
A peer count is sustained when, over the window:
  - push P99 stays within the request-latency SLO (0.5 s, config.libsonnet),
  - the sync queue does not grow and no pusher is held back,
  - no request fails, and
  - the Mothership completes at least 90% of the operations the peers offer.

Usage: python bench/peers.py [--peers 50,100,200,300,400] [--seconds 40]
Not run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from aura_exporter import render
from aura_sim.mothership import Catalog, bootstrap
from aura_sim.pgcluster import PostgresCluster

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.sim import SimProcess  # noqa: E402  (the same process harness the tests use)

# The team mix of the baseline scenario: 80% engineers every 2 s, 20% agents every 0.5 s, 70% pushes.
OFFERED_PER_PEER = 0.8 * (1 / 2.0) + 0.2 * (1 / 0.5)


def quantile(before: dict, after: dict, q: float) -> float:
    total = after["count"] - before["count"]
    if total <= 0:
        return 0.0
    for (bound, a), (_, b) in zip(after["buckets"], before["buckets"]):
        if a - b >= q * total:
            return float("inf") if bound == "+Inf" else bound
    return float("inf")


def measure(pg: PostgresCluster, peers: int, seconds: float, workdir: Path) -> dict:
    name = f"bench_{peers}"
    with psycopg.connect(pg.dsn(database="postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE aura_seeded")
    sim = SimProcess(pg.dsn(database=name), workdir / name, "baseline", extra=("--peers", str(peers)))
    try:
        time.sleep(5)  # ramp-up: peers start spread over one interval
        first, started = sim.stats(), time.monotonic()
        time.sleep(seconds)
        last, ended = sim.stats(), time.monotonic()
    finally:
        sim.stop()
    ops = sum(last["requests"][op]["duration_seconds"]["count"] - first["requests"][op]["duration_seconds"]["count"]
              for op in ("push", "pull"))
    errors = sum(last["requests"][op]["errors"] - first["requests"][op]["errors"] for op in last["requests"])
    elapsed = ended - started
    p99 = quantile(first["requests"]["push"]["duration_seconds"], last["requests"]["push"]["duration_seconds"], 0.99)
    result = {
        "peers": peers,
        "offered_ops_per_s": round(peers * OFFERED_PER_PEER, 1),
        "completed_ops_per_s": round(ops / elapsed, 1),
        "push_p99_s": p99,
        "queue_depth_start": first["sync"]["queue_depth"],
        "queue_depth_end": last["sync"]["queue_depth"],
        "backpressure_events": last["sync"]["backpressure_events"] - first["sync"]["backpressure_events"],
        "errors": errors,
        "pool_wait_s": round(last["db_pool"]["primary"]["wait_seconds"]["sum"]
                             - first["db_pool"]["primary"]["wait_seconds"]["sum"], 3),
    }
    slo = render.config()["requestLatencySLOSeconds"]
    result["sustained"] = (
        p99 <= slo and errors == 0 and result["backpressure_events"] == 0
        and result["queue_depth_end"] <= max(200, 2 * result["queue_depth_start"])
        and result["completed_ops_per_s"] >= 0.9 * result["offered_ops_per_s"]
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", default="50,100,200,300,400")
    parser.add_argument("--seconds", type=float, default=40)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="aura-bench-"))
    pg = PostgresCluster().init().start()
    try:
        with psycopg.connect(pg.dsn(database="postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE aura_seeded")
        with psycopg.connect(pg.dsn(database="aura_seeded"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        bootstrap(pg.dsn(database="aura_seeded"), Catalog())
        results = []
        for peers in (int(p) for p in args.peers.split(",")):
            result = measure(pg, peers, args.seconds, workdir)
            results.append(result)
            print(json.dumps(result), flush=True)
        best = max((r["peers"] for r in results if r["sustained"]), default=0)
        print(f"sustained: {best} peers (largest count tried that met every condition)")
    finally:
        pg.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
