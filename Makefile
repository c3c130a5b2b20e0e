# Jiayuan 家园 — `make demo` runs everything locally; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VENDOR := src/jiayuan/web/static/vendor
# Empty: scripts/services.sh derives the test broker's port from its configuration's hash.
MQTT_TEST_PORT ?=
# Extra pytest options, e.g. PYTEST_ARGS="--lf". `make test` runs PYTEST_WORKERS pytest-xdist workers
# (each with its own databases; topics and MQTT client ids are per test; an idle worker takes queued tests
# from a busy one, so one slow module does not hold up the end); PYTEST_WORKERS=0 runs serially. Four on
# two cores: many tests wait on brokers, subprocesses and browsers rather than compute.
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 4

.DEFAULT_GOAL := help
# Modules are compiled when first imported, and only those that are (pip install --no-compile: half
# the install's time); the tests' many Python processes (workers, the CLI, ingest children, the vision
# worker) then read what the first one wrote.
unexport PYTHONDONTWRITEBYTECODE

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --no-compile -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) assets ## Create or update .venv and the browser assets

# axe-core (a dev dependency) stays in frontend/node_modules: the browser tests read it there; it is not
# copied into the web package, so the app never serves it.
frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/.stamp: frontend/node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp frontend/node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp frontend/node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	cp frontend/node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/
	@touch $@

assets: $(VENDOR)/.stamp ## Copy the npm assets into the web package

demo: install ## Run the whole platform with embedded defaults (SQLite, embedded broker, simulator)
	$(BIN)/jiayuan demo

services: $(STAMP) ## Start PostgreSQL, the project's Mosquitto and install Chromium when missing
	JIAYUAN_TEST_MQTT_PORT=$(MQTT_TEST_PORT) ./scripts/services.sh

lint: $(STAMP) ## ruff, formatting and import contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy (strict) on src/
	$(BIN)/mypy

pytest: install services ## pytest on SQLite and PostgreSQL
	set -a && . var/test-services.env && set +a && $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

test-fast: install ## Quick loop: pytest on SQLite, no broker, no browser (PYTEST_ARGS="--lf" reruns the failures)
	JIAYUAN_TEST_BACKENDS=sqlite $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist worksteal -m "not mqtt and not browser" $(PYTEST_ARGS)

# The lint and the type check run beside pytest: its workers spend much of their time waiting on
# brokers, browsers and subprocesses. Their few lines of output may come between pytest's.
test: install services ## Every check, as CI runs it
	@$(MAKE) --no-print-directory -j3 lint typecheck pytest

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

.PHONY: help install assets demo services lint typecheck pytest test test-fast format
