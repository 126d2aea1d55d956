"""The PostgreSQL source against a real PostgreSQL 15 cluster."""

import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests

from aura_exporter.collector import ExporterCollector
from aura_exporter.deadline import Deadline
from aura_exporter.server import ExporterServer
from aura_exporter.sources.mothership import MothershipSource, token_loader
from aura_exporter.sources.postgres import PostgresSource
from aura_exporter.webconfig import WebConfig
from tests.support.metrics import registry_for, sample, scrape_families
from tests.support.pg import wait_until

ROLE_SQL = (Path(__file__).resolve().parents[1] / "deploy" / "sql" / "exporter-role.sql").read_text()


def exporter_role_dsn(pg, password="exporter-pw-Zq9"):
    with pg.connect() as conn:
        conn.execute(ROLE_SQL)
        conn.execute(f"ALTER ROLE aura_exporter PASSWORD '{password}'")
    return pg.dsn(user="aura_exporter", password=password)


@pytest.fixture
def pg_source(pg):
    source = PostgresSource(pg.dsn())
    yield source
    source.close()


def test_connections_by_application_name_and_state(pg, pg_source):
    _, collector = registry_for(pg_source)
    idle = [psycopg.connect(pg.dsn(), application_name="aura-test-app", autocommit=True) for _ in range(3)]
    busy = psycopg.connect(pg.dsn(), application_name="aura-test-app")
    busy.execute("SELECT 1")  # leaves the session idle in transaction
    try:
        families = scrape_families(collector)
        assert sample(families, "aura_postgres_connections", application_name="aura-test-app", state="idle") == 3
        assert sample(families, "aura_postgres_connections", application_name="aura-test-app",
                      state="idle in transaction") == 1
        # The exporter's own session is visible as itself and is the one running a query.
        assert sample(families, "aura_postgres_connections", application_name="aura-exporter", state="active") == 1
        assert sample(families, "aura_postgres_oldest_transaction_start_time_seconds") <= time.time()
        assert sample(families, "aura_postgres_max_connections") == 100
        assert sample(families, "aura_postgres_up") == 1
    finally:
        for conn in idle + [busy]:
            conn.close()
    families = scrape_families(collector)
    assert sample(families, "aura_postgres_connections", application_name="aura-test-app", state="idle") is None


def test_lock_waiters_are_counted(pg, pg_source):
    _, collector = registry_for(pg_source)
    holder = psycopg.connect(pg.dsn())
    holder.execute("LOCK TABLE team_members IN ACCESS EXCLUSIVE MODE")
    waiter = psycopg.connect(pg.dsn(), autocommit=True)
    thread = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM team_members"), daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: sample(scrape_families(collector), "aura_postgres_lock_waiting_backends") == 1,
            what="a backend waiting on the lock",
        )
    finally:
        holder.rollback()
        holder.close()
        thread.join(5)
        waiter.close()


def test_sequential_scans_on_catalog_table_move(pg, pg_source):
    _, collector = registry_for(pg_source)
    with pg.connect() as conn:
        conn.execute("INSERT INTO zones (repo, path) SELECT 'seq-repo', 'p' || g FROM generate_series(1, 200) g")
    before = sample(scrape_families(collector), "aura_postgres_table_seq_scans", "aura_postgres_table_seq_scans_total",
                    table="zones")
    with pg.connect() as conn:
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        for _ in range(7):
            conn.execute("SELECT zone_id FROM zones WHERE repo = 'seq-repo' AND path = 'p7'").fetchall()
    wait_until(
        lambda: sample(scrape_families(collector), "aura_postgres_table_seq_scans",
                       "aura_postgres_table_seq_scans_total", table="zones") >= before + 7,
        what="seq_scan on zones to move by 7",
    )
    families = scrape_families(collector)
    assert sample(families, "aura_postgres_table_index_scans", "aura_postgres_table_index_scans_total",
                  table="zones") is not None
    assert sample(families, "aura_postgres_table_live_rows", table="zones") is not None
    assert sample(families, "aura_postgres_database_size_bytes", database="aura") > 1_000_000


