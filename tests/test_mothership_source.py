"""The Mothership source against a real HTTP server speaking the stats contract."""

import time

import pytest

from aura_exporter.sources.mothership import MothershipSource, token_loader
from tests.support.metrics import registry_for, sample, scrape_families
from tests.support.stats_server import example_payload

CANONICAL = {
    "aura_request_duration_seconds": ("histogram", ["operation"]),
    "aura_postgres_pool_wait_seconds": ("histogram", ["pool"]),
    "aura_identity_cache_hit_ratio": ("gauge", []),
    "aura_sync_queue_depth": ("gauge", []),
    "aura_fragment_store_latency_seconds": ("histogram", ["operation"]),
    "aura_intent_log_append_latency_seconds": ("histogram", []),
}


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    # Five minutes after the example Mothership started, so the hit ratio has a value at once.
    return FakeClock(example_payload()["mothership"]["started_at"] + 300)


@pytest.fixture
def source(stats_server, tmp_path, clock):
    token_file = tmp_path / "token"
    token_file.write_text(stats_server.token + "\n")
    return MothershipSource(stats_server.url, token_loader(str(token_file), None), hit_ratio_window=300, clock=clock)


def label_names(family):
    names = set()
    for s in family.samples:
        names |= set(s.labels) - {"le"}
    return names


def test_six_canonical_metrics_with_exact_names_types_labels(source):
    registry, collector = registry_for(source)
    families = scrape_families(collector)
    for name, (kind, labels) in CANONICAL.items():
        assert name in families, name
        assert families[name].type == kind, name
        assert label_names(families[name]) == set(labels), name


def test_values_match_payload(source, stats_server):
    payload = stats_server.payload
    registry, _ = registry_for(source)
    push = payload["requests"]["push"]["duration_seconds"]
    for bound, count in push["buckets"]:
        le = "+Inf" if bound == "+Inf" else repr(float(bound))
        assert registry.get_sample_value("aura_request_duration_seconds_bucket", {"operation": "push", "le": le}) == count
    assert registry.get_sample_value("aura_request_duration_seconds_sum", {"operation": "push"}) == push["sum"]
    assert registry.get_sample_value("aura_request_duration_seconds_count", {"operation": "push"}) == push["count"]
    assert registry.get_sample_value("aura_request_errors_total", {"operation": "push"}) == 3
    pool = payload["db_pool"]["primary"]
    assert registry.get_sample_value("aura_postgres_pool_wait_seconds_count", {"pool": "primary"}) == pool["wait_seconds"]["count"]
    assert registry.get_sample_value("aura_postgres_pool_connections", {"pool": "primary", "state": "in_use"}) == 5
    assert registry.get_sample_value("aura_sync_queue_depth") == payload["sync"]["queue_depth"]
    assert registry.get_sample_value("aura_sync_backpressure_events_total") == 0
    get = payload["fragment_store"]["operations"]["get"]
    assert registry.get_sample_value("aura_fragment_store_latency_seconds_count", {"operation": "get"}) == get["count"]
    append = payload["intent_log"]["append_seconds"]
    assert registry.get_sample_value("aura_intent_log_append_latency_seconds_sum") == append["sum"]
    cache = payload["identity_cache"]
    assert registry.get_sample_value("aura_identity_cache_hits_total") == cache["hits"]
    assert registry.get_sample_value("aura_identity_cache_misses_total") == cache["misses"]
    # The Mothership started inside the 5-minute window: the ratio covers its whole life.
    assert registry.get_sample_value("aura_identity_cache_hit_ratio") == pytest.approx(
        cache["hits"] / (cache["hits"] + cache["misses"])
    )
    assert registry.get_sample_value("aura_mothership_info", {"id": "mothership-0", "version": "0.14.2",
                                                               "sync_compression": "none"}) == 1
    assert registry.get_sample_value("aura_mothership_start_time_seconds") == payload["mothership"]["started_at"]


def test_every_knob_is_a_gauge_in_base_units(source):
    registry, _ = registry_for(source)
    expected = {
        "aura_mothership_config_server_workers": 8,
        "aura_mothership_config_server_accept_backlog": 1024,
        "aura_mothership_config_database_pool_size": 16,
        "aura_mothership_config_database_statement_timeout_seconds": 10.0,
        "aura_mothership_config_sync_batch_size": 128,
        "aura_mothership_config_sync_flush_interval_seconds": 0.5,
        "aura_mothership_config_sync_max_in_flight": 1024,
        "aura_mothership_config_cache_identity_cache_bytes": 256 * 1024 * 1024,
        "aura_mothership_config_cache_fragment_cache_bytes": 1024 * 1024 * 1024,
        "aura_mothership_config_runtime_tokio_worker_threads": 0,
        "aura_mothership_config_fragment_store_prefix_sharding": 0,
        "aura_mothership_config_readiness_require_cache_warm": 0,
        "aura_mothership_config_readiness_warm_threshold_ratio": 0.85,
    }
    for name, value in expected.items():
        assert registry.get_sample_value(name) == value, name


