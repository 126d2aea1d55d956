// Alerts. Every alert gets runbook_url and dashboard_url from lib/utils.libsonnet's
// withLinks; each has a runbook at runbooks/<alert>.md.
local u = import 'lib/utils.libsonnet';

{
  local c = $._config,
  local v = u.vars(c),
  // Rounded so that 1 - 0.99 reads 0.01 in expressions and annotations.
  local budget = std.round((1 - c.requestLatencySLOTarget) * 1e6) / 1e6,

  prometheusAlerts+:: {
    groups+: u.withLinks([
      {
        name: 'aura-mothership.slo',
        rules: [
          {
            alert: 'AuraRequestLatencyBudgetBurn',
            expr: |||
              job:aura_request_slo_errors:ratio_rate%(long)s > (%(factor)s * %(budget)s)
              and
              job:aura_request_slo_errors:ratio_rate%(short)s > (%(factor)s * %(budget)s)
            ||| % { long: w.long, short: w.short, factor: u.num(w.factor), budget: u.num(budget) },
            'for': w['for'],
            labels: { severity: w.severity, long_window: w.long, short_window: w.short },
            annotations: {
              summary: 'Mothership requests are burning the latency error budget %sx too fast.' % u.num(w.factor),
              description: std.join(' ', [
                '{{ $value | humanizePercentage }} of requests to {{ $labels.job }} took longer than',
                '%ss over the last %s (and the last %s);' % [v.requestLatencySLOSeconds, w.long, w.short],
                'the SLO allows %s%%.' % u.num(std.round(budget * 1e6) / 1e4),
              ]),
            },
          }
          for w in c.sloBurnWindows
        ] + [
          {
            alert: 'AuraRequestLatencyP99High',
            expr: 'job:aura_request_duration_seconds:histogram_quantile{quantile="0.99"} > %(requestLatencyP99MaxSeconds)s' % v,
            'for': c.forLatency,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Mothership P99 request latency is above %ss.' % v.requestLatencyP99MaxSeconds,
              description: 'P99 request latency of {{ $labels.job }} is {{ $value | humanizeDuration }} (threshold %ss).' % v.requestLatencyP99MaxSeconds,
            },
          },
        ],
      },
      {
        name: 'aura-mothership.postgres-pool',
        rules: [
          {
            alert: 'AuraPostgresPoolExhausted',
            expr: 'job_pool:aura_postgres_pool_wait_seconds:rate%(rateWindow)s > %(poolWaitSecondsPerSecondMax)s' % v,
            'for': c.forPoolWait,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Mothership workers keep waiting for a PostgreSQL connection.',
              description: 'On average {{ printf "%%.2f" $value }} workers of {{ $labels.job }} are queued for a {{ $labels.pool }} pool connection (threshold %s): the pool is exhausted.' % v.poolWaitSecondsPerSecondMax,
            },
          },
          {
            alert: 'AuraPostgresCeilingReached',
            expr: |||
              (
                max by (%(agg)s, pool) (aura_postgres_pool_size{%(exporterSelector)s}) >= %(postgresPoolCeiling)s
                and %(onAggPool)s
                job_pool:aura_postgres_pool_wait_seconds:rate%(rateWindow)s > %(poolWaitSecondsPerSecondMax)s
              )
              or
              job:aura_identity_resolution_duration_seconds:histogram_quantile{quantile="0.95"} > %(identityResolutionP95MaxSeconds)s
            ||| % (v { onAggPool: 'on(%s, pool)' % v.agg }),
            'for': c.forCeiling,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'PostgreSQL is the ceiling on Mothership throughput.',
              description: 'For {{ $labels.job }}, workers still wait for connections with the pool at %s or more, or identity resolution P95 is above %sms. A bigger pool will not help: scale PostgreSQL.' % [v.postgresPoolCeiling, u.num(c.identityResolutionP95MaxSeconds * 1000)],
            },
          },
        ],
      },
      {
        name: 'aura-mothership.identity-cache',
        rules: [
          {
            alert: 'AuraIdentityCacheHitRatioLow',
            expr: |||
              instance:aura_identity_cache_hit:ratio_rate%(rateWindow)s < %(identityCacheHitRatioMin)s
              unless on(%(agg)s, instance)
              (time() - aura_mothership_start_time_seconds{%(exporterSelector)s} < %(coldStartSeconds)s)
            ||| % v,
            'for': c.forCache,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The identity cache is too small for the working set.',
              description: 'Identity cache hit ratio on {{ $labels.instance }} is {{ $value | humanizePercentage }}, below %s, outside the cold-start window.' % v.identityCacheHitRatioMin,
            },
          },
          {
            alert: 'AuraIdentityCacheBlowout',
            expr: |||
              instance:aura_identity_cache_hit:ratio_rate%(rateWindow)s < %(identityCacheHitRatioMin)s
              and on(%(agg)s, instance)
              instance:aura_postgres_pool_wait_seconds:rate%(rateWindow)s > %(poolWaitSecondsPerSecondMax)s
              and on(%(agg)s, instance)
              instance:aura_request_duration_seconds:histogram_quantile{quantile="0.99"} > %(requestLatencySLOSeconds)s
              unless on(%(agg)s, instance)
              (time() - aura_mothership_start_time_seconds{%(exporterSelector)s} < %(coldStartSeconds)s)
            ||| % v,
            'for': c.forBlowout,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Identity cache blown out: misses are exhausting the PostgreSQL pool (large merge).',
              description: 'On {{ $labels.instance }} the identity cache hit ratio fell to {{ $value | humanizePercentage }} while workers wait for PostgreSQL connections and P99 latency is above %ss: a change touching many functions has pushed the working set out of the cache.' % v.requestLatencySLOSeconds,
            },
          },
          {
            alert: 'AuraColdCachesAfterRestart',
            expr: |||
              aura_identity_cache_hit_ratio{%(exporterSelector)s} < %(warmThresholdRatio)s
              and on(%(agg)s, instance)
              (time() - aura_mothership_start_time_seconds{%(exporterSelector)s} < %(coldStartSeconds)s)
            ||| % v,
            'for': c.forColdCaches,
            labels: { severity: 'info' },
            annotations: {
              summary: 'A Mothership restarted and its caches are still cold.',
              description: '{{ $labels.instance }} restarted less than %s minutes ago and its identity cache hit ratio is {{ $value | humanizePercentage }}, below the warm threshold %s. Expect elevated latency for %s to %s minutes.' % [v.coldStartWindowMaxMinutes, v.warmThresholdRatio, v.coldStartWindowMinMinutes, v.coldStartWindowMaxMinutes],
            },
          },
        ],
      },
      {
        name: 'aura-mothership.sync',
        rules: [
          {
            alert: 'AuraSyncQueueGrowing',
            expr: |||
              deriv(aura_sync_queue_depth{%(exporterSelector)s}[%(forSyncGrowth)s]) > 0
              and
              aura_sync_queue_depth{%(exporterSelector)s} > %(syncQueueGrowthMinRatio)s * aura_mothership_config_sync_max_in_flight{%(exporterSelector)s}
            ||| % v,
            'for': c.forSyncGrowth,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The sync queue keeps growing: fan-out cannot keep up (agent storm).',
              description: 'The sync queue of {{ $labels.instance }} has grown for %s, by {{ printf "%%.1f" $value }} updates per second; when it reaches max_in_flight, pushing peers are held back.' % c.forSyncGrowth,
            },
          },
          {
            alert: 'AuraSyncBackpressure',
            expr: |||
              aura_sync_queue_depth{%(exporterSelector)s} / aura_mothership_config_sync_max_in_flight{%(exporterSelector)s} > %(syncBackpressureRatio)s
              or
              rate(aura_sync_backpressure_events_total{%(exporterSelector)s}[%(rateWindow)s]) > 0
            ||| % v,
            'for': c.forBackpressure,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Peers are being pushed back: the sync queue is at max_in_flight.',
              description: 'The sync queue of {{ $labels.instance }} is near max_in_flight or pushers are being held back: peers pushing updates stall until fan-out catches up.',
            },
          },
        ],
      },
      {
        name: 'aura-mothership.latency-paths',
        rules: [
          {
            alert: 'AuraFragmentStoreSlow',
            expr: 'job_operation:aura_fragment_store_latency_seconds:histogram_quantile{quantile="0.99"} > %(fragmentStoreP99MaxSeconds)s' % v,
            'for': c.forFragment,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Fragment store P99 is above %sms: the object store is throttling.' % u.num(c.fragmentStoreP99MaxSeconds * 1000),
              description: 'P99 of fragment-store {{ $labels.operation }} for {{ $labels.job }} is {{ $value | humanizeDuration }} (threshold %ss).' % v.fragmentStoreP99MaxSeconds,
            },
          },
          {
            alert: 'AuraIntentLogAppendLatencySpike',
            expr: 'job:aura_intent_log_append_latency_seconds:histogram_quantile{quantile="0.99"} > %(intentLogAppendP99MaxSeconds)s' % v,
            'for': c.forIntentLog,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Intent-log appends are slow; this path should never spike.',
              description: 'P99 intent-log append latency of {{ $labels.job }} is {{ $value | humanizeDuration }} (threshold %ss). Every push waits on this serialized append.' % v.intentLogAppendP99MaxSeconds,
            },
          },
        ],
      },
      {
        name: 'aura-mothership.postgres',
        rules: [
          {
            alert: 'AuraPostgresCPUSaturated',
            expr: |||
              job:aura_postgres_cpu_utilisation:ratio > %(postgresCPUSaturatedRatio)s
              unless on(%(agg)s)
              job:aura_mothership_cpu_utilisation:ratio >= %(mothershipCPUModestRatio)s
            ||| % v,
            'for': c.forPostgresCPU,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'PostgreSQL CPU is saturated while the Mothership is not busy: the database is the bottleneck.',
              description: 'PostgreSQL behind {{ $labels.job }} uses {{ $value | humanizePercentage }} of its CPUs while the Mothership uses under %s of its own.' % v.mothershipCPUModestRatio,
            },
          },
          {
            alert: 'AuraZoneLookupSequentialScans',
            expr: |||
              max by (%(agg)s) (rate(aura_postgres_table_seq_scans_total{%(exporterSelector)s, table="zones"}[%(rateWindow)s]))
              > max by (%(agg)s) (rate(aura_postgres_table_index_scans_total{%(exporterSelector)s, table="zones"}[%(rateWindow)s]))
              and %(onAgg)s
              max by (%(agg)s) (rate(aura_postgres_table_seq_tuples_read_total{%(exporterSelector)s, table="zones"}[%(rateWindow)s])) > %(zoneSeqScanRowsPerSecondMin)s
            ||| % v,
            'for': c.forZoneSeqScan,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Zone lookups are sequential scans: the zone-lookup index is not being used.',
              description: 'The zones table behind {{ $labels.job }} sees {{ $value | humanize }} sequential scans per second, more than index scans, reading over %s rows per second. The zone-lookup index is missing, invalid or ignored.' % v.zoneSeqScanRowsPerSecondMin,
            },
          },
          {
            alert: 'AuraPostgresReplicationLag',
            expr: |||
              max by (%(agg)s, replica) (aura_postgres_replication_lag_seconds{%(exporterSelector)s}) > %(replicationLagMaxSeconds)s
              or
              max by (%(agg)s, instance) (aura_postgres_standby_replay_lag_seconds{%(exporterSelector)s}) > %(replicationLagMaxSeconds)s
            ||| % v,
            'for': c.forReplication,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'A PostgreSQL read replica is behind the primary.',
              description: 'Replica {{ $labels.replica }}{{ $labels.instance }} of {{ $labels.job }} is {{ $value | humanizeDuration }} behind (threshold %ss); identity reads served from it are stale.' % v.replicationLagMaxSeconds,
            },
          },
          {
            alert: 'AuraPostgresConnectionsNearLimit',
            expr: |||
              max by (%(agg)s) (
                sum by (%(agg)s, instance) (aura_postgres_connections{%(exporterSelector)s})
                / on(%(agg)s, instance)
                (aura_postgres_max_connections{%(exporterSelector)s} - aura_postgres_superuser_reserved_connections{%(exporterSelector)s})
              ) > %(connectionsNearLimitRatio)s
            ||| % v,
            'for': c.forConnections,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'PostgreSQL is running out of connection slots.',
              description: 'PostgreSQL behind {{ $labels.job }} has used {{ $value | humanizePercentage }} of the connections ordinary roles may open; new pool connections will be refused.',
            },
          },
        ],
      },
      {
        name: 'aura-mothership.availability',
        rules: [
          {
            alert: 'AuraMothershipDown',
            expr: 'aura_mothership_up{%(exporterSelector)s} == 0' % v,
            'for': c.forDown,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'The Mothership does not answer its stats endpoint.',
              description: 'The exporter at {{ $labels.instance }} has not read valid stats from its Mothership for %s. See aura_exporter_source_errors_total for the reason.' % c.forDown,
            },
          },
          {
            alert: 'AuraPostgresDown',
            expr: 'aura_postgres_up{%(exporterSelector)s} == 0' % v,
            'for': c.forDown,
            labels: { severity: 'critical' },
            annotations: {
              summary: "The Mothership's PostgreSQL cannot be queried.",
              description: 'The exporter at {{ $labels.instance }} has not been able to query PostgreSQL for %s.' % c.forDown,
            },
          },
          {
            alert: 'AuraExporterSourceDown',
            expr: 'aura_exporter_source_up{%(exporterSelector)s, source!~"mothership|postgres"} == 0' % v,
            'for': '10m',
            labels: { severity: 'warning' },
            annotations: {
              summary: 'The exporter cannot read one of its sources.',
              description: 'The exporter at {{ $labels.instance }} has failed to read source {{ $labels.source }} for 10 minutes; the metrics it provides are missing.',
            },
          },
          {
            alert: 'AuraExporterDown',
            expr: 'up{%(exporterSelector)s} == 0' % v,
            'for': c.forDown,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Prometheus cannot scrape aura-exporter.',
              description: 'Scrapes of {{ $labels.instance }} have failed for %s: the Mothership it watches is unmonitored.' % c.forDown,
            },
          },
          {
            alert: 'AuraExporterAbsent',
            expr: 'absent(up{%(exporterSelector)s})' % v,
            'for': c.forAbsent,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Prometheus has no aura-exporter target at all.',
              description: 'Prometheus has found no target matching {%s} (job {{ $labels.job }}) for %s: the exporter is not being discovered, so no Aura alert can fire.' % [c.exporterSelector, c.forAbsent],
            },
          },
        ],
      },
    ], c),
  },
}
