# Pantau developer and operator targets. Everything bootstraps from nothing: a fresh clone
# needs only Python 3.11+ (and, for the tests, Debian/Ubuntu packages installed by
# scripts/setup-system.sh).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint format bench schema screenshots system-deps services clean help

help:
	@echo "make run          install and run Pantau (SQLite, demo data, simulated cameras) on :8050"
	@echo "make test         install system packages + Python deps, start services, run all tests"
	@echo "make test-fast    run the tests without installing anything"
	@echo "make bench        run the benchmarks (figures printed as tables)"
	@echo "make lint         ruff check + format check"
	@echo "make screenshots  render every page (desktop, kiosk, phone) into screenshots/"
	@echo "make schema       regenerate the initial migration from store/models.py"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/pantau run

system-deps:
	bash scripts/setup-system.sh

services:
	bash scripts/services.sh

test: system-deps $(STAMP) services
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -x -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

schema: $(STAMP)
	$(BIN)/python -m store.schema_tool regenerate
	$(BIN)/python -m store.schema_tool check

screenshots: $(STAMP)
	$(BIN)/python -m tests.ui.screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
