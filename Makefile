# archc: set-up, demo, tests, lint and benchmarks.
#
#   make demo       set up, then the whole NAS job on generated data (about 10 min on 2 cores)
#   make examples   check and compile every example, export and time a subnet, synth data
#   make test       set up, then run the test suite (tests marked `slow` excluded)
#   make test-slow  only the tests marked `slow`
#   make lint       ruff check and ruff format --check over the whole repository (run by make test)
#   make imports    the import contracts of pyproject.toml, with import-linter (run by make test)
#   make bench      every benchmark script in bench/
#   make ablations  the seeds' claims measured on the quick data (docs/results.md; 4-5 hours)
#   make pictures   render every example space to docs/pictures/ (docs/examples.md shows them)
#   make clean      remove build outputs and caches (keeps .venv)
#
# `make setup` creates .venv, installs torch $(TORCH_VERSION) (CPU) first so that
# nothing can pull a CUDA build, then the package in editable mode with its
# torch, onnx, pose, search, lsp, ray and dev extras, then tries to install graphviz's `dot` binary. A stamp file records a
# finished set-up; it is redone only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0

BIN := $(VENV)/bin
STAMP := $(VENV)/.archc-setup

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# pip prints a harmless "Location '...' is ignored" warning per package with the
# local index configuration of these machines; hide those lines only.
PIP := $(BIN)/python -m pip --disable-pip-version-check
PIP_FILTER := { grep -v -E "^WARNING: Location '.*' is ignored" || true; }

.PHONY: help setup demo examples test test-slow lint imports bench ablations pictures clean

help:
	@sed -n 's/^#   make /make /p' $(firstword $(MAKEFILE_LIST))

setup: $(STAMP)

# torch is named again with the package so that no dependency can move it to another build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing torch $(TORCH_VERSION) (CPU)"
	@$(PIP) install -q torch==$(TORCH_VERSION) 2>&1 | $(PIP_FILTER)
	@echo "installing archc (editable) with its dev tools"
	@$(PIP) install -q torch==$(TORCH_VERSION) -e '.[torch,onnx,pose,search,lsp,ray,dev]' 2>&1 | $(PIP_FILTER)
	@scripts/install-graphviz.sh
	@touch $@

demo: setup
	@$(BIN)/python scripts/demo.py --archc $(BIN)/archc

examples: setup
	@ARCHC=$(BIN)/archc scripts/examples.sh

test: setup lint imports
	$(BIN)/python -m pytest -q

# pytest exits 5 when no test is selected: no slow tests yet is not a failure.
test-slow: setup
	$(BIN)/python -m pytest -q -m slow || [ $$? -eq 5 ]

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet .

# scripts/lint_imports.py copies the sources into the installed layout first (grimp cannot
# follow pyproject's package-dir mapping)
imports: setup
	$(BIN)/python scripts/lint_imports.py --no-logo

bench: setup
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "bench: no benchmarks in bench/ yet"; exit 0; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(BIN)/python "$$script"; done

# SEEDS="0 1 2" (default: 0 1, which fit an hour per script) and BUDGET (seconds per arm)
ablations: setup
	@for script in searched_vs_handmade vipnas posenfs efficientpose autopose; do \
	  echo "== bench/ablations/$$script.py"; \
	  $(BIN)/python bench/ablations/$$script.py --archc $(BIN)/archc $${SEEDS:+--seeds $$SEEDS} \
	    $${BUDGET:+--budget $$BUDGET}; \
	done

pictures: setup
	$(BIN)/python scripts/pictures.py

clean:
	rm -rf build dist out .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
