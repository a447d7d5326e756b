# KA2 assistant. `make run` brings it up, `make test` runs every test; both install what is missing.
SHELL := /bin/bash
PYTHON_VERSION := 3.10
VENV := .venv
BIN := $(VENV)/bin
# pyenv's Python 3.10 where there is one (Rasa 3.6 does not support 3.11+), else python3.10 on PATH.
PYTHON_310 := $(shell pyenv which python$(PYTHON_VERSION) 2>/dev/null || command -v python$(PYTHON_VERSION))
MODEL := models/ka2.tar.gz
NLU_DATA := $(shell find bot/data -name '*.yml' -not -path '*/generated/*')
KNOWLEDGE := $(wildcard knowledge/*.yml)
GENERATED_NLU := bot/data/generated/knowledge_synonyms.yml
# The chat widget's socket.io client, copied from node_modules (no CDN).
WEB_VENDOR := web/vendor/socket.io.min.js
# The staff console's chart library, copied from node_modules the same way.
STAFF_VENDOR := staff/web/static/vendor/chart.umd.min.js
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
# No telemetry: CI and agency servers are offline, and users' questions stay on the machine.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help install run staff-web shell actions train test test-fast test-core test-scale check-knowledge generate-nlu bench bench-matcher lint types lock clean web-deps browser

help:
	@echo "make run              install, train if the data changed, start the assistant (REST + socketio on :5005, actions on :5055, demo page on :8000)"
	@echo "make test             install, train if needed, run every test"
	@echo "make test-scale       two Rasa instances on PostgreSQL + Redis, 50 concurrent conversations"
	@echo "make shell            chat in the terminal"
	@echo "make check-knowledge  validate knowledge/ and check the NLU synonyms are in sync"
	@echo "make generate-nlu     regenerate NLU synonyms and lookups from knowledge/"
	@echo "make train            train the model if the data changed"
	@echo "make bench            benchmarks: NLU pipelines, latency, memory, training time (bench/results.json)"
	@echo "make lint             ruff check and ruff format --check on every package (run by .ci/run)"
	@echo "make types            mypy, strict on the core package ka2 (run by .ci/run)"
	@echo "make test-fast        every test that starts no server and no browser (pytest -m 'not stack'), under a minute"
	@echo "make test-core        the core's and the knowledge base's tests, in seconds"
	@echo "make lock             re-resolve requirements.lock from requirements.in"
	@echo "make staff-web        the staff web console alone on http://127.0.0.1:8001/ (make run starts it too)"

$(BIN)/python:
	@test -n "$(PYTHON_310)" || { echo "Python $(PYTHON_VERSION) is required (Rasa 3.6 does not support 3.11+)."; exit 1; }
	$(PYTHON_310) -m venv $(VENV)

# Also installs the staff console (.venv/bin/ka2-staff) editable; setuptools comes from the lock file.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.5.4"
	$(BIN)/uv pip sync --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed web-deps browser

# npm packages from package-lock.json: socket.io-client for the widget, playwright-core and axe-core for its tests.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Debian: apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_VENDOR): node_modules/.installed
	mkdir -p web/vendor
	cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/socket.io-client/dist/socket.io.min.js.map web/vendor/

$(STAFF_VENDOR): node_modules/.installed
	mkdir -p staff/web/static/vendor
	cp node_modules/chart.js/dist/chart.umd.min.js staff/web/static/vendor/

web-deps: $(WEB_VENDOR) $(STAFF_VENDOR)

# Debian's chromium for the widget's browser tests; where apt cannot install it, those tests say so and skip
# (under CI they fail).
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
		|| echo "*** chromium could not be installed (apt-get install chromium chromium-driver): the browser tests will be skipped ***"

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==0.5.4"
	$(BIN)/uv pip compile --generate-hashes --python $(BIN)/python requirements.in -o requirements.lock

$(GENERATED_NLU): $(KNOWLEDGE) ka2/knowledge.py ka2/text.py scripts/knowledge.py | $(VENV)/.installed
	$(BIN)/python scripts/knowledge.py generate

generate-nlu: $(GENERATED_NLU)

check-knowledge: $(VENV)/.installed
	$(BIN)/python scripts/knowledge.py check

# Retrain only when the configuration, the domain or the training data changed (scripts/train.sh).
train: $(GENERATED_NLU) | $(VENV)/.installed
	@scripts/train.sh

run: train check-knowledge web-deps
	@scripts/run.sh

actions: $(VENV)/.installed
	SANIC_HOST=127.0.0.1 $(BIN)/python -m rasa_sdk --actions bot.actions --port 5055

staff-web: $(VENV)/.installed web-deps
	$(BIN)/python -m staff.web

shell: train check-knowledge
	@scripts/run.sh shell

test: train check-knowledge web-deps browser
	$(BIN)/python -m pytest tests

# The core (ka2: understanding, rules, routing) and the knowledge base: seconds, no model, no server.
test-core: $(VENV)/.installed
	$(BIN)/python -m pytest -q tests/ka2

# Every test but those that start servers or a browser (the `stack` marker, tests/conftest.py): no
# model training, no port; under a minute.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m "not stack"

# Two Rasa instances + one action server on PostgreSQL and Redis (installed from Debian packages if
# missing), 50 conversations x 6 turns, then a PostgreSQL outage; bounded to 20 minutes.
test-scale: train $(VENV)/.installed
	@scripts/scale_deps.sh
	KA2_SCALE_TEST=1 timeout 1200 $(BIN)/python -m pytest tests/test_scale.py -v

bench-matcher: $(VENV)/.installed
	$(BIN)/python bench/matcher.py

# Quality, latency, memory, cold start and training time, side by side (bench/run.py, about 20 min on
# 2 cores): writes bench/results.json and prints a table. BENCH_FOLDS=5 by default.
bench: $(GENERATED_NLU) | $(VENV)/.installed
	$(BIN)/python bench/run.py

lint: $(VENV)/.installed
	$(BIN)/ruff check bot ka2 tests scripts staff bench
	$(BIN)/ruff format --check bot ka2 tests scripts staff bench

# Type checking (pyproject.toml [tool.mypy]): strict on ka2, which imports neither rasa nor rasa_sdk.
types: $(VENV)/.installed
	@test -x $(BIN)/mypy || { echo "mypy is missing from the virtualenv: it belongs in requirements.in (make lock, make install)"; exit 1; }
	$(BIN)/mypy

clean:
	rm -rf models .pytest_cache results
