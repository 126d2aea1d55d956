"""The runbooks: linked from every alert, complete, and every command, query,
TOML snippet and threshold in them real."""

import re
import subprocess
import tomllib
from pathlib import Path

import psycopg
import pytest
import yaml

from aura_exporter import render
from aura_exporter.contract.knobs import KNOBS, unknown_knobs

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = ROOT / "runbooks"
PAGES = sorted(p for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
ALL_PAGES = sorted(RUNBOOKS.glob("*.md"))
CONFIG = render.config()
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def blocks(lang):
    for page in ALL_PAGES:
        for found_lang, body in FENCE.findall(page.read_text()):
            if found_lang == lang:
                yield page.name, body


def alert_rules():
    doc = yaml.safe_load((ROOT / "alerts" / "aura-mothership.rules.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_every_runbook_url_resolves_to_a_file():
    base = CONFIG["runbookURLBase"]
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(base + "/")
        path, _, anchor = url[len(base) + 1:].partition("#")
        assert (RUNBOOKS / path).is_file(), url
        assert not anchor


def test_every_runbook_is_linked_from_an_alert():
    linked = {r["annotations"]["runbook_url"].rsplit("/", 1)[-1] for r in alert_rules()}
    assert {p.name for p in PAGES} == linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_runbook_has_the_four_parts(page):
    text = page.read_text()
    assert text.startswith(f"# {page.stem}\n")
    headings = re.findall(r"^## (\w+)", text, re.MULTILINE)
    assert headings == ["Meaning", "Impact", "Diagnosis", "Mitigation"], headings
    assert "```promql" in text, "Diagnosis needs the PromQL to run"


def test_relative_links_resolve():
    for page in ALL_PAGES:
        for target in re.findall(r"\]\(([^)#]+\.md)(?:#[\w-]+)?\)", page.read_text()):
            if "://" not in target:
                assert (page.parent / target).is_file(), f"{page.name} -> {target}"


def test_toml_snippets_parse_and_use_only_real_knobs():
    snippets = list(blocks("toml"))
    assert len(snippets) >= 10
    for page, body in snippets:
        document = tomllib.loads(body)
        assert unknown_knobs(document) == [], f"{page}: {body}"


def test_inline_knob_references_exist():
    sections = "|".join(KNOBS)
    pattern = re.compile(rf"`({sections})\.(\w+)")
    for page in ALL_PAGES:
        for section, key in pattern.findall(page.read_text()):
            assert key in KNOBS[section], f"{page.name}: {section}.{key}"


def test_every_promql_expression_is_valid(tmp_path):
    exprs = [(page, body.strip()) for page, body in blocks("promql")]
    assert len(exprs) >= 40
    rules = {"groups": [{"name": "runbook-queries", "rules": [
        {"record": f"runbook:query_{i}", "expr": expr} for i, (_, expr) in enumerate(exprs)
    ]}]}
    path = tmp_path / "runbook-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sql_queries_run_against_postgresql(pg):
    """Read-only diagnosis queries run as written (placeholders aside)."""
    ran = 0
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        for page, body in blocks("sql"):
            statement = body.strip().rstrip(";")
            if not re.match(r"(?i)(select|explain)\b", statement) or "<" in statement.replace("<>", ""):
                continue
            conn.execute(statement).fetchall()
            ran += 1
    assert ran >= 8


UNITS = {"": 1.0, "s": 1.0, "ms": 0.001, "%": 0.01}
QUOTE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s?(ms|s|%)?\s\(`(\w+)`\)")


def test_quoted_thresholds_match_config():
    checked = 0
    for page in ALL_PAGES:
        for number, unit, key in QUOTE.findall(page.read_text()):
            assert key in CONFIG, f"{page.name}: unknown config key {key}"
            value = float(number) * UNITS[unit or ""]
            assert value == pytest.approx(CONFIG[key]), f"{page.name}: {number}{unit} for {key} = {CONFIG[key]}"
            checked += 1
    assert checked >= 20


def test_guide_thresholds_are_quoted_where_they_matter():
    text = {p.stem: p.read_text() for p in PAGES}
    assert "(`identityCacheHitRatioMin`)" in text["AuraIdentityCacheHitRatioLow"]
    assert "(`fragmentStoreP99MaxSeconds`)" in text["AuraFragmentStoreSlow"]
    assert "(`postgresPoolCeiling`)" in text["AuraPostgresCeilingReached"]
    assert "(`identityResolutionP95MaxSeconds`)" in text["AuraPostgresCeilingReached"]
    assert "(`warmThresholdRatio`)" in text["AuraColdCachesAfterRestart"]
