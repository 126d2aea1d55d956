"""Configuration precedence, TLS and basic auth on the listener."""

import base64
import subprocess

import bcrypt
import pytest
import requests

from aura_exporter.cli import build_parser
from aura_exporter.collector import ExporterCollector
from aura_exporter.config import ConfigError, resolve
from aura_exporter.server import ExporterServer, scrape_deadline
from aura_exporter.webconfig import load


def settings(argv, env=None):
    return resolve(build_parser().parse_args(argv), env or {})


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path):
    config = tmp_path / "exporter.toml"
    config.write_text(
        'listen = "127.0.0.1:1111"\n'
        "[mothership]\n"
        'url = "http://from-file:7777"\n'
        "hit_ratio_window_seconds = 120\n"
        "[postgres]\n"
        "statement_timeout_seconds = 3\n"
    )
    s = settings(
        ["--config", str(config), "--listen", "127.0.0.1:3333"],
        {"AURA_EXPORTER_LISTEN": "127.0.0.1:2222", "AURA_EXPORTER_MOTHERSHIP_URL": "http://from-env:7777"},
    )
    assert s.listen == "127.0.0.1:3333" and s.origins["listen"] == "flag"
    assert s.mothership_url == "http://from-env:7777" and s.origins["mothership_url"] == "env"
    assert s.hit_ratio_window == 120.0 and s.origins["hit_ratio_window"] == "file"
    assert s.postgres_statement_timeout == 3.0
    assert s.scrape_timeout_default == 10.0 and s.origins["scrape_timeout_default"] == "default"


def test_config_file_from_environment(tmp_path):
    config = tmp_path / "exporter.toml"
    config.write_text('[process]\ncmdline_match = "aura-mothership"\n')
    assert settings([], {"AURA_EXPORTER_CONFIG": str(config)}).process_match == "aura-mothership"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--postgres-dsn", "host=x", "--postgres-dsn-file", "/f"], "not both"),
        (["--scrape-timeout-margin", "-1"], "must not be negative"),
        (["--max-body-bytes", "lots"], "invalid literal"),
    ],
)
def test_invalid_settings(argv, words):
    with pytest.raises(ConfigError, match=words):
        settings(argv)


def test_deadline_from_header_less_margin():
    assert scrape_deadline("10", 30, 0.5).remaining() == pytest.approx(9.5, abs=0.05)
    assert scrape_deadline(None, 7, 0.5).remaining() == pytest.approx(6.5, abs=0.05)
    assert scrape_deadline("garbage", 7, 0.5).remaining() == pytest.approx(6.5, abs=0.05)
    # A tiny timeout still leaves half of it rather than nothing.
    assert scrape_deadline("0.4", 7, 0.5).remaining() == pytest.approx(0.2, abs=0.05)


@pytest.fixture
def tls_files(tmp_path):
    key, cert = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return key, cert


def test_tls_and_basic_auth(tmp_path, tls_files):
    key, cert = tls_files
    hashed = bcrypt.hashpw(b"scrape-pw", bcrypt.gensalt(rounds=4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    server = ExporterServer(("127.0.0.1", 0), ExporterCollector([]), load(str(web)), 10, 0.5)
    server.serve_in_thread()
    try:
        assert server.url.startswith("https://")
        assert requests.get(server.url + "/metrics", verify=str(cert), timeout=5).status_code == 401
        bad = requests.get(server.url + "/metrics", verify=str(cert), auth=("prometheus", "nope"), timeout=5)
        assert bad.status_code == 401
        good = requests.get(server.url + "/metrics", verify=str(cert), auth=("prometheus", "scrape-pw"), timeout=5)
        assert good.status_code == 200 and "aura_exporter_build_info" in good.text
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(server.url.replace("https", "http") + "/metrics", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


def test_web_config_rejects_plain_passwords(tmp_path):
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users:\n  prometheus: plaintext\n")
    with pytest.raises(ConfigError, match="not a bcrypt hash"):
        load(str(web))


def test_basic_auth_header_parsing():
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))
    web = load(None)
    web.users["u"] = hashed
    header = "Basic " + base64.b64encode(b"u:pw").decode()
    assert web.authorized(header) and web.authorized(header)  # second time from the cache
    assert not web.authorized("Basic !!!")
    assert not web.authorized("Bearer x")
    assert not web.authorized(None)


def test_example_config_file_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "deploy" / "exporter.toml.example"
    s = settings(["--config", str(example)])
    assert s.mothership_url == "http://127.0.0.1:7777"
    assert s.postgres_dsn_file == "/etc/aura-exporter/exporter-dsn"
    assert s.origins["process_pid_file"] == "file"


def test_kubernetes_example_uses_real_flags():
    from pathlib import Path

    import yaml

    from aura_exporter.config import OPTIONS

    docs = list(yaml.safe_load_all((Path(__file__).resolve().parents[1] / "deploy" / "kubernetes"
                                    / "mothership-with-exporter.yaml").read_text()))
    containers = docs[0]["spec"]["template"]["spec"]["containers"]
    args = next(c for c in containers if c["name"] == "aura-exporter")["args"]
    flags = {o.flag for o in OPTIONS}
    assert all(a.split("=")[0] in flags for a in args), args
    settings([a for arg in args for a in arg.split("=", 1)])  # parses and validates
