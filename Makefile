# The targets CI and the README use. Everything runs inside .venv, made on first use.
VENV := .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py
# Designsystemet (Digdir, MIT), vendored by `make designsystemet`: CI never needs npm.
DESIGNSYSTEMET_CSS_VERSION := 1.22.0
DESIGNSYSTEMET_THEME_VERSION := 1.11.0
DESIGNSYSTEMET_DIR := static/vendor/designsystemet
# The Nu HTML Checker (W3C, MIT) for tests/browser/test_html_valid.py; run with the machine's Java.
VNU_VERSION := 26.9.27
VNU_JAR := var/vnu/vnu.jar

.PHONY: run worker test test-fast lint fmt messages check data install designsystemet vnu backup restore

$(VENV)/installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet ".[dev]"
	touch $@

install: $(VENV)/installed

## run: install, load reference and demo data, print the admin login, serve on 127.0.0.1:8000
## with the task worker (e-mail, periodic jobs) beside it; Ctrl-C stops both
run: install data
	$(MANAGE) local_admin
	@# Ctrl-C reaches both: the worker finishes the task it runs, then stops (a second
	@# signal would cut a mail off mid-send). If the server stops any other way, the
	@# worker is told once, with SIGTERM.
	@$(MANAGE) worker --verbosity 0 & worker=$$!; \
	trap 'wait $$worker 2>/dev/null' INT; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(MANAGE) runserver 127.0.0.1:8000

## worker: the task worker alone (make run starts it beside the web server)
worker: install
	$(MANAGE) worker

## data: migrate and load reference and demo data (idempotent)
data: install
	$(MANAGE) migrate --no-input
	$(MANAGE) load_reference_data
	$(MANAGE) load_demo_data

## backup: the database and MEDIA_ROOT into a new timestamped folder under BACKUP_DIR (var/backups)
backup: install
	$(MANAGE) backup

## restore: restore BACKUP=<backup folder>; a target with data is replaced only with YES=1 (backed up first)
restore: install
	@test -n "$(BACKUP)" || { echo "Usage: make restore BACKUP=var/backups/<folder> [YES=1]" >&2; exit 2; }
	$(MANAGE) restore "$(BACKUP)" $(if $(filter 1,$(YES)),--yes)

# Tests run on every core (pytest-xdist; each worker has its own test database), at most 4.
TEST_WORKERS := --numprocesses=auto --maxprocesses=4

## test: the whole test suite (SQLite by default, PostgreSQL when DATABASE_URL is set)
test: install
	$(PYTHON) -m pytest $(TEST_WORKERS) $(PYTEST_ARGS)

## test-fast: the suite without the browser tests, stopping at the first failure
test-fast: install
	$(PYTHON) -m pytest $(TEST_WORKERS) --ignore=tests/browser -x -q $(PYTEST_ARGS)

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

## vnu: fetch the Nu HTML Checker from npm into var/vnu (not committed; CI runs this)
vnu:
	@set -eu; \
	if [ -f $(VNU_JAR) ] && [ "$$(cat $(dir $(VNU_JAR))VERSION 2>/dev/null)" = "$(VNU_VERSION)" ]; then exit 0; fi; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	npm pack --silent --pack-destination "$$tmp" vnu-jar@$(VNU_VERSION) >/dev/null; \
	tar -xzf "$$tmp"/vnu-jar-$(VNU_VERSION).tgz -C "$$tmp"; \
	mkdir -p $(dir $(VNU_JAR)); cp "$$tmp/package/build/dist/vnu.jar" $(VNU_JAR); \
	echo $(VNU_VERSION) > $(dir $(VNU_JAR))VERSION; \
	echo "Nu HTML Checker $(VNU_VERSION) in $(VNU_JAR)"

## designsystemet: vendor Designsystemet's CSS and theme from npm into static/vendor/designsystemet (commit the result)
designsystemet:
	@set -eu; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	npm pack --silent --pack-destination "$$tmp" \
		@digdir/designsystemet-css@$(DESIGNSYSTEMET_CSS_VERSION) \
		@digdir/designsystemet-theme@$(DESIGNSYSTEMET_THEME_VERSION) >/dev/null; \
	mkdir -p "$$tmp/css" "$$tmp/theme"; \
	tar -xzf "$$tmp"/digdir-designsystemet-css-$(DESIGNSYSTEMET_CSS_VERSION).tgz -C "$$tmp/css"; \
	tar -xzf "$$tmp"/digdir-designsystemet-theme-$(DESIGNSYSTEMET_THEME_VERSION).tgz -C "$$tmp/theme"; \
	rm -rf $(DESIGNSYSTEMET_DIR); mkdir -p $(DESIGNSYSTEMET_DIR); \
	cp "$$tmp/css/package/dist/src/index.css" $(DESIGNSYSTEMET_DIR)/designsystemet.css; \
	cp "$$tmp/css/package/LICENSE" $(DESIGNSYSTEMET_DIR)/LICENSE-designsystemet-css; \
	cp "$$tmp/theme/package/src/themes/designsystemet.css" $(DESIGNSYSTEMET_DIR)/theme.css; \
	cp "$$tmp/theme/package/LICENSE" $(DESIGNSYSTEMET_DIR)/LICENSE-designsystemet-theme; \
	if grep -nE "@import|url\(['\"]?(https?:)?//" $(DESIGNSYSTEMET_DIR)/*.css; then \
		echo "Designsystemet CSS loads something from another host: pages must not." >&2; exit 1; \
	fi; \
	{ \
	echo "# Designsystemet, vendored"; \
	echo; \
	echo "Written by \`make designsystemet\`; do not edit by hand. To upgrade, change"; \
	echo "DESIGNSYSTEMET_CSS_VERSION / DESIGNSYSTEMET_THEME_VERSION in the Makefile, run"; \
	echo "\`make designsystemet\` (needs npm) and commit this folder: CI and production never need npm."; \
	echo; \
	echo "| file | from npm package | version | licence |"; \
	echo "| --- | --- | --- | --- |"; \
	echo "| designsystemet.css | @digdir/designsystemet-css (dist/src/index.css: all components, \`@layer ds\`) | $(DESIGNSYSTEMET_CSS_VERSION) | MIT, LICENSE-designsystemet-css |"; \
	echo "| theme.css | @digdir/designsystemet-theme (src/themes/designsystemet.css: the default theme) | $(DESIGNSYSTEMET_THEME_VERSION) | MIT, LICENSE-designsystemet-theme |"; \
	echo; \
	echo "Source: https://github.com/digdir/designsystemet (Digitaliseringsdirektoratet)."; \
	echo; \
	echo "The theme names the Inter font but ships no font files; static/css/base.css sets"; \
	echo "\`--ds-font-family\` to the system font stack, so no page fetches a font from anywhere."; \
	echo "The CSS holds no @import and no url() to another host (the make target checks);"; \
	echo "its only url()s are inline data: SVG icons."; \
	} > $(DESIGNSYSTEMET_DIR)/README.md; \
	echo "Vendored Designsystemet css $(DESIGNSYSTEMET_CSS_VERSION), theme $(DESIGNSYSTEMET_THEME_VERSION) into $(DESIGNSYSTEMET_DIR)"
