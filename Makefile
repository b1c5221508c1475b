# egraph-dsl: `make demo` runs the main job, `make test` the tests. Both set up .venv first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A Python >= 3.12: from PATH first, then the pyenv interpreters on the machine.
PYTHON_FOUND := $(shell for p in python3.13 python3.12 python3 python; do \
	  c=$$(command -v $$p 2>/dev/null) && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$c; exit 0; }; \
	done; root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
	for c in $$(ls -d $$root/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V -r); do \
	  $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$c; exit 0; }; \
	done)

.PHONY: setup demo test test-slow lint typecheck bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON_FOUND)" ]; then echo "error: no Python >= 3.12 found on PATH or in pyenv (egglog needs 3.12+)"; exit 1; fi
	@echo "using $(PYTHON_FOUND)"
	@test -x $(PY) || $(PYTHON_FOUND) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@$(PY) -m pip install --quiet -e '.[cuda]' 2>/dev/null && echo "installed the cuda extra (offline kernel compilation)" || echo "cuda extra not installed (GPU tests will skip)"
	@$(PY) -m pip install --quiet -e '.[dask]' 2>/dev/null && echo "installed the dask extra (Dask backend tests)" || echo "dask extra not installed (Dask backend tests will skip)"
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/egraph-dsl demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

test-slow: setup  # the long-running tests only (e.g. 10,000 random programs against NumPy)
	$(PY) -m pytest -q -p no:cacheprovider -m slow

lint: setup
	$(PY) -m ruff check egraph_dsl rulesets extract backends proofs tests benchmarks examples

typecheck: setup
	.ci/typecheck

bench: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
