// The Aura Mothership monitoring mixin: prometheusRules, prometheusAlerts,
// grafanaDashboards and _config (see config.libsonnet).
(import 'config.libsonnet')
+ (import 'alerts/rules.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
