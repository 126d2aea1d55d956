"""The reference dashboard: structure, conventions, thresholds from config,
and every panel query run against a real Prometheus scraping the real exporter."""

import json
import os
import re
import time
from pathlib import Path

import pytest

from aura_exporter import render
from tests.support.exporter_proc import ExporterProcess
from tests.support.pg import PostgresCluster, wait_until
from tests.support.prometheus import PrometheusServer
from tests.support.stats_server import LivePayload

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = json.loads((ROOT / "dashboards" / "aura-mothership.json").read_text())
CONFIG = render.config()
CURRENT_TYPES = {"timeseries", "stat", "gauge", "table", "bargauge", "row"}
PINNED = [
    "Request latency P50 / P95 / P99",
    "PostgreSQL pool wait",
    "Identity cache hit ratio",
    "Sync queue depth",
    "Fragment store P99",
    "Intent-log append latency",
]
DS = {"type": "prometheus", "uid": "${datasource}"}


def all_panels(dashboard=DASHBOARD):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def content_panels(dashboard=DASHBOARD):
    return [p for p in all_panels(dashboard) if p["type"] != "row"]


def test_identity_and_schema():
    assert DASHBOARD["uid"] == CONFIG["dashboardUID"] == "aura-mothership"
    assert DASHBOARD["schemaVersion"] >= 36
    assert "rows" not in DASHBOARD


def test_unique_panel_ids():
    ids = [p["id"] for p in all_panels()]
    assert len(ids) == len(set(ids))


def _cells(panel):
    g = panel["gridPos"]
    assert 0 <= g["x"] and g["w"] > 0 and g["x"] + g["w"] <= 24, panel["title"]
    return {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}


def test_layout_fits_24_columns_without_overlaps():
    # Laid out as if every row were expanded: nothing may overlap.
    taken = {}
    for panel in all_panels():
        for cell in _cells(panel):
            assert cell not in taken, f"{panel['title']} overlaps {taken[cell]}"
            taken[cell] = panel["title"]


def test_six_pinned_panels_first_in_order():
    first = sorted(DASHBOARD["panels"][:6], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    assert [p["title"] for p in first] == PINNED
    assert all(p["gridPos"]["y"] == 0 for p in first)
    assert all(p["type"] == "row" and p["collapsed"] for p in DASHBOARD["panels"][6:])


def test_every_panel_has_unit_description_and_datasource_variable():
    for panel in content_panels():
        assert panel["type"] in CURRENT_TYPES, panel["type"]
        assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]
        assert len(panel.get("description", "")) > 40, panel["title"]
        assert panel["datasource"] == DS, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DS, panel["title"]


def test_every_rate_uses_rate_interval():
    for panel in content_panels():
        for target in panel["targets"]:
            for window in re.findall(r"\b(?:rate|increase|irate)\([^\[]*\[([^\]]+)\]", target["expr"]):
                assert window == "$__rate_interval", (panel["title"], target["expr"])


def test_descriptions_say_which_runbook_and_links_resolve():
    base = CONFIG["runbookURLBase"]
    for panel in content_panels():
        links = re.findall(r"\]\(([^)]+)\)", panel["description"])
        assert links, f"{panel['title']}: no runbook link"
        for link in links:
            assert link.startswith(base + "/"), link
            assert (ROOT / "runbooks" / link[len(base) + 1:]).is_file(), link
    assert DASHBOARD["links"][0]["url"] == base + "/README.md"


def _steps(title):
    panel = next(p for p in content_panels() if p["title"] == title)
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"] if "value" in s]


def test_thresholds_come_from_config():
    assert _steps("Request latency P50 / P95 / P99") == [CONFIG["requestLatencySLOSeconds"], CONFIG["requestLatencyP99MaxSeconds"]]
    assert _steps("PostgreSQL pool wait") == [CONFIG["poolWaitSecondsPerSecondMax"]]
    assert _steps("Identity cache hit ratio") == [CONFIG["warmThresholdRatio"], CONFIG["identityCacheHitRatioMin"]]
    assert _steps("Fragment store P99") == [CONFIG["fragmentStoreP99MaxSeconds"]]
    assert _steps("Intent-log append latency") == [CONFIG["intentLogAppendP99MaxSeconds"]]
    assert _steps("Identity resolution P95 (cache miss path)") == [CONFIG["identityResolutionP95MaxSeconds"]]
    assert _steps("Replication lag") == [CONFIG["replicationLagMaxSeconds"]]


