// Every selector, threshold, window and link of the bundle, in one place.
// The alerts (jsonnet), the dashboard (Python evaluates this file) and the runbook
// checks all read from here. Override by importing the mixin:
//
//   (import 'mixin.libsonnet') + { _config+:: { exporterSelector: 'job="aura"' } }
//
// Thresholds marked "guide" come from the Mothership performance-tuning guide; the
// others are this bundle's defaults, explained where they are set.
{
  _config+:: {
    // -- selection ---------------------------------------------------------------
    // Series scraped from aura-exporter.
    exporterSelector: 'job="aura-exporter"',
    // Set true when one Prometheus watches several clusters; every aggregation then
    // keeps clusterLabel and the dashboard shows a cluster picker.
    showMultiCluster: false,
    clusterLabel: 'cluster',
    // node_exporter series of the PostgreSQL host, e.g. 'job="node", instance="db-1:9100"'.
    // Empty: PostgreSQL CPU comes from the exporter (PostgreSQL on the same host).
    postgresNodeSelector: '',

    // -- the tuning guide's thresholds (guide) ------------------------------------
    identityCacheHitRatioMin: 0.95,  // guide: below 0.95 sustained means the cache is small
    fragmentStoreP99MaxSeconds: 0.5,  // guide: object-store P99 above 500 ms means throttling
    identityResolutionP95MaxSeconds: 0.05,  // guide: identity-resolution path above 50 ms P95 = scale PostgreSQL
    postgresPoolCeiling: 128,  // guide: still waiting with the pool at 128 = scale PostgreSQL
    warmThresholdRatio: 0.85,  // guide: readiness.warm_threshold_ratio
    coldStartWindowMinMinutes: 5,  // guide: latency settles 5 to 15 minutes after a restart
    coldStartWindowMaxMinutes: 15,

    // -- this bundle's thresholds -------------------------------------------------
    // Request latency SLO: requestLatencySLOTarget of requests finish within
    // requestLatencySLOSeconds. The latter must be a bucket bound the Mothership exports.
    requestLatencySLOTarget: 0.99,
    requestLatencySLOSeconds: 0.5,
    requestLatencyP99MaxSeconds: 1.0,
    // Seconds workers spent waiting for a connection, per second (the average number of
    // workers queued). Any sustained value above this is pool exhaustion.
    poolWaitSecondsPerSecondMax: 0.01,
    // Intent appends are the fastest path; a P99 above this is a spike.
    intentLogAppendP99MaxSeconds: 0.1,
    // Sync queue: growing for syncQueueGrowthFor while above this share of max_in_flight
    // is the agent-storm canary; in-flight above syncBackpressureRatio is backpressure.
    syncQueueGrowthMinRatio: 0.1,
    syncBackpressureRatio: 0.9,
    // PostgreSQL CPU saturated while the Mothership's own CPU stays below the modest mark.
    postgresCPUSaturatedRatio: 0.9,
    mothershipCPUModestRatio: 0.5,
    // Zone lookups that lost their index: sequential scans outnumber index scans on
    // zones and read more than this many rows per second.
    zoneSeqScanRowsPerSecondMin: 10000,
    replicationLagMaxSeconds: 30,
    connectionsNearLimitRatio: 0.9,

    // -- windows and durations ------------------------------------------------------
    rateWindow: '5m',
    forLatency: '10m',
    forPoolWait: '10m',
    forCache: '15m',
    forBlowout: '5m',
    forSyncGrowth: '10m',
    forBackpressure: '5m',
    forFragment: '10m',
    forIntentLog: '5m',
    forPostgresCPU: '15m',
    forZoneSeqScan: '10m',
    forCeiling: '30m',
    forReplication: '5m',
    forConnections: '10m',
    forDown: '2m',
    forAbsent: '15m',
    forColdCaches: '1m',
    // Multi-window, multi-burn-rate pairs for the latency SLO (long window, short window, factor, severity).
    sloBurnWindows: [
      { long: '1h', short: '5m', factor: 14.4, severity: 'critical', 'for': '2m' },
      { long: '6h', short: '30m', factor: 6, severity: 'critical', 'for': '15m' },
      { long: '1d', short: '2h', factor: 3, severity: 'warning', 'for': '1h' },
      { long: '3d', short: '6h', factor: 1, severity: 'warning', 'for': '3h' },
    ],

    // -- links ----------------------------------------------------------------------
    // 'repository': runbookURLBase, where the runbooks/ folder of this repository is served.
    // 'exporter': the exporter's own copy (aura-exporter --runbook-dir), for air-gapped sites.
    runbookMode: 'repository',
    runbookURLBase: 'https://github.com/aura-mothership/observability/blob/main/runbooks',
    exporterRunbookURLBase: 'http://aura-exporter:9733/runbooks',
    grafanaURL: 'http://grafana:3000',
    dashboardUID: 'aura-mothership',
    dashboardURL: '%s/d/%s' % [self.grafanaURL, self.dashboardUID],
  },
}
