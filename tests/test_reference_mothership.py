"""The reference Mothership against a real PostgreSQL, read by the real
exporter: the contract holds in every scenario, each scenario moves the
canonical metrics the way the tuning guide describes, and each fix from the
guide relieves its pattern."""

import time

import jsonschema
import psycopg
import pytest
import requests

from aura_exporter import contract
from aura_exporter.collector import ExporterCollector
from aura_exporter.deadline import Deadline
from aura_exporter.sources.mothership import MothershipSource
from aura_exporter.sources.postgres import PostgresSource
from aura_exporter.sources.process import ProcessSource
from tests.support.metrics import families_by_name, sample
from tests.support.pg import wait_until
from tests.support.sim import SimProcess, fresh_database

pytestmark = pytest.mark.slow
TRIGGER = "3"


class Observer:
    """The exporter's three sources, in process, pointed at one running sim. Every
    scrape validates the stats against the contract (the exporter refuses anything
    else), so every scenario is checked against the schema all along."""

    def __init__(self, sim: SimProcess, dsn: str, window: float = 6.0) -> None:
        self.sim = sim
        self.collector = ExporterCollector([
            MothershipSource(sim.url, lambda: sim.token,
                             hit_ratio_window=window),
            PostgresSource(dsn),
            ProcessSource(str(sim.pid_file)),
        ])

    def scrape(self) -> dict:
        outcomes = self.collector.run_sources(Deadline(10))
        for outcome in outcomes:
            assert outcome.up, f"{outcome.source.name}: {outcome.error}"
        return families_by_name(m for o in outcomes for m in o.collected.metrics)

    def close(self) -> None:
        self.collector.close()


def bucket_counts(families, family, **labels):
    return {s.labels["le"]: s.value for s in families[family].samples
            if s.name.endswith("_bucket") and all(s.labels.get(k) == v for k, v in labels.items())}


def delta_quantile(before, after, family, q, **labels):
    """Quantile of the observations made between two scrapes (upper bucket bound)."""
    b, a = bucket_counts(before, family, **labels), bucket_counts(after, family, **labels)
    bounds = sorted(a, key=lambda le: float("inf") if le == "+Inf" else float(le))
    total = a["+Inf"] - b.get("+Inf", 0)
    assert total > 0, f"no {family} observations"
    for le in bounds:
        if a[le] - b.get(le, 0) >= q * total:
            return float(le)


def counter(families, family, **labels):
    return sample(families, family, family + "_total", **labels)


