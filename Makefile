# `make demo` and `make test` do their own set-up on a fresh machine (Python 3.11 + make).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test setup graphviz lint bench clean

demo: setup graphviz
	$(VENV)/bin/minigrad demo $(ARGS)

# BLAS runs single-threaded in tests: they are small, and threads fighting over a busy
# machine's cores make them many times slower (speed is measured in benchmarks/).
test: setup graphviz
	$(VENV)/bin/ruff check minigrad tests examples benchmarks docs
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[viz,plot,cli,dev]'
	@# MPI for tests/distributed; where it cannot be installed those tests skip, saying why.
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[mpi]' \
		|| echo "note: MPI (minigrad[mpi]) could not be installed; the distributed tests will skip"
	@# numba for mg.compile's fused CPU kernels; without it they replay op by op (same numbers).
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[jit]' \
		|| echo "note: numba (minigrad[jit]) could not be installed; compiled functions run unfused"
	@touch $(STAMP)

# The `dot` binary renders graphs; minigrad still writes DOT source without it.
graphviz:
	@command -v dot >/dev/null 2>&1 || bash scripts/install_graphviz.sh

lint: setup
	$(VENV)/bin/ruff check minigrad tests examples benchmarks docs

bench: setup
	$(PY) benchmarks/bench_rnn.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
