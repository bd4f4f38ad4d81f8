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
# Each writes its section of docs/benchmarks.md and its figures to docs/benchmarks.json; the summary table at the
# top is computed from those (the chaos row from `make chaos`).
bench: $(STAMP)
	$(BIN)/python -m emulators.bench.points --write
	$(BIN)/python -m emulators.bench.backlog --returns 200 --write
	$(BIN)/python -m emulators.bench.engine_vs_bare --write
	$(BIN)/python -m emulators.bench.receiver_vs_bare --write
	$(BIN)/python -m emulators.bench.worker_memory --write
	$(BIN)/python -m emulators.bench.drift_10k
	$(BIN)/python -m emulators.bench.summary

# A seeded soak of 1000 returns under faults; ends with `invariant violations: N`, exits 1 if N > 0.
CHAOS_ARGS ?= --returns 1000 --seed 7 --write
chaos: $(STAMP)
	$(BIN)/python -m emulators.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
