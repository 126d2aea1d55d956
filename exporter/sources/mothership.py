"""The Mothership's stats endpoint (contract v1, docs/mothership-stats.md):
the six canonical metrics and the supporting Mothership metrics."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import requests
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from aura_exporter import contract
from aura_exporter.deadline import Deadline
from aura_exporter.errors import SourceError
from aura_exporter.hit_ratio import WindowedRatio
from aura_exporter.redact import describe_url
from aura_exporter.sources.base import Collected

log = logging.getLogger("aura_exporter.mothership")

STATS_PATH = "/debug/stats"
_CHUNK = 64 * 1024


class MothershipSource:
    name = "mothership"
    up_metric = ("aura_mothership_up", "1 if the Mothership's stats endpoint answered with valid v1 stats, else 0.")
    error_reasons = (
        "connection",
        "timeout",
        "auth",
        "http_status",
        "too_large",
        "invalid_json",
        "unsupported_schema",
        "invalid_payload",
        "token",
    )

    def __init__(
        self,
        url: str,
        token_loader: Callable[[], str | None],
        hit_ratio_window: float = 300.0,
        max_body_bytes: int = 4 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/") + STATS_PATH
        self._token_loader = token_loader
        self.max_body_bytes = max_body_bytes
        self.hit_ratio = WindowedRatio(hit_ratio_window)
        self._clock = clock

    def target(self) -> str:
        return describe_url(self.url)

    def collect(self, deadline: Deadline) -> Collected:
        token = self._load_token()
        payload = self._fetch(deadline, token)
        contract.validate(payload)
        return Collected(metrics=families_from_stats(payload, self.hit_ratio, self._clock()))

    def _load_token(self) -> str | None:
        try:
            return self._token_loader()
        except OSError as exc:
            raise SourceError("token", f"cannot read the admin token file: {exc.strerror}") from None

    def _fetch(self, deadline: Deadline, token: str | None) -> Any:
        # The collector runs each scrape on a fresh thread, so a session would never be
        # reused: one plain request per scrape, closed when the body has been read.
        headers = {"Accept": "application/json", "User-Agent": "aura-exporter"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = bytearray()
        try:
            timeout = max(deadline.remaining(), 0.001)
            with requests.get(self.url, headers=headers, stream=True, timeout=(timeout, timeout)) as resp:
                if resp.status_code in (401, 403):
                    raise SourceError(
                        "auth", f"{self.target()} answered {resp.status_code}: the admin token was refused"
                    )
                if resp.status_code != 200:
                    raise SourceError("http_status", f"{self.target()} answered HTTP {resp.status_code}")
                declared = resp.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
                    raise self._too_large(int(declared))
                # Read in chunks so a server that drips bytes cannot hold the
                # scrape past its deadline, and a huge body is refused early.
                for chunk in resp.iter_content(_CHUNK):
                    body.extend(chunk)
                    if len(body) > self.max_body_bytes:
                        raise self._too_large(len(body))
                    if deadline.expired():
                        raise SourceError("timeout", f"{self.target()} was still sending when the deadline passed")
        except requests.Timeout:
            raise SourceError("timeout", f"no answer from {self.target()} before the scrape deadline") from None
        except requests.RequestException as exc:
            raise SourceError("connection", f"cannot reach {self.target()}: {_root_cause(exc)}") from None
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError("invalid_json", f"{self.target()} returned malformed JSON: {exc}") from None

    def _too_large(self, size: int) -> SourceError:
        return SourceError(
            "too_large", f"{self.target()} returned more than {self.max_body_bytes} bytes ({size}); refusing it"
        )

    def abort(self, deadline: Deadline) -> None:
        # Every blocking call already takes its timeout from the deadline.
        pass

    def close(self) -> None:
        pass


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    text = str(exc)
    # urllib3 wraps the errno text after a colon: keep the useful end.
    return text.rsplit(": ", 1)[-1] if ": " in text else text or type(exc).__name__


def token_loader(token_file: str | None, token_env: str | None) -> Callable[[], str | None]:
    """The admin token comes from a file (re-read every scrape, so a rotated
    Kubernetes secret is picked up) or from an environment variable."""

    def load() -> str | None:
        if token_file:
            with open(token_file, encoding="utf-8") as handle:
                return handle.read().strip() or None
        return os.environ.get(token_env) if token_env else None

    return load


# -- mapping the contract to metrics -------------------------------------------------

_MB = 1024 * 1024


def _config_metric(section: str, key: str, value: float | bool) -> tuple[str, float, str] | None:
    """Name, value in base units and unit note for one live knob."""
    if isinstance(value, bool):
        return f"aura_mothership_config_{section}_{key}", 1.0 if value else 0.0, " (1 = true)"
    if not isinstance(value, (int, float)):
        return None  # strings (such as sync.compression) go to the info metric
    if key.endswith("_mb"):
        return f"aura_mothership_config_{section}_{key[:-3]}_bytes", float(value) * _MB, " in bytes"
    if key.endswith("_ms"):
        return f"aura_mothership_config_{section}_{key[:-3]}_seconds", float(value) / 1000.0, " in seconds"
    return f"aura_mothership_config_{section}_{key}", float(value), ""


def _hist(name: str, doc: str, labels: list[str]) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, doc, labels=labels)


def _add_hist(family: HistogramMetricFamily, label_values: list[str], raw: dict[str, Any], where: str) -> None:
    h = contract.histogram(raw, where)
    family.add_metric(label_values, h.buckets, h.sum)


def families_from_stats(stats: dict[str, Any], hit_ratio: WindowedRatio, now: float) -> list[Metric]:
    """Map a validated v1 stats document to metric families."""
    out: list[Metric] = []
    ms = stats["mothership"]

    start = GaugeMetricFamily(
        "aura_mothership_start_time_seconds", "Unix time the Mothership process started serving."
    )
    start.add_metric([], float(ms["started_at"]))
    info = InfoMetricFamily("aura_mothership", "Identity and version of the Mothership.")
    strings = {
        f"{section}_{key}": str(value)
        for section, knobs in stats["config"].items()
        for key, value in knobs.items()
        if isinstance(value, str)
    }
    info.add_metric([], {"id": ms["id"], "version": ms["version"], **strings})
    out += [start, info]

    # Every live knob as its own gauge in base units.
    for section, knobs in sorted(stats["config"].items()):
        for key, value in sorted(knobs.items()):
            mapped = _config_metric(section, key, value)
            if mapped is None:
                continue
            name, base_value, unit = mapped
            family = GaugeMetricFamily(name, f"Live Mothership setting {section}.{key}{unit}.")
            family.add_metric([], base_value)
            out.append(family)

    # Requests: the top-level SLO signal.
    duration = _hist(
        "aura_request_duration_seconds", "Mothership request latency by operation.", ["operation"]
    )
    errors = CounterMetricFamily("aura_request_errors", "Mothership requests that failed, by operation.", labels=["operation"])
    for op, data in sorted(stats["requests"].items()):
        _add_hist(duration, [op], data["duration_seconds"], f"requests/{op}/duration_seconds")
        errors.add_metric([op], float(data["errors"]))
    out += [duration, errors]

    # PostgreSQL connection pools, as the Mothership sees them.
    wait = _hist(
        "aura_postgres_pool_wait_seconds",
        "Time a Mothership worker waited to check out a PostgreSQL connection, by pool.",
        ["pool"],
    )
    size = GaugeMetricFamily("aura_postgres_pool_size", "Configured size of the connection pool.", labels=["pool"])
    conns = GaugeMetricFamily(
        "aura_postgres_pool_connections", "Pool connections by state (in_use, idle).", labels=["pool", "state"]
    )
    waiting = GaugeMetricFamily(
        "aura_postgres_pool_waiting", "Workers currently waiting for a pool connection.", labels=["pool"]
    )
    timeouts = CounterMetricFamily(
        "aura_postgres_pool_timeouts", "Checkouts that gave up waiting for a connection.", labels=["pool"]
    )
    for pool, data in sorted(stats["db_pool"].items()):
        _add_hist(wait, [pool], data["wait_seconds"], f"db_pool/{pool}/wait_seconds")
        size.add_metric([pool], float(data["size"]))
        conns.add_metric([pool, "in_use"], float(data["in_use"]))
        conns.add_metric([pool, "idle"], float(data["idle"]))
        waiting.add_metric([pool], float(data["waiting"]))
        timeouts.add_metric([pool], float(data["timeouts"]))
    out += [wait, size, conns, waiting, timeouts]

    # Identity cache: the hottest path.
    cache = stats["identity_cache"]
    window = hit_ratio.window
    ratio_value = hit_ratio.observe(now, float(ms["started_at"]), float(cache["hits"]), float(cache["misses"]))
    ratio = GaugeMetricFamily(
        "aura_identity_cache_hit_ratio",
        f"Identity cache hits / lookups over the last {window:g} seconds, computed by the exporter from the "
        "cumulative counters (absent when there were no lookups). Aggregate across replicas from "
        "aura_identity_cache_hits_total and aura_identity_cache_misses_total instead.",
    )
    if ratio_value is not None:
        ratio.add_metric([], ratio_value)
    window_gauge = GaugeMetricFamily(
        "aura_identity_cache_hit_ratio_window_seconds", "Window over which aura_identity_cache_hit_ratio is computed."
    )
    window_gauge.add_metric([], window)
    out += [ratio, window_gauge]
    for key, doc in (
        ("hits", "Identity lookups served from the cache."),
        ("misses", "Identity lookups that had to query PostgreSQL."),
        ("evictions", "Identities evicted from the cache to make room."),
    ):
        family = CounterMetricFamily(f"aura_identity_cache_{key}", doc)
        family.add_metric([], float(cache[key]))
        out.append(family)
    for key, name, doc in (
        ("bytes", "aura_identity_cache_bytes", "Bytes held by the identity cache."),
        ("capacity_bytes", "aura_identity_cache_capacity_bytes", "Capacity of the identity cache (identity_cache_mb)."),
    ):
        family = GaugeMetricFamily(name, doc)
        family.add_metric([], float(cache[key]))
        out.append(family)
    resolution = _hist(
        "aura_identity_resolution_duration_seconds",
        "Time to resolve a function identity on a cache miss (the identity-resolution query path).",
        [],
    )
    _add_hist(resolution, [], cache["resolution_seconds"], "identity_cache/resolution_seconds")
    out.append(resolution)

    # Sync fan-out.
    sync = stats["sync"]
    for key, name, doc in (
        ("queue_depth", "aura_sync_queue_depth", "Updates waiting to fan out to peers; compare with sync.max_in_flight."),
        ("in_flight", "aura_sync_in_flight", "Updates sent to peers and not yet acknowledged."),
        ("peers_connected", "aura_sync_peers_connected", "Peers currently connected."),
    ):
        family = GaugeMetricFamily(name, doc)
        family.add_metric([], float(sync[key]))
        out.append(family)
    for key, name, doc in (
        ("updates", "aura_sync_updates", "Function-level updates accepted into the sync queue."),
        ("batches", "aura_sync_batches", "Batches flushed to peers."),
        ("backpressure_events", "aura_sync_backpressure_events", "Times a pusher was held back because max_in_flight was reached."),
    ):
        family = CounterMetricFamily(name, doc)
        family.add_metric([], float(sync[key]))
        out.append(family)

    # Fragment store.
    frag = stats["fragment_store"]
    latency = _hist(
        "aura_fragment_store_latency_seconds", "Fragment (object) store latency by operation.", ["operation"]
    )
    for op, raw in sorted(frag["operations"].items()):
        _add_hist(latency, [op], raw, f"fragment_store/operations/{op}")
    out.append(latency)
    fcache = frag["cache"]
    for key, doc in (("hits", "Fragment reads served from the fragment cache."), ("misses", "Fragment reads that went to the store.")):
        family = CounterMetricFamily(f"aura_fragment_cache_{key}", doc)
        family.add_metric([], float(fcache[key]))
        out.append(family)
    for key, name, doc in (
        ("bytes", "aura_fragment_cache_bytes", "Bytes held by the fragment cache."),
        ("capacity_bytes", "aura_fragment_cache_capacity_bytes", "Capacity of the fragment cache (fragment_cache_mb)."),
    ):
        family = GaugeMetricFamily(name, doc)
        family.add_metric([], float(fcache[key]))
        out.append(family)

    # Intent log.
    append = _hist(
        "aura_intent_log_append_latency_seconds", "Latency of appending an intent to the intent log.", []
    )
    _add_hist(append, [], stats["intent_log"]["append_seconds"], "intent_log/append_seconds")
    out.append(append)
    return out
