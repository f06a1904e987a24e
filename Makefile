# Entry points, each self-contained on a fresh machine (Python >= 3.11 with venv and pip):
#   make serve  installs earlyphase into .venv and runs the trial service with a demo trial
#   make test   installs earlyphase with its dev tools, starts PostgreSQL and Chromium for the
#               tests (scripts/test-services.sh) and runs ruff, mypy --strict and pytest
#   make demo   the offline worked examples: designs, analyses and the four trials' reports
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: serve demo test install benchmark clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

serve: $(BIN)/.installed
	$(BIN)/earlyphase serve --demo --database earlyphase.db

demo: $(BIN)/.installed
	$(BIN)/earlyphase demo

test: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy --strict src
	bash -c 'source scripts/test-services.sh; $(BIN)/python -m pytest --doctest-modules src tests; rc=$$?; pg_stop; exit $$rc'

benchmark: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_survival.py --write-readme
	$(BIN)/python benchmarks/bench_designs.py --write-readme
	$(BIN)/python benchmarks/bench_phase2.py --write-readme
	$(BIN)/python benchmarks/bench_report.py --write-readme
	$(BIN)/python benchmarks/bench_cli_start.py --write-readme
	$(BIN)/python benchmarks/bench_grid.py --write-readme
	$(BIN)/python benchmarks/bench_scale.py --write-readme
	$(BIN)/python benchmarks/bench_late_onset.py --write-readme

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
