"""A throwaway PostgreSQL 15 cluster (tests, demo, benchmarks): initdb into a temp dir, a free
loopback port, pg_stat_statements preloaded, password auth over TCP. As root,
the server binaries run as the ``postgres`` user."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

PG_BIN = Path(os.environ.get("AURA_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    def __init__(self, database: str = "aura") -> None:
        self.database = database
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="aura-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.base, entry.pw_uid, entry.pw_gid)

    # -- lifecycle ------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, cwd=self.base)

    def init(self) -> "PostgresCluster":
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
        )
        pwfile.unlink()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"""
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{self.base}'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
log_min_messages = warning
"""
            )
        return self

    @classmethod
    def standby_of(cls, primary: "PostgresCluster") -> "PostgresCluster":
        """A streaming read replica of ``primary`` (pg_basebackup -R)."""
        standby = cls(primary.database)
        standby.password = primary.password
        env = dict(os.environ, PGPASSWORD=primary.password)  # never on a command line
        command = [
            str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        ]
        if standby._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=standby.base)
        with open(standby.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {standby.port}\nunix_socket_directories = '{standby.base}'\n")
        # pg_basebackup -R wrote primary_conninfo; name the replica so the primary reports it by name.
        with open(standby.data / "postgresql.auto.conf", "a") as conf:
            conf.write(
                f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=postgres "
                f"password={primary.password} application_name=replica-1'\n"
            )
        return standby

    def start(self) -> "PostgresCluster":
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        self.resume()
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # -- freezing (a hung server) -----------------------------------------------------

    def postmaster(self) -> psutil.Process:
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return psutil.Process(pid)

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections stay open and
        nothing answers."""
        master = self.postmaster()
        for proc in [master, *master.children(recursive=True)]:
            proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        try:
            master = self.postmaster()
        except (OSError, psutil.Error, ValueError):
            return
        for proc in [master, *master.children(recursive=True)]:
            try:
                proc.send_signal(signal.SIGCONT)
            except psutil.Error:
                pass

    # -- access -------------------------------------------------------------------------

    def dsn(self, user: str = "postgres", password: str | None = None, database: str | None = None) -> str:
        password = self.password if password is None else password
        return (
            f"host=127.0.0.1 port={self.port} dbname={database or self.database} user={user} "
            f"password={password} connect_timeout=5"
        )

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.dsn(), autocommit=True, **kwargs)

    def bootstrap(self, catalog_sql: str) -> None:
        """Create the database, pg_stat_statements and the Mothership catalog."""
        with psycopg.connect(self.dsn(database="postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone():
                conn.execute(f'CREATE DATABASE "{self.database}"')
        with self.connect() as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute(catalog_sql)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class ExternalPostgres:
    """An existing server reached by a DSN whose role may create databases
    (AURA_DEMO_POSTGRES_DSN); offers the same ``dsn(database=...)`` as a cluster."""

    def __init__(self, dsn: str) -> None:
        from psycopg.conninfo import conninfo_to_dict

        self._dsn = dsn
        self.database = conninfo_to_dict(dsn).get("dbname") or "postgres"

    def dsn(self, database: str | None = None) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self._dsn, dbname=database or self.database)

    def destroy(self) -> None:
        pass
