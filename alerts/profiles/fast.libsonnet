// The fast profile: the same rules with rate windows and `for` durations cut by
// roughly 30x, so each bottleneck pattern of the reference Mothership pages within
// about a minute. The demo and the end-to-end tests render the mixin with it
// (scraping every second); it is also the worked example of customizing the mixin:
//
//   aura-exporter render --override alerts/profiles/fast.libsonnet --out /tmp/fast
//
// Thresholds are unchanged: only time is compressed.
{
  _config+:: {
    rateWindow: '10s',
    forLatency: '10s',
    forPoolWait: '10s',
    forCache: '10s',
    forBlowout: '5s',
    forSyncGrowth: '10s',
    forBackpressure: '5s',
    forFragment: '10s',
    forIntentLog: '10s',
    forPostgresCPU: '10s',
    forZoneSeqScan: '10s',
    forCeiling: '20s',
    forReplication: '10s',
    forConnections: '10s',
    forDown: '10s',
    forAbsent: '30s',
    forColdCaches: '2s',
    // A restart's cold window: 7.5 seconds instead of 15 minutes.
    coldStartWindowMinMinutes: 0.05,
    coldStartWindowMaxMinutes: 0.125,
    sloBurnWindows: [
      { long: '2m', short: '10s', factor: 14.4, severity: 'critical', 'for': '5s' },
      { long: '6m', short: '1m', factor: 6, severity: 'critical', 'for': '15s' },
      { long: '24m', short: '4m', factor: 3, severity: 'warning', 'for': '1m' },
      { long: '72m', short: '12m', factor: 1, severity: 'warning', 'for': '3m' },
    ],
  },
}
