# One command per habit. `make dev` runs the product; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell pyenv which python3.12 2>/dev/null || command -v python3.12 || echo python3.12)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: dev test lint format bench bench-quick install clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed
	@$(BIN)/python scripts/dev_env.py
	@set -a; . var/dev.env; set +a; \
	  python manage.py migrate --noinput -v0 && \
	  python manage.py load_demo_data && \
	  echo && echo "Platform CRM: http://localhost:8000   Django admin: /admin/   Flower: http://localhost:5555 (ops / ops-dev)" && echo && \
	  exec honcho -f Procfile.dev start

test: $(VENV)/.installed lint
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every script in bench/, then one table of all their figures (bench/run_all.py). Takes minutes;
# bench-quick runs the same scripts at small sizes in about a minute.
bench: $(VENV)/.installed
	$(BIN)/python bench/run_all.py

bench-quick: $(VENV)/.installed
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
