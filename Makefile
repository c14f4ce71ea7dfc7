# Every target works on a fresh clone with only Python and pip: it builds .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INTEROP_VENV := .venv-interop
INTEROP_STAMP := $(INTEROP_VENV)/.installed
FRAMEWORKS_VENV := .venv-frameworks
FRAMEWORKS_STAMP := $(FRAMEWORKS_VENV)/.installed
DOCS_VENV := .venv-docs
DOCS_STAMP := $(DOCS_VENV)/.installed
# One venv for every official SDK (their pins are compatible); never a dependency of qjobs itself.
INTEROP_REQS := $(sort $(wildcard tests/interop/requirements*.txt))

.PHONY: run test check lint typecheck interop frameworks bench docs sync sync-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) ## the demo: a parameter sweep on the embedded IonQ emulator
	$(BIN)/python examples/demo.py

# One worker per core, at most four (pytest-xdist); `pytest FILE` alone runs in one process.
test: $(STAMP) ## the whole test suite
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

sync: $(STAMP) ## regenerate qjobs_sync from the async surface
	$(BIN)/python scripts/gen_sync.py

sync-check: $(STAMP)
	$(BIN)/python scripts/gen_sync.py --check

check: lint typecheck sync-check test

$(INTEROP_STAMP): pyproject.toml $(INTEROP_REQS)
	$(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(INTEROP_VENV)/bin/python -m pip install --quiet -e . $(addprefix -r ,$(INTEROP_REQS))
	touch $(INTEROP_STAMP)

interop: $(INTEROP_STAMP) ## the official SDKs, unchanged, against the emulators
	$(INTEROP_VENV)/bin/python -m pytest -q -p no:cacheprovider -o addopts="" tests/interop

$(FRAMEWORKS_STAMP): pyproject.toml tests/frameworks/requirements.txt
	$(PYTHON) -m venv $(FRAMEWORKS_VENV)
	$(FRAMEWORKS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FRAMEWORKS_VENV)/bin/python -m pip install --quiet -e . -r tests/frameworks/requirements.txt
	touch $(FRAMEWORKS_STAMP)

frameworks: $(FRAMEWORKS_STAMP) ## Qiskit, Cirq, Qibo and Braket circuits in; the Qiskit backend and Sampler
	$(FRAMEWORKS_VENV)/bin/python -m pytest -q -p no:cacheprovider -o addopts="" tests/frameworks

# The peer scenarios run the official SDKs from the interop venv (benchmarks/peers).
bench: $(STAMP) $(INTEROP_STAMP) ## benchmarks: writes benchmarks/results/*.json and docs/benchmarks.md
	$(BIN)/python -m benchmarks

# The docs tools live in their own venv; the API reference is read from the sources, so
# neither qjobs nor its extras are installed there.
$(DOCS_STAMP): docs/requirements.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DOCS_VENV)/bin/python -m pip install --quiet -r docs/requirements.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP) ## the docs site in site/ (open site/index.html); strict: a broken link fails
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --clean

clean:
	rm -rf $(VENV) $(INTEROP_VENV) $(FRAMEWORKS_VENV) $(DOCS_VENV) site .pytest_cache .mypy_cache .ruff_cache
