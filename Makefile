# valueint: `make run` and `make test` work on a fresh machine.
# The interpreter: $(PYTHON) if given, else the first Python 3.12 or 3.13 found on PATH or
# under pyenv (installed there on these machines, though not on PATH as python3.12).
PYTHON ?= $(shell bash .ci/find-python)
VENV := .venv
BIN := $(VENV)/bin
RUN_OUT ?= paper/figures

.PHONY: run test test-slow bench bench-fit bench-jobs lint install install-dev clean notebooks

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "make: no Python 3.12 or 3.13 found (looked on PATH and under pyenv). Install one (e.g. 'pyenv install 3.12') or run 'make PYTHON=/path/to/python3.12 ...'." >&2; exit 1; fi
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

# the suite: every module exercised, in under 10 minutes on 2 cores from a cold start.
# Its programs are small, so compiling them is most of its time: XLA's lowest backend
# optimization level compiles them faster (a cold suite: 416 s against 509 s) and leaves
# what they compute to the tests' tolerances.  test-slow keeps the default: its runs are long.
test: install-dev
	XLA_FLAGS="$$XLA_FLAGS --xla_backend_optimization_level=0" $(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15 -m "not slow and not docs"

# the heavy end-to-end statistical checks (recovery, K-fold, power, the fitting notebooks)
test-slow: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15 -m "slow and not docs"

# the simulation's agent-steps/s at 1,024, 16,384 and 131,072 learners against the
# vectorized NumPy learner and the loop reference, same run; rewrites this machine's
# section of benchmarks/RESULTS.md (~5 min on 2 cores)
bench: install-dev
	$(BIN)/python benchmarks/bench_simulation.py --results benchmarks/RESULTS.md $(BENCH_ARGS)

# valueint's fit against PyMC and nutpie (default and low-rank) on the same hierarchical model,
# data, chains and draws; installs the bench extra (PyMC, nutpie) and rewrites
# benchmarks/fit_results.json and FIT_RESULTS.md (~15 min on 2 cores).  Quick look:
# make bench-fit BENCH_ARGS="--subjects 20 --warmup 100 --draws 100 --out-dir /tmp/bench-fit"
# the job engine: one model's SBC job on 1 local worker against one per core (~5 min)
bench-jobs: install-dev
	$(BIN)/python benchmarks/bench_jobs.py $(BENCH_ARGS)

bench-fit: install-dev
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_fit.py $(BENCH_ARGS)

# which sampler needs the fewest gradients per independent draw on the Cutler data's binding
# quantities (valueint's NUTS variants, blackjax's MAMS, NeuTra); its section of
# FIT_RESULTS.md (~25 min on 2 cores; neutra, far slower, only when named); a rerun keeps the finished runs
.PHONY: bench-samplers
bench-samplers: install-dev
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/compare_samplers.py --out-dir benchmarks $(BENCH_ARGS)

# the manuscript, built from the committed run records (paper/*/run.json and their tables):
# paper/manuscript/build/paper.pdf and paper.html, in seconds.  It fails naming a cited
# record that is missing or older than the package that made it
.PHONY: paper
paper: install-dev
	$(BIN)/pip install --quiet -e ".[dev,paper]"
	$(BIN)/python paper/manuscript/build.py $(PAPER_ARGS)

# every analysis/NN_*.py notebook in full mode, executed -> analysis/output/NN_*.ipynb
notebooks: install-dev
	$(BIN)/python analysis/run_notebooks.py --mode full --out analysis/output --overwrite

# the documentation site (Sphinx, pydata-sphinx-theme, myst-nb) -> docs/_build/html; its
# pages with code and the simulation notebook run at build time, cached in docs/_build
# (a cold build, docs/_build deleted: 141 s on 2 cores).  Warnings are errors.
.PHONY: docs test-docs
docs: install-dev
	$(BIN)/pip install --quiet -e ".[dev,docs]"
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# the site as a reader sees it: built with -W, every internal link resolved, the model
# catalogue complete, and its pages opened in headless Chromium (screenshots in
# docs/_build/screenshots/; skipped if chromium is not installed)
test-docs: install-dev
	$(BIN)/pip install --quiet -e ".[dev,docs]"
	$(BIN)/python -m pytest -m docs tests/docs

lint: install-dev
	$(BIN)/ruff check models tests benchmarks analysis paper/manuscript docs/conf.py docs/_ext
	$(BIN)/ruff format --check models tests benchmarks analysis paper/manuscript docs/conf.py docs/_ext

clean:
	rm -rf $(VENV) runs
