# One command sets everything up and runs: `make run` (the main job) or `make test` (the suite).
# Needs only Python 3.11+, Node.js and npm; everything else is installed here.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup build wheel run demo test lint typecheck bench clean

$(STAMP): pyproject.toml constraints.txt package.json package-lock.json
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: $(STAMP)

# Compiling is a developer's step: it writes ledger/artifacts.json, which the package ships.
build: setup
	$(BIN)/ipledger contracts build

# The wheel (in dist/): runs `ipledger serve` and `ipledger wallet` without node or solc.
wheel: build
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation --no-index --wheel-dir dist .

run: build
	$(BIN)/ipledger serve

demo: build
	$(BIN)/ipledger demo

test: build
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

bench: build
	$(BIN)/python -m bench.gas
	$(BIN)/python -m bench.chain
	$(BIN)/python -m bench.mirror
	$(BIN)/python -m bench.relayer

clean:
	rm -rf $(VENV) node_modules build dist ledger/artifacts.json
