"""The documentation names everything the code offers."""

from pathlib import Path

from aura_exporter.config import OPTIONS
from tests.support.metrics import families_by_name

ROOT = Path(__file__).resolve().parents[1]


def test_every_option_is_documented():
    text = (ROOT / "docs" / "exporter.md").read_text()
    for option in OPTIONS:
        assert f"`{option.flag}`" in text, option.flag
        assert f"`{option.env}`" in text, option.env


def test_every_metric_served_is_in_the_reference(pg, stats_server, tmp_path):
    import os

    from aura_exporter.collector import ExporterCollector
    from aura_exporter.deadline import Deadline
    from aura_exporter.sources.mothership import MothershipSource, token_loader
    from aura_exporter.sources.postgres import PostgresSource
    from aura_exporter.sources.process import ProcessSource

    token = tmp_path / "token"
    token.write_text(stats_server.token)
    pid = tmp_path / "pid"
    pid.write_text(str(os.getpid()))
    sources = [
        MothershipSource(stats_server.url, token_loader(str(token), None)),
        PostgresSource(pg.dsn()),
        ProcessSource(str(pid)),
    ]
    collector = ExporterCollector(sources)
    families = families_by_name(collector.scrape(Deadline(10)))
    collector.close()
    reference = (ROOT / "docs" / "metrics.md").read_text()
    missing = []
    for family in families.values():
        exposed = family.name + {"counter": "_total", "info": "_info"}.get(family.type, "")
        if f"`{exposed}`" not in reference and not exposed.startswith("aura_mothership_config_"):
            missing.append(exposed)
        if exposed.startswith("aura_mothership_config_"):
            assert f"`{exposed.removeprefix('aura_mothership_config_')}`" in reference, exposed
    assert not missing, missing
