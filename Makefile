# PETRA developer entry points. Quick start: `make run` and `make test`.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
CONFIG  ?=
## pytest-xdist workers for the parallel pass (the suite mostly waits on peers and subprocesses)
TEST_WORKERS ?= 4

.PHONY: run simulate test lint bench bench-scan clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## run PETRA on the embedded demo plant (or CONFIG=path/to/plant.yaml)
run: $(STAMP)
	$(VENV)/bin/petra run $(CONFIG)

## run PETRA connected to the plant simulator (a local S7 PLC and Modbus device)
simulate: $(STAMP)
	$(VENV)/bin/petra run --simulate

## install the Debian test services if missing, then run the whole suite: every test that may share
## the machine in parallel, then the `serial` ones (tests/conftest.py SERIAL) on their own; both always run
test: $(STAMP)
	tools/install-test-services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --strict supervision
	$(VENV)/bin/mypy petra
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not serial"; parallel=$$?; \
	$(PY) -m pytest -q -m serial; serial=$$?; \
	test $$parallel -eq 0 -a $$serial -eq 0

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## benchmarks print their numbers; see README "Benchmarks"
bench: bench-scan
bench-scan: $(STAMP)
	$(PY) benchmarks/scan.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
