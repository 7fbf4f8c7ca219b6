# Two commands do everything on a fresh machine with Python 3.11:
#   make run   - install, ingest the sample corpus, load the sample catalogue, search, and
#                serve the API and web pages on 127.0.0.1:8000 (keys made on first run)
#   make test  - install (Debian's chromium too, for the web pages' tests), lint, type-check
#                and run the whole test suite: a missing browser fails it, never skips
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export KB_HOME ?= .kb
KEYS := $(KB_HOME)/api-keys.yaml
CHROMIUM ?= /usr/bin/chromium
APT_GET ?= apt-get

.PHONY: install browser run test lint bench clean

# torch first, pinned to the CPU build on this machine's disk: a bare `torch` requirement
# (sentence-transformers has one) would otherwise pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,multilingual,postgres]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/kb ingest data/sample
	$(BIN)/kb catalog load data/sample/catalog
	$(BIN)/kb cycle import recsys-cf-2024-02 data/sample/catalog/cycles/recsys-cf-2024-02.*.csv
	$(BIN)/kb cycle import llm-support-2024-04 data/sample/catalog/cycles/llm-support-2024-04.*.csv
	$(BIN)/kb cycle import nlp-optimisation-2024-06 data/sample/catalog/cycles/nlp-optimisation-2024-06.*.csv
	$(BIN)/kb search "how do I stop the model from favouring the majority label" -k 3
	@test -f $(KEYS) || { \
	  echo "New API keys (shown only now: $(KEYS) keeps their SHA-256, not the keys):" && \
	  $(BIN)/kb keys add --file $(KEYS) --role organiser && \
	  $(BIN)/kb keys add --file $(KEYS) --role employee --employee liam-chen; }
	@echo "Sign in at http://127.0.0.1:8000/ with a key printed when $(KEYS) was made (API docs"
	@echo "at /docs); lost it? kb keys add --file $(KEYS) --role organiser prints a new one."
	KB_API_KEYS_FILE=$(KEYS) $(BIN)/kb serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The web pages' tests drive Debian's chromium (Playwright cannot download a browser without
# internet): installed here when missing and we are root, else a message says how.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v $(APT_GET) >/dev/null; then \
	    echo "Installing Debian's chromium for the web pages' tests..." && \
	    $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium; \
	  else \
	    echo "make test needs Debian's chromium at $(CHROMIUM) for the web pages' tests:" \
	      "run 'sudo apt-get install chromium' (or make test as root), then make test again." >&2; \
	    exit 1; \
	  fi; }
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing after apt-get." >&2; exit 1; }

# KB_REQUIRE_BROWSER=1: tests/web/test_pages.py fails, rather than skips, without a browser.
test: browser lint
	KB_REQUIRE_BROWSER=1 KB_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q

bench: install
	$(BIN)/python bench/ingest_speed.py
	$(BIN)/python bench/search_speed.py
	$(BIN)/python bench/load_test.py

clean:
	rm -rf $(VENV) .kb .pytest_cache .mypy_cache .ruff_cache
