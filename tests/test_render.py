"""make render leaves no diff: the committed rules, dashboard and panel table
are exactly what the sources produce."""

from pathlib import Path

from aura_exporter import render

ROOT = Path(__file__).resolve().parents[1]


def test_committed_outputs_are_what_the_sources_render(tmp_path):
    render.render(tmp_path)
    for relative in (render.RULES_FILE, render.DASHBOARD_FILE, render.DASHBOARD_README):
        assert (tmp_path / relative).read_text() == (ROOT / relative).read_text(), f"{relative} is stale: make render"
