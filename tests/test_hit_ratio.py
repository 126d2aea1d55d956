import pytest

from aura_exporter.hit_ratio import WindowedRatio

START = 1_000_000.0


def test_process_started_inside_window_counts_from_start():
    r = WindowedRatio(300)
    assert r.observe(START + 60, START, hits=90, misses=10) == pytest.approx(0.9)


def test_no_history_for_an_old_process_reports_nothing():
    r = WindowedRatio(300)
    assert r.observe(START + 3600, START, hits=990, misses=10) is None


def test_window_uses_only_recent_lookups():
    r = WindowedRatio(300)
    t = START + 3600
    r.observe(t, START, hits=1_000_000, misses=1_000)  # lifetime ratio ~0.999
    # Over the next 5 minutes: 800 hits, 200 misses -> 0.8 over the window
    for step in range(1, 21):
        value = r.observe(t + 15 * step, START, hits=1_000_000 + 40 * step, misses=1_000 + 10 * step)
    assert value == pytest.approx(0.8)
    # 5 more minutes of perfect hits push the bad minutes out of the window.
    for step in range(1, 22):
        value = r.observe(t + 300 + 15 * step, START, hits=1_000_800 + 50 * step, misses=1_200)
    assert value == pytest.approx(1.0)


def test_counter_reset_on_restart_starts_over():
    r = WindowedRatio(300)
    r.observe(START + 3600, START, hits=10_000, misses=10)
    r.observe(START + 3615, START, hits=10_100, misses=10)
    restarted = START + 3620
    # New process: counters back near zero, different start time.
    assert r.observe(restarted + 10, restarted, hits=30, misses=70) == pytest.approx(0.3)
    assert r.observe(restarted + 25, restarted, hits=130, misses=70) == pytest.approx(0.65)


def test_counter_decrease_without_new_start_time_is_a_reset():
    r = WindowedRatio(300)
    r.observe(START + 3600, START, hits=10_000, misses=10)
    assert r.observe(START + 3615, START, hits=5, misses=5) is None  # no usable history yet
    assert r.observe(START + 3630, START, hits=15, misses=5) == pytest.approx(1.0)


def test_idle_cache_has_no_ratio():
    r = WindowedRatio(300)
    r.observe(START + 3600, START, hits=100, misses=1)
    assert r.observe(START + 3615, START, hits=100, misses=1) is None


def test_window_must_be_positive():
    with pytest.raises(ValueError):
        WindowedRatio(0)
