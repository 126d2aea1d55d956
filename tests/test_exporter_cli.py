"""The real aura-exporter command: serving, scraping as Prometheus does,
promtool, the check command, configuration and secrets."""

import os
import subprocess
import time

import psutil
import pytest
import requests

from tests.support.exporter_proc import ExporterProcess, run_exporter
from tests.support.metrics import parse, sample
from tests.support.stats_server import scrape_text


@pytest.fixture
def wired(pg, stats_server, tmp_path):
    """Secrets in files, as a Kubernetes sidecar would have them."""
    token = tmp_path / "token"
    token.write_text(stats_server.token + "\n")
    dsn = tmp_path / "dsn"
    dsn.write_text(pg.dsn())
    pid = tmp_path / "mothership.pid"
    pid.write_text(str(os.getpid()))
    return {
        "args": [
            "--mothership-url", stats_server.url, "--mothership-token-file", str(token),
            "--postgres-dsn-file", str(dsn), "--process-pid-file", str(pid),
        ],
        "secrets": [stats_server.token, pg.password],
    }


def test_serves_all_sources_and_promtool_accepts_the_scrape(wired, tmp_path):
    exporter = ExporterProcess(*wired["args"], log_path=tmp_path / "exporter.log")
    try:
        text, seconds = scrape_text(exporter.url, timeout_header=10)
        text, seconds = scrape_text(exporter.url, timeout_header=10)  # warm: the steady-state latency
        print(f"\nscrape latency with all three sources: {seconds * 1000:.0f} ms, {len(text)} bytes")
        families = parse(text)
        for source in ("mothership", "postgres", "process"):
            assert sample(families, "aura_exporter_source_up", source=source) == 1, source
        assert sample(families, "aura_mothership_process_resident_memory_bytes") > 0
        checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.strip() == "" and checked.stderr.strip() == ""
        # OpenMetrics when asked for it, as Prometheus does.
        om = requests.get(exporter.url + "/metrics",
                          headers={"Accept": "application/openmetrics-text; version=1.0.0"}, timeout=10)
        assert om.headers["Content-Type"].startswith("application/openmetrics-text")
        assert om.text.rstrip().endswith("# EOF")
        index = requests.get(exporter.url + "/", timeout=5).text
        assert 'href="/metrics"' in index and "postgres" in index
        for secret in wired["secrets"]:
            assert secret not in index
            assert secret not in text
    finally:
        exporter.stop()
    for secret in wired["secrets"]:
        assert secret not in exporter.log()


def test_secrets_stay_out_of_the_process_list(wired, tmp_path):
    exporter = ExporterProcess(*wired["args"], log_path=tmp_path / "exporter.log")
    try:
        cmdline = " ".join(psutil.Process(exporter.proc.pid).cmdline())
        for secret in wired["secrets"]:
            assert secret not in cmdline
    finally:
        exporter.stop()


def test_scrape_deadline_comes_from_prometheus_header(wired, stats_server, tmp_path):
    exporter = ExporterProcess(*wired["args"], log_path=tmp_path / "exporter.log")
    stats_server.hang_seconds = 60
    try:
        started = time.monotonic()
        text, _ = scrape_text(exporter.url, timeout_header=2)
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, elapsed
        families = parse(text)
        assert sample(families, "aura_exporter_source_up", source="mothership") == 0
        assert sample(families, "aura_exporter_source_up", source="postgres") == 1
        assert "no answer" in exporter.log()
    finally:
        exporter.stop()


def test_wrong_password_logs_clearly_without_the_password(pg, tmp_path):
    secret = "N0t-the-Right-One"
    dsn = tmp_path / "dsn"
    dsn.write_text(pg.dsn(password=secret))
    exporter = ExporterProcess("--postgres-dsn-file", str(dsn), log_path=tmp_path / "exporter.log")
    try:
        text, _ = scrape_text(exporter.url)
        assert sample(parse(text), "aura_postgres_up") == 0
    finally:
        exporter.stop()
    log = exporter.log()
    assert "password authentication failed" in log
    assert secret not in log


def test_check_command_reports_each_source(wired):
    ok = run_exporter("check", *wired["args"])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0].split()[:4] == ["source", "status", "latency", "target"]
    assert "3 of 3 sources ok" in ok.stdout
    for secret in wired["secrets"]:
        assert secret not in ok.stdout + ok.stderr


def test_check_command_fails_when_a_source_fails(wired, stats_server):
    stats_server.status = 503
    failed = run_exporter("check", *wired["args"])
    assert failed.returncode == 1
    assert "FAILED" in failed.stdout and "HTTP 503" in failed.stdout
    assert "2 of 3 sources ok" in failed.stdout


def test_check_command_names_missing_pg_stat_statements(pg):
    with pg.connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bare'").fetchone():
            conn.execute("CREATE DATABASE bare")
    result = run_exporter("check", env={"AURA_EXPORTER_POSTGRES_DSN": pg.dsn(database="bare")})
    assert result.returncode == 0
    assert "pg_stat_statements is not installed" in result.stdout
    assert pg.password not in result.stdout + result.stderr


def test_check_command_without_sources():
    result = run_exporter("check")
    assert result.returncode == 2
    assert "no source is configured" in result.stdout


def test_missing_process_is_down_not_a_crash(tmp_path):
    pid_file = tmp_path / "gone.pid"
    sleeper = subprocess.Popen(["sleep", "30"])
    pid_file.write_text(str(sleeper.pid))
    exporter = ExporterProcess("--process-pid-file", str(pid_file), log_path=tmp_path / "exporter.log")
    try:
        assert sample(parse(scrape_text(exporter.url)[0]), "aura_mothership_process_up") == 1
        sleeper.kill()
        sleeper.wait()
        families = parse(scrape_text(exporter.url)[0])
        assert sample(families, "aura_mothership_process_up") == 0
        assert sample(families, "aura_exporter_source_errors", "aura_exporter_source_errors_total",
                      source="process", reason="not_found") == 1
    finally:
        exporter.stop()


def test_bad_configuration_is_a_clear_error(tmp_path):
    bad = tmp_path / "exporter.toml"
    bad.write_text('[mothership]\nurl = "http://x"\ncolour = "red"\n')
    result = run_exporter("--config", str(bad))
    assert result.returncode == 2
    assert "unknown setting [mothership] colour" in result.stderr
    result = run_exporter("--hit-ratio-window", "-5")
    assert result.returncode == 2 and "must be positive" in result.stderr


def test_serves_its_own_copy_of_the_runbooks(tmp_path):
    from pathlib import Path

    runbooks = Path(__file__).resolve().parents[1] / "runbooks"
    exporter = ExporterProcess("--runbook-dir", str(runbooks), log_path=tmp_path / "exporter.log")
    try:
        page = requests.get(exporter.url + "/runbooks/AuraSyncBackpressure.md", timeout=5)
        assert page.status_code == 200 and page.text.startswith("# AuraSyncBackpressure")
        assert page.headers["Content-Type"].startswith("text/markdown")
        assert requests.get(exporter.url + "/runbooks/../pyproject.toml", timeout=5).status_code == 404
        assert requests.get(exporter.url + "/runbooks/%2e%2e/pyproject.toml", timeout=5).status_code == 404
        assert 'href="/runbooks/README.md"' in requests.get(exporter.url + "/", timeout=5).text
    finally:
        exporter.stop()