def hist_sum(families, family, **labels):
    return sum(s.value for s in families[family].samples
               if s.name == family + "_sum" and all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture
def run_sim(pg, tmp_path):
    """Start a scenario on a fresh clone of the seeded catalog; stops everything after."""
    started = []

    def start(scenario, name, config=None, extra=()):
        dsn = fresh_database(pg, name)
        sim = SimProcess(dsn, tmp_path / name, scenario, config, extra=("--trigger-after", TRIGGER, *extra))
        observer = Observer(sim, dsn)
        started.append((sim, observer))
        return sim, observer, dsn

    yield start
    for sim, observer in started:
        observer.close()
        sim.stop()


def test_baseline_serves_the_contract_and_is_healthy(run_sim):
    sim, obs, _ = run_sim("baseline", "sc_baseline")
    first = obs.scrape()
    time.sleep(6)
    last = obs.scrape()
    jsonschema.validate(sim.stats(), contract.schema())
    contract.validate(sim.stats())
    assert sample(last, "aura_identity_cache_hit_ratio") > 0.99
    assert delta_quantile(first, last, "aura_request_duration_seconds", 0.99, operation="push") <= 0.1
    assert hist_sum(last, "aura_postgres_pool_wait_seconds") - hist_sum(first, "aura_postgres_pool_wait_seconds") < 0.05
    assert sample(last, "aura_sync_queue_depth") < 100
    assert sample(last, "aura_mothership_config_database_pool_size") == 16
    assert sample(last, "aura_sync_peers_connected") == 50
    assert sample(last, "aura_mothership_process_threads") > 50
    assert counter(last, "aura_postgres_statement_calls", path="intent_append") > 0
    assert counter(last, "aura_postgres_statement_calls", path="zone_lookup") > 0
    # Health, tracing and auth endpoints.
    assert requests.get(sim.url + "/health", timeout=5).json()["status"] == "ok"
    assert requests.get(sim.url + "/debug/stats", timeout=5).status_code == 401
    assert sim.post("/debug/tracing", {"level": "debug", "duration_seconds": 1}).json()["level"] == "debug"
    assert sim.post("/debug/tracing", {"level": "loud", "duration_seconds": 1}).status_code == 400


def test_large_merge_blows_out_the_cache_and_a_bigger_cache_fixes_it(run_sim):
    sim, obs, _ = run_sim("large-merge", "sc_merge")
    before = obs.scrape()
    wait_until(lambda: sim.elapsed() > 12, timeout=30, interval=0.5)
    during = obs.scrape()
    jsonschema.validate(sim.stats(), contract.schema())
    assert sample(during, "aura_identity_cache_hit_ratio") < 0.95
    assert hist_sum(during, "aura_postgres_pool_wait_seconds") > hist_sum(before, "aura_postgres_pool_wait_seconds")
    assert delta_quantile(before, during, "aura_request_duration_seconds", 0.99, operation="pull") >= 0.5
    assert counter(during, "aura_identity_cache_evictions") > 0
    sim.stop()

    sim, obs, _ = run_sim("large-merge", "sc_merge_fixed", config="[cache]\nidentity_cache_mb = 2048\n")
    obs.scrape()
    # Once the merge has landed and peers have synced it, the bigger cache holds
    # the working set and the merged functions: the ratio recovers before the next merge.
    recovered = wait_until(
        lambda: (r := sample(obs.scrape(), "aura_identity_cache_hit_ratio")) is not None and r > 0.95 and r,
        timeout=25, interval=1, what="the hit ratio to recover above 0.95",
    )
    assert recovered > 0.95


def test_agent_storm_grows_the_queue_and_bigger_windows_stop_it(run_sim):
    sim, obs, _ = run_sim("agent-storm", "sc_storm")
    obs.scrape()
    wait_until(lambda: sim.elapsed() > 6, timeout=20, interval=0.2)
    depths = []
    for _ in range(5):
        depths.append(sample(obs.scrape(), "aura_sync_queue_depth"))
        time.sleep(1.5)
    assert all(b > a for a, b in zip(depths, depths[1:])), depths
    wait_until(lambda: sample(obs.scrape(), "aura_sync_queue_depth") >= 1024, timeout=30, interval=1,
               what="the queue to reach max_in_flight")
    wait_until(lambda: counter(obs.scrape(), "aura_sync_backpressure_events") > 0, timeout=10, interval=0.5,
               what="backpressure")
    sim.stop()

    sim, obs, _ = run_sim("agent-storm", "sc_storm_fixed",
                          config="[sync]\nbatch_size = 512\nflush_interval_ms = 250\nmax_in_flight = 4096\n")
    wait_until(lambda: sim.elapsed() > 8, timeout=20, interval=0.2)
    depths = []
    for _ in range(5):
        depths.append(sample(obs.scrape(), "aura_sync_queue_depth"))
        time.sleep(1.5)
    last = obs.scrape()
    assert max(depths) < 400, depths  # fan-out keeps up: the queue stays a small fraction of the window
    assert counter(last, "aura_sync_backpressure_events") == 0


def test_postgres_cpu_from_lost_index_and_reindex_stops_the_scans(run_sim, pg):
    sim, obs, dsn = run_sim("postgres-cpu", "sc_pgcpu")
    first, first_at = obs.scrape(), time.monotonic()
    wait_until(lambda: sim.elapsed() > 2.5, timeout=10, interval=0.1)
    healthy, healthy_at = obs.scrape(), time.monotonic()
    wait_until(lambda: sim.elapsed() > 5, timeout=10, interval=0.1)
    lost, lost_at = obs.scrape(), time.monotonic()
    time.sleep(5)
    busy, busy_at = obs.scrape(), time.monotonic()
    seq = lambda f: counter(f, "aura_postgres_table_seq_scans", table="zones")  # noqa: E731
    cpu = lambda f: counter(f, "aura_postgres_cpu_seconds")  # noqa: E731
    assert seq(busy) - seq(lost) > 20, "zone lookups should be sequential scans now"
    assert seq(healthy) - seq(first) <= 2
    healthy_cores = (cpu(healthy) - cpu(first)) / (healthy_at - first_at)
    busy_cores = (cpu(busy) - cpu(lost)) / (busy_at - lost_at)
    assert busy_cores > 0.5 and busy_cores > 3 * healthy_cores, (healthy_cores, busy_cores)
    # The runbook's fix: recreate (or REINDEX) the zone-lookup index.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS zones_repo_path_idx ON zones (repo, path)")
    time.sleep(1)
    fixed_start = obs.scrape()
    time.sleep(4)
    fixed = obs.scrape()
    assert seq(fixed) - seq(fixed_start) <= 2
    assert counter(fixed, "aura_postgres_table_index_scans", table="zones") > counter(
        fixed_start, "aura_postgres_table_index_scans", table="zones")


def test_fragment_throttle_and_prefix_sharding(run_sim):
    sim, obs, _ = run_sim("fragment-throttle", "sc_frag")
    wait_until(lambda: sim.elapsed() > 7, timeout=20, interval=0.2)
    before = obs.scrape()
    time.sleep(4)
    after = obs.scrape()
    assert delta_quantile(before, after, "aura_fragment_store_latency_seconds", 0.99, operation="put") > 0.5
    sim.stop()

    sim, obs, _ = run_sim("fragment-throttle", "sc_frag_fixed", config="[fragment_store]\nprefix_sharding = 64\n")
    wait_until(lambda: sim.elapsed() > 7, timeout=20, interval=0.2)
    before = obs.scrape()
    time.sleep(4)
    after = obs.scrape()
    assert delta_quantile(before, after, "aura_fragment_store_latency_seconds", 0.99, operation="put") < 0.5
    assert sample(after, "aura_mothership_config_fragment_store_prefix_sharding") == 64


def test_cold_start_recovers_and_warming_shortens_it(run_sim):
    sim, obs, _ = run_sim("cold-start", "sc_cold")
    obs.scrape()
    time.sleep(3)
    early = sample(obs.scrape(), "aura_identity_cache_hit_ratio")
    assert early < 0.5
    # As peers touch their working set the cache fills and the ratio climbs.
    later = wait_until(
        lambda: (r := sample(obs.scrape(), "aura_identity_cache_hit_ratio")) > early + 0.15 and r,
        timeout=40, interval=1, what="the hit ratio to recover",
    )
    assert later > early + 0.15
    sim.stop()

    sim, obs, _ = run_sim("cold-start", "sc_cold_warm")
    warmed = sim.post("/admin/cache/warm", {"branch": "main"}).json()
    assert warmed["identities"] > 2000
    obs.scrape()
    time.sleep(3)
    assert sample(obs.scrape(), "aura_identity_cache_hit_ratio") > 0.85


def test_readiness_waits_for_a_warm_cache(run_sim):
    sim, obs, _ = run_sim("cold-start", "sc_ready",
                          config="[readiness]\nrequire_cache_warm = true\nwarm_threshold_ratio = 0.85\n")
    time.sleep(1)
    assert requests.get(sim.url + "/health", timeout=5).status_code == 503
    sim.post("/admin/cache/warm", {"branch": "main"})
    wait_until(lambda: requests.get(sim.url + "/health", timeout=5).status_code == 200, timeout=30, interval=0.5,
               what="readiness after warming")


def test_unknown_knob_is_refused(pg, tmp_path):
    from tests.support.sim import BIN
    import subprocess

    (tmp_path / "bad.toml").write_text("[cache]\nidentity_cache_gb = 2\n")
    (tmp_path / "tok").write_text("t")
    result = subprocess.run([str(BIN), "--postgres-dsn", "host=127.0.0.1 port=1", "--admin-token-file",
                             str(tmp_path / "tok"), "--config", str(tmp_path / "bad.toml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "cache.identity_cache_gb" in result.stderr


def test_tracing_window_reverts_by_itself():
    import logging

    from aura_sim.server import MothershipServer

    logger = logging.getLogger("aura_sim")
    logger.setLevel(logging.INFO)
    server = MothershipServer(("127.0.0.1", 0), mothership=None, admin_token="t")
    try:
        server.set_tracing("debug", 0.3)
        assert logger.level == logging.DEBUG
        wait_until(lambda: logger.level == logging.INFO, timeout=5, interval=0.05, what="the level to revert")
    finally:
        server.server_close()


def test_cache_miss_reads_go_to_the_read_replica(pg, tmp_path):
    """database.read_replica_url: identity resolution on a miss uses the replica pool."""
    from tests.support.pg import PostgresCluster

    dsn = fresh_database(pg, "sc_replica")
    standby = PostgresCluster.standby_of(pg).start()
    sim = None
    try:
        replica_dsn = standby.dsn(database="sc_replica")
        wait_until(lambda: _can_connect(replica_dsn), timeout=30, what="the replica to have the database")
        config = f"[database]\nread_replica_url = \"{replica_dsn}\"\n"
        sim = SimProcess(dsn, tmp_path / "replica", "cold-start", config)
        wait_until(lambda: sim.stats()["identity_cache"]["misses"] > 100, timeout=30, what="cache misses")
        stats = sim.stats()
        assert stats["config"]["database"]["read_replica_configured"] is True
        replica = stats["db_pool"]["replica"]
        assert replica["size"] == 16
        assert replica["wait_seconds"]["count"] >= stats["identity_cache"]["misses"] * 0.9
        jsonschema.validate(stats, contract.schema())
        with psycopg.connect(replica_dsn) as conn:
            names = {r[0] for r in conn.execute("SELECT application_name FROM pg_stat_activity").fetchall()}
        assert "aura-mothership/replica" in names
    finally:
        if sim is not None:
            sim.stop()
        standby.destroy()


def _can_connect(dsn):
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.Error:
        return False
