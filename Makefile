# Two commands do everything on a fresh machine: `make demo` and `make test`.
# --no-compile: byte code is written as modules are first imported (the install is 20 s shorter).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# the benchmarks' baselines (pandas, datacompy, dlt): the tests run the benches' smoke runs
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: install test demo bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-compile -e '.[test,bench]'
	@touch $(BENCH_STAMP)

test: $(BENCH_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/blaze-workbook demo

bench: $(BENCH_STAMP)
	$(BIN)/python bench/simulator.py

clean:
	rm -rf $(VENV) .workbook .pytest_cache
