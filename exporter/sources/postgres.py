"""PostgreSQL's own statistics for the Mothership's catalog database.

Design constraints, all visible to the user:
- one connection at most, shared by concurrent scrapes under a lock;
- ``application_name`` set, ``statement_timeout``/``lock_timeout`` set, read-only;
- five statements per scrape (activity, database, catalog tables, replication,
  pg_stat_statements) plus one for the text of statements seen for the first time;
- after any failure the connection is dropped and re-opened on the next scrape;
- a scrape that outlives its deadline has its socket shut down, so a frozen
  server (SIGSTOP) cannot pin the connection forever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

import psutil
import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from aura_exporter.deadline import Deadline
from aura_exporter.errors import SourceError
from aura_exporter.redact import describe_dsn, dsn_password, scrub
from aura_exporter.sources.base import Collected
from aura_exporter.sources.statement_paths import CATALOG_TABLES, PATHS, classify

log = logging.getLogger("aura_exporter.postgres")

APPLICATION_NAME = "aura-exporter"
#: distinct application_name label values kept; the rest are summed into "other"
MAX_APPLICATIONS = 20

Q_ACTIVITY = """
SELECT left(coalesce(nullif(application_name, ''), 'unknown'), 64) AS app,
       coalesce(state, 'unknown') AS state,
       count(*) AS backends,
       count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waiting,
       min(extract(epoch FROM xact_start))::float8 AS oldest_xact_start
FROM pg_stat_activity
-- Without pg_monitor another user's backend_type reads NULL: count it rather than hide it.
WHERE coalesce(backend_type, 'client backend') = 'client backend' AND datid IS NOT NULL
GROUP BY 1, 2
"""

Q_DATABASE = """
SELECT d.datname, d.xact_commit, d.xact_rollback, d.blks_hit, d.blks_read, d.deadlocks,
       pg_database_size(d.datid) AS size_bytes,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved_connections,
       pg_is_in_recovery() AS in_recovery,
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS standby_lag,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started_at
FROM pg_stat_database d
WHERE d.datname = current_database()
"""

# Sizes come from pg_class.relpages (kept current by VACUUM and ANALYZE) rather
# than pg_total_relation_size(), which needs a lock and would stall the scrape
# behind any DDL on the catalog.
Q_TABLES = """
SELECT s.relname, s.seq_scan, coalesce(s.idx_scan, 0), s.seq_tup_read, coalesce(s.idx_tup_fetch, 0),
       s.n_live_tup,
       (c.relpages::bigint + coalesce(t.relpages, 0)
        + coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                     WHERE x.indrelid = c.oid), 0)) * current_setting('block_size')::bigint
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
WHERE s.relname = ANY(%s)
"""

Q_REPLICATION = """
SELECT left(coalesce(nullif(application_name, ''), host(client_addr), 'unknown'), 64),
       coalesce(extract(epoch FROM replay_lag), 0)::float8,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8
