"""End to end: a real Prometheus evaluating the fast-profile rules against the
real exporter and the reference Mothership. Each pattern fires its alert and no
other pattern's; baseline fires nothing; the runbook's fix resolves the alert.
Time to detection is printed (see docs/alert-quality.md)."""

import threading

import pytest

from aura_sim.demo import PATTERNS, Stack, play
from aura_sim.pgcluster import PostgresCluster

pytestmark = pytest.mark.slow

# Two stacks side by side. The second has a PostgreSQL server of its own: the
# postgres-cpu pattern saturates its server, which the first stack must not see.
GROUPS = (("large-merge", "fragment-throttle", "cold-start"), ("agent-storm", "postgres-cpu"))


def _run_group(pg, tmp_path, index, names, results):
    own = PostgresCluster().init().start() if index == 1 else None
    stack = Stack(own or pg, tmp_path / f"stack{index}", database=f"e2e_{index}", with_alertmanager=False)
    try:
        for name in names:
            results[name] = play(stack, PATTERNS[name], detect_timeout=90, resolve_timeout=60)
    except Exception as exc:  # reported by the main thread
        results[f"error-{index}"] = exc
    finally:
        stack.close()
        if own is not None:
            own.destroy()


def test_baseline_fires_nothing(pg, tmp_path):
    stack = Stack(pg, tmp_path / "baseline", database="e2e_baseline", with_alertmanager=False)
    firing, pending = set(), set()
    try:
        stack.start("baseline")
        for _ in range(30):
            for alert in stack.alerts():
                (firing if alert["state"] == "firing" else pending).add(alert["labels"]["alertname"])
            threading.Event().wait(1)
    finally:
        stack.close()
    print(f"\nbaseline: firing {sorted(firing) or 'none'}, pending {sorted(pending) or 'none'}")
    assert firing == set()
    pattern_alerts = set().union(*(p.alerts for p in PATTERNS.values()))
    assert pending & pattern_alerts == set()


def test_every_pattern_fires_its_alert_only_and_the_fix_resolves_it(pg, tmp_path):
    results = {}
    threads = [threading.Thread(target=_run_group, args=(pg, tmp_path, i, names, results))
               for i, names in enumerate(GROUPS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    errors = {k: v for k, v in results.items() if k.startswith("error")}
    assert not errors, errors

    print("\npattern            alert fired                      detection   resolved   also firing")
    for name in (n for group in GROUPS for n in group):
        o = results[name]
        detect = f"{o.detected_after:.0f} s" if o.detected_after is not None else "-"
        resolve = f"{o.resolved_after:.0f} s" if o.resolved_after is not None else "-"
        also = ", ".join(sorted(o.all_firing - set(o.pattern.alerts))) or "-"
        print(f"{name:<18} {o.detected or '-':<32} {detect:<11} {resolve:<10} {also}")
    for name in (n for group in GROUPS for n in group):
        o = results[name]
        assert o.detected in o.pattern.alerts, f"{name}: no expected alert fired"
        assert o.other_patterns == set(), f"{name}: other patterns' alerts {o.other_patterns}"
        assert o.resolved_after is not None, f"{name}: the fix did not resolve {o.detected}"


def test_demo_stops_cleanly_on_ctrl_c(tmp_path):
    """The demo, interrupted while everything runs, leaves no process or temporary directory."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    import psutil

    before = set(os.listdir(tempfile.gettempdir()))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    demo = subprocess.Popen([sys.executable, "-m", "aura_sim.demo", "--scenario", "cold-start"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        lines.append(line)
        if "Canonical metrics" in line:
            break
    else:
        demo.kill()
        raise AssertionError("".join(lines))
    children = psutil.Process(demo.pid).children(recursive=True)
    names = {" ".join(c.cmdline()[:2]) for c in children}
    assert any("prometheus" in n for n in names) and any("aura-exporter" in n for n in names), names
    demo.send_signal(signal.SIGINT)
    out, _ = demo.communicate(timeout=90)
    assert demo.returncode == 130, out
    assert "every process and temporary directory was removed" in out
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    leftovers = {d for d in set(os.listdir(tempfile.gettempdir())) - before if d.startswith("aura-")}
    assert not leftovers, leftovers
