# The shop's commands. `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8080
export PORT

# The test suite talks to this machine's PostgreSQL and MariaDB unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ecommerce
TEST_MYSQL_URL ?= mysql://root@127.0.0.1:3306/ecommerce

.DEFAULT_GOAL := help
include deploy/deploy.mk
.PHONY: help build run test migrate seed fmt lint clean bench bench-oscar fuzz load-test load-test-ui system-deps browser-deps

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

system-deps: ## Debian packages mysqlclient builds against (installed when missing)
	@if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then \
		echo "Installing libmariadb-dev and pkg-config (needed to build mysqlclient)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libmariadb-dev pkg-config gcc; \
	fi

browser-deps: ## Debian's chromium for the back office's browser tests (installed when missing)
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

$(STAMP): requirements.txt requirements-dev.txt requirements-loadtest.txt
	@$(MAKE) --no-print-directory system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $(STAMP)

build: $(STAMP) ## Create the virtualenv and install the dependencies

run: $(STAMP) ## Serve the API on PORT (8080): embedded stores unless DATABASE_URL/MYSQL_URL/MONGO_URL
	$(PY) -m ecommerce.tooling.serve

migrate: $(STAMP) ## Create/migrate both SQL databases and the MongoDB indexes
	$(PY) manage.py setup_stores

seed: $(STAMP) ## Seed demo data (ARGS="--products 10000 --orders 50000")
	$(PY) manage.py seed $(ARGS)

test: $(STAMP) browser-deps ## Run the test suite on PostgreSQL, MariaDB and nx-27017
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} MYSQL_URL=$${MYSQL_URL:-$(TEST_MYSQL_URL)} \
		$(PY) -m pytest $(ARGS)

HOST ?= http://localhost:$(PORT)
load-test: $(STAMP) ## Locust headless against HOST (USERS, SPAWN_RATE, RUN_TIME); report in reports/
	HOST=$(HOST) $(PY) -m loadtest.run

load-test-ui: $(STAMP) ## The Locust web UI on http://localhost:8089 against HOST
	$(VENV)/bin/locust -f loadtest/locustfile.py --host $(HOST)

bench: $(STAMP) ## Benchmark each endpoint against a bare Django view; writes reports/bench.md
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }
	$(PY) loadtest/bench.py

bench-oscar: ## make bench side by side with django-oscar + oscar-api (built from PyPI under var/); reports/bench.md
	BENCH_PEER=oscar $(MAKE) --no-print-directory bench

fuzz: $(STAMP) ## Fuzz the API against its OpenAPI schema as staff and customer (FUZZ_TIME s per role; reports/fuzz)
	$(PY) -m ecommerce.tooling.fuzz --max-time $${FUZZ_TIME:-120}

fmt: $(STAMP) ## Format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lint: $(STAMP) ## Lint the code, the import contracts (pyproject.toml) and the OpenAPI schema (Redocly)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	@test -f node_modules/@redocly/cli/package.json || npm ci --no-audit --no-fund
	@mkdir -p var
	DJANGO_SETTINGS_MODULE=ecommerce.testing.settings $(PY) manage.py spectacular --format openapi-json --file var/openapi.json
	npx --no-install redocly lint var/openapi.json --config redocly.yaml

clean: ## Remove the virtualenv, local data and reports
	rm -rf $(VENV) var staticfiles reports .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
