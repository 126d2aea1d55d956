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
