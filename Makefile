# anonrelease: `make demo` runs one nightly release end to end; `make test` runs every test.
# `make test` = ruff, mypy (strict on transforms/ and pipeline/), pytest.
# Both bootstrap what they need: a uv tool venv (.uv/) and the locked project venv (.venv/).

PYTHON ?= python3
UV_VERSION := 0.13.8
DEMO_DATE ?= 2026-11-24
DEMO_CUSTOMERS ?= 10000
DEMO_SEED ?= 42
# Hypothesis profile of `make test` (tests/conftest.py): dev (random, local example database),
# ci (derandomized, no database; .ci/run), explore (1000 examples per property test)
HYPOTHESIS_PROFILE ?= dev

VENV := .venv
UV := .uv/bin/uv
AR := $(VENV)/bin/anonrelease
AIRFLOW := $(VENV)/bin/airflow

export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export GX_ANALYTICS_ENABLED := false
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: bootstrap demo test test-explore lint format airflow-db clean

bootstrap: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --python $(PYTHON)
	touch $@

airflow-db: bootstrap
	@mkdir -p $(AIRFLOW_HOME)
	$(AIRFLOW) db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/migrate.log; exit 1)

demo: bootstrap airflow-db
	$(AR) demo-data --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED)
	@echo "Recording the public notice (公表文) of the microdata as published on $(DEMO_DATE) (demo)"
	@$(AR) notice publish customers_microdata --on $(DEMO_DATE) --where "demo: not really published"
	@echo "Running the nightly_release DAG through Airflow for $(DEMO_DATE) (log: $(AIRFLOW_HOME)/demo-run.log)"
	@key_file="$$($(AR) demo-key)" && signing_key_file="$$($(AR) demo-key --signing)" && \
		ANONRELEASE_DEMO=1 ANONRELEASE_HMAC_KEY_FILE="$$key_file" \
		ANONRELEASE_SIGNING_KEY_FILE="$$signing_key_file" \
		$(AR) dag-test --date $(DEMO_DATE) > $(AIRFLOW_HOME)/demo-run.log 2>&1; \
		status=$$?; \
		grep -E "^  [a-z_]+: |^DAG run" $(AIRFLOW_HOME)/demo-run.log; \
		$(AR) summary --date $(DEMO_DATE); \
		exit $$status

test: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy transforms pipeline expectations
	ANONRELEASE_HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(VENV)/bin/pytest

# the property tests only, with many more examples (slow: minutes)
test-explore: bootstrap
	ANONRELEASE_HYPOTHESIS_PROFILE=explore $(VENV)/bin/pytest -m property

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy transforms pipeline expectations

format: bootstrap
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(AIRFLOW_HOME) data/demo data/warehouse data/releases .pytest_cache
