# Two commands do everything on a fresh machine with Python 3.11:
#   make run   - install, ingest the sample corpus, load the sample catalogue, search, and
#                serve the API and web pages on 127.0.0.1:8000 (keys made on first run)
#   make test  - install, lint, type-check and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export KB_HOME ?= .kb
KEYS := $(KB_HOME)/api-keys.yaml

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
	$(BIN)/kb search "how do I stop the model from favouring the majority label" -k 3
	@test -f $(KEYS) || { \
	  $(BIN)/kb keys add --file $(KEYS) --role organiser && \
	  $(BIN)/kb keys add --file $(KEYS) --role employee --employee liam-chen; }
	@echo "Sign in at http://127.0.0.1:8000/ with a key from $(KEYS) (API docs at /docs)."
	KB_API_KEYS_FILE=$(KEYS) $(BIN)/kb serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/ingest_speed.py
	$(BIN)/python bench/search_speed.py
	$(BIN)/python bench/load_test.py

clean:
	rm -rf $(VENV) .kb .pytest_cache .mypy_cache .ruff_cache
