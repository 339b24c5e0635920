# Two entry points on a fresh machine:
#   make example      set up, then run the bundled example pipeline end to end with `airflow dags test`
#   make test         set up, then lint, run the test suite, the benchmarks' smoke run, then the
#                     end-to-end stage
# and their parts:
#   make check        lint and run the test suite (unit and integration tests, SQLite); installs Debian's
#                     graphviz with apt-get when its dot program is missing
#   make bench-smoke  the benchmarks at small sizes (under a minute); fails only when a figure is over 3x
#                     its PythonOperator baseline
#   make e2e          the end-to-end stage: real Airflow deployments on PostgreSQL, LocalExecutor then
#                     CeleryExecutor (Redis), driven through the REST API and headless chromium
# and on demand:
#   make bench        every benchmark at full size (several minutes): prints the table of ratios to
#                     baselines measured in the same run and writes .bench/results.json

PYTHON ?= python3
VENV := .venv
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
BIN := $(VENV)/bin
EXAMPLE ?= ticket_triage

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
PIPELINES ?= $(CURDIR)/dags/pipelines
export AIRFLOW__CORE__LOAD_EXAMPLES := False
# The bundled example pipelines reach Airflow through the gathering DAG bundle, as in a deployment.
export AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST := [{"name": "gathering", \
	"classpath": "gathering_provider.bundles.PipelineBundle", "kwargs": {"pipelines_folder": "$(PIPELINES)"}}]
export AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH := $(AIRFLOW_HOME)/bundles

.PHONY: example test check lint e2e bench bench-smoke

$(BIN)/airflow: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable '.[test]'
	touch $@

example: $(BIN)/airflow
	@mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || { cat $(AIRFLOW_HOME)/migrate.log; exit 1; }
	$(BIN)/airflow gathering validate $(PIPELINES)
	$(BIN)/airflow dags test $(EXAMPLE) > $(AIRFLOW_HOME)/example.log 2>&1 || { tail -n 80 $(AIRFLOW_HOME)/example.log; exit 1; }
	@echo "--- $(EXAMPLE): node results (full log: $(AIRFLOW_HOME)/example.log)"
	@sed -n -E \
		-e 's/.*Node ([^ ]+) result: (.*[^ ]) +\[airflow\.task.*/\1: \2/p' \
		-e 's/.*reason="node ([^ ]+) has no live incoming edge: (.*)"/\1: skipped (\2)/p' \
		-e 's/.*DagRun Finished: dag_id=([^,]+),.*(state=[a-z_]+).*/run \1 finished: \2/p' \
		$(AIRFLOW_HOME)/example.log

lint: $(BIN)/airflow
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: lint /usr/bin/dot
	$(BIN)/python -m pytest

# Ratios to baselines measured in the same run; the JSON results and Airflow's log go to .bench/.
# The benchmarks get a virtualenv of their own: dag-factory (a baseline) installs an Airflow plugin, which
# stays out of the environment the tests and the end-to-end stage run in.
BENCH_VENV := .venv-bench

$(BENCH_VENV)/bin/airflow: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet --constraint constraints.txt --editable '.[bench]'
	touch $@

bench: $(BENCH_VENV)/bin/airflow
	$(BENCH_VENV)/bin/python -m benchmarks

bench-smoke: $(BENCH_VENV)/bin/airflow
	$(BENCH_VENV)/bin/python -m benchmarks --smoke --output .bench/smoke.json

# One deployment per executor: LocalExecutor (REST API and browser checks), then CeleryExecutor (two
# workers on the Redis broker at 127.0.0.1:6379: examples, the shared breaker, losing a worker).
e2e: $(BIN)/airflow /usr/bin/chromedriver
	$(BIN)/python -m pytest e2e --e2e-executor LocalExecutor
	$(BIN)/python -m pytest e2e --e2e-executor CeleryExecutor

# The end-to-end stage drives a real browser: Debian's chromium and chromium-driver.
/usr/bin/chromedriver:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver

# `airflow gathering show --format png` draws with Graphviz's dot program (optional for users); the tests
# draw for real.
/usr/bin/dot:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq graphviz

test: check bench-smoke e2e
