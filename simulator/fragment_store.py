"""Fragment store on local disk, fronted by a fragment cache, with an optional
per-prefix request-rate cap that emulates object-store throttling (S3 limits
requests per second per key prefix). ``fragment_store.prefix_sharding`` spreads
keys over that many prefixes, and so over that many caps."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from aura_sim.caches import MB, ByteLRU
from aura_sim.histogram import FAST_BOUNDS, Histogram


class PrefixThrottle:
    """At most ``ops_per_second`` operations per prefix: each operation takes the
    next free slot of its prefix and waits for it."""

    def __init__(self, ops_per_second: float) -> None:
        self.interval = 1.0 / ops_per_second
        self._next_free: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, prefix: str) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_free.get(prefix, now))
            self._next_free[prefix] = slot + self.interval
        delay = slot - now
        if delay > 0:
            time.sleep(delay)


class FragmentStore:
    def __init__(self, root: Path, cache_mb: float, prefix_sharding: int, throttle_ops_per_prefix: float | None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.prefix_sharding = prefix_sharding
        self.cache = ByteLRU(int(cache_mb * MB))
        self.throttle = PrefixThrottle(throttle_ops_per_prefix) if throttle_ops_per_prefix else None
        self.latency = {op: Histogram(FAST_BOUNDS) for op in ("get", "put")}

    def set_throttle(self, ops_per_prefix: float | None) -> None:
        self.throttle = PrefixThrottle(ops_per_prefix) if ops_per_prefix else None

    def _prefix(self, digest: str) -> str:
        if self.prefix_sharding > 0:
            return f"shard-{int(digest[:8], 16) % self.prefix_sharding:03d}"
        return "fragments"

    def _path(self, digest: str) -> tuple[str, Path]:
        prefix = self._prefix(digest)
        return prefix, self.root / prefix / digest[:2] / digest

    @staticmethod
    def digest(fragment: bytes) -> str:
        return hashlib.sha256(fragment).hexdigest()

    def put(self, fragment: bytes) -> str:
        digest = self.digest(fragment)
        started = time.monotonic()
        prefix, path = self._path(digest)
        if self.throttle:
            self.throttle.wait(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(fragment)
        os.replace(tmp, path)
        self.latency["put"].observe(time.monotonic() - started)
        self.cache.put(digest, fragment, len(fragment))
        return digest

    def get(self, digest: str) -> bytes | None:
        cached = self.cache.get(digest)
        if cached is not None:
            return cached
        started = time.monotonic()
        prefix, path = self._path(digest)
        if self.throttle:
            self.throttle.wait(prefix)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        self.latency["get"].observe(time.monotonic() - started)
        if data is not None:
            self.cache.put(digest, data, len(data))
        return data

    def stats(self) -> dict:
        cache = self.cache.stats()
        return {
            "backend": "local",
            "operations": {op: h.snapshot() for op, h in self.latency.items()},
            "cache": {k: cache[k] for k in ("hits", "misses", "bytes", "capacity_bytes")},
        }
