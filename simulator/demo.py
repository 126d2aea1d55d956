"""The demo: the reference Mothership gets into each kind of trouble the tuning
guide describes, the right alert fires with its runbook link, the runbook's fix
is applied, and the alert resolves. Everything runs on loopback and is removed
at the end (or on Ctrl-C).

    python -m aura_sim.demo                       # every pattern, about 10 minutes
    python -m aura_sim.demo --scenario agent-storm

The same Stack drives the end-to-end alert tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from aura_exporter import render
from aura_sim.pgcluster import ExternalPostgres, PostgresCluster, free_port, wait_until
from aura_sim.processes import (
    AlertmanagerProcess,
    ExporterProcess,
    PrometheusServer,
    SimProcess,
    fresh_database,
)

ROOT = render.ROOT
# Every 2 s: the fast profile's 10 s rate windows hold five samples, and the
# exporter has 1.5 s (the timeout less its margin) to answer even on a busy machine.
SCRAPE_INTERVAL = "2s"
FAST_PROFILE = ROOT / "alerts" / "profiles" / "fast.libsonnet"


@dataclass(frozen=True)
class Pattern:
    scenario: str
    title: str
    #: alerts that show this pattern; the first of them must fire
    alerts: tuple[str, ...]
    fix_title: str
    fix_config: str | None = None  # restart with this TOML
    fix_sql: str | None = None  # or run this against the catalog
    fix_warm: bool = False  # or warm the cache right after the restart
    trigger_after: float = 3.0


PATTERNS: dict[str, Pattern] = {
    p.scenario: p
    for p in (
        Pattern("large-merge", "Latency spikes with large merges", ("AuraIdentityCacheBlowout",),
                "grow the identity cache and the pool by half ([cache] identity_cache_mb = 2048, "
                "[database] pool_size = 24), warming the cache as the replica starts",
                fix_config="[cache]\nidentity_cache_mb = 2048\n[database]\npool_size = 24\n", trigger_after=10.0),
        Pattern("agent-storm", "Sync queue grows during an agent storm", ("AuraSyncQueueGrowing", "AuraSyncBackpressure"),
                "raise the fan-out window: [sync] batch_size = 512, flush_interval_ms = 250, max_in_flight = 4096",
                fix_config="[sync]\nbatch_size = 512\nflush_interval_ms = 250\nmax_in_flight = 4096\n"),
        Pattern("postgres-cpu", "PostgreSQL CPU at 100%", ("AuraZoneLookupSequentialScans", "AuraPostgresCPUSaturated"),
                "recreate the zone-lookup index (REINDEX / CREATE INDEX CONCURRENTLY)",
                fix_sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS zones_repo_path_idx ON zones (repo, path)"),
        Pattern("fragment-throttle", "Fragment store slow", ("AuraFragmentStoreSlow",),
                "shard fragment keys: [fragment_store] prefix_sharding = 64",
                fix_config="[fragment_store]\nprefix_sharding = 64\n"),
        Pattern("cold-start", "Cold start after restart", ("AuraColdCachesAfterRestart",),
                "warm the cache during the deploy: POST /admin/cache/warm {\"branch\": \"main\"}", fix_warm=True),
    )
}

#: the alerts that characterize each pattern: a scenario must fire none of the other patterns'
PATTERN_ALERTS = {name: set(p.alerts) for name, p in PATTERNS.items()}

CANONICAL = (
    ("request latency P99", 'max(job:aura_request_duration_seconds:histogram_quantile{quantile="0.99"})', "s"),
    ("PostgreSQL pool wait (workers queued)", "max(job_pool:aura_postgres_pool_wait_seconds:rate10s)", ""),
    ("identity cache hit ratio", "min(aura_identity_cache_hit_ratio)", "ratio"),
    ("sync queue depth / max_in_flight", "max(aura_sync_queue_depth)", "/max_in_flight"),
    ("fragment store P99", 'max(job_operation:aura_fragment_store_latency_seconds:histogram_quantile{quantile="0.99"})', "s"),
    ("intent-log append P99", 'max(job:aura_intent_log_append_latency_seconds:histogram_quantile{quantile="0.99"})', "s"),
)


@dataclass
class Stack:
    """PostgreSQL database + reference Mothership + exporter + Prometheus (fast
    profile rules) + Alertmanager, on loopback, in one work directory."""

    postgres: PostgresCluster | ExternalPostgres
    workdir: Path
    database: str = "aura_demo"
    with_alertmanager: bool = True
    exporter_window: float = 10.0
    sim: SimProcess | None = None
    runs: int = 0
    processes: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sim_port = free_port()
        self.exporter_port = free_port()
        self.token = "demo-" + os.urandom(8).hex()
        self.dsn = fresh_database(self.postgres, self.database)
        (self.workdir / "token").write_text(self.token)
        (self.workdir / "dsn").write_text(self.dsn)
        # Fast profile, and runbook links to the exporter's own copy (air-gapped mode).
        override = self.workdir / "demo.libsonnet"
        override.write_text(
            f"(import '{FAST_PROFILE}') + {{ _config+:: {{ runbookMode: 'exporter', "
            f"exporterRunbookURLBase: 'http://127.0.0.1:{self.exporter_port}/runbooks' }} }}\n"
        )
        render.render(self.workdir / "rendered", override=override)
        self.rules = self.workdir / "rendered" / "alerts" / "aura-mothership.rules.yml"
        self.exporter = ExporterProcess(
            "--mothership-url", f"http://127.0.0.1:{self.sim_port}", "--mothership-token-file",
            str(self.workdir / "token"), "--postgres-dsn-file", str(self.workdir / "dsn"),
            "--process-pid-file", str(self.workdir / "sim" / "mothership.pid"),
            "--hit-ratio-window", str(self.exporter_window), "--runbook-dir", str(ROOT / "runbooks"),
            log_path=self.workdir / "exporter.log", port=self.exporter_port,
        )
        self.processes.append(self.exporter)
        self.alertmanager = None
        if self.with_alertmanager:
            self.alertmanager = AlertmanagerProcess(ROOT / "deploy" / "alertmanager" / "alertmanager.yml")
            self.processes.append(self.alertmanager)
        self.prometheus = PrometheusServer(
            [f"127.0.0.1:{self.exporter_port}"], rule_files=[self.rules], interval=SCRAPE_INTERVAL,
            alertmanager=self.alertmanager.address if self.alertmanager else None,
        )
        self.processes.append(self.prometheus)
        # Start from a Prometheus that has scraped the exporter once (no "absent" blip).
        wait_until(lambda: self.prometheus.query('up{job="aura-exporter"} == 1'), timeout=30, interval=0.5,
                   what="Prometheus to scrape the exporter")

    # -- driving the Mothership ---------------------------------------------------------

    def start(self, scenario: str, config: str | None = None, trigger_after: float = 3.0,
              fresh_catalog: bool = True) -> SimProcess:
        """(Re)start the reference Mothership under ``scenario``."""
        self.stop_sim()
        if fresh_catalog:
            self.dsn = fresh_database(self.postgres, self.database)
        self.runs += 1
        self.sim = SimProcess(self.dsn, self.workdir / "sim", scenario, config, token=self.token,
                              extra=("--trigger-after", str(trigger_after)), port=self.sim_port)
        return self.sim

    def stop_sim(self) -> None:
        if self.sim is not None:
            self.sim.stop()
            self.sim = None

    def run_sql(self, sql: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql)

    # -- reading Prometheus --------------------------------------------------------------

    def alerts(self) -> list[dict]:
        return self.prometheus.alerts()

    def firing(self) -> set[str]:
        return {a["labels"]["alertname"] for a in self.alerts() if a["state"] == "firing"}

    def active(self) -> set[str]:
        return {a["labels"]["alertname"] for a in self.alerts()}

    def canonical(self) -> list[tuple[str, str]]:
        values = []
        for title, query, unit in CANONICAL:
            try:
                result = self.prometheus.query(query)
                value = float(result[0]["value"][1]) if result else None
            except Exception:
                value = None
            if value is None or value != value:  # no data, or NaN
                text = "-"
            elif unit == "s":
                text = f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
            elif unit == "/max_in_flight":
                limit = self.prometheus.query("max(aura_mothership_config_sync_max_in_flight)")
                text = f"{value:.0f} / {float(limit[0]['value'][1]):.0f}" if limit else f"{value:.0f}"
            elif unit == "ratio":
                text = f"{value:.3f}"
            else:
                text = f"{value:.2f}"
            values.append((title, text))
        return values

    def close(self) -> None:
        self.stop_sim()
        for process in reversed(self.processes):
            try:
                process.close() if hasattr(process, "close") else process.stop()
            except Exception:
                pass


# -- the terminal view ---------------------------------------------------------------------


def view(stack: Stack, heading: str, status: str) -> str:
    lines = [f"Aura Mothership demo: {heading}", status, "", "Canonical metrics"]
    for title, value in stack.canonical():
        lines.append(f"  {title:<40} {value}")
    lines += ["", "Alerts (pending or firing)"]
    alerts = sorted(stack.alerts(), key=lambda a: (a["state"] != "firing", a["labels"]["alertname"]))
    if not alerts:
        lines.append("  none")
    for alert in alerts:
        labels = alert["labels"]
        lines.append(f"  {alert['state']:<8} {labels['alertname']:<36} {labels.get('severity', ''):<9} "
                     f"{alert['annotations'].get('runbook_url', '')}")
    lines += ["", f"Prometheus: {stack.prometheus.url}   exporter: {stack.exporter.url}/metrics   "
                  f"runbooks: {stack.exporter.url}/runbooks/README.md", "Ctrl-C stops and cleans up."]
    return "\n".join(lines)


class Screen:
    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self.tty = sys.stdout.isatty()
        self._last = 0.0

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (self.interval if self.tty else 10 * self.interval):
            return
        self._last = now
        if self.tty:
            sys.stdout.write("\033[H\033[2J" + text + "\n")
        else:
            sys.stdout.write(text + "\n" + "-" * 60 + "\n")
        sys.stdout.flush()


def wait_for(predicate: Callable[[], bool], timeout: float, tick: Callable[[], None]) -> float | None:
    """Seconds until ``predicate`` held, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        tick()
        time.sleep(1)
    return None


