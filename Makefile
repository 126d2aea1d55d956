# The README's commands. Everything runs from a virtualenv in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test render bench deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

deps: $(STAMP)
	@bash scripts/ensure-system-deps.sh

## make test: the whole suite against real PostgreSQL, Prometheus and promtool
test: deps
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

## make demo: the reference Mothership in trouble, the alerts and the runbook fixes
## (make demo SCENARIO=agent-storm runs one pattern)
demo: deps
	$(BIN)/python -m aura_sim.demo $(if $(SCENARIO),--scenario $(SCENARIO))

## make render: regenerate the committed rules YAML (and dashboard JSON) from the sources
render: $(STAMP)
	$(BIN)/python -m aura_exporter.render

## make bench: how many peers the reference Mothership sustains here (not part of make test)
bench: deps
	$(BIN)/python bench/peers.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
