"""The alert rules: rendered from the mixin, clean for promtool, and every
alert shown firing and staying silent by promtool unit tests."""

import subprocess
from pathlib import Path

import pytest
import yaml

from aura_exporter import render

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "alerts" / "aura-mothership.rules.yml"
TESTS = sorted((ROOT / "alerts" / "tests").glob("*.test.yml"))
SEVERITIES = {"critical", "warning", "info"}


def alerts():
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_check_rules_is_clean():
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_pass():
    result = subprocess.run(
        ["promtool", "test", "rules", *[t.name for t in TESTS]],
        cwd=ROOT / "alerts" / "tests", capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_shown_firing_and_silent():
    fired, silent = set(), set()
    for path in TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {a["alert"] for a in alerts()}
    assert names - fired == set(), "alerts never shown firing"
    assert names - silent == set(), "alerts never shown staying silent"
    # Every firing expectation checks all four annotations.
    for path in TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                for exp in check.get("exp_alerts") or []:
                    assert set(exp["exp_annotations"]) == {"summary", "description", "runbook_url", "dashboard_url"}
                    assert exp["exp_labels"]["severity"] in SEVERITIES


def test_every_alert_has_the_conventions():
    for alert in alerts():
        name = alert["alert"]
        assert name.startswith("Aura") and name[4].isupper() and "_" not in name, name
        assert alert["labels"]["severity"] in SEVERITIES, name
        notes = alert["annotations"]
        assert {"summary", "description", "runbook_url", "dashboard_url"} <= set(notes), name
        assert notes["runbook_url"].endswith(f"/{name}.md"), name
        assert "{{" in notes["description"], f"{name}: description is not templated"


def test_tests_fail_when_a_threshold_moves(tmp_path):
    """The unit tests pin the thresholds: rendering with a different hit-ratio
    threshold must make them fail."""
    override = tmp_path / "override.libsonnet"
    override.write_text("{ _config+:: { identityCacheHitRatioMin: 0.85 } }")
    render.render(tmp_path, override=override)
    tests = tmp_path / "alerts" / "tests"
    tests.mkdir()
    (tests / "identity-cache.test.yml").write_text((ROOT / "alerts" / "tests" / "identity-cache.test.yml").read_text())
    result = subprocess.run(["promtool", "test", "rules", "identity-cache.test.yml"], cwd=tests,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "AuraIdentityCacheHitRatioLow" in result.stdout + result.stderr


@pytest.mark.parametrize("mode, base", [("repository", None), ("exporter", "http://aura-exporter:9733/runbooks")])
def test_runbook_url_modes(tmp_path, mode, base):
    override = tmp_path / "override.libsonnet"
    override.write_text("{ _config+:: { runbookMode: '%s' } }" % mode)
    doc = render.rules(override=override)
    urls = [r["annotations"]["runbook_url"] for g in doc["groups"] for r in g["rules"] if "alert" in r]
    expected = base or render.config()["runbookURLBase"]
    assert all(u.startswith(expected + "/") for u in urls)


def test_postgres_cpu_from_node_exporter_when_a_selector_is_set(tmp_path):
    """With postgresNodeSelector, PostgreSQL CPU comes from node_exporter on the database host."""
    override = tmp_path / "node.libsonnet"
    override.write_text("{ _config+:: { postgresNodeSelector: 'job=\"node\", instance=\"db-1:9100\"' } }")
    render.render(tmp_path, override=override)
    tests = tmp_path / "alerts" / "node-cpu.test.yml"
    tests.write_text("""
rule_files: [aura-mothership.rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # Two database CPUs, 5% idle; the Mothership at 0.2 of its 2 CPUs.
      - series: 'node_cpu_seconds_total{job="node", instance="db-1:9100", cpu="0", mode="idle"}'
        values: '0+3x40'
      - series: 'node_cpu_seconds_total{job="node", instance="db-1:9100", cpu="1", mode="idle"}'
        values: '0+3x40'
      - series: 'aura_exporter_build_info{job="aura-exporter", instance="ms-0:9733", version="x", python_version="3"}'
        values: '1x40'
      - series: 'aura_mothership_process_cpu_seconds_total{job="aura-exporter", instance="ms-0:9733"}'
        values: '0+12x40'
      - series: 'aura_mothership_process_cpus{job="aura-exporter", instance="ms-0:9733"}'
        values: '2x40'
    alert_rule_test:
      - eval_time: 30m
        alertname: AuraPostgresCPUSaturated
        exp_alerts:
          - exp_labels: {severity: warning, job: aura-exporter}
            exp_annotations:
              summary: "PostgreSQL CPU is saturated while the Mothership is not busy: the database is the bottleneck."
              description: "PostgreSQL behind aura-exporter uses 95% of its CPUs while the Mothership uses under 0.5 of its own."
              runbook_url: "RUNBOOKS/AuraPostgresCPUSaturated.md"
              dashboard_url: "http://grafana:3000/d/aura-mothership?var-job=aura-exporter"
  - interval: 1m
    input_series:
      # The same host half idle: quiet.
      - series: 'node_cpu_seconds_total{job="node", instance="db-1:9100", cpu="0", mode="idle"}'
        values: '0+30x40'
      - series: 'aura_exporter_build_info{job="aura-exporter", instance="ms-0:9733", version="x", python_version="3"}'
        values: '1x40'
    alert_rule_test:
      - eval_time: 30m
        alertname: AuraPostgresCPUSaturated
        exp_alerts: []
""".replace("RUNBOOKS", render.config()["runbookURLBase"]))
    result = subprocess.run(["promtool", "test", "rules", tests.name], cwd=tests.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