@dataclass
class Outcome:
    pattern: Pattern
    detected_after: float | None = None
    detected: str | None = None
    resolved_after: float | None = None
    other_patterns: set[str] = field(default_factory=set)
    all_alerts: set[str] = field(default_factory=set)  # pending or firing at some point
    all_firing: set[str] = field(default_factory=set)


def play(stack: Stack, pattern: Pattern, screen: Screen | None = None, detect_timeout: float = 120,
         resolve_timeout: float = 120) -> Outcome:
    """Trigger one pattern, wait for its alert, apply the runbook's fix, wait for resolution."""
    outcome = Outcome(pattern)
    others = set().union(*(a for name, a in PATTERN_ALERTS.items() if name != pattern.scenario))

    def tick(status: str) -> Callable[[], None]:
        def _tick() -> None:
            alerts = stack.alerts()
            active = {a["labels"]["alertname"] for a in alerts}
            outcome.all_firing |= {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
            outcome.all_alerts |= active
            outcome.other_patterns |= active & others
            if screen:
                screen.show(view(stack, pattern.title, status))
        return _tick

    stack.start(pattern.scenario, trigger_after=pattern.trigger_after)
    triggered_at = time.monotonic() + pattern.trigger_after

    def detected() -> bool:
        hit = stack.firing() & set(pattern.alerts)
        if hit:
            outcome.detected = sorted(hit)[0]
        return bool(hit)

    if wait_for(detected, detect_timeout, tick(f"scenario {pattern.scenario}: waiting for {pattern.alerts[0]}")) is not None:
        outcome.detected_after = max(0.0, time.monotonic() - triggered_at)
    if screen:
        screen.show(view(stack, pattern.title, f"{outcome.detected or 'no alert'} fired; applying the runbook's fix: "
                                               f"{pattern.fix_title}"), force=True)
    fixed_at = time.monotonic()
    if pattern.fix_sql:
        stack.run_sql(pattern.fix_sql)
    else:
        stack.start(pattern.scenario, config=pattern.fix_config, trigger_after=pattern.trigger_after)
        if pattern.fix_warm:
            stack.sim.post("/admin/cache/warm", {"branch": "main"})
    resolved = wait_for(lambda: not (stack.active() & set(pattern.alerts)), resolve_timeout,
                        tick(f"fix applied ({pattern.fix_title}); waiting for the alert to resolve"))
    if resolved is not None:
        # Stay with the fixed Mothership past its trigger: the pattern must not come back.
        quiet_until = fixed_at + pattern.trigger_after + 15
        wait_for(lambda: time.monotonic() > quiet_until or bool(stack.active() & set(pattern.alerts)), 60,
                 tick("watching the fixed Mothership: the pattern must not come back"))
        if not stack.active() & set(pattern.alerts):
            outcome.resolved_after = resolved
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=sorted(PATTERNS), help="run one pattern only")
    parser.add_argument("--baseline-seconds", type=float, default=30)
    args = parser.parse_args(argv)

    for binary in ("prometheus",):
        if shutil.which(binary) is None:
            print("prometheus is not installed: apt-get install prometheus prometheus-alertmanager", file=sys.stderr)
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="aura-demo-"))
    interrupted = False

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    external = os.environ.get("AURA_DEMO_POSTGRES_DSN")
    postgres = None
    stack = None
    screen = Screen()
    outcomes: list[Outcome] = []
    try:
        print("starting PostgreSQL, the reference Mothership, the exporter, Prometheus and Alertmanager ...", flush=True)
        postgres = ExternalPostgres(external) if external else PostgresCluster().init().start()
        stack = Stack(postgres, workdir)
        print(f"Prometheus: {stack.prometheus.url}  exporter: {stack.exporter.url}/metrics", flush=True)
        patterns = [PATTERNS[args.scenario]] if args.scenario else list(PATTERNS.values())
        if not args.scenario:
            stack.start("baseline")
            end = time.monotonic() + args.baseline_seconds
            while time.monotonic() < end:
                screen.show(view(stack, "a healthy team (baseline)", "no alert should fire"))
                time.sleep(1)
        for pattern in patterns:
            outcomes.append(play(stack, pattern, screen))
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted", flush=True)
    finally:
        if stack is not None:
            stack.close()
        if postgres is not None:
            postgres.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    if outcomes:
        print("\npattern              alert                             detected after   resolved after fix")
        for o in outcomes:
            det = f"{o.detected_after:.0f} s" if o.detected_after is not None else "not detected"
            res = f"{o.resolved_after:.0f} s" if o.resolved_after is not None else "not resolved"
            print(f"{o.pattern.scenario:<20} {o.detected or '-':<33} {det:<16} {res}")
    print("stopped; every process and temporary directory was removed.")
    return 130 if interrupted else 0 if all(o.detected and o.resolved_after is not None for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