def test_hit_ratio_over_window_and_after_restart(source, stats_server, clock):
    registry, collector = registry_for(source)
    payload = stats_server.mutate()
    payload["mothership"]["started_at"] = clock.now - 3600  # an old process
    payload["identity_cache"].update(hits=1_000_000, misses=1_000)
    assert registry.get_sample_value("aura_identity_cache_hit_ratio") is None  # no history yet
    # Ten minutes at 90% hits, scraped every 30 s.
    for step in range(1, 21):
        clock.now += 30
        payload["identity_cache"].update(hits=1_000_000 + 90 * step, misses=1_000 + 10 * step)
        value = registry.get_sample_value("aura_identity_cache_hit_ratio")
    assert value == pytest.approx(0.9)
    # The Mothership restarts: counters reset, a new start time.
    clock.now += 30
    payload["mothership"]["started_at"] = clock.now - 20
    payload["identity_cache"].update(hits=40, misses=60)
    assert registry.get_sample_value("aura_identity_cache_hit_ratio") == pytest.approx(0.4)
    clock.now += 30
    payload["identity_cache"].update(hits=240, misses=60)
    assert registry.get_sample_value("aura_identity_cache_hit_ratio") == pytest.approx(0.8)
    assert registry.get_sample_value("aura_identity_cache_hit_ratio_window_seconds") == 300


def test_token_is_sent_as_bearer_and_reread(source, stats_server, tmp_path):
    registry, _ = registry_for(source)
    assert registry.get_sample_value("aura_mothership_up") == 1
    assert stats_server.auth_headers[-1] == f"Bearer {stats_server.token}"
    stats_server.token = "rotated"
    (tmp_path / "token").write_text("rotated")
    assert registry.get_sample_value("aura_mothership_up") == 1


def _down_reason(collector, timeout=5.0):
    """One scrape; asserts the source is down and returns its error counters."""
    families = scrape_families(collector, timeout)
    assert sample(families, "aura_exporter_source_up", source="mothership") == 0
    assert sample(families, "aura_mothership_up") == 0
    assert "aura_sync_queue_depth" not in families
    assert "aura_exporter_build_info" in families
    return {
        reason: sample(families, "aura_exporter_source_errors", "aura_exporter_source_errors_total",
                       source="mothership", reason=reason)
        for reason in MothershipSource.error_reasons
    }


def _break(server, fault):
    if fault == "http_500":
        server.status = 500
    elif fault == "auth":
        server.token = "something-else"
    elif fault == "malformed":
        server.raw_body = b'{"schema": "aura.mothership.stats/v1", "mothership": {'
    elif fault == "wrong_version":
        server.mutate()["schema"] = "aura.mothership.stats/v2"
    elif fault == "non_monotone":
        buckets = server.mutate()["requests"]["push"]["duration_seconds"]["buckets"]
        buckets[3][1] = buckets[2][1] - 1
    elif fault == "oversized":
        server.raw_body = b"[" + b"0," * 3_000_000 + b"0]"
    elif fault == "hang":
        server.hang_seconds = 30
    elif fault == "drip":
        server.drip_seconds = 0.05


@pytest.mark.parametrize(
    "fault, reason, words",
    [
        ("http_500", "http_status", "HTTP 500"),
        ("auth", "auth", "401"),
        ("malformed", "invalid_json", "malformed JSON"),
        ("wrong_version", "unsupported_schema", "aura.mothership.stats/v2"),
        ("non_monotone", "invalid_payload", "requests/push/duration_seconds"),
        ("oversized", "too_large", "more than"),
        ("hang", "timeout", "deadline"),
        ("drip", "timeout", "deadline"),
    ],
)
def test_faults_mark_source_down_then_recover(source, stats_server, fault, reason, words, caplog):
    registry, collector = registry_for(source, timeout=1.5)
    assert registry.get_sample_value("aura_mothership_up") == 1
    _break(stats_server, fault)
    started = time.monotonic()
    errors = _down_reason(collector, timeout=1.5)
    assert time.monotonic() - started < 2.5, "a bad source must not hold the scrape past its deadline"
    assert errors[reason] == 1
    assert sum(errors.values()) == 1
    assert any(words in r.getMessage() and r.levelname == "WARNING" for r in caplog.records), caplog.text
    assert stats_server.token not in caplog.text
    stats_server.reset()
    stats_server.token = "s3cret-admin-token"
    assert registry.get_sample_value("aura_mothership_up") == 1
    assert registry.get_sample_value("aura_exporter_source_up", {"source": "mothership"}) == 1


def test_connection_refused(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = MothershipSource(f"http://127.0.0.1:{port}", token_loader(None, None))
    registry, collector = registry_for(source)
    errors = _down_reason(collector)
    assert errors["connection"] == 1


def test_missing_token_file_is_a_clear_error(stats_server, tmp_path):
    source = MothershipSource(stats_server.url, token_loader(str(tmp_path / "nope"), None))
    registry, collector = registry_for(source)
    errors = _down_reason(collector)
    assert errors["token"] == 1
