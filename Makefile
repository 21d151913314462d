# Agentry: every operator and developer task is a make target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
AGENTRY := $(VENV)/bin/agentry
PYTEST := $(VENV)/bin/pytest
CODE := src tests bench agents

.PHONY: help install dev dev-fg dev-down dev-logs worker test test-unit lint fmt bench bench-sync bench-async clean

help: ## List targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PY) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install -q uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.synced ## Install the locked environment into .venv (bootstraps uv)

dev: install ## Start the platform in the background on http://127.0.0.1:8000
	$(AGENTRY) dev up

dev-fg: install ## Start the platform with the API in the foreground
	$(AGENTRY) dev up --foreground

dev-down: ## Stop every process `make dev` started
	@if [ -x $(AGENTRY) ]; then $(AGENTRY) dev down; else echo "nothing installed"; fi

dev-logs: ## Follow the platform logs
	@mkdir -p .agentry/logs && touch .agentry/logs/api.log .agentry/logs/runtime.log
	tail -n 50 -F .agentry/logs/*.log

worker: install ## Run a job dispatcher + webhook sender process (uses the same AGENTRY_* settings)
	$(AGENTRY) worker

test-unit: install ## Fast tests: no services, no agent processes
	$(PYTEST) -m "not e2e and not postgres" -q

test: install ## All tests (PostgreSQL ones run when AGENTRY_TEST_POSTGRES_URL or a local server is there)
	$(PYTEST) -q

lint: install ## ruff + mypy --strict
	$(VENV)/bin/ruff check $(CODE)
	$(VENV)/bin/ruff format --check $(CODE)
	$(VENV)/bin/mypy src

fmt: install ## Format and autofix
	$(VENV)/bin/ruff format $(CODE)
	$(VENV)/bin/ruff check --fix $(CODE)

bench: bench-sync bench-async ## Run the benchmarks (see docs/benchmarks.md)

bench-sync: install ## Sync echo through the platform vs. direct to the agent process
	$(VENV)/bin/python bench/sync_invoke.py

bench-async: install ## Async echo jobs end to end, with signed webhooks to a local receiver
	$(VENV)/bin/python bench/async_jobs.py

clean: dev-down ## Remove local state (.agentry) and the venv
	rm -rf .agentry .venv .tools