def test_thresholds_follow_an_override(tmp_path):
    override = tmp_path / "o.libsonnet"
    override.write_text("{ _config+:: { identityCacheHitRatioMin: 0.97, showMultiCluster: true } }")
    doc = render.dashboard(override=override)
    panel = next(p for p in content_panels(doc) if p["title"] == "Identity cache hit ratio")
    assert 0.97 in [s.get("value") for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    cluster = next(v for v in doc["templating"]["list"] if v["name"] == "cluster")
    assert cluster["hide"] == 0
    assert 'cluster=~"$cluster"' in panel["targets"][0]["expr"]


def test_variables_and_annotations():
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert list(variables) == ["datasource", "cluster", "job", "instance"]
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["cluster"]["hide"] == 2  # single-cluster by default
    assert variables["instance"]["includeAll"] and variables["instance"]["multi"]
    names = [a["name"] for a in DASHBOARD["annotations"]["list"]]
    assert names == ["Aura alerts firing", "Mothership restarts"]


def test_mixin_exposes_the_dashboard():
    doc = render.evaluate("mixin.grafanaDashboards")
    assert doc["aura-mothership.json"]["uid"] == "aura-mothership"


# -- every query against a real Prometheus --------------------------------------------


def substitute(expr: str) -> str:
    return (expr.replace("$__rate_interval", "20s").replace("$job", "aura-exporter")
            .replace("$instance", ".+").replace("$cluster", ".*"))


@pytest.fixture(scope="module")
def live_prometheus(pg, tmp_path_factory):
    from tests.support.stats_server import StatsServer

    tmp = tmp_path_factory.mktemp("dash")
    standby = PostgresCluster.standby_of(pg).start()
    stats = StatsServer()
    live = LivePayload(stats).start()
    token = tmp / "token"
    token.write_text(stats.token)
    primary_dsn, standby_dsn, pid = tmp / "primary.dsn", tmp / "standby.dsn", tmp / "pid"
    primary_dsn.write_text(pg.dsn())
    standby_dsn.write_text(standby.dsn())
    pid.write_text(str(os.getpid()))
    exporters = [
        ExporterProcess("--mothership-url", stats.url, "--mothership-token-file", str(token),
                        "--postgres-dsn-file", str(primary_dsn), "--process-pid-file", str(pid),
                        "--hit-ratio-window", "10", log_path=tmp / "primary.log"),
        ExporterProcess("--postgres-dsn-file", str(standby_dsn), log_path=tmp / "standby.log"),
    ]
    prom = PrometheusServer([e.url.removeprefix("http://") for e in exporters],
                            rule_files=[ROOT / "alerts" / "aura-mothership.rules.yml"])
    try:
        wait_until(lambda: prom.query('count(up{job="aura-exporter"} == 1) == 2'), timeout=30, what="targets up")
        with pg.connect() as conn:  # give the statement and scan counters something to count
            for i in range(30):
                conn.execute("SELECT zone_id FROM zones WHERE repo = %s AND path = %s", ("r", f"p{i}")).fetchall()
        time.sleep(12)  # enough samples for 20s rate windows
        yield prom
    finally:
        prom.close()
        for e in exporters:
            e.stop()
        live.stop()
        stats.close()
        standby.destroy()


def test_every_panel_query_returns_data(live_prometheus):
    empty = []
    for panel in content_panels():
        for target in panel["targets"]:
            expr = substitute(target["expr"])
            result = live_prometheus.query(expr)
            if not result:
                empty.append((panel["title"], expr))
    assert not empty, empty


def test_annotation_and_variable_queries_are_valid(live_prometheus):
    for annotation in DASHBOARD["annotations"]["list"]:
        live_prometheus.query(substitute(annotation["expr"]))
    for variable in DASHBOARD["templating"]["list"]:
        if variable["type"] == "query":
            inner = re.match(r"label_values\((.*), \w+\)$", variable["query"])
            if inner:
                assert live_prometheus.query(substitute(inner.group(1))) or variable["name"] == "cluster"


def test_grafana_provisioning_points_at_the_dashboard():
    import yaml

    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/aura.yml").read_text())
    assert provider["apiVersion"] == 1
    (entry,) = provider["providers"]
    assert entry["type"] == "file" and entry["options"]["path"] == "/var/lib/grafana/dashboards/aura"
    sources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"]
    datasource_var = next(v for v in DASHBOARD["templating"]["list"] if v["name"] == "datasource")
    assert datasource_var["current"]["value"] == source["name"]
