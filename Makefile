# One command per habit. `make dev` runs the product; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell pyenv which python3.12 2>/dev/null || command -v python3.12 || echo python3.12)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: dev stop-db test lint typecheck format bench bench-quick install clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

# With no PostgreSQL reachable, dev_env.py starts an embedded one in var/pg; it lives as long as
# `make dev` (the trap stops it on any exit, Ctrl-C included). WEB_PORT, FLOWER_PORT and
# XERO_SANDBOX_PORT move the processes off 8000, 5555 and 8765.
dev: $(VENV)/.installed
	@trap '$(BIN)/python scripts/dev_env.py --stop-db' EXIT; \
	  $(BIN)/python scripts/dev_env.py && \
	  set -a && . var/dev.env && set +a && \
	  python manage.py migrate --noinput -v0 && \
	  python manage.py load_demo_data && \
	  echo && echo "Platform CRM: $$SITE_URL   Django admin: /admin/   Flower: http://localhost:$$FLOWER_PORT (ops / ops-dev)" && echo && \
	  honcho -f Procfile.dev start

# Stops an embedded PostgreSQL that `make dev` could not stop itself (it was killed with -9).
stop-db:
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/dev_env.py --stop-db; fi

# Two test processes (pytest-xdist; an idle one takes tests from the other's queue, so the long
# fault files do not leave it waiting at the end): most tests wait on a worker, the
# sandbox or a browser, so two share the 2 cores well. Each has its own test database and Redis.
test: $(VENV)/.installed lint
	$(BIN)/pytest -n 2 --dist worksteal --durations=20

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=$(CURDIR) $(BIN)/mypy

# mypy with django-stubs; which modules are strict is in pyproject.toml's [tool.mypy]. The path
# makes the Django plugin load this checkout's settings and models, even from a git worktree.
typecheck: $(VENV)/.installed
	PYTHONPATH=$(CURDIR) $(BIN)/mypy

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every script in bench/, then one table of all their figures (bench/run_all.py). Takes long;
# bench-quick runs the same scripts at small sizes in a few minutes.
bench: $(VENV)/.installed
	$(BIN)/python bench/run_all.py

bench-quick: $(VENV)/.installed
	$(BIN)/python bench/run_all.py --quick

clean: stop-db
	rm -rf var staticfiles .pytest_cache .ruff_cache
