# Two entry points for users: `make run` (the hub on this machine, embedded AWS emulator) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit browser docs bench clean

$(STAMP): requirements/dev.txt requirements/cli.txt layers/hub/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/dev.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

run: $(STAMP)
	$(BIN)/webhook-hub run $(ARGS)

test: lambda-python lint typecheck unit template-check security-check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers/hub cli functions/ingest functions/recover functions/dispatch functions/forward functions/watch examples/consumer/src tests tools bench

unit: $(STAMP) browser
	$(BIN)/pytest -n 2 -q

# Debian's Chromium and its driver for the inspector page's browser test (CI starts bare and runs as root).
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y chromium chromium-driver; }

docs: $(STAMP)
	$(BIN)/webhook-hub docs

# --- Template checks: SAM CLI + cfn-lint and checkov, each in its own virtualenv (their pins clash) ------
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
TRANSFORMED := .aws-sam/transformed.json
export SAM_CLI_TELEMETRY := 0
# The Lambda runtime's Python 3.13, for `sam build` and the smoke test of its output: tools/lambda-python-bin finds
# it (LAMBDA_PYTHON_BIN if set, python3.13 on PATH, pyenv's versions) or says exactly what to install. Its bin
# directory goes first on PATH, because lambda-builders runs `python3.13` and a pyenv shim answers only when the
# pyenv version names it.
LAMBDA_PYTHON_BIN ?=
export LAMBDA_PYTHON_BIN
LAMBDA_ENV := PATH="$$(tools/lambda-python-bin):$$PATH"

.PHONY: lambda-python
# First in `make test`, so a machine without Python 3.13 learns what to install before minutes of tests.
lambda-python:
	@tools/lambda-python-bin >/dev/null

.PHONY: template-check security-check

# tests/integration/test_permissions.py transforms the template with SAM's translator (its pins clash with the
# dev virtualenv's) to build the functions' roles.
unit: $(SAM_STAMP)

$(SAM_STAMP): requirements/sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q -r requirements/sam.txt
	touch $@

$(CHECKOV_STAMP): requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements/checkov.txt
	touch $@

# What CloudFormation gets after the SAM transform (cfn-lint 1.x only checks SAM resources against
# SAM's schemas; this is where the generated IAM role, permissions and API stage are checked).
$(TRANSFORMED): template.yaml tools/sam_transform.py $(SAM_STAMP)
	$(SAM_VENV)/bin/python tools/sam_transform.py template.yaml $@

# sam validate --lint (also of the subscriber kit, examples/consumer); cfn-lint of the transformed template;
# sam build (python3.13, arm64); then
# tools/smoke_artifact.py imports and invokes the built artifact on python3.13 against moto.
template-check: lambda-python $(STAMP) $(SAM_STAMP) $(TRANSFORMED)
	timeout 300 $(SAM_VENV)/bin/sam validate --lint
	cd examples/consumer && timeout 300 ../../$(SAM_VENV)/bin/sam validate --lint --region us-east-1
	timeout 300 $(SAM_VENV)/bin/cfn-lint $(TRANSFORMED)
	$(LAMBDA_ENV) timeout 900 $(SAM_VENV)/bin/sam build
	$(LAMBDA_ENV) timeout 900 $(BIN)/python tools/smoke_artifact.py

# checkov over the template and its SAM transform; fails on any finding not skipped in place
# (Metadata: checkov: skip: with a comment, which tests/infrastructure checks).
security-check: $(CHECKOV_STAMP) $(TRANSFORMED)
	timeout 300 $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download \
	  --framework cloudformation secrets -f template.yaml -f $(TRANSFORMED) -f examples/consumer/template.yaml

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache

# Benchmarks (not part of `make test`): sam build, then cold start, AWS calls and write units per case, artifact
# size, the local hub's events/s, each beside its baseline, and the cost per million events, on 127.0.0.1 only;
# writes docs/performance.md and docs/cost.md (see bench/__main__.py).
bench: lambda-python $(STAMP) $(SAM_STAMP)
	$(LAMBDA_ENV) timeout 900 $(SAM_VENV)/bin/sam build
	$(LAMBDA_ENV) timeout 1200 $(BIN)/python -m bench $(ARGS)
