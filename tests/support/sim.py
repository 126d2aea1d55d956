"""Run the reference Mothership (aura-mothership-sim) as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests

from tests.support.pg import PostgresCluster, free_port, wait_until

BIN = Path(sys.executable).parent / "aura-mothership-sim"
TEMPLATE = "aura_seeded"


def seeded_template(pg: PostgresCluster) -> str:
    """A database holding the seeded catalog, created once and cloned per scenario."""
    from aura_sim.mothership import Catalog, bootstrap

    with psycopg.connect(pg.dsn(database="postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone():
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
            with psycopg.connect(pg.dsn(database=TEMPLATE), autocommit=True) as seed:
                seed.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            bootstrap(pg.dsn(database=TEMPLATE), Catalog())
    return TEMPLATE


def fresh_database(pg: PostgresCluster, name: str) -> str:
    """A new catalog database cloned from the seeded template; returns its DSN."""
    seeded_template(pg)
    with psycopg.connect(pg.dsn(database="postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return pg.dsn(database=name)


class SimProcess:
    def __init__(self, dsn: str, workdir: Path, scenario: str = "baseline", config: str | None = None,
                 token: str = "sim-admin-token", extra: tuple[str, ...] = ()) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid_file = workdir / "mothership.pid"
        token_file = workdir / "admin-token"
        token_file.write_text(token)
        dsn_file = workdir / "dsn"
        dsn_file.write_text(dsn)
        args = [str(BIN), "--postgres-dsn-file", str(dsn_file), "--listen", f"127.0.0.1:{self.port}",
                "--admin-token-file", str(token_file), "--scenario", scenario, "--pid-file", str(self.pid_file),
                "--store-dir", str(workdir / "fragments"), *extra]
        if config:
            (workdir / "mothership.toml").write_text(config)
            args += ["--config", str(workdir / "mothership.toml")]
        self.log_path = workdir / "sim.log"
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={k: v for k, v in os.environ.items() if not k.startswith("AURA_")})
        wait_until(self._up, timeout=60, interval=0.1, what="the reference Mothership to listen")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"aura-mothership-sim exited: {self.log_path.read_text()[-3000:]}")
        try:
            requests.get(self.url + "/health", timeout=1)
            return True
        except requests.RequestException:
            return False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stats(self) -> dict:
        resp = requests.get(self.url + "/debug/stats", headers=self.auth(), timeout=10)
        resp.raise_for_status()
        return resp.json()

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(self.url + path, json=body, headers=self.auth(), timeout=30)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()
