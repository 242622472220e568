# slaverycases: `make run` serves the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test install lint format assets lock clean

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	touch $@

install: $(VENV)/.installed

# Embedded defaults (SQLite under var/, filesystem broker) unless DATABASE_URL /
# CELERY_BROKER_URL say otherwise. DEBUG is on for this development server only.
run: install
	mkdir -p var
	export DEBUG=$${DEBUG:-1}; \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py seed_demo && \
	exec $(BIN)/python manage.py devserver 127.0.0.1:$(PORT)

# PostgreSQL and Redis on 127.0.0.1 are used when they answer (see .ci/test-env.sh).
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	source .ci/test-env.sh && $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Rebuild the committed GOV.UK Frontend assets under static/govuk (needs node and npm).
assets:
	cd frontend && npm ci && npm run build
	cp frontend/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js static/govuk/
	rm -rf static/govuk/assets && cp -r frontend/node_modules/govuk-frontend/dist/govuk/assets static/govuk/
	rm -rf static/govuk/assets/fonts

# Re-pin requirements.lock from pyproject.toml's ranges.
lock:
	rm -rf var/lockenv && $(PYTHON) -m venv var/lockenv
	var/lockenv/bin/pip install --quiet --upgrade pip
	var/lockenv/bin/pip install --quiet ".[dev]"
	var/lockenv/bin/pip freeze --exclude-editable | grep -v '^slaverycases' > requirements.lock

clean:
	rm -rf $(VENV) var