def test_classified_statement_moves_its_path(pg, pg_source):
    _, collector = registry_for(pg_source)

    def zone_lookup():
        families = scrape_families(collector)
        return (
            sample(families, "aura_postgres_statement_calls", "aura_postgres_statement_calls_total", path="zone_lookup"),
            sample(families, "aura_postgres_statement_time_seconds", "aura_postgres_statement_time_seconds_total",
                   path="zone_lookup"),
        )

    calls_before, seconds_before = zone_lookup()
    with pg.connect() as conn:
        for i in range(12):
            conn.execute("SELECT zone_id, state FROM zones WHERE repo = %s AND path = %s", ("r", f"p{i}")).fetchall()
    calls_after, seconds_after = wait_until(
        lambda: (v := zone_lookup())[0] >= calls_before + 12 and v, what="zone_lookup calls to move"
    )
    assert seconds_after > seconds_before
    # Every path is always exported, so the label set stays fixed and small.
    families = scrape_families(collector)
    paths = {s.labels["path"] for s in families["aura_postgres_statement_calls"].samples}
    assert {"identity_resolution", "zone_lookup", "intent_append", "other"} <= paths
    assert len(paths) <= 10


def test_statement_counters_survive_pg_stat_statements_reset(pg, pg_source):
    _, collector = registry_for(pg_source)
    with pg.connect() as conn:
        for _ in range(5):
            conn.execute("SELECT name FROM team_members WHERE team = %s", ("t",)).fetchall()
    counted = wait_until(
        lambda: sample(scrape_families(collector), "aura_postgres_statement_calls",
                       "aura_postgres_statement_calls_total", path="membership") or None,
        what="membership calls",
    )
    with pg.connect() as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
        conn.execute("SELECT name FROM team_members WHERE team = %s", ("t",)).fetchall()
    after = wait_until(
        lambda: (v := sample(scrape_families(collector), "aura_postgres_statement_calls",
                             "aura_postgres_statement_calls_total", path="membership")) > counted and v,
        what="membership calls after reset",
    )
    assert after >= counted + 1  # a counter never goes backwards


def test_queries_per_scrape_are_few(pg):
    dsn = exporter_role_dsn(pg)
    source = PostgresSource(dsn)
    _, collector = registry_for(source)
    scrape_families(collector)  # connect, learn statement texts

    def exporter_calls():
        with pg.connect() as conn:
            return conn.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
                "WHERE r.rolname = 'aura_exporter'"
            ).fetchone()[0]

    scrape_families(collector)
    before = exporter_calls()
    for _ in range(10):
        scrape_families(collector)
    per_scrape = (exporter_calls() - before) / 10
    print(f"\nPostgreSQL statements per scrape: {per_scrape:.1f}")
    assert per_scrape <= 6
    source.close()


def collect_beside_another_session(pg, source):
    """One collection while the superuser holds an idle session named someone-else;
    returns the outcome and the states the source saw for that session."""
    _, collector = registry_for(source)
    with psycopg.connect(pg.dsn(), application_name="someone-else", autocommit=True):
        outcome = collector.run_sources(Deadline(5))[0]
    assert outcome.up, outcome.error
    states = {s.labels["state"] for m in outcome.collected.metrics if m.name == "aura_postgres_connections"
              for s in m.samples if s.labels["application_name"] == "someone-else"}
    return outcome, states


