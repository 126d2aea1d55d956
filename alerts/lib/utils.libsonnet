// Small helpers shared by the rules and alerts.
{
  // Labels every aggregation keeps: the job, and the cluster in multi-cluster mode.
  agg(c):: if c.showMultiCluster then '%s, job' % c.clusterLabel else 'job',

  // A matcher for a histogram bucket bound. The exporter passes the Mothership's
  // bounds through in Prometheus's float notation, so 1 may read "1" or "1.0".
  leMatcher(seconds)::
    if std.floor(seconds) == seconds
    then 'le=~"%d|%d.0"' % [seconds, seconds]
    else 'le="%s"' % $.num(seconds),

  // A number as people write it: 0.95, not 0.94999999999999996.
  num(x):: if std.floor(x) == x then '%d' % x else '%g' % x,

  // The config with every number pre-formatted, plus the derived values every rule
  // uses; templates are formatted against this with %(name)s.
  vars(c):: {
    [k]: if std.isNumber(c[k]) then $.num(c[k]) else c[k]
    for k in std.objectFields(c)
  } + {
    agg: $.agg(c),
    onAgg: 'on(%s)' % $.agg(c),
    coldStartSeconds: $.num(c.coldStartWindowMaxMinutes * 60),
  },

  runbookBase(c)::
    if c.runbookMode == 'exporter' then c.exporterRunbookURLBase
    else if c.runbookMode == 'repository' then c.runbookURLBase
    else error 'runbookMode must be "repository" or "exporter"',

  // Add runbook_url and dashboard_url to every alert of every group: one place, so
  // no alert can ship without its runbook.
  withLinks(groups, c):: [
    group {
      rules: [
        if std.objectHas(rule, 'alert') then rule {
          annotations+: {
            runbook_url: '%s/%s.md' % [$.runbookBase(c), rule.alert],
            dashboard_url: c.dashboardURL + '?var-job={{ $labels.job }}',
          },
        } else rule
        for rule in group.rules
      ],
    }
    for group in groups
  ],
}
