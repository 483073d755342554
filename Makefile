# echelon-seed developer tasks.  `make test` is the README's test command and
# what .ci/run runs.  Recipes are indented with TABs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv seed test test-slow lint system-deps system-deps-postgres bench

## system-deps: python3-venv and make (apt-get as root when missing)
system-deps:
	@bash scripts/system-deps.sh

## system-deps-postgres: the same plus the PostgreSQL server the tests start
system-deps-postgres:
	@bash scripts/system-deps.sh --postgres

## venv: create .venv and install the package with its test tools
venv: system-deps $(STAMP)

# Re-installs whenever pyproject.toml is newer than the stamp; (re)creates the
# venv when it is missing or has no working pip (a half-made one).
$(STAMP): pyproject.toml
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

## seed: apply the built-in Echelon project in projects/echelon to its default ./dev.db
seed: venv
	cd projects/echelon && ../../$(BIN)/echelon-seed apply

## test: the whole suite, SQLite and PostgreSQL (the tests start their own server), over every core.
# make fails on any non-zero exit, so pytest's 5 ("no tests collected") fails too;
# under CI=true tests/conftest.py turns every skip into a failure. Each xdist worker
# starts its own PostgreSQL server and names its databases with its own pid. Two
# workers per core: a test spends much of its time waiting on a server or a child
# process (measured: 10% less wall time than one per core on the 2-core machine).
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set (as many container images
# do): otherwise each of the suite's few hundred child interpreters compiles the package
# again, and each worker rewrites every test module's asserts again (measured in a fresh
# clone: 6 min 11 s with it set, 5 min 23 s without).
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
test: system-deps-postgres venv
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(WORKERS) --dist worksteal

## test-slow: the full-count trials (kill and concurrency loops), run by CI after `make test`
test-slow: system-deps-postgres venv
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n auto --dist worksteal -m slow

## bench: the performance benchmark (see README, Performance)
bench: system-deps-postgres venv
	$(BIN)/python bench/bench.py

## lint: ruff and mypy (strict, on the package)
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
