# Two commands: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATABASE_URL ?= sqlite:///./var/scimhub.db
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/scimhub db upgrade --database-url '$(DATABASE_URL)'
	$(BIN)/scimhub demo --database-url '$(DATABASE_URL)' --base-url 'http://$(HOST):$(PORT)'
	SCIMHUB_ACCESS_LOG=true $(BIN)/scimhub serve --host $(HOST) --port $(PORT) --database-url '$(DATABASE_URL)'

test: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
