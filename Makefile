# Quick start (see README.md):
#   make serve   # the embedded default: SQLite + files under ./fieldcheck-data, API on http://127.0.0.1:8000
#   make test    # the whole suite (needs PostgreSQL on 127.0.0.1:5432; .ci/run starts it)
#   make chaos   # the sync fault-injection suite at nightly size (a fresh seed; CI runs a fixed share)
# Both create .venv and install the project into it when missing or when pyproject.toml changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fieldcheck-installed
# The dashboard's chart library (npm package echarts), served locally: no CDN on an air-gapped intranet.
NODE_STAMP := node_modules/.fieldcheck-installed
# The files the browser pages load (web/vendor.json), copied from node_modules by web/build.py.
WEB_STAMP := web/dist/vendor/manifest.json
# pytest's own exit code, kept for .ci/run (make itself reports every failure as 2).
TEST_RC_FILE := $(VENV)/pytest-exit-code
# Two workers (pytest-xdist), a test file to a worker: each worker has its own databases and S3 server.
PYTEST_WORKERS ?= 2
PYTEST_FLAGS ?= -q -p tests._ci_plugin --durations=15 -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: install web lock browser-deps document-deps serve demo test chaos verify-audit clean

$(STAMP): pyproject.toml $(NODE_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(WEB_STAMP): $(NODE_STAMP) web/vendor.json web/build.py
	$(PYTHON) web/build.py

install: $(STAMP)

# The image's pinned runtime dependencies (deploy/requirements.lock), after a change to pyproject.toml.
lock: $(STAMP)
	$(BIN)/python deploy/lock_requirements.py

web: $(WEB_STAMP)

serve: $(STAMP) $(WEB_STAMP) document-deps
	$(BIN)/fieldcheck serve

demo: $(STAMP)
	$(BIN)/fieldcheck demo

verify-audit: $(STAMP)
	$(BIN)/fieldcheck verify-audit

browser-deps:
	bash .ci/browser-deps

document-deps:
	bash .ci/document-deps

test: $(STAMP) $(WEB_STAMP) browser-deps document-deps
	rm -f $(TEST_RC_FILE)
	PYTHONPATH=. timeout 1800 $(BIN)/pytest $(PYTEST_FLAGS); rc=$$?; echo $$rc > $(TEST_RC_FILE); exit $$rc

# The sync fault-injection suite at nightly size: many more examples, a fresh seed each run (printed; rerun
# one with FIELDCHECK_CHAOS_SEED=<seed>). CI runs a small fixed-seed share of it inside `make test`.
CHAOS_EXAMPLES ?= 300
CHAOS_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
chaos: $(STAMP)
	@echo "chaos: $(CHAOS_EXAMPLES) examples per engine, FIELDCHECK_CHAOS_SEED=$(CHAOS_SEED)"
	FIELDCHECK_CHAOS_EXAMPLES=$(CHAOS_EXAMPLES) FIELDCHECK_CHAOS_SEED=$(CHAOS_SEED) PYTHONPATH=. \
		$(BIN)/pytest $(PYTEST_FLAGS) tests/sync_client/test_faults.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info web/dist
