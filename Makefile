# stdplab: `make figures` regenerates every figure and figures/REPORT.md; `make test` runs
# the test suite; `make bench` the benchmarks. Each creates .venv (Python >= 3.12) and
# installs the pinned dependencies.
PYTHON ?= $(shell .ci/find-python)
VENV := .venv
BIN := $(VENV)/bin
# the package alone (make figures), then the test and benchmark extras (make test, make bench)
BASE_STAMP := $(VENV)/.installed-base
STAMP := $(VENV)/.installed
SCALE ?= quick
DEVICE ?= cpp_standalone

.PHONY: figures test bench lint clean

$(BASE_STAMP): setup.cfg pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found; see the message above."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

figures: $(BASE_STAMP)
	$(BIN)/stdplab figures --scale $(SCALE) --device $(DEVICE)

# one worker per core; worksteal evens out tests that take seconds and minutes
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist worksteal

bench: $(STAMP)
	$(BIN)/python benchmarks/plasticity.py
	$(BIN)/python benchmarks/timing_learning.py
	$(BIN)/python benchmarks/event_features.py
	$(BIN)/python benchmarks/diehl_cook.py
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/neuron_traces.py
	$(BIN)/python benchmarks/readme_table.py

lint: $(STAMP)
	$(BIN)/ruff check models experiments analysis tests benchmarks

clean:
	rm -rf build results $(VENV)
