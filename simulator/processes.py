"""The bundle's real processes, started on loopback and stopped cleanly:
the exporter, the reference Mothership, Prometheus and Alertmanager. Used by
the demo, the end-to-end tests and the benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests
import yaml

from aura_sim.pgcluster import PostgresCluster, free_port, wait_until


def _terminate(proc: subprocess.Popen, grace: float) -> int:
    """SIGTERM, then SIGKILL if the process has not exited within ``grace`` seconds."""
    proc.terminate()
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(10)


def _clean_env() -> dict[str, str]:
    # Children get their settings from their flags, never from a stray AURA_* variable.
    return {k: v for k, v in os.environ.items() if not k.startswith("AURA_")}


EXPORTER_BIN = Path(sys.executable).parent / "aura-exporter"


class ExporterProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        full_env = _clean_env()
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [str(EXPORTER_BIN), "--listen", f"127.0.0.1:{self.port}", *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=full_env,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exporter exited {self.proc.returncode}: {self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError(f"exporter not ready: {self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        try:
            return _terminate(self.proc, 10)
        finally:
            self._log.close()



SIM_BIN = Path(sys.executable).parent / "aura-mothership-sim"
TEMPLATE = "aura_seeded"


_CLONE_LOCK = 4243  # serializes template creation and cloning across threads and processes


def _seed_if_missing(conn: psycopg.Connection, pg) -> None:
    from aura_sim.mothership import Catalog, bootstrap

    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone():
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
        with psycopg.connect(pg.dsn(database=TEMPLATE), autocommit=True) as seed:
            seed.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        bootstrap(pg.dsn(database=TEMPLATE), Catalog())


def seeded_template(pg: PostgresCluster) -> str:
    """A database holding the seeded catalog, created once and cloned per scenario."""
    with psycopg.connect(pg.dsn(database="postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_CLONE_LOCK,))
        try:
            _seed_if_missing(conn, pg)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_CLONE_LOCK,))
    return TEMPLATE


def fresh_database(pg: PostgresCluster, name: str) -> str:
    """A new catalog database cloned from the seeded template; returns its DSN.
    An existing one is dropped first, disconnecting whoever is connected."""
    with psycopg.connect(pg.dsn(database="postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_CLONE_LOCK,))
        try:
            _seed_if_missing(conn, pg)
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_CLONE_LOCK,))
    return pg.dsn(database=name)


class SimProcess:
    def __init__(self, dsn: str, workdir: Path, scenario: str = "baseline", config: str | None = None,
                 token: str = "sim-admin-token", extra: tuple[str, ...] = (), port: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid_file = workdir / "mothership.pid"
        token_file = workdir / "admin-token"
        token_file.write_text(token)
        dsn_file = workdir / "dsn"
        dsn_file.write_text(dsn)
        args = [str(SIM_BIN), "--postgres-dsn-file", str(dsn_file), "--listen", f"127.0.0.1:{self.port}",
                "--admin-token-file", str(token_file), "--scenario", scenario, "--pid-file", str(self.pid_file),
                "--store-dir", str(workdir / "fragments"), *extra]
        if config:
            (workdir / "mothership.toml").write_text(config)
            args += ["--config", str(workdir / "mothership.toml")]
        self.log_path = workdir / "sim.log"
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=_clean_env())
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
        _terminate(self.proc, 30)
        self._log.close()


class _LoopbackDaemon:
    """A Prometheus-family server in its own temporary directory, ready when
    ``/-/ready`` answers, removed with its directory on close."""

    name = "daemon"

    def _launch(self, prefix: str, command_for: Callable[["_LoopbackDaemon"], list[str]]) -> None:
        self.base = Path(tempfile.mkdtemp(prefix=prefix))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self._log_path = self.base / f"{self.name}.log"
        self._log = open(self._log_path, "wb")
        self.proc = subprocess.Popen(command_for(self), stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(self._ready, timeout=30, interval=0.2, what=f"{self.name} ready")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited: " + self._log_path.read_text()[-2000:])
        try:
            return requests.get(self.url + "/-/ready", timeout=1).ok
        except requests.RequestException:
            return False

    def close(self) -> None:
        _terminate(self.proc, 15)
        self._log.close()
        shutil.rmtree(self.base, ignore_errors=True)


class PrometheusServer(_LoopbackDaemon):
    """Prometheus scraping ``targets`` as one job and evaluating ``rule_files``."""

    name = "prometheus"

    def __init__(self, targets: list[str], rule_files: list[Path] = (), interval: str = "1s",
                 job: str = "aura-exporter", alertmanager: str | None = None) -> None:
        config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
        }
        if alertmanager:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}

        def command(self_: "PrometheusServer") -> list[str]:
            (self_.base / "prometheus.yml").write_text(yaml.safe_dump(config))
            return ["prometheus", f"--config.file={self_.base / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self_.base / 'data'}", f"--web.listen-address={self_.address}"]

        self._launch("aura-prom-", command)

    def query(self, expr: str) -> list[dict]:
        """Instant query; raises with Prometheus's message if the query is invalid."""
        resp = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=30)
        body = resp.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def alerts(self) -> list[dict]:
        return requests.get(self.url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]


class AlertmanagerProcess(_LoopbackDaemon):
    """Alertmanager on loopback with the given configuration file, no clustering."""

    name = "alertmanager"

    def __init__(self, config_file: Path) -> None:
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if binary is None:
            raise FileNotFoundError("alertmanager (Debian package prometheus-alertmanager) is not installed")
        self._launch("aura-am-", lambda self_: [
            binary, f"--config.file={config_file}", f"--web.listen-address={self_.address}",
            "--cluster.listen-address=", f"--storage.path={self_.base / 'data'}",
        ])

    def alerts(self) -> list[dict]:
        return requests.get(self.url + "/api/v2/alerts", timeout=10).json()