def test_read_only_role_from_deploy_sql(pg):
    source = PostgresSource(exporter_role_dsn(pg))
    outcome, states = collect_beside_another_session(pg, source)
    assert not any("pg_monitor" in n for n in outcome.collected.notes)
    assert "aura_postgres_statement_calls" in {m.name for m in outcome.collected.metrics}
    assert states == {"idle"}  # pg_monitor shows the state of another user's session
    with psycopg.connect(exporter_role_dsn(pg), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO team_members (team, name, kind) VALUES ('x', 'y', 'agent')")
    source.close()


def test_role_without_pg_monitor_gets_a_note(pg):
    with pg.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS plain_reader")
        conn.execute("CREATE ROLE plain_reader LOGIN PASSWORD 'plain-pw'")
    source = PostgresSource(pg.dsn(user="plain_reader", password="plain-pw"))
    outcome, states = collect_beside_another_session(pg, source)
    assert any("not a member of pg_monitor" in note for note in outcome.collected.notes)
    assert states == {"unknown"}  # hidden without pg_monitor
    source.close()


def test_missing_pg_stat_statements_is_noted_and_the_rest_served(pg):
    with pg.connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bare'").fetchone():
            conn.execute("CREATE DATABASE bare")
    source = PostgresSource(pg.dsn(database="bare"))
    _, collector = registry_for(source)
    outcome = collector.run_sources(Deadline(5))[0]
    assert outcome.up
    assert any("pg_stat_statements is not installed" in n for n in outcome.collected.notes)
    names = {m.name for m in outcome.collected.metrics}
    assert "aura_postgres_statement_calls" not in names
    assert "aura_postgres_connections" in names
    source.close()


def test_wrong_password_is_clear_and_never_echoed(pg, caplog):
    secret = "Wr0ng-but-Secret-pw"
    source = PostgresSource(pg.dsn(password=secret))
    _, collector = registry_for(source)
    outcome = collector.run_sources(Deadline(5))[0]
    assert not outcome.up
    assert outcome.error.reason == "auth"
    assert "password authentication failed" in outcome.error.message
    assert secret not in outcome.error.message
    assert secret not in caplog.text
    assert secret not in source.target()
    families = scrape_families(collector)
    assert all(secret not in str(s) for m in families.values() for s in m.samples)


def test_stopped_then_restarted_server(private_pg):
    source = PostgresSource(private_pg.dsn())
    _, collector = registry_for(source)
    assert sample(scrape_families(collector), "aura_postgres_up") == 1
    private_pg.stop()
    families = scrape_families(collector)
    assert sample(families, "aura_postgres_up") == 0
    assert sample(families, "aura_exporter_source_errors", "aura_exporter_source_errors_total",
                  source="postgres", reason="connection") >= 1
    private_pg.start()
    assert sample(scrape_families(collector), "aura_postgres_up") == 1
    assert source.connections_opened == 2
    source.close()


def test_frozen_server_is_cut_off_at_the_deadline(private_pg, stats_server, tmp_path):
    """SIGSTOP: the socket stays open and nothing answers. The scrape must
    still finish in time, serve the Mothership's metrics, and recover."""
    token = tmp_path / "token"
    token.write_text(stats_server.token)
    pg_source = PostgresSource(private_pg.dsn())
    ms_source = MothershipSource(stats_server.url, token_loader(str(token), None))
    _, collector = registry_for(pg_source, ms_source)
    assert sample(scrape_families(collector), "aura_postgres_up") == 1
    private_pg.freeze()
    try:
        for _ in range(2):  # the second scrape finds the first one's connection still being torn down
            started = time.monotonic()
            families = scrape_families(collector, timeout=2.0)
            assert time.monotonic() - started < 3.0
            assert sample(families, "aura_postgres_up") == 0
            assert sample(families, "aura_mothership_up") == 1
            assert "aura_sync_queue_depth" in families
    finally:
        private_pg.resume()
    wait_until(lambda: sample(scrape_families(collector, 3.0), "aura_postgres_up") == 1, timeout=20,
               what="PostgreSQL source to recover")
    pg_source.close()


def test_ten_concurrent_scrapes_share_one_connection(pg):
    source = PostgresSource(pg.dsn())
    collector = ExporterCollector([source], default_timeout=10)
    server = ExporterServer(("127.0.0.1", 0), collector, WebConfig(), 10.0, 0.5)
    server.serve_in_thread()
    results = []

    def scrape():
        resp = requests.get(server.url + "/metrics", timeout=30)
        results.append("aura_postgres_up 1.0" in resp.text)

    try:
        threads = [threading.Thread(target=scrape) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [True] * 10
        assert source.connections_opened == 1
        with pg.connect() as conn:
            count = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'aura-exporter'"
            ).fetchone()[0]
        assert count == 1
    finally:
        server.shutdown()
        server.server_close()
        source.close()


def test_replication_seen_from_primary_and_standby(private_pg):
    from tests.support.pg import PostgresCluster

    standby = PostgresCluster.standby_of(private_pg).start()
    primary_source, standby_source = PostgresSource(private_pg.dsn()), PostgresSource(standby.dsn())
    try:
        _, on_primary = registry_for(primary_source)
        families = wait_until(
            lambda: (f := scrape_families(on_primary)) and sample(f, "aura_postgres_replicas") == 1 and f,
            what="the replica to attach",
        )
        assert sample(families, "aura_postgres_replication_lag_seconds", replica="replica-1") is not None
        assert sample(families, "aura_postgres_replication_lag_bytes", replica="replica-1") >= 0
        assert sample(families, "aura_postgres_in_recovery") == 0
        _, on_standby = registry_for(standby_source)
        families = scrape_families(on_standby)
        assert sample(families, "aura_postgres_in_recovery") == 1
        assert sample(families, "aura_postgres_standby_replay_lag_seconds") >= 0
        assert "aura_postgres_replicas" not in families  # pg_stat_replication is a primary's view
    finally:
        primary_source.close()
        standby_source.close()
        standby.destroy()
