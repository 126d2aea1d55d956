// Recording rules, named level:metric:operations. Ratios and quantiles are computed
// from summed counters and buckets, never by averaging per-replica ratios.
local u = import 'lib/utils.libsonnet';

{
  prometheusRules+:: {
    local v = u.vars($._config),
    local quantiles = ['0.5', '0.95', '0.99'],
    local sloWindows = std.uniq(std.sort(
      std.flattenArrays([[w.long, w.short] for w in $._config.sloBurnWindows]),
    )),

    groups+: [
      {
        name: 'aura-mothership.requests.rules',
        rules: [
          {
            record: 'job_le:aura_request_duration_seconds_bucket:rate%(rateWindow)s' % v,
            expr: 'sum by (%(agg)s, le) (rate(aura_request_duration_seconds_bucket{%(exporterSelector)s}[%(rateWindow)s]))' % v,
          },
          {
            record: 'instance_le:aura_request_duration_seconds_bucket:rate%(rateWindow)s' % v,
            expr: 'sum by (%(agg)s, instance, le) (rate(aura_request_duration_seconds_bucket{%(exporterSelector)s}[%(rateWindow)s]))' % v,
          },
        ] + [
          {
            record: 'job:aura_request_duration_seconds:histogram_quantile',
            expr: 'histogram_quantile(%s, job_le:aura_request_duration_seconds_bucket:rate%s)' % [q, v.rateWindow],
            labels: { quantile: q },
          }
          for q in quantiles
        ] + [
          {
            record: 'instance:aura_request_duration_seconds:histogram_quantile',
            expr: 'histogram_quantile(0.99, instance_le:aura_request_duration_seconds_bucket:rate%s)' % v.rateWindow,
            labels: { quantile: '0.99' },
          },
        ] + [
          // Share of requests slower than the SLO latency, over each burn-rate window.
          {
            record: 'job:aura_request_slo_errors:ratio_rate%s' % w,
            expr: |||
              1 - (
                sum by (%(agg)s) (rate(aura_request_duration_seconds_bucket{%(exporterSelector)s, %(le)s}[%(w)s]))
              /
                sum by (%(agg)s) (rate(aura_request_duration_seconds_count{%(exporterSelector)s}[%(w)s]))
              )
            ||| % (v { w: w, le: u.leMatcher($._config.requestLatencySLOSeconds) }),
          }
          for w in sloWindows
        ],
      },
      {
        name: 'aura-mothership.postgres-pool.rules',
        rules: [
          {
            // Seconds spent waiting for a connection per second: the average number of queued workers.
            record: 'job_pool:aura_postgres_pool_wait_seconds:rate%(rateWindow)s' % v,
            expr: 'sum by (%(agg)s, pool) (rate(aura_postgres_pool_wait_seconds_sum{%(exporterSelector)s}[%(rateWindow)s]))' % v,
          },
          {
            record: 'instance:aura_postgres_pool_wait_seconds:rate%(rateWindow)s' % v,
            expr: 'sum by (%(agg)s, instance) (rate(aura_postgres_pool_wait_seconds_sum{%(exporterSelector)s}[%(rateWindow)s]))' % v,
          },
          {
            record: 'job_pool:aura_postgres_pool_wait_seconds:histogram_quantile',
            expr: 'histogram_quantile(0.99, sum by (%(agg)s, pool, le) (rate(aura_postgres_pool_wait_seconds_bucket{%(exporterSelector)s}[%(rateWindow)s])))' % v,
            labels: { quantile: '0.99' },
          },
        ],
      },
      {
        name: 'aura-mothership.identity-cache.rules',
        rules: [
          {
            record: 'instance:aura_identity_cache_hit:ratio_rate%(rateWindow)s' % v,
            expr: |||
              sum by (%(agg)s, instance) (rate(aura_identity_cache_hits_total{%(exporterSelector)s}[%(rateWindow)s]))
              /
              (
                sum by (%(agg)s, instance) (rate(aura_identity_cache_hits_total{%(exporterSelector)s}[%(rateWindow)s]))
                +
                sum by (%(agg)s, instance) (rate(aura_identity_cache_misses_total{%(exporterSelector)s}[%(rateWindow)s]))
              )
            ||| % v,
          },
          {
            record: 'job:aura_identity_cache_hit:ratio_rate%(rateWindow)s' % v,
            expr: |||
              sum by (%(agg)s) (rate(aura_identity_cache_hits_total{%(exporterSelector)s}[%(rateWindow)s]))
              /
              (
                sum by (%(agg)s) (rate(aura_identity_cache_hits_total{%(exporterSelector)s}[%(rateWindow)s]))
                +
                sum by (%(agg)s) (rate(aura_identity_cache_misses_total{%(exporterSelector)s}[%(rateWindow)s]))
              )
            ||| % v,
          },
          {
            record: 'job:aura_identity_cache_misses:rate%(rateWindow)s' % v,
            expr: 'sum by (%(agg)s) (rate(aura_identity_cache_misses_total{%(exporterSelector)s}[%(rateWindow)s]))' % v,
          },
        ] + [
          {
            record: 'job:aura_identity_resolution_duration_seconds:histogram_quantile',
            expr: 'histogram_quantile(%s, sum by (%s, le) (rate(aura_identity_resolution_duration_seconds_bucket{%s}[%s])))'
                  % [q, v.agg, v.exporterSelector, v.rateWindow],
            labels: { quantile: q },
          }
          for q in ['0.95', '0.99']
        ],
      },
      {
        name: 'aura-mothership.latency-paths.rules',
        rules: [
          {
            record: 'job_operation:aura_fragment_store_latency_seconds:histogram_quantile',
            expr: 'histogram_quantile(%s, sum by (%s, operation, le) (rate(aura_fragment_store_latency_seconds_bucket{%s}[%s])))'
                  % [q, v.agg, v.exporterSelector, v.rateWindow],
            labels: { quantile: q },
          }
          for q in ['0.5', '0.99']
        ] + [
          {
            record: 'job:aura_intent_log_append_latency_seconds:histogram_quantile',
            expr: 'histogram_quantile(%s, sum by (%s, le) (rate(aura_intent_log_append_latency_seconds_bucket{%s}[%s])))'
                  % [q, v.agg, v.exporterSelector, v.rateWindow],
            labels: { quantile: q },
          }
          for q in ['0.5', '0.99']
        ],
      },
      {
        name: 'aura-mothership.cpu.rules',
        rules: [
          {
            record: 'job:aura_mothership_cpu_utilisation:ratio',
            expr: 'max by (%(agg)s) (rate(aura_mothership_process_cpu_seconds_total{%(exporterSelector)s}[%(rateWindow)s]) / aura_mothership_process_cpus{%(exporterSelector)s})' % v,
          },
          if $._config.postgresNodeSelector == '' then {
            // PostgreSQL on the exporter's host: its server processes' CPU over the host's CPUs.
            // Several sidecars may see the same server, hence max rather than sum.
            record: 'job:aura_postgres_cpu_utilisation:ratio',
            expr: 'max by (%(agg)s) (rate(aura_postgres_cpu_seconds_total{%(exporterSelector)s}[%(rateWindow)s]) / aura_postgres_host_cpus{%(exporterSelector)s})' % v,
          } else {
            // PostgreSQL on its own host: node_exporter's busy share, given the exporter's job label.
            record: 'job:aura_postgres_cpu_utilisation:ratio',
            expr: |||
              (0 * max by (%(agg)s) (aura_exporter_build_info{%(exporterSelector)s}))
              + on(%(nodeJoin)s) group_left()
              (1 - avg by (%(nodeJoin)s) (rate(node_cpu_seconds_total{mode="idle", %(postgresNodeSelector)s}[%(rateWindow)s])))
            ||| % (v { nodeJoin: if v.showMultiCluster then v.clusterLabel else '' }),
          },
        ],
      },
    ],
  },
}
