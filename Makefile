# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ARGS ?=

.PHONY: demo test lint typecheck unit bench chaos clean venv

$(STAMP): pyproject.toml emulators/pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./emulators
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/returns demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check engine emulators tests
	$(BIN)/ruff format --check engine emulators tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q

# Measured, never asserted: results land in docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python -m emulators.bench.ingest_throughput
	$(BIN)/python -m emulators.bench.backlog --returns 200 --write
	$(BIN)/python -m emulators.bench.drift_10k

# A seeded soak of 1000 returns under faults; ends with `invariant violations: N`, exits 1 if N > 0.
CHAOS_ARGS ?= --returns 1000 --seed 7 --write
chaos: $(STAMP)
	$(BIN)/python -m emulators.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
