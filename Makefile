# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ARGS ?=
# Hash-pinned locks (`make lock`): the image installs requirements.lock; .venv, and so CI, requirements-dev.lock
# (the same pins plus the dev extra and the emulators' own dependencies).
LOCKS := requirements.lock requirements-dev.lock

.PHONY: demo test browser lint typecheck unit bench chaos clean venv lock audit pin-base

# Every third-party package from the dev lock, hashes checked; then the two local distributions without
# dependencies (the `dev` extra's tools are in the lock). `pip check` fails when pyproject.toml asks for something
# the lock lacks: run `make lock`.
$(STAMP): pyproject.toml emulators/pyproject.toml $(LOCKS)
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e '.[dev]' -e ./emulators
	$(BIN)/pip check
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/returns demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check engine emulators tests
	$(BIN)/ruff format --check engine emulators tests

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's chromium for the browser test, first: installed when missing (root or passwordless sudo), or a stop
# within a second naming the command to run.
browser:
	@.ci/ensure-chromium

test: browser $(STAMP) lint typecheck
	.ci/pytest-lanes $(BIN)

# Measured, never asserted: results land in docs/benchmarks.md.
# Each writes its section of docs/benchmarks.md and its figures to docs/benchmarks.json; the summary table at the
# top is computed from those (the chaos row from `make chaos`).
bench: $(STAMP)
	$(BIN)/python -m emulators.bench.points --write
	$(BIN)/python -m emulators.bench.backlog --returns 200 --write
	$(BIN)/python -m emulators.bench.engine_vs_bare --write
	$(BIN)/python -m emulators.bench.actions --write
	$(BIN)/python -m emulators.bench.receiver_vs_bare --write
	$(BIN)/python -m emulators.bench.worker_memory --write
	$(BIN)/python -m emulators.bench.drift_10k
	$(BIN)/python -m emulators.bench.summary

# A seeded soak of 1000 returns under faults; ends with `invariant violations: N`, exits 1 if N > 0.
CHAOS_ARGS ?= --returns 1000 --seed 7 --write
chaos: $(STAMP)
	$(BIN)/python -m emulators.chaos $(CHAOS_ARGS)

# Regenerate the locks from pyproject.toml and emulators/pyproject.toml, resolved for CPython $(LOCK_PYTHON) on Linux
# (the Dockerfile's base and CI), with uv $(UV_VERSION) installed in a throwaway venv. Pins already in the locks are
# kept: `make lock LOCK_ARGS=--upgrade` moves everything, LOCK_ARGS='--upgrade-package httpx' one package. The dev
# lock is constrained to the runtime one, so tests run the versions the image ships. The two local distributions
# come in as paths (never by name from the index) and are left out of the output.
UV_VERSION := 0.13.9
LOCK_PYTHON := 3.11
LOCK_ARGS ?=
UV_COMPILE = pip compile --generate-hashes --python-version $(LOCK_PYTHON) --python-platform linux \
	--custom-compile-command 'make lock  (uv $(UV_VERSION), --python-version $(LOCK_PYTHON) --python-platform linux)'
lock:
	grep -q '^FROM python:$(LOCK_PYTHON)-' Dockerfile || { echo 'Dockerfile base is not Python $(LOCK_PYTHON)'; exit 1; }
	tool=$$(mktemp -d) && trap 'rm -rf "$$tool"' EXIT && $(PY) -m venv "$$tool" \
	&& "$$tool/bin/pip" install --quiet 'uv==$(UV_VERSION)' \
	&& "$$tool/bin/uv" $(UV_COMPILE) $(LOCK_ARGS) pyproject.toml -o requirements.lock \
	&& printf -- '-e .[dev]\n-e ./emulators\n' | "$$tool/bin/uv" $(UV_COMPILE) $(LOCK_ARGS) - -c requirements.lock \
	    --no-emit-package rebound-returns-engine --no-emit-package rebound-returns-emulators -o requirements-dev.lock

# Release step, never part of `make test` (it asks an advisory service over the network; pip-audit's default is
# PyPI's): the image's locked dependencies, hashes required, nothing resolved. Exits 1 on a known vulnerability.
# `make audit AUDIT_LOCKS="requirements.lock requirements-dev.lock"` covers the test tools too.
AUDIT_LOCKS ?= requirements.lock
audit: $(STAMP)
	$(BIN)/pip-audit --strict --disable-pip --require-hashes --progress-spinner off $(addprefix -r ,$(AUDIT_LOCKS))

# Release step (needs Docker and the registry): re-resolve the base image's tag to its current digest and write
# it into both FROM lines of the Dockerfile. Review the diff, then rebuild and audit.
BASE_IMAGE := python:3.11-slim
pin-base:
	digest=$$(docker buildx imagetools inspect $(BASE_IMAGE) | awk '$$1 == "Digest:" {print $$2; exit}'); \
	echo "$$digest" | grep -Eq '^sha256:[0-9a-f]{64}$$' || { echo 'no digest for $(BASE_IMAGE)'; exit 1; }; \
	sed -i -E "s#^FROM $(BASE_IMAGE)(@sha256:[0-9a-f]{64})?( |$$)#FROM $(BASE_IMAGE)@$$digest\2#" Dockerfile \
	&& grep -n '^FROM' Dockerfile

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
