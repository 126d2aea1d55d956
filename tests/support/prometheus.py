"""A real Prometheus on loopback for tests: scrapes given targets, evaluates given rule files."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import requests
import yaml

from tests.support.pg import free_port, wait_until


class PrometheusServer:
    def __init__(self, targets: list[str], rule_files: list[Path] = (), interval: str = "1s",
                 job: str = "aura-exporter") -> None:
        self.base = Path(tempfile.mkdtemp(prefix="aura-prom-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
        }
        (self.base / "prometheus.yml").write_text(yaml.safe_dump(config))
        self._log = open(self.base / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.base / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.base / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        wait_until(self._ready, timeout=30, interval=0.2, what="Prometheus ready")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited: " + (self.base / "prometheus.log").read_text()[-2000:])
        try:
            return requests.get(self.url + "/-/ready", timeout=1).ok
        except requests.RequestException:
            return False

    def query(self, expr: str) -> list[dict]:
        """Instant query; raises with Prometheus's message if the query is invalid."""
        resp = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=30)
        body = resp.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def targets_up(self) -> bool:
        result = self.query("up")
        return bool(result) and all(r["value"][1] == "1" for r in result)

    def alerts(self) -> list[dict]:
        return requests.get(self.url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()
        shutil.rmtree(self.base, ignore_errors=True)
