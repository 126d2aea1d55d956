"""A real HTTP server that speaks the Mothership's /debug/stats contract, with
knobs for every way a real endpoint misbehaves. Used until (and beside) the
reference Mothership, whose tests run the exporter against the real thing."""

from __future__ import annotations

import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "mothership-stats.v1.json"


def example_payload() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


class StatsServer:
    def __init__(self, token: str = "s3cret-admin-token") -> None:
        self.token = token
        self.payload: Any = example_payload()
        self.status = 200
        self.raw_body: bytes | None = None  # sent instead of the payload when set
        self.hang_seconds = 0.0  # accept, read the request, then say nothing this long
        self.drip_seconds = 0.0  # send the body one byte at a time, this far apart
        self.requests = 0
        self.auth_headers: list[str | None] = []
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                owner.requests += 1
                owner.auth_headers.append(self.headers.get("Authorization"))
                if self.path != "/debug/stats":
                    self._reply(404, b"not found")
                    return
                if owner.hang_seconds:
                    owner._stop.wait(owner.hang_seconds)
                    return
                if self.headers.get("Authorization") != f"Bearer {owner.token}":
                    self._reply(401, b'{"error":"unauthorized"}')
                    return
                if owner.status != 200:
                    self._reply(owner.status, b'{"error":"boom"}')
                    return
                body = owner.raw_body if owner.raw_body is not None else json.dumps(owner.payload).encode()
                self._reply(200, body)

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if owner.drip_seconds:
                        for i in range(len(body)):
                            if owner._stop.wait(owner.drip_seconds):
                                return
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self.payload = example_payload()
        self.status = 200
        self.raw_body = None
        self.hang_seconds = 0.0
        self.drip_seconds = 0.0

    def mutate(self) -> dict[str, Any]:
        self.payload = copy.deepcopy(self.payload)
        return self.payload

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _grow_histogram(h: dict, observations: int, slot: int) -> None:
    """Add ``observations`` that land in bucket ``slot`` (cumulative counts stay monotone)."""
    for i, bucket in enumerate(h["buckets"]):
        if i >= min(slot, len(h["buckets"]) - 1):
            bucket[1] += observations
    h["count"] += observations
    bound = h["buckets"][min(slot, len(h["buckets"]) - 2)][0]
    h["sum"] += observations * float(bound)


def _histograms(payload: dict):
    for op in payload["requests"].values():
        yield op["duration_seconds"]
    for pool in payload["db_pool"].values():
        yield pool["wait_seconds"]
    yield payload["identity_cache"]["resolution_seconds"]
    yield from payload["fragment_store"]["operations"].values()
    yield payload["intent_log"]["append_seconds"]


class LivePayload:
    """Keeps a StatsServer's counters moving like a busy Mothership's, so
    that rates and quantiles over its metrics have something to show."""

    def __init__(self, server: StatsServer, period: float = 0.25) -> None:
        self.server = server
        self.period = period
        self._stop = threading.Event()
        self._step = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "LivePayload":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self._step += 1
            payload = self.server.mutate()
            for h in _histograms(payload):
                _grow_histogram(h, 20, self._step % 4)
            for op in payload["requests"].values():
                op["errors"] += self._step % 2
            cache = payload["identity_cache"]
            cache["hits"] += 980
            cache["misses"] += 20
            cache["evictions"] += 3
            sync = payload["sync"]
            sync["updates"] += 200
            sync["batches"] += 2
            sync["backpressure_events"] += self._step % 3 == 0
            sync["queue_depth"] = 30 + self._step % 10
            fcache = payload["fragment_store"]["cache"]
            fcache["hits"] += 90
            fcache["misses"] += 10
            payload["db_pool"]["primary"]["timeouts"] += self._step % 5 == 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def scrape_text(url: str, timeout_header: float | None = None, timeout: float = 30.0) -> tuple[str, float]:
    """Scrape an exporter the way Prometheus does; returns the body and seconds taken."""
    import requests

    headers = {"Accept": "text/plain"}
    if timeout_header is not None:
        headers["X-Prometheus-Scrape-Timeout-Seconds"] = str(timeout_header)
    started = time.monotonic()
    resp = requests.get(url + "/metrics", headers=headers, timeout=timeout)
    resp.raise_for_status()
    return resp.text, time.monotonic() - started
