# valueint: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUN_OUT ?= paper/figures

.PHONY: run test bench bench-fit lint install install-dev clean notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/valueint reproduce all --out $(RUN_OUT) --overwrite

test: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: install-dev
	$(BIN)/python benchmarks/bench_simulation.py $(BENCH_ARGS)

# valueint (numpyro) against PyMC on the same hierarchical fit; installs the bench extra
bench-fit: install-dev
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_fit.py $(BENCH_ARGS)

# every analysis/NN_*.py notebook in full mode, executed -> analysis/output/NN_*.ipynb
notebooks: install-dev
	$(BIN)/python analysis/run_notebooks.py --mode full --out analysis/output --overwrite

lint: install-dev
	$(BIN)/ruff check models tests benchmarks analysis
	$(BIN)/ruff format --check models tests benchmarks analysis

clean:
	rm -rf $(VENV) runs
