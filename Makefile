# Colophon — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test install install-dev lint typecheck migrations-check pytest pytest-sqlite pytest-postgres bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: install, migrate, seed demo data, start the web app and a worker (Ctrl-C stops both).
run: install
	PORT=$(PORT) scripts/run.sh

## make test: lint, format check, types, import layers, migrations check, then the suite on SQLite and PostgreSQL.
test: install-dev
	scripts/install-chromium.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory pytest-sqlite
	$(MAKE) --no-print-directory pytest-postgres

pytest-sqlite: install-dev
	@echo "== pytest on SQLite =="
	DATABASE_URL=sqlite:///:memory: $(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

pytest-postgres: install-dev
	@echo "== pytest on a throwaway PostgreSQL =="
	scripts/with-postgres.sh $(PY) -m pytest -q -n 2 --create-db $(PYTEST_ARGS)

## make bench: speed and memory benchmarks; results go to docs/benchmarks.md (and the profiles its notes link to, docs/profiles/).
bench: install-dev
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache staticfiles
