# A newcomer needs two commands: `make run` and `make test`. Everything else is here to help.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
            if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
              command -v $$p; break; fi; done)
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
PORT ?= 5000
SMTP_PORT ?= 8025
INBOUND_PORT ?= 8026
PYTEST_ARGS ?=
BENCH_ARGS ?=
SCREENSHOTS_DIR ?= screenshots

.PHONY: run test install translations extract-messages update-translations lint audit db-upgrade seed-demo worker bench screenshots clean help

help:
	@echo "make run    - the portal with demo data, mail worker, SMTP sink and inbound server on http://127.0.0.1:$(PORT)"
	@echo "make test   - lint and every test (SQLite; TEST_DATABASE_URL=postgresql://... for PostgreSQL)"
	@echo "make bench  - the benchmark (bench/README.md); options: BENCH_ARGS=\"--scale 0.1 --scaling --wrk\""
	@echo "make screenshots - a PNG of every page per role at 390 and 1366 px in $(SCREENSHOTS_DIR)/ (Chromium)"
	@echo "make lint   - ruff, and bandit (no finding of medium or high severity in portal/)"
	@echo "make audit  - pip-audit: known vulnerabilities in the installed packages (needs PyPI)"
	@echo "make translations | extract-messages | update-translations | clean"

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Compiled only when the catalog changed: CI runs two `make test` at once, and a catalog rewritten
# while the other run's app reads it would be torn. A catalog that does not compile (or is marked
# fuzzy, which pybabel skips) fails here rather than leaving the old one in place.
MO := portal/translations/fr/LC_MESSAGES/messages.mo

translations: install $(MO)

$(MO): portal/translations/fr/LC_MESSAGES/messages.po | $(VENV)/.installed
	@rm -f $@.tmp
	@$(VENV)/bin/pybabel -q compile -i $< -o $@.tmp -l fr
	@mv $@.tmp $@

extract-messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -o portal/translations/messages.pot --no-location --sort-output --project agency-portal .

update-translations: extract-messages
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

db-upgrade: install translations
	PORTAL_ENV=$${PORTAL_ENV:-development} $(FLASK) db upgrade

seed-demo: db-upgrade
	PORTAL_ENV=$${PORTAL_ENV:-development} $(FLASK) seed-demo --if-empty

run: seed-demo
	PORTAL_ENV=$${PORTAL_ENV:-development} PORT=$(PORT) SMTP_PORT=$(SMTP_PORT) INBOUND_PORT=$(INBOUND_PORT) $(FLASK) dev-server

worker: install
	$(FLASK) mail worker

# Data set, gunicorn in production configuration, load, report under bench/results/. SQLite by
# default; DATABASE_URL=postgresql://... (or BENCH_DATABASE_URL) for a new PostgreSQL database.
# wrk (`--wrk`, issue 14) is Debian's package, installed here when missing, as .ci/run installs
# chromium; without root the benchmark still runs, and --wrk says what is missing.
bench: install translations
	@command -v wrk >/dev/null || { echo "== installing Debian's wrk for the benchmark"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
	  || echo "== wrk could not be installed (apt-get install wrk as root): --wrk will not run"
	$(PY) -m bench $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/bandit -c pyproject.toml -r portal config.py -ll -q

# Not part of `make test`: it asks the vulnerability service of the package registry.
audit: install
	$(VENV)/bin/pip-audit --skip-editable --desc on

test: install translations lint
	PORTAL_ENV=testing $(PY) -m pytest $(PYTEST_ARGS)

# Every page each role reaches from its home (the crawl's walk), on the demo data, in French, at
# 390 and 1366 px wide: $(SCREENSHOTS_DIR)/<role>/<width>/*.png. Not a test; not committed.
screenshots: install translations
	rm -rf $(SCREENSHOTS_DIR)
	PORTAL_ENV=testing PORTAL_REQUIRE_BROWSER=1 SCREENSHOTS_DIR=$(abspath $(SCREENSHOTS_DIR)) \
	  $(PY) -m pytest tests/browser/screenshots.py -q -s -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
