# One command each, from a fresh clone. Without DATABASE_URL / REDIS_URL the runner starts
# embedded PostgreSQL and Redis with their data under var/ (see devtools/).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Touched after a successful install: pip runs again only when a requirements file is newer.
STAMP := $(VENV)/.installed
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install dev test lint verify migrate bench clean

help:
	@echo "make dev      install, start services, migrate, seed the demo tenant, run web + worker + beat"
	@echo "make test     install and run the whole suite in parallel; make test ARGS='-k signup'"
	@echo "make lint     ruff check, ruff format --check, mypy, import-linter (the layer contract)"
	@echo "make verify   offline pipeline checks: terraform fmt, checkov, actionlint, zizmor, image structure"
	@echo "make migrate  migrate_schemas against the configured or embedded PostgreSQL"
	@echo "make bench    run every script in bench/"
	@echo "make clean    remove var/ (embedded database, Redis data, mail, beat schedule)"

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed: install python3.11 (or python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(PY) -m devtools run $(ARGS)

test: $(STAMP)
	@scripts/ensure-chromium
	@scripts/ensure-axe
	@scripts/ensure-pgbouncer
	$(PY) -m devtools test $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(VENV)/bin/lint-imports
	SAAS_ENVIRONMENT=development $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# Checkov and the workflow linters pin many packages: their own virtualenv keeps them out of .venv.
VERIFY_VENV := .venv-verify
VERIFY_STAMP := $(VERIFY_VENV)/.installed

$(VERIFY_STAMP): requirements-verify.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed: install python3.11 (or python3)"; exit 1; }
	test -x $(VERIFY_VENV)/bin/python || $(PYTHON) -m venv $(VERIFY_VENV)
	$(VERIFY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-verify.txt
	@touch $(VERIFY_STAMP)

verify: $(STAMP) $(VERIFY_STAMP)
	scripts/verify

migrate: $(STAMP)
	$(PY) -m devtools migrate

bench: $(STAMP)
	$(PY) -m devtools bench $(ARGS)

clean:
	rm -rf var
