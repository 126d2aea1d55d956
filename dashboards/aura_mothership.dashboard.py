"""The reference Aura Mothership dashboard, generated with grafanalib.

``make render`` turns this into dashboards/aura-mothership.json (see
dashboards/README.md). Thresholds, selectors and links come from
config.libsonnet, so the lines on the wall and the alerts never disagree.

grafanalib-style entry point: ``build(config)`` returns the Dashboard, and the
module-level ``dashboard`` is built from the default config.
"""

from __future__ import annotations

from typing import Any

from grafanalib.core import (
    Annotations,
    Dashboard,
    DashboardLink,
    GridPos,
    RowPanel,
    Stat,
    Table,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

DS = {"type": "prometheus", "uid": "${datasource}"}
UID = "aura-mothership"
RI = "$__rate_interval"
GREEN, YELLOW, RED, BLUE = "green", "yellow", "red", "blue"


def grid(pos: tuple[int, int, int, int]) -> GridPos:
    """Positions are written (width, height, x, y) below, as one reads a layout."""
    w, h, x, y = pos
    return GridPos(h=h, w=w, x=x, y=y)


class Builder:
    """Panels share a selector, a runbook base and the config thresholds."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.c = config
        cluster = f'{config["clusterLabel"]}=~"$cluster", ' if config["showMultiCluster"] else ""
        self.sel = f'{cluster}job=~"$job", instance=~"$instance"'
        self.job_sel = f'{cluster}job=~"$job"'
        base = config["runbookURLBase"] if config["runbookMode"] == "repository" else config["exporterRunbookURLBase"]
        self.runbooks = base
        self._next_id = 1

    # -- pieces -------------------------------------------------------------------

    def runbook(self, alert: str) -> str:
        return f"[{alert}]({self.runbooks}/{alert}.md)"

    def describe(self, what: str, knob: str | None, runbooks: list[str]) -> str:
        parts = [what]
        if knob:
            parts.append(f"Moved by: {knob}.")
        if runbooks:
            parts.append("Runbook: " + ", ".join(self.runbook(r) for r in runbooks) + ".")
        return " ".join(parts)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    @staticmethod
    def target(expr: str, legend: str, ref: str, instant: bool = False) -> Target:
        return Target(expr=expr, legendFormat=legend, refId=ref, datasource=DS, instant=instant)

    def targets(self, queries: list[tuple[str, str]]) -> list[Target]:
        return [self.target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(queries)]

    @staticmethod
    def steps(*pairs: tuple[str, float | None]) -> list[dict[str, Any]]:
        return [{"color": color, "value": value} for color, value in pairs]

    def _common(self, title, description, queries, pos, thresholds) -> dict[str, Any]:
        """What every panel has: id, title, description, datasource, queries, place, thresholds."""
        return {
            "id": self._id(),
            "title": title,
            "description": description,
            "dataSource": DS,
            "targets": self.targets(queries),
            "gridPos": grid(pos),
            "thresholds": thresholds or self.steps((GREEN, None)),
        }

    def timeseries(self, title, description, queries, unit, pos, thresholds=None, min_zero=True, stack=False):
        return TimeSeries(
            **self._common(title, description, queries, pos, thresholds),
            unit=unit,
            thresholdsStyleMode="line" if thresholds else "off",
            valueMin=0 if min_zero else None,
            fillOpacity=10,
            stacking={"mode": "normal", "group": "A"} if stack else {},
            tooltipMode="multi",
            legendDisplayMode="table",
            legendCalcs=["lastNotNull", "max"],
        )

    def stat(self, title, description, queries, unit, pos, thresholds=None):
        return Stat(
            **self._common(title, description, queries, pos, thresholds),
            format=unit,
            reduceCalc="lastNotNull",
            graphMode="area",
        )

    def row(self, title: str, y: int, panels: list) -> RowPanel:
        return RowPanel(id=self._id(), title=title, collapsed=True, gridPos=grid((24, 1, 0, y)), panels=panels)


def build(config: dict[str, Any]) -> Dashboard:
    b = Builder(config)
    c = config
    s = b.sel
    js = b.job_sel

    def hq(q: str, metric: str, by: str = "") -> str:
        group = f"{by}, le" if by else "le"
        return f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{s}}}[{RI}])))"

    # -- the six pinned panels, in the tuning guide's order -------------------------
    top = [
        b.timeseries(
            "Request latency P50 / P95 / P99",
            b.describe(
                "Overall Mothership request latency across the selected replicas: the top-level SLO signal. "
                f"The line is the SLO latency ({c['requestLatencySLOSeconds']} s); "
                f"P99 above {c['requestLatencyP99MaxSeconds']} s for long alerts.",
                None, ["AuraRequestLatencyP99High", "AuraRequestLatencyBudgetBurn"]),
            [(hq(q, "aura_request_duration_seconds"), f"P{int(float(q) * 100)}") for q in ("0.5", "0.95", "0.99")],
            "s", (4, 8, 0, 0),
            b.steps((GREEN, None), (YELLOW, c["requestLatencySLOSeconds"]), (RED, c["requestLatencyP99MaxSeconds"])),
        ),
        b.timeseries(
            "PostgreSQL pool wait",
            b.describe(
                "Average number of Mothership workers queued for a PostgreSQL connection (seconds waited per second), "
                "and P99 checkout wait. Any sustained value above the line is pool exhaustion.",
                "database.pool_size (rule of thumb max(16, workers * 2))",
                ["AuraPostgresPoolExhausted", "AuraPostgresCeilingReached"]),
            [
                (f"sum by (pool) (rate(aura_postgres_pool_wait_seconds_sum{{{s}}}[{RI}]))", "{{pool}} workers waiting"),
                (hq("0.99", "aura_postgres_pool_wait_seconds", "pool"), "{{pool}} P99 wait (s)"),
            ],
            "short", (4, 8, 4, 0),
            b.steps((GREEN, None), (RED, c["poolWaitSecondsPerSecondMax"])),
        ),
        b.timeseries(
            "Identity cache hit ratio",
            b.describe(
                "Identity cache hits / lookups, from the summed counters of the selected replicas. "
                f"Below {c['identityCacheHitRatioMin']} sustained the cache is undersized; a well-sized cache runs above 0.99.",
                "cache.identity_cache_mb",
                ["AuraIdentityCacheHitRatioLow", "AuraIdentityCacheBlowout", "AuraColdCachesAfterRestart"]),
            [(
                f"sum(rate(aura_identity_cache_hits_total{{{s}}}[{RI}])) / (sum(rate(aura_identity_cache_hits_total{{{s}}}[{RI}])) "
                f"+ sum(rate(aura_identity_cache_misses_total{{{s}}}[{RI}])))",
                "hit ratio",
            )],
            "percentunit", (4, 8, 8, 0),
            b.steps((RED, None), (YELLOW, c["warmThresholdRatio"]), (GREEN, c["identityCacheHitRatioMin"])),
            min_zero=False,
        ),
        b.timeseries(
            "Sync queue depth",
            b.describe(
                "Updates waiting to fan out to peers, per replica, against sync.max_in_flight: the agent-storm canary. "
                "Steady growth means fan-out cannot keep up; at max_in_flight pushers are held back.",
                "sync.max_in_flight, sync.batch_size, sync.flush_interval_ms",
                ["AuraSyncQueueGrowing", "AuraSyncBackpressure"]),
            [
                (f"aura_sync_queue_depth{{{s}}}", "{{instance}} depth"),
                (f"aura_mothership_config_sync_max_in_flight{{{s}}}", "{{instance}} max_in_flight"),
            ],
            "short", (4, 8, 12, 0),
        ),
        b.timeseries(
            "Fragment store P99",
            b.describe(
                "P99 latency of the fragment (object) store per operation. "
                f"Above {c['fragmentStoreP99MaxSeconds']} s means the store is throttling.",
                "fragment_store.prefix_sharding, cache.fragment_cache_mb",
                ["AuraFragmentStoreSlow"]),
            [(hq("0.99", "aura_fragment_store_latency_seconds", "operation"), "{{operation}}")],
            "s", (4, 8, 16, 0),
            b.steps((GREEN, None), (RED, c["fragmentStoreP99MaxSeconds"])),
        ),
        b.timeseries(
            "Intent-log append latency",
            b.describe(
                "P50 and P99 of appending an intent (serialized through PostgreSQL). The fastest path: it should never spike.",
                None, ["AuraIntentLogAppendLatencySpike"]),
            [(hq(q, "aura_intent_log_append_latency_seconds"), f"P{int(float(q) * 100)}") for q in ("0.5", "0.99")],
            "s", (4, 8, 20, 0),
            b.steps((GREEN, None), (RED, c["intentLogAppendP99MaxSeconds"])),
        ),
    ]

    y = 8
    rows = []

    def add_row(title: str, panels: list) -> None:
        # The row header sits at y; its panels were laid out below it (see at()),
        # and the next row starts where the lowest of them ends.
        nonlocal y
        rows.append(b.row(title, y, panels))
        y = max(p.gridPos.y + p.gridPos.h for p in panels)

    # Panel positions inside a collapsed row start just below the row header.
    def at(w, h, x, dy):
        return (w, h, x, y + 1 + dy)

    add_row("Requests and SLO", [
        b.timeseries(
            "P99 latency by operation",
            b.describe("P99 request latency of each operation (push, pull, subscribe, message, admin).", None,
                       ["AuraRequestLatencyP99High"]),
            [(hq("0.99", "aura_request_duration_seconds", "operation"), "{{operation}}")],
            "s", at(12, 8, 0, 0), b.steps((GREEN, None), (RED, c["requestLatencyP99MaxSeconds"])),
        ),
        b.timeseries(
            "Requests and errors per second",
            b.describe("Request rate per operation, and failed requests.", None, ["AuraRequestLatencyBudgetBurn"]),
            [
                (f"sum by (operation) (rate(aura_request_duration_seconds_count{{{s}}}[{RI}]))", "{{operation}}"),
                (f"sum by (operation) (rate(aura_request_errors_total{{{s}}}[{RI}]))", "{{operation}} errors"),
            ],
            "reqps", at(12, 8, 12, 0),
        ),
        b.timeseries(
            "Latency SLO burn rate",
            b.describe(
                f"How fast the error budget is spent: the share of requests slower than {c['requestLatencySLOSeconds']} s, "
                f"divided by the budget (1 - {c['requestLatencySLOTarget']}). 1 spends it exactly over the SLO period; "
                "the alert pairs fire at 14.4, 6, 3 and 1.",
                None, ["AuraRequestLatencyBudgetBurn"]),
            [
                (f"job:aura_request_slo_errors:ratio_rate{w}{{{js}}} / {round(1 - c['requestLatencySLOTarget'], 6)}", f"{{{{job}}}} {w}")
                for w in ("5m", "1h", "6h", "1d")
            ],
            "short", at(24, 8, 0, 8),
            b.steps((GREEN, None), (YELLOW, 1), (RED, 14.4)),
        ),
    ])

    add_row("PostgreSQL pool and database", [
        b.timeseries(
            "Pool connections",
            b.describe("Connections of each Mothership pool by state, against the pool size; workers waiting for one.",
                       "database.pool_size", ["AuraPostgresPoolExhausted"]),
            [
                (f"sum by (pool, state) (aura_postgres_pool_connections{{{s}}})", "{{pool}} {{state}}"),
                (f"sum by (pool) (aura_postgres_pool_size{{{s}}})", "{{pool}} size"),
                (f"sum by (pool) (aura_postgres_pool_waiting{{{s}}})", "{{pool}} waiting"),
            ],
            "short", at(8, 8, 0, 0),
        ),
        b.timeseries(
            "Pool checkout timeouts",
            b.describe("Checkouts that gave up waiting for a connection, per second.", "database.pool_size",
                       ["AuraPostgresPoolExhausted"]),
            [(f"sum by (pool) (rate(aura_postgres_pool_timeouts_total{{{s}}}[{RI}]))", "{{pool}}")],
            "ops", at(8, 8, 8, 0),
        ),
        b.timeseries(
            "PostgreSQL connections by state",
            b.describe("Client backends on PostgreSQL by state, against what ordinary roles may open "
                       "(max_connections less reserved slots).", "database.pool_size × replicas",
                       ["AuraPostgresConnectionsNearLimit"]),
            [
                (f"max by (state) (sum by (instance, state) (aura_postgres_connections{{{s}}}))", "{{state}}"),
                (f"max(aura_postgres_max_connections{{{s}}} - aura_postgres_superuser_reserved_connections{{{s}}})", "limit"),
            ],
            "short", at(8, 8, 16, 0),
        ),
        b.timeseries(
            "CPU: PostgreSQL vs Mothership",
            b.describe("Share of their CPUs used by PostgreSQL's server processes and by the Mothership process. "
                       "PostgreSQL near 1 while the Mothership is modest: the database is the bottleneck.",
                       None, ["AuraPostgresCPUSaturated"]),
            [
                (f"max(rate(aura_postgres_cpu_seconds_total{{{s}}}[{RI}]) / aura_postgres_host_cpus{{{s}}})", "PostgreSQL"),
                (f"rate(aura_mothership_process_cpu_seconds_total{{{s}}}[{RI}]) / aura_mothership_process_cpus{{{s}}}",
                 "Mothership {{instance}}"),
            ],
            "percentunit", at(8, 8, 0, 8),
            b.steps((GREEN, None), (RED, c["postgresCPUSaturatedRatio"])),
        ),
        b.timeseries(
            "Statement time by query path",
            b.describe("Seconds of PostgreSQL execution per second, by Mothership query path (pg_stat_statements, "
                       "classified). A path that grows out of proportion is the one to look at.",
                       None, ["AuraPostgresCPUSaturated", "AuraPostgresCeilingReached"]),
            [(f"max by (path) (rate(aura_postgres_statement_time_seconds_total{{{s}}}[{RI}]))", "{{path}}")],
            "s", at(8, 8, 8, 8), stack=True,
        ),
        b.timeseries(
            "Mean statement time by query path",
            b.describe("Average execution time of one statement on each path. The identity-resolution path above "
                       f"{c['identityResolutionP95MaxSeconds']} s is a PostgreSQL ceiling signal.",
                       None, ["AuraPostgresCeilingReached"]),
            [(
                f"max by (path) (rate(aura_postgres_statement_time_seconds_total{{{s}}}[{RI}])) / "
                f"max by (path) (rate(aura_postgres_statement_calls_total{{{s}}}[{RI}]))",
                "{{path}}",
            )],
            "s", at(8, 8, 16, 8), b.steps((GREEN, None), (RED, c["identityResolutionP95MaxSeconds"])),
        ),
        b.timeseries(
            "Sequential vs index scans on catalog tables",
            b.describe("Scans per second on each catalog table. Sequential scans on zones outnumbering index scans "
                       "mean the zone lookup lost its index (REINDEX fixes it).", None,
                       ["AuraZoneLookupSequentialScans"]),
            [
                (f"max by (table) (rate(aura_postgres_table_seq_scans_total{{{s}}}[{RI}]))", "{{table}} seq"),
                (f"max by (table) (rate(aura_postgres_table_index_scans_total{{{s}}}[{RI}]))", "{{table}} index"),
            ],
            "ops", at(12, 8, 0, 16),
        ),
        b.timeseries(
            "Rows read by sequential scans",
            b.describe("Rows per second read by sequential scans on each catalog table.", None,
                       ["AuraZoneLookupSequentialScans"]),
            [(f"max by (table) (rate(aura_postgres_table_seq_tuples_read_total{{{s}}}[{RI}]))", "{{table}}")],
            "rowsps", at(12, 8, 12, 16), b.steps((GREEN, None), (RED, c["zoneSeqScanRowsPerSecondMin"])),
        ),
        b.timeseries(
            "Replication lag",
            b.describe("Replay lag of each read replica seen from the primary, and of a standby the exporter is "
                       "connected to.", "database.read_replica_url", ["AuraPostgresReplicationLag"]),
            [
                (f"max by (replica) (aura_postgres_replication_lag_seconds{{{s}}})", "{{replica}}"),
                (f"max by (instance) (aura_postgres_standby_replay_lag_seconds{{{s}}})", "standby {{instance}}"),
            ],
            "s", at(8, 8, 0, 24), b.steps((GREEN, None), (RED, c["replicationLagMaxSeconds"])),
        ),
        b.timeseries(
            "Buffer cache hit ratio",
            b.describe("Share of block reads served from PostgreSQL's shared buffers in the catalog database.",
                       None, ["AuraPostgresCPUSaturated"]),
            [(
                f"max(rate(aura_postgres_blocks_hit_total{{{s}}}[{RI}])) / (max(rate(aura_postgres_blocks_hit_total{{{s}}}[{RI}])) "
                f"+ max(rate(aura_postgres_blocks_read_total{{{s}}}[{RI}])))",
                "hit ratio",
            )],
            "percentunit", at(8, 8, 8, 24), min_zero=False,
        ),
        b.timeseries(
            "Lock waits and oldest transaction",
            b.describe("Backends waiting on a lock, and the age of the oldest open transaction: the usual causes of "
                       "slow intent appends.", None, ["AuraIntentLogAppendLatencySpike"]),
            [
                (f"max(aura_postgres_lock_waiting_backends{{{s}}})", "waiting on locks"),
                (f"max(time() - aura_postgres_oldest_transaction_start_time_seconds{{{s}}})", "oldest transaction age (s)"),
            ],
            "short", at(8, 8, 16, 24),
        ),
    ])

    add_row("Identity cache", [
        b.timeseries(
            "Hits and misses",
            b.describe("Identity lookups per second served from the cache and sent to PostgreSQL. A miss burst after "
                       "a large merge is the blowout pattern.", "cache.identity_cache_mb",
                       ["AuraIdentityCacheBlowout"]),
            [
                (f"sum(rate(aura_identity_cache_hits_total{{{s}}}[{RI}]))", "hits"),
                (f"sum(rate(aura_identity_cache_misses_total{{{s}}}[{RI}]))", "misses"),
                (f"sum(rate(aura_identity_cache_evictions_total{{{s}}}[{RI}]))", "evictions"),
            ],
            "ops", at(8, 8, 0, 0),
        ),
        b.timeseries(
            "Hit ratio per replica",
            b.describe("Counter-based hit ratio of each replica, and the exporter's windowed gauge. Replicas that "
                       "differ a lot suggest the load balancer lost sticky sessions.", "cache.identity_cache_mb",
                       ["AuraIdentityCacheHitRatioLow", "AuraColdCachesAfterRestart"]),
            [
                (f"sum by (instance) (rate(aura_identity_cache_hits_total{{{s}}}[{RI}])) / (sum by (instance) "
                 f"(rate(aura_identity_cache_hits_total{{{s}}}[{RI}])) + sum by (instance) "
                 f"(rate(aura_identity_cache_misses_total{{{s}}}[{RI}])))", "{{instance}}"),
                (f"aura_identity_cache_hit_ratio{{{s}}}", "{{instance}} (exporter window)"),
            ],
            "percentunit", at(8, 8, 8, 0),
            b.steps((RED, None), (YELLOW, c["warmThresholdRatio"]), (GREEN, c["identityCacheHitRatioMin"])),
            min_zero=False,
        ),
        b.timeseries(
            "Identity resolution P95 (cache miss path)",
            b.describe("Time to resolve an identity on a miss: the identity-resolution query path. Above "
                       f"{c['identityResolutionP95MaxSeconds']} s at P95, PostgreSQL is the ceiling.", None,
                       ["AuraPostgresCeilingReached"]),
            [(hq(q, "aura_identity_resolution_duration_seconds"), f"P{int(float(q) * 100)}") for q in ("0.95", "0.99")],
            "s", at(8, 8, 16, 0), b.steps((GREEN, None), (RED, c["identityResolutionP95MaxSeconds"])),
        ),
        b.stat(
            "Cache fill",
            b.describe("Bytes held by each replica's identity cache as a share of its capacity. Full and evicting "
                       "with a low hit ratio: grow the cache.", "cache.identity_cache_mb",
                       ["AuraIdentityCacheHitRatioLow"]),
            [(f"aura_identity_cache_bytes{{{s}}} / aura_identity_cache_capacity_bytes{{{s}}}", "{{instance}}")],
            "percentunit", at(24, 5, 0, 8), b.steps((GREEN, None), (YELLOW, 0.9)),
        ),
    ])

    add_row("Sync pipeline", [
        b.timeseries(
            "Queue depth and in-flight",
            b.describe("Updates waiting to fan out and updates sent but not acknowledged, per replica.",
                       "sync.max_in_flight", ["AuraSyncQueueGrowing", "AuraSyncBackpressure"]),
            [
                (f"aura_sync_queue_depth{{{s}}}", "{{instance}} queued"),
                (f"aura_sync_in_flight{{{s}}}", "{{instance}} in flight"),
            ],
            "short", at(8, 8, 0, 0),
        ),
        b.timeseries(
            "Updates, batches and backpressure",
            b.describe("Updates accepted and batches flushed per second; backpressure events mean pushers were held "
                       "back at max_in_flight.", "sync.batch_size, sync.flush_interval_ms",
                       ["AuraSyncBackpressure"]),
            [
                (f"sum(rate(aura_sync_updates_total{{{s}}}[{RI}]))", "updates"),
                (f"sum(rate(aura_sync_batches_total{{{s}}}[{RI}]))", "batches"),
                (f"sum(rate(aura_sync_backpressure_events_total{{{s}}}[{RI}]))", "backpressure events"),
            ],
            "ops", at(8, 8, 8, 0),
        ),
        b.timeseries(
            "Updates per batch and peers",
            b.describe("Average batch fill (near sync.batch_size means fan-out is batch-bound) and connected peers.",
                       "sync.batch_size", ["AuraSyncQueueGrowing"]),
            [
                (f"sum(rate(aura_sync_updates_total{{{s}}}[{RI}])) / sum(rate(aura_sync_batches_total{{{s}}}[{RI}]))",
                 "updates per batch"),
                (f"sum(aura_sync_peers_connected{{{s}}})", "peers connected"),
            ],
            "short", at(8, 8, 16, 0),
        ),
    ])

    add_row("Fragment store", [
        b.timeseries(
            "Latency by operation",
            b.describe("P50 and P99 of each fragment-store operation.", "fragment_store.prefix_sharding",
                       ["AuraFragmentStoreSlow"]),
            [
                (hq("0.5", "aura_fragment_store_latency_seconds", "operation"), "{{operation}} P50"),
                (hq("0.99", "aura_fragment_store_latency_seconds", "operation"), "{{operation}} P99"),
            ],
            "s", at(12, 8, 0, 0), b.steps((GREEN, None), (RED, c["fragmentStoreP99MaxSeconds"])),
        ),
        b.timeseries(
            "Fragment cache",
            b.describe("Fragment cache hit ratio and fill. A low hit ratio sends hot reads to the store.",
                       "cache.fragment_cache_mb", ["AuraFragmentStoreSlow"]),
            [
                (f"sum(rate(aura_fragment_cache_hits_total{{{s}}}[{RI}])) / (sum(rate(aura_fragment_cache_hits_total{{{s}}}[{RI}])) "
                 f"+ sum(rate(aura_fragment_cache_misses_total{{{s}}}[{RI}])))", "hit ratio"),
                (f"sum(aura_fragment_cache_bytes{{{s}}}) / sum(aura_fragment_cache_capacity_bytes{{{s}}})", "fill"),
            ],
            "percentunit", at(8, 8, 12, 0), min_zero=False,
        ),
        b.stat(
            "Prefix sharding",
            b.describe("fragment_store.prefix_sharding on each replica; 0 means every key shares one prefix.",
                       "fragment_store.prefix_sharding", ["AuraFragmentStoreSlow"]),
            [(f"aura_mothership_config_fragment_store_prefix_sharding{{{s}}}", "{{instance}}")],
            "none", at(4, 8, 20, 0), b.steps((YELLOW, None), (GREEN, 1)),
        ),
    ])

    add_row("Intent log", [
        b.timeseries(
            "Append latency",
            b.describe("P50, P99 and P99.9 of intent appends.", None, ["AuraIntentLogAppendLatencySpike"]),
            [(hq(q, "aura_intent_log_append_latency_seconds"), f"P{float(q) * 100:g}") for q in ("0.5", "0.99", "0.999")],
            "s", at(12, 8, 0, 0), b.steps((GREEN, None), (RED, c["intentLogAppendP99MaxSeconds"])),
        ),
        b.timeseries(
            "Append statements in PostgreSQL",
            b.describe("Intent-log INSERTs per second and their mean execution time inside PostgreSQL "
                       "(pg_stat_statements). Slow inside PostgreSQL too: the database; fast there: waiting on locks.",
                       None, ["AuraIntentLogAppendLatencySpike"]),
            [
                (f'max(rate(aura_postgres_statement_calls_total{{{s}, path="intent_append"}}[{RI}]))', "appends/s"),
                (f'max(rate(aura_postgres_statement_time_seconds_total{{{s}, path="intent_append"}}[{RI}])) / '
                 f'max(rate(aura_postgres_statement_calls_total{{{s}, path="intent_append"}}[{RI}]))', "mean time (s)"),
            ],
            "short", at(12, 8, 12, 0),
        ),
    ])

    add_row("Mothership process and configuration", [
        b.timeseries(
            "CPU cores used",
            b.describe("CPU cores used by each Mothership process.", "runtime.tokio_worker_threads, server.workers",
                       ["AuraPostgresCPUSaturated"]),
            [(f"rate(aura_mothership_process_cpu_seconds_total{{{s}}}[{RI}])", "{{instance}}")],
            "short", at(6, 8, 0, 0),
        ),
        b.timeseries(
            "Resident memory",
            b.describe("Resident memory of each Mothership process; caches count here.",
                       "cache.identity_cache_mb, cache.fragment_cache_mb", ["AuraMothershipDown"]),
            [(f"aura_mothership_process_resident_memory_bytes{{{s}}}", "{{instance}}")],
            "bytes", at(6, 8, 6, 0),
        ),
        b.timeseries(
            "Open file descriptors and threads",
            b.describe("Open fds and OS threads of each Mothership process.", "server.accept_backlog",
                       ["AuraMothershipDown"]),
            [
                (f"aura_mothership_process_open_fds{{{s}}}", "{{instance}} fds"),
                (f"aura_mothership_process_threads{{{s}}}", "{{instance}} threads"),
            ],
            "short", at(6, 8, 12, 0),
        ),
        b.stat(
            "Uptime",
            b.describe("Time since each Mothership started serving. Under "
                       f"{c['coldStartWindowMaxMinutes']} minutes its caches may still be cold.",
                       "readiness.require_cache_warm", ["AuraColdCachesAfterRestart"]),
            [(f"time() - aura_mothership_start_time_seconds{{{s}}}", "{{instance}}")],
            "s", at(6, 8, 18, 0),
            b.steps((YELLOW, None), (GREEN, c["coldStartWindowMaxMinutes"] * 60)),
        ),
        Table(
            id=b._id(),
            title="Live configuration",
            description=b.describe("Every knob each Mothership reports, in base units (bytes, seconds).",
                                   "the Mothership's TOML file", ["AuraPostgresPoolExhausted", "AuraSyncQueueGrowing"]),
            dataSource=DS,
            targets=[b.target(f'{{__name__=~"aura_mothership_config_.+", {s}}}', "{{__name__}}", "A", instant=True)],
            unit="short",
            transformations=[
                {"id": "labelsToFields", "options": {"mode": "columns", "valueLabel": "__name__"}},
                {"id": "merge", "options": {}},
                {"id": "organize", "options": {"excludeByName": {"Time": True, "job": True}}},
            ],
            gridPos=grid(at(24, 8, 0, 8)),
        ),
    ])

    add_row("Exporter", [
        b.stat(
            "Sources up",
            b.describe("Whether the exporter read each of its sources in the last scrape.", None,
                       ["AuraMothershipDown", "AuraPostgresDown", "AuraExporterSourceDown"]),
            [(f"min by (source) (aura_exporter_source_up{{{s}}})", "{{source}}")],
            "none", at(8, 6, 0, 0), b.steps((RED, None), (GREEN, 1)),
        ),
        b.timeseries(
            "Source read time",
            b.describe("Time each scrape spent reading each source, against Prometheus's scrape duration.", None,
                       ["AuraExporterDown"]),
            [
                (f"max by (source) (aura_exporter_source_duration_seconds{{{s}}})", "{{source}}"),
                (f"max(scrape_duration_seconds{{{s}}})", "whole scrape"),
            ],
            "s", at(8, 6, 8, 0),
        ),
        b.timeseries(
            "Source errors by reason",
            b.describe("Failed source reads per second, by reason (connection, timeout, auth, ...).", None,
                       ["AuraMothershipDown", "AuraPostgresDown", "AuraExporterSourceDown"]),
            [(f"sum by (source, reason) (rate(aura_exporter_source_errors_total{{{s}}}[{RI}]))",
              "{{source}} {{reason}}")],
            "ops", at(8, 6, 16, 0),
        ),
    ])

    templating = Templating(list=[
        Template(name="datasource", label="Data source", query="prometheus", type="datasource", default="Prometheus"),
        Template(
            name="cluster", label="Cluster", dataSource=DS, type="query",
            query=f"label_values(aura_exporter_build_info, {c['clusterLabel']})",
            hide=0 if c["showMultiCluster"] else 2, refresh=2,
        ),
        Template(
            name="job", label="Job", dataSource=DS, type="query",
            query=(f'label_values(aura_exporter_build_info{{{c["clusterLabel"]}=~"$cluster"}}, job)'
                   if c["showMultiCluster"] else "label_values(aura_exporter_build_info, job)"),
            refresh=2, includeAll=False,
        ),
        Template(
            name="instance", label="Replica", dataSource=DS, type="query",
            query=f"label_values(aura_exporter_build_info{{{js}}}, instance)",
            refresh=2, includeAll=True, multi=True, allValue=".+", default="$__all",
        ),
    ])

    return Dashboard(
        title="Aura Mothership",
        uid=UID,
        description="Aura Mothership: the six canonical signals on top, one collapsible row per area below.",
        tags=["aura", "mothership"],
        timezone="browser",
        time=Time("now-1h", "now"),
        refresh="30s",
        schemaVersion=39,
        graphTooltip=1,
        editable=True,
        panels=top + rows,
        templating=templating,
        links=[
            DashboardLink(title="Runbooks", uri=f"{b.runbooks}/README.md", type="link", icon="doc",
                          targetBlank=True, keepTime=False),
        ],
        annotations=Annotations(list=[
            {
                "name": "Aura alerts firing", "datasource": DS, "enable": True, "iconColor": "red",
                "expr": f'ALERTS{{alertname=~"Aura.+", alertstate="firing", {js}}}',
                "titleFormat": "{{alertname}}", "textFormat": "{{summary}}", "step": "60s",
            },
            {
                "name": "Mothership restarts", "datasource": DS, "enable": True, "iconColor": "blue",
                "expr": f"changes(aura_mothership_start_time_seconds{{{s}}}[2m]) > 0",
                "titleFormat": "Restart", "textFormat": "{{instance}} restarted", "step": "60s",
            },
        ]),
    )
