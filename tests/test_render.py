"""make render leaves no diff: the committed rules, dashboard and panel table
are exactly what the sources produce."""

from pathlib import Path

from aura_exporter import render

ROOT = Path(__file__).resolve().parents[1]


def test_committed_outputs_are_what_the_sources_render(tmp_path):
    render.render(tmp_path)
    for relative in (render.RULES_FILE, render.DASHBOARD_FILE, render.DASHBOARD_README):
        assert (tmp_path / relative).read_text() == (ROOT / relative).read_text(), f"{relative} is stale: make render"


def test_render_command_with_a_user_override(tmp_path):
    import subprocess

    import yaml

    from tests.support.exporter_proc import run_exporter

    override = tmp_path / "site.libsonnet"
    override.write_text("{ _config+:: { exporterSelector: 'job=\"aura\"', runbookURLBase: 'https://rb.example.org/aura', "
                        "identityCacheHitRatioMin: 0.97, showMultiCluster: true } }")
    result = run_exporter("render", "--override", str(override), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    rules = tmp_path / "out" / "alerts" / "aura-mothership.rules.yml"
    doc = yaml.safe_load(rules.read_text())
    exprs = [r["expr"] for g in doc["groups"] for r in g["rules"]]
    assert all('job="aura-exporter"' not in e for e in exprs)
    assert any('job="aura"' in e for e in exprs)
    assert any("sum by (cluster, job)" in e for e in exprs)
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert all(a["annotations"]["runbook_url"].startswith("https://rb.example.org/aura/") for a in alerts)
    check = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert (tmp_path / "out" / "dashboards" / "aura-mothership.json").is_file()


def test_render_command_reports_a_broken_override(tmp_path):
    from tests.support.exporter_proc import run_exporter

    broken = tmp_path / "broken.libsonnet"
    broken.write_text("{ _config+:: { x: } }")
    result = run_exporter("render", "--override", str(broken), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "broken.libsonnet:1" in result.stderr
