"""A PostgreSQL connection pool of exactly ``pool_size`` connections whose
checkout wait is measured where it happens."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator

import psycopg

from aura_sim.histogram import FAST_BOUNDS, Histogram


class PoolTimeout(Exception):
    pass


class ConnectionPool:
    def __init__(self, name: str, dsn: str, size: int, statement_timeout_ms: int, checkout_timeout: float) -> None:
        self.name = name
        self.size = size
        self.checkout_timeout = checkout_timeout
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._dsn = dsn
        self._statement_timeout_ms = statement_timeout_ms
        self._lock = threading.Lock()
        self.waiting = 0
        self.timeouts = 0
        self.wait_seconds = Histogram(FAST_BOUNDS)
        for _ in range(size):
            self._idle.put(self._connect())

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(
            self._dsn, autocommit=True, application_name=f"aura-mothership/{self.name}",
            options=f"-c statement_timeout={self._statement_timeout_ms}",
        )

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self._idle.get_nowait()
            self.wait_seconds.observe(0.0)  # an immediate checkout waited for nothing
        except queue.Empty:
            with self._lock:
                self.waiting += 1
            started = time.monotonic()
            try:
                conn = self._idle.get(timeout=self.checkout_timeout)
            except queue.Empty:
                with self._lock:
                    self.timeouts += 1
                raise PoolTimeout(f"no {self.name} connection within {self.checkout_timeout}s") from None
            finally:
                with self._lock:
                    self.waiting -= 1
                self.wait_seconds.observe(time.monotonic() - started)
        try:
            yield conn
        except psycopg.OperationalError:
            # A broken connection is replaced, so the pool keeps its size.
            conn.close()
            conn = self._connect()
            raise
        finally:
            self._idle.put(conn)

    def snapshot(self) -> dict:
        idle = self._idle.qsize()
        return {
            "size": self.size,
            "in_use": self.size - idle,
            "idle": idle,
            "waiting": self.waiting,
            "timeouts": self.timeouts,
            "wait_seconds": self.wait_seconds.snapshot(),
        }

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
