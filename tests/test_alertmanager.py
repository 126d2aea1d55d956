"""The example Alertmanager configuration: valid, routes every alert by
severity, and its inhibitions work in a real Alertmanager."""

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import yaml

from aura_sim.processes import AlertmanagerProcess
from tests.support.pg import wait_until

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RECEIVER = {"critical": "pager", "warning": "tickets", "info": "blackhole"}


def test_amtool_check_config():
    result = subprocess.run(["amtool", "check-config", str(CONFIG)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_routes_by_severity():
    rules = yaml.safe_load((ROOT / "alerts" / "aura-mothership.rules.yml").read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"] if "alert" in r):
        severity = rule["labels"]["severity"]
        result = subprocess.run(
            ["amtool", "config", "routes", "test", f"--config.file={CONFIG}",
             f"alertname={rule['alert']}", f"severity={severity}", "job=aura-exporter"],
            capture_output=True, text=True,
        )
        assert result.stdout.strip() == RECEIVER[severity], (rule["alert"], result.stdout, result.stderr)


def test_prometheus_example_config_is_valid():
    result = subprocess.run(["promtool", "check", "config", str(ROOT / "deploy" / "prometheus" / "prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def alertmanager():
    server = AlertmanagerProcess(CONFIG)
    yield server.url
    server.close()


def _post(url, *alerts):
    now = datetime.now(timezone.utc)
    body = [
        {"labels": {"job": "aura-exporter", **labels}, "annotations": {},
         "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}
        for labels in alerts
    ]
    requests.post(url + "/api/v2/alerts", json=body, timeout=5).raise_for_status()


def _inhibited(url):
    alerts = requests.get(url + "/api/v2/alerts", timeout=5).json()
    return {a["labels"]["alertname"]: bool(a["status"]["inhibitedBy"]) for a in alerts}


def test_inhibitions_in_a_real_alertmanager(alertmanager):
    _post(
        alertmanager,
        {"alertname": "AuraPostgresDown", "severity": "critical", "instance": "ms-0:9733"},
        {"alertname": "AuraPostgresPoolExhausted", "severity": "warning", "pool": "primary"},
        {"alertname": "AuraPostgresCeilingReached", "severity": "warning", "pool": "primary"},
        {"alertname": "AuraMothershipDown", "severity": "critical", "instance": "ms-1:9733"},
        {"alertname": "AuraIdentityCacheHitRatioLow", "severity": "warning", "instance": "ms-1:9733"},
        # Another replica's cache problem is not explained by ms-1 being down.
        {"alertname": "AuraSyncQueueGrowing", "severity": "warning", "instance": "ms-2:9733"},
        {"alertname": "AuraFragmentStoreSlow", "severity": "warning", "operation": "put"},
    )
    state = wait_until(lambda: (s := _inhibited(alertmanager)) and len(s) == 7 and s["AuraPostgresPoolExhausted"] and s,
                       timeout=10, what="inhibitions to apply")
    assert state == {
        "AuraPostgresDown": False,
        "AuraPostgresPoolExhausted": True,
        "AuraPostgresCeilingReached": True,
        "AuraMothershipDown": False,
        "AuraIdentityCacheHitRatioLow": True,
        "AuraSyncQueueGrowing": False,
        "AuraFragmentStoreSlow": False,
    }
