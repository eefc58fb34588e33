# The newcomer's path. `make demo` and `make test` each set up .venv (Python 3.11) from the lock file first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo tour test lint bench clean system-deps

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "govssi needs $(PYTHON) on PATH (or: make PYTHON=/path/to/python3.11 ...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	@touch $(STAMP)

# The whole trust triangle on localhost until Ctrl-C (govssi demo; --fresh etc.: run .venv/bin/govssi demo --help).
demo: $(STAMP)
	$(VENV)/bin/govssi demo

# A scripted tour of the command line: keys, DIDs, an SD-JWT VC issued, presented and verified.
tour: $(STAMP)
	@bash scripts/cli-tour.sh

# softhsm2 and chromium from apt, PostgreSQL and Redis started, when missing (scripts/system-deps.sh).
system-deps:
	@bash scripts/system-deps.sh

test: $(STAMP) system-deps
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check ssi ledger infra issuer verifier wallet_sim govssi tests bench
	$(VENV)/bin/ruff format --check ssi ledger infra issuer verifier wallet_sim govssi tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench.sdjwt_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
