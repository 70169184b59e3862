# Two commands matter: `make demo` and `make test`. Both create the venv and install first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test manifest clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python -r requirements-dev.txt -e .
	touch $(STAMP)

demo: install
	$(BIN)/lakehouse demo

test: install
	$(BIN)/python -m pytest

manifest: install
	$(BIN)/lakehouse manifest

clean:
	rm -rf .lakehouse .airflow
