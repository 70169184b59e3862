# Two commands matter: `make demo` and `make test`. Both create the venv and install first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# checkov pins its own boto3, which clashes with the Airflow side, so it gets a venv of its own.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

# Every dbt task is a fresh Python process; without cached bytecode each one recompiles dbt,
# Airflow and pyiceberg (about 30% of a DAG run here).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test docs report backfill manifest bench clean deploy-mwaa airflow

# Everything the suite needs; the other targets need the project's venv only (checkov is for tests).
install: $(STAMP) $(CHECKOV_STAMP)

# The browser test's Chromium comes from Debian's packages (sudo only when not already root).
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

$(STAMP): requirements.txt requirements-dbt.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python -r requirements-dev.txt -e .
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip uv
	$(CHECKOV_VENV)/bin/uv pip install --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

demo: $(STAMP)
	$(BIN)/lakehouse demo

# Two workers, each taking whole test files: the Airflow-driven tests spend much of their time
# waiting on schedulers and subprocesses, so the week-long backfill overlaps the rest of the suite.
test: install $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=20

# Airflow with its UI on this machine: both DAGs, the pools and connections of airflow_settings.yaml;
# prints the URL and the login, runs until Ctrl-C.
airflow: $(STAMP)
	$(BIN)/lakehouse airflow

# make backfill PIPELINE=events FROM=2026-02-23 TO=2026-03-01   (taxi: PIPELINE=nyc_taxi FROM=2026-01 TO=2026-03)
PIPELINE ?= events
backfill: $(STAMP)
	$(BIN)/lakehouse backfill --pipeline $(PIPELINE) $(FROM) $(TO)

# The dbt docs site that `make airflow` shows under Browse, regenerated after runs changed the tables.
docs: $(STAMP)
	$(BIN)/lakehouse docs

# The data-quality report (tests, rows, quarantine, durations over time), also under Browse in `make airflow`.
report: $(STAMP)
	$(BIN)/lakehouse report

manifest: $(STAMP)
	$(BIN)/lakehouse manifest

# make deploy-mwaa ENV=sandbox [DRY_RUN=1], with terraform/ initialised on ENV's state (docs/aws-deploy.md).
deploy-mwaa: $(STAMP)
	test -n "$(ENV)" || { echo "give ENV=<environment>, for example ENV=sandbox"; exit 2; }
	mkdir -p include/aws
	outputs="$$(terraform -chdir=terraform output -json)" && printf '%s\n' "$$outputs" > include/aws/terraform-outputs.json
	$(BIN)/lakehouse deploy-mwaa --environment $(ENV) $(if $(DRY_RUN),--dry-run)

# Measurements for docs/benchmarks.md and bench/results.json, each a ratio against a baseline of
# the same run (never asserted in tests). About 25 minutes on 2 cores.
bench: $(STAMP)
	$(BIN)/python bench/dag_parse.py
	$(BIN)/python bench/dag_run.py
	$(BIN)/python bench/history.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/report.py

clean:
	rm -rf .lakehouse
