# Two commands do everything on a fresh machine with Python 3.11:
#   make run   - install, ingest the sample corpus, load the sample catalogue, search
#   make test  - install, lint, type-check and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export KB_HOME ?= .kb

.PHONY: install run test lint bench clean

# torch first, pinned to the CPU build on this machine's disk: a bare `torch` requirement
# (sentence-transformers has one) would otherwise pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/kb ingest data/sample
	$(BIN)/kb catalog load data/sample/catalog
	$(BIN)/kb search "how do I stop the model from favouring the majority label" -k 5

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/ingest_speed.py
	$(BIN)/python bench/search_speed.py

clean:
	rm -rf $(VENV) .kb .pytest_cache .mypy_cache .ruff_cache
