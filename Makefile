# Two entry points for users: `make run` (the hub on this machine, embedded AWS emulator) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit docs bench clean

$(STAMP): requirements/dev.txt layers/hub/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/dev.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

run: $(STAMP)
	$(BIN)/webhook-hub run $(ARGS)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers/hub cli functions/ingest tests bench

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

docs: $(STAMP)
	$(BIN)/webhook-hub docs

clean:
	rm -rf $(VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache
