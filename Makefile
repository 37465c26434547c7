# The README's two commands: `make demo` and `make test`. Both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO_DB ?= sqlite:///$(CURDIR)/demo.sqlite3
# The demo signs its bank-feed webhook with this key, as Casso would with the hospital's.
DEMO_ENV := DATABASE_URL=$(DEMO_DB) CASSO_CHECKSUM_KEY=demo-casso-checksum-key

.PHONY: demo test lint bench bench-load serve install clean messages

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "vienphi needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

install: $(INSTALLED)

## make demo: a demo hospital on SQLite with in-process tasks, a walk-through, then the API on :8000
demo: $(INSTALLED)
	rm -f demo.sqlite3
	$(DEMO_ENV) $(BIN)/python manage.py migrate --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	$(DEMO_ENV) $(BIN)/python manage.py demo_walkthrough --serve 127.0.0.1:8000

## make serve: the production stack on this machine from the Procfile, run by honcho:
## gunicorn (gunicorn.conf.py), a Celery worker and beat, on PostgreSQL and Redis.
## Ctrl-C stops all three gracefully (honcho waits SERVE_STOP_SECONDS before killing).
SERVE_DB ?= postgres://postgres@127.0.0.1:5432/vienphi
SERVE_REDIS ?= redis://127.0.0.1:6379/0
SERVE_STOP_SECONDS ?= 35
serve: $(INSTALLED)
	@mkdir -p var
	export DATABASE_URL=$${DATABASE_URL:-$(SERVE_DB)} REDIS_URL=$${REDIS_URL:-$(SERVE_REDIS)}; \
	$(BIN)/python manage.py migrate --verbosity 0 && \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	exec $(BIN)/python -c 'import sys, honcho.manager, honcho.command; \
	honcho.manager.KILL_WAIT = int(sys.argv[1]); honcho.command.main(["start"])' $(SERVE_STOP_SECONDS)

## make test: lint, types, migrations check, the layers (.importlinter), then the whole suite
## on PostgreSQL and Redis
test: $(INSTALLED)
	bash .ci/ensure-services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=sqlite://:memory: $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(INSTALLED)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy . && $(BIN)/lint-imports

## make bench: the benchmarks in bench/, each printed as a ratio to a raw baseline
bench: $(INSTALLED)
	bash .ci/ensure-services
	$(BIN)/python -m bench

## make messages: after changing a patient page's text, refresh the Vietnamese .po files of
## the apps that have them (then translate what is new) and compile the committed .mo files
messages: $(INSTALLED)
	for app in $$(dirname $$(dirname $$(dirname $$(ls -d */locale/vi/LC_MESSAGES config/*/locale/vi/LC_MESSAGES)))); do \
	  (cd $$app && DJANGO_SETTINGS_MODULE=config.settings.base PYTHONPATH=$(CURDIR) \
	   $(CURDIR)/$(BIN)/django-admin makemessages -l vi --no-location); done
	$(BIN)/python manage.py compilemessages -l vi --ignore=.venv

## make bench-load: the morning peak under locust against the Procfile's stack, with faults
## injected one at a time (bench/load/); its own Redis (port 6391) and database
bench-load: $(INSTALLED)
	bash .ci/ensure-services
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m bench.load.run $(LOAD_ARGS)

clean:
	rm -rf $(VENV) demo.sqlite3 test-artifacts .mypy_cache .pytest_cache .ruff_cache .import_linter_cache
