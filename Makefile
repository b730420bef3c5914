# Billfold developer commands. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-sqlite bench lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make demo: the product tour on a fresh SQLite database; prints where its outputs are
demo: $(STAMP)
	$(BIN)/python -m billfold.demo --out demo-output

## make test: unit, integration (SQLite and PostgreSQL) and end-to-end tests
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

## make test-sqlite: the same, skipping the PostgreSQL half
test-sqlite: $(STAMP)
	BILLFOLD_TEST_ENGINES=sqlite $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

## make bench: every benchmark in benchmarks/, figures printed as ratios to a baseline
bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-output bench-output .pytest_cache .mypy_cache .ruff_cache
