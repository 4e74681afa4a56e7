# The targets CI and the README use. Everything runs inside .venv, made on first use.
VENV := .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py
DESIGNSYSTEMET_VERSION ?= latest

.PHONY: run test lint fmt messages check data install

$(VENV)/installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet ".[dev]"
	touch $@

install: $(VENV)/installed

## run: install, load reference and demo data, print the admin login, serve on 127.0.0.1:8000
run: install data
	$(MANAGE) local_admin
	$(MANAGE) runserver 127.0.0.1:8000

## data: migrate and load reference and demo data (idempotent)
data: install
	$(MANAGE) migrate --no-input
	$(MANAGE) load_reference_data
	$(MANAGE) load_demo_data

## test: the whole test suite (SQLite by default, PostgreSQL when DATABASE_URL is set)
test: install
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## messages: refresh locale/nb from the source strings and compile them
messages: install
	$(MANAGE) makemessages --locale nb --no-obsolete --ignore ".venv/*" --ignore "var/*" --ignore "tests/*"
	$(MANAGE) compilemessages --locale nb --ignore ".venv/*"

## check: Django's checks and missing migrations
check: install
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
