"""aura-mothership-sim: the reference Mothership under a named load scenario."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from aura_sim import config as mconfig
from aura_sim.mothership import Environment, Mothership
from aura_sim.peers import LoadGenerator, WorkingSet
from aura_sim.scenarios import SCENARIOS, WORKING_SET, Context, Settings, run
from aura_sim.server import MothershipServer

log = logging.getLogger("aura_sim")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aura-mothership-sim",
        description="The reference Mothership: serves the stats contract from real mechanics over PostgreSQL, "
                    "driven by simulated peers under a named scenario.",
        epilog="Scenarios: " + "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values()),
    )
    p.add_argument("--postgres-dsn", help="catalog database DSN (or AURA_SIM_POSTGRES_DSN)")
    p.add_argument("--postgres-dsn-file", help="file holding the DSN")
    p.add_argument("--listen", default="127.0.0.1:7777", help="HOST:PORT for /health, /debug/stats, /debug/tracing, "
                                                              "/admin/cache/warm (default %(default)s)")
    p.add_argument("--admin-token-file", help="file holding the admin bearer token (or AURA_SIM_ADMIN_TOKEN)")
    p.add_argument("--config", help="the Mothership's TOML file (tuning-guide sections and keys)")
    p.add_argument("--scenario", default="baseline", choices=sorted(SCENARIOS))
    p.add_argument("--peers", type=int, default=50, help="simulated peers in the healthy team (default %(default)s)")
    p.add_argument("--duration", type=float, default=0, help="seconds to run; 0 runs until stopped")
    p.add_argument("--trigger-after", type=float, default=10.0,
                   help="seconds of healthy load before the scenario's pattern starts (default %(default)s)")
    p.add_argument("--storm-agents", type=int, default=80, help="agents in the agent-storm scenario")
    p.add_argument("--fragment-throttle", type=float, default=30.0,
                   help="object-store cap in operations per second per key prefix, fragment-throttle scenario")
    p.add_argument("--store-dir", help="fragment store directory (default: a temporary directory)")
    p.add_argument("--pid-file", help="write the process id here (for the exporter's process source)")
    p.add_argument("--log-level", default="info")
    return p


def _secret(path: str | None, env: str, what: str) -> str:
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    value = os.environ.get(env)
    if not value:
        raise SystemExit(f"aura-mothership-sim: no {what}: use the file option or {env}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()),
                        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)r")
    dsn = args.postgres_dsn or (None if args.postgres_dsn_file else os.environ.get("AURA_SIM_POSTGRES_DSN"))
    if not dsn:
        dsn = _secret(args.postgres_dsn_file, "AURA_SIM_POSTGRES_DSN", "PostgreSQL DSN")
    token = _secret(args.admin_token_file, "AURA_SIM_ADMIN_TOKEN", "admin token")
    try:
        cfg = mconfig.load(args.config)
    except mconfig.ConfigError as exc:
        print(f"aura-mothership-sim: {exc}", file=sys.stderr)
        return 2
    own_store = not args.store_dir  # a temporary store is ours to remove at exit
    store = Path(args.store_dir) if args.store_dir else Path(tempfile.mkdtemp(prefix="aura-fragments-"))
    host, _, port = args.listen.rpartition(":")
    ms = Mothership(dsn, cfg, store, Environment())
    server = MothershipServer((host or "127.0.0.1", int(port)), ms, token)
    if args.pid_file:
        Path(args.pid_file).write_text(str(os.getpid()))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    working_set = WorkingSet(WORKING_SET)
    load = LoadGenerator(ms, working_set)
    settings = Settings(peers=args.peers, trigger_after=args.trigger_after, storm_agents=args.storm_agents,
                        fragment_throttle_ops=args.fragment_throttle)
    scenario = SCENARIOS[args.scenario]
    bound_host, bound_port = server.server_address[:2]
    log.info("listening on http://%s:%s, scenario %s, %d peers", bound_host, bound_port, scenario.name, args.peers)
    run(scenario, Context(ms, load, working_set, dsn, settings, stop))
    stop.wait(args.duration or None)
    log.info("stopping")
    stop.set()
    load.stop()
    server.shutdown()
    ms.close()
    if own_store:
        shutil.rmtree(store, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
