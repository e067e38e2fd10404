# Claimbridge developer commands. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python 3.12 (the Lambda runtime) when the machine has one, else python3 >= 3.11.
PYTHON ?= $(shell for p in python3.12 $$(ls -d /root/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -n 1) python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then \
	command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# LinuxForHealth x12 (pydantic 1) for the contract test, kept apart from the runtime venv.
VENV_LFH := .venv-lfh
LFH_STAMP := $(VENV_LFH)/.installed
LFH_REQUIREMENTS := tests/support/lfh-requirements.txt
OUT ?= out
PROTOCOL ?= http

.PHONY: help install install-lfh run test lint format typecheck validate test-unit test-integration test-e2e test-contract bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "need python3.12 or python3 >= 3.11" >&2; exit 1; }
	@echo "creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its dev tools

$(LFH_STAMP): $(LFH_REQUIREMENTS)
	@test -n "$(PYTHON)" || { echo "need python3.12 or python3 >= 3.11" >&2; exit 1; }
	@echo "creating $(VENV_LFH) with $(PYTHON)"
	rm -rf $(VENV_LFH)
	$(PYTHON) -m venv $(VENV_LFH)
	$(VENV_LFH)/bin/python -m pip install --quiet --no-deps -r $(LFH_REQUIREMENTS)
	$(VENV_LFH)/bin/python -m pip check
	@touch $(LFH_STAMP)

install-lfh: $(LFH_STAMP)  ## create .venv-lfh: LinuxForHealth x12, the contract test's second 837P validator

run: $(STAMP)  ## the whole pipeline locally: moto server + sandbox clearinghouse + demo bundles (PROTOCOL=sftp: mailbox; KEEP=1: leave it running for the CLI)
	$(BIN)/claimbridge demo --out $(OUT) --protocol $(PROTOCOL)$(if $(KEEP), --keep)

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## ruff format + autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)  ## mypy --strict
	$(BIN)/mypy layers/claimbridge/claimbridge functions tests

validate: $(STAMP)  ## cfn-lint on the SAM template
	$(BIN)/cfn-lint template.yaml

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit
test-integration: $(STAMP)
	$(BIN)/pytest -q tests/integration
test-e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e
test-contract: $(STAMP) $(LFH_STAMP)
	$(BIN)/pytest -q tests/contract

test: lint typecheck validate $(LFH_STAMP) install-browser  ## every check: ruff, mypy, cfn-lint, then all tests (contract last: it validates what the others wrote)
	$(BIN)/pytest -q -p no:cacheprovider

# ---- issue 9: the HTML report's test opens it in Debian's chromium (skipped, with the reason, when it is missing)
.PHONY: install-browser
install-browser:  ## install Debian's chromium for the report test when it is missing (root: apt-get)
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium || command -v chromium-browser)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	else \
		echo "chromium is missing and cannot be installed here (need root and apt-get): the report test will skip" >&2; \
	fi

bench: $(STAMP)  ## benchmarks, printed as ratios against a baseline
	$(BIN)/python -m bench

.PHONY: docs
docs: $(STAMP)  ## regenerate docs/scrubber-rules.md (rule registry, code tables) and docs/openapi.json (tenant API)
	$(BIN)/python -m claimbridge.scrubber.catalogue > docs/scrubber-rules.md
	$(BIN)/python -m claimbridge.api.openapi > docs/openapi.json

.PHONY: goldens
goldens: $(STAMP)  ## rewrite the 837P golden files in tests/goldens/837p from their scenarios (review the diff)
	$(BIN)/python -m tests.goldens.regenerate

clean:  ## remove the venv and generated files
	rm -rf $(VENV) $(VENV_LFH) $(OUT) .mypy_cache .ruff_cache .pytest_cache build *.egg-info layers/claimbridge/*.egg-info