FROM pg_stat_replication
"""

Q_SETUP = """
SELECT pg_backend_pid(),
       pg_has_role(current_user, 'pg_monitor', 'USAGE'),
       (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements'),
       current_user
"""


@dataclass
class _Connection:
    conn: psycopg.Connection
    backend_pid: int
    has_pg_monitor: bool
    pgss_schema: str | None
    user: str
    postmaster: psutil.Process | None = None
    notes: list[str] = field(default_factory=list)


class PostgresSource:
    name = "postgres"
    up_metric = ("aura_postgres_up", "1 if the exporter could query PostgreSQL in this scrape, else 0.")
    error_reasons = ("connection", "auth", "timeout", "query", "busy")

    def __init__(
        self,
        dsn: str,
        statement_timeout: float = 5.0,
        catalog_tables: tuple[str, ...] = CATALOG_TABLES,
    ) -> None:
        self._dsn = dsn
        self._password = dsn_password(dsn)
        self.statement_timeout = statement_timeout
        self.catalog_tables = list(catalog_tables)
        self._lock = threading.Lock()
        self._state: _Connection | None = None
        self._active: Deadline | None = None
        # pg_stat_statements bookkeeping, so per-path counters only ever grow
        self._path_of: dict[int, str] = {}
        self._last_seen: dict[tuple, tuple[int, float]] = {}
        self._path_calls: Counter[str] = Counter({p: 0 for p in PATHS})
        self._path_seconds: Counter[str] = Counter({p: 0.0 for p in PATHS})
        self._pgss_failed_note: str | None = None
        self.connections_opened = 0

    def target(self) -> str:
        return describe_dsn(self._dsn)

    # -- connection --------------------------------------------------------------

    def _connect(self, deadline: Deadline) -> _Connection:
        # libpq's connect_timeout is whole seconds, two at least.
        connect_timeout = max(2, int(deadline.remaining()))
        try:
            conn = psycopg.connect(
                self._dsn,
                application_name=APPLICATION_NAME,
                connect_timeout=connect_timeout,
                autocommit=True,
            )
        except psycopg.OperationalError as exc:
            raise self._error_from(exc, connecting=True) from None
        self.connections_opened += 1
        try:
            ms = int(self.statement_timeout * 1000)
            conn.execute(f"SET statement_timeout = {ms}")
            conn.execute("SET lock_timeout = 1000")
            conn.execute("SET default_transaction_read_only = on")
            pid, monitor, pgss_schema, user = conn.execute(Q_SETUP).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise self._error_from(exc) from None
        state = _Connection(conn, pid, bool(monitor), pgss_schema, user)
        if not state.has_pg_monitor:
            state.notes.append(
                f"role {user} is not a member of pg_monitor: other sessions' activity and statement texts "
                f"are hidden (GRANT pg_monitor TO {user}; see deploy/sql/exporter-role.sql)"
            )
        if pgss_schema is None:
            state.notes.append(
                "pg_stat_statements is not installed in this database: statement time by path is not "
                "exported (shared_preload_libraries = 'pg_stat_statements', then CREATE EXTENSION pg_stat_statements)"
            )
        state.postmaster = _find_postmaster(pid)
        if state.postmaster is None:
            state.notes.append(
                "PostgreSQL's server processes are not visible from the exporter: its CPU is not exported "
                "(use node_exporter on the database host)"
            )
        log.info("connected to PostgreSQL (%s) as %s", self.target(), user)
        return state

    def _error_from(self, exc: psycopg.Error, connecting: bool = False, broken: bool = False) -> SourceError:
        text = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, [self._password])
        sqlstate = getattr(exc, "sqlstate", None) or ""
        if isinstance(exc, (pgerrors.QueryCanceled, pgerrors.LockNotAvailable)) or "timeout expired" in text:
            return SourceError("timeout", f"PostgreSQL ({self.target()}) timed out: {text}")
        if sqlstate.startswith("28") or "password authentication failed" in text or "no password supplied" in text:
            return SourceError("auth", f"PostgreSQL ({self.target()}) refused the credentials: {text}")
        if connecting or broken:
            return SourceError("connection", f"cannot reach PostgreSQL ({self.target()}): {text}")
        return SourceError("query", f"PostgreSQL ({self.target()}) query failed: {text}")

    def _drop(self) -> None:
        state, self._state = self._state, None
        if state is not None:
            try:
                state.conn.close()
            except Exception:
                pass

    # -- scrape -----------------------------------------------------------------

    def collect(self, deadline: Deadline) -> Collected:
        if not self._lock.acquire(timeout=max(deadline.remaining(), 0.0)):
            raise SourceError("busy", "an earlier scrape is still waiting on PostgreSQL")
        try:
            self._active = deadline
            if self._state is None or self._state.conn.closed or self._state.conn.broken:
                self._drop()
                self._state = self._connect(deadline)
            state = self._state
            try:
                metrics = self._read(state)
            except psycopg.Error as exc:
                broken = state.conn.broken or state.conn.closed
                if broken:
                    self._drop()  # reconnect on the next scrape
                raise self._error_from(exc, broken=bool(broken)) from None
            notes = list(state.notes)
            if self._pgss_failed_note:
                notes.append(self._pgss_failed_note)
            return Collected(metrics=metrics, notes=notes)
        finally:
            self._active = None
            self._lock.release()

    def abort(self, deadline: Deadline) -> None:
        state = self._state
        if self._active is not deadline or state is None:
            return
        # Wake the blocked query: shutting the socket down makes libpq's wait
        # return with "server closed the connection", and the thread then drops
        # the connection and releases the lock.
        try:
            sock = socket.socket(fileno=os.dup(state.conn.pgconn.socket))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()
        except (OSError, psycopg.Error):
            pass

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _read(self, state: _Connection) -> list[Metric]:
        conn = state.conn
        out: list[Metric] = []
        out += _activity_metrics(conn.execute(Q_ACTIVITY).fetchall())
        db = conn.execute(Q_DATABASE).fetchone()
        out += _database_metrics(db)
        out += _table_metrics(conn.execute(Q_TABLES, (self.catalog_tables,)).fetchall())
        in_recovery = db[9]
        if not in_recovery:
            out += _replication_metrics(conn.execute(Q_REPLICATION).fetchall())
        if state.pgss_schema is not None:
            out += self._statement_metrics(state)
        cpu = _postmaster_cpu(state)
        if cpu is not None:
            family = CounterMetricFamily(
                "aura_postgres_cpu_seconds", "CPU time of all PostgreSQL server processes (visible when local)."
            )
            family.add_metric([], cpu)
            cpus = GaugeMetricFamily("aura_postgres_host_cpus", "CPUs of the host PostgreSQL runs on.")
            cpus.add_metric([], float(psutil.cpu_count() or 1))
            out += [family, cpus]
        return out

    def _statement_metrics(self, state: _Connection) -> list[Metric]:
        conn = state.conn
        table = f"{sql.Identifier(state.pgss_schema).as_string(conn)}.pg_stat_statements"
        try:
            rows = conn.execute(
                f"SELECT userid, queryid, toplevel, calls, total_exec_time FROM {table}(showtext := false) "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchall()
            unknown = [r[1] for r in rows if r[1] is not None and r[1] not in self._path_of]
            if unknown:
                for queryid, query in conn.execute(
                    f"SELECT DISTINCT queryid, query FROM {table} WHERE queryid = ANY(%s)", (unknown,)
                ):
                    self._path_of[queryid] = classify(query or "")
            self._pgss_failed_note = None
        except (pgerrors.ObjectNotInPrerequisiteState, pgerrors.InsufficientPrivilege) as exc:
            # Installed but not preloaded, or not readable: serve everything else.
            self._pgss_failed_note = f"pg_stat_statements cannot be read: {str(exc).strip().splitlines()[0]}"
            return []

        seen: dict[tuple, tuple[int, float]] = {}
        for userid, queryid, toplevel, calls, total_ms in rows:
            key = (userid, queryid, toplevel)
            path = self._path_of.get(queryid, "other")
            prev_calls, prev_ms = self._last_seen.get(key, (0, 0.0))
            if calls < prev_calls:  # entry was reset or evicted and re-created
                prev_calls, prev_ms = 0, 0.0
            self._path_calls[path] += calls - prev_calls
            self._path_seconds[path] += max(0.0, total_ms - prev_ms) / 1000.0
            seen[key] = (calls, total_ms)
        self._last_seen = seen
        # Forget classifications of statements no longer tracked.
        live = {key[1] for key in seen}
        self._path_of = {q: p for q, p in self._path_of.items() if q in live}

        calls = CounterMetricFamily(
            "aura_postgres_statement_calls",
            "Statement executions by Mothership query path (pg_stat_statements, classified).",
            labels=["path"],
        )
        seconds = CounterMetricFamily(
            "aura_postgres_statement_time_seconds",
            "Statement execution time by Mothership query path (pg_stat_statements, classified).",
            labels=["path"],
        )
        for path in PATHS:
            calls.add_metric([path], float(self._path_calls[path]))
            seconds.add_metric([path], self._path_seconds[path])
        return [calls, seconds]


# -- row mapping -------------------------------------------------------------------


def _activity_metrics(rows: list[tuple]) -> list[Metric]:
    per_app: Counter[str] = Counter()
    for app, _state, backends, _waiting, _oldest in rows:
        per_app[app] += backends
    kept = {app for app, _ in per_app.most_common(MAX_APPLICATIONS)}
    connections: Counter[tuple[str, str]] = Counter()
    lock_waiting = 0
    oldest: float | None = None
    for app, state, backends, waiting, oldest_start in rows:
        connections[(app if app in kept else "other", state)] += backends
        lock_waiting += waiting
        if oldest_start is not None:
            oldest = oldest_start if oldest is None else min(oldest, oldest_start)
    family = GaugeMetricFamily(
        "aura_postgres_connections",
        f"Client backends by application_name (top {MAX_APPLICATIONS}, rest as 'other') and state.",
        labels=["application_name", "state"],
    )
    for (app, state), count in sorted(connections.items()):
        family.add_metric([app, state], float(count))
    waiting = GaugeMetricFamily("aura_postgres_lock_waiting_backends", "Client backends waiting on a lock.")
    waiting.add_metric([], float(lock_waiting))
    out: list[Metric] = [family, waiting]
    xact = GaugeMetricFamily(
        "aura_postgres_oldest_transaction_start_time_seconds",
        "Unix time the oldest open transaction started (absent when none is open).",
    )
    if oldest is not None:
        xact.add_metric([], oldest)
    out.append(xact)
    return out


def _database_metrics(row: tuple) -> list[Metric]:
    (datname, commits, rollbacks, hit, read, deadlocks, size, max_conn, reserved, in_recovery, standby_lag,
     started) = row
    out: list[Metric] = []
    for name, doc, value in (
        ("aura_postgres_xact_commits", "Transactions committed in the catalog database.", commits),
        ("aura_postgres_xact_rollbacks", "Transactions rolled back in the catalog database.", rollbacks),
        ("aura_postgres_blocks_hit", "Buffer cache hits in the catalog database.", hit),
        ("aura_postgres_blocks_read", "Blocks read from disk (or OS cache) in the catalog database.", read),
        ("aura_postgres_deadlocks", "Deadlocks detected in the catalog database.", deadlocks),
    ):
        family = CounterMetricFamily(name, doc, labels=["database"])
        family.add_metric([datname], float(value))
        out.append(family)
    size_family = GaugeMetricFamily("aura_postgres_database_size_bytes", "Size of the catalog database.", labels=["database"])
    size_family.add_metric([datname], float(size))
    out.append(size_family)
    for name, doc, value in (
        ("aura_postgres_max_connections", "PostgreSQL max_connections.", max_conn),
        ("aura_postgres_superuser_reserved_connections", "PostgreSQL superuser_reserved_connections.", reserved),
        ("aura_postgres_in_recovery", "1 if this PostgreSQL is a standby (read replica).", 1 if in_recovery else 0),
        ("aura_postgres_start_time_seconds", "Unix time the PostgreSQL server started.", started),
    ):
        family = GaugeMetricFamily(name, doc)
        family.add_metric([], float(value))
        out.append(family)
    if standby_lag is not None:
        lag = GaugeMetricFamily(
            "aura_postgres_standby_replay_lag_seconds",
            "On a standby: age of the last replayed transaction (0 when caught up).",
        )
        lag.add_metric([], float(standby_lag))
        out.append(lag)
    return out


def _table_metrics(rows: list[tuple]) -> list[Metric]:
    seq = CounterMetricFamily("aura_postgres_table_seq_scans", "Sequential scans on a catalog table.", labels=["table"])
    idx = CounterMetricFamily("aura_postgres_table_index_scans", "Index scans on a catalog table.", labels=["table"])
    seq_rows = CounterMetricFamily(
        "aura_postgres_table_seq_tuples_read", "Rows read by sequential scans on a catalog table.", labels=["table"]
    )
    idx_rows = CounterMetricFamily(
        "aura_postgres_table_index_tuples_fetched", "Rows fetched by index scans on a catalog table.", labels=["table"]
    )
    live = GaugeMetricFamily("aura_postgres_table_live_rows", "Estimated live rows in a catalog table.", labels=["table"])
    size = GaugeMetricFamily(
        "aura_postgres_table_size_bytes",
        "Size of a catalog table with its indexes and TOAST, as of its last VACUUM or ANALYZE.",
        labels=["table"],
    )
    totals: dict[str, list[float]] = {}
    for relname, seq_scan, idx_scan, seq_read, idx_fetch, live_rows, size_bytes in rows:
        # The same table name in two schemas is summed rather than split.
        acc = totals.setdefault(relname, [0.0] * 6)
        for i, value in enumerate((seq_scan, idx_scan, seq_read, idx_fetch, live_rows, size_bytes)):
            acc[i] += float(value or 0)
    for relname, (s, i, sr, ir, lv, sz) in sorted(totals.items()):
        seq.add_metric([relname], s)
        idx.add_metric([relname], i)
        seq_rows.add_metric([relname], sr)
        idx_rows.add_metric([relname], ir)
        live.add_metric([relname], lv)
        size.add_metric([relname], sz)
    return [seq, idx, seq_rows, idx_rows, live, size]


def _replication_metrics(rows: list[tuple]) -> list[Metric]:
    lag = GaugeMetricFamily(
        "aura_postgres_replication_lag_seconds", "Replay lag of each streaming replica, seen from the primary.",
        labels=["replica"],
    )
    lag_bytes = GaugeMetricFamily(
        "aura_postgres_replication_lag_bytes", "WAL not yet replayed by each streaming replica.", labels=["replica"]
    )
    replicas = GaugeMetricFamily("aura_postgres_replicas", "Streaming replicas connected to this primary.")
    names: Counter[str] = Counter()
    for name, seconds, lsn_bytes in rows:
        names[name] += 1
        label = name if names[name] == 1 else f"{name}-{names[name]}"
        lag.add_metric([label], float(seconds))
        lag_bytes.add_metric([label], float(lsn_bytes))
    replicas.add_metric([], float(len(rows)))
    return [lag, lag_bytes, replicas]


# -- PostgreSQL CPU ------------------------------------------------------------------


def _find_postmaster(backend_pid: int) -> psutil.Process | None:
    """The postmaster, if our own backend is visible as a local process.

    A pid seen from another PID namespace could belong to anything, so the
    candidate must look like PostgreSQL and be the parent of our backend."""
    try:
        backend = psutil.Process(backend_pid)
        if "postgres" not in " ".join(backend.cmdline() or [backend.name()]).lower():
            return None
        parent = backend.parent()
        if parent is None or "postgres" not in (parent.name() or "").lower():
            return None
        # Our backend must be among its children.
        if backend_pid not in {c.pid for c in parent.children()}:
            return None
        return parent
    except (psutil.Error, OSError):
        return None


def _postmaster_cpu(state: _Connection) -> float | None:
    """CPU seconds of PostgreSQL: the postmaster, every live child, and the
    children it has already reaped (backends that exited)."""
    postmaster = state.postmaster
    if postmaster is None:
        return None
    try:
        times = postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in postmaster.children():
            try:
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
            except psutil.Error:
                continue  # exited between listing and reading; its time moved to children_*
        return total
    except psutil.Error:
        state.postmaster = None
        return None

