# Stub Collector. `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run`'s port: from the command line or the environment, else from .env, else 5000.
PORT ?= $(or $(shell sed -n 's/^[[:space:]]*PORT=\([0-9][0-9]*\)[[:space:]]*$$/\1/p' .env 2>/dev/null | tail -n 1),5000)
HOST ?= 127.0.0.1
FLASK := $(BIN)/flask --app stubcollector.wsgi

.DEFAULT_GOAL := help
.PHONY: help install run test lint format typecheck pytest migrate migration seed admin clean serve worker scheduler bench

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the app with its dev tools

run: install ## Install, apply migrations and serve on http://$(HOST):$(PORT)
	$(FLASK) db upgrade
	@# The app gets PORT too: without PUBLIC_BASE_URL its links follow the port it serves on.
	PORT=$(PORT) $(FLASK) run --host $(HOST) --port $(PORT) --with-threads --no-reload

test: install lint typecheck pytest ## Run the whole suite: ruff, mypy, pytest (SQLite + PostgreSQL)

lint: install ## ruff check and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: install ## mypy, strict on our package
	$(BIN)/mypy

pytest: install ## pytest only (PYTEST_ARGS=... to pass options)
	$(BIN)/pytest $(PYTEST_ARGS)

migrate: install ## Apply migrations to DATABASE_URL
	$(FLASK) db upgrade

migration: install ## New migration from model changes: make migration m="what changed"
	$(FLASK) db migrate -m "$(m)"

seed: install migrate ## Demo users and stubs (password: stubs-demo-2026)
	$(FLASK) demo seed

admin: install migrate ## Create an admin: make admin u=name e=mail (password: ADMIN_PASSWORD, stdin, or asked twice)
	$(FLASK) users create-admin --username "$(u)" --email "$(e)"

clean: ## Remove the virtualenv and caches (keeps instance/ data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

serve: install ## Production-style server: gunicorn with gunicorn.conf.py (PORT, WEB_CONCURRENCY)
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py stubcollector.wsgi:app

worker: install ## Run a job worker (needs REDIS_URL)
	$(FLASK) jobs worker

scheduler: install ## Enqueue periodic jobs on time (needs REDIS_URL)
	$(FLASK) jobs scheduler

bench: install ## Load figures against gunicorn on 127.0.0.1 (see docs/PERFORMANCE.md)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
