# The newcomer's path. `make demo` and `make test` each set up .venv (Python 3.11) from the lock file first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo tour test lint bench clean system-deps ext

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "govssi needs $(PYTHON) on PATH (or: make PYTHON=/path/to/python3.11 ...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	@touch $(STAMP)

# The SD-JWT/JOSE hot path compiled by Cython (setup.py, ssi/_compiled.py): built by the install above, rebuilt in
# place after a source change (a few seconds when nothing changed). A build that does not match its source is never
# loaded: the Python source runs.
ext: $(STAMP)
	@$(PY) setup.py --quiet build_ext --inplace --parallel 2

# The whole trust triangle on localhost until Ctrl-C (govssi demo; --fresh etc.: run .venv/bin/govssi demo --help).
demo: ext
	$(VENV)/bin/govssi demo

# A scripted tour of the command line: keys, DIDs, an SD-JWT VC issued, presented and verified.
tour: ext
	@bash scripts/cli-tour.sh

# softhsm2 and chromium from apt, PostgreSQL and Redis started, when missing (scripts/system-deps.sh).
system-deps:
	@bash scripts/system-deps.sh

test: ext system-deps
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check ssi ledger infra issuer verifier wallet_sim govssi tests bench
	$(VENV)/bin/ruff format --check ssi ledger infra issuer verifier wallet_sim govssi tests bench
	$(VENV)/bin/mypy

bench: ext
	$(PY) -m bench.sdjwt_bench

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
