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
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
# No telemetry: CI and agency servers are offline, and users' questions stay on the machine.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help install run shell actions train test test-fast check-knowledge generate-nlu lint lock clean

help:
	@echo "make run              install, train if the data changed, start the assistant (REST + socketio on :5005, actions on :5055)"
	@echo "make test             install, train if needed, run every test"
	@echo "make shell            chat in the terminal"
	@echo "make check-knowledge  validate knowledge/ and check the NLU synonyms are in sync"
	@echo "make generate-nlu     regenerate NLU synonyms and lookups from knowledge/"
	@echo "make train            train the model if the data changed"
	@echo "make lint             ruff"
	@echo "make lock             re-resolve requirements.lock from requirements.in"

$(BIN)/python:
	@test -n "$(PYTHON_310)" || { echo "Python $(PYTHON_VERSION) is required (Rasa 3.6 does not support 3.11+)."; exit 1; }
	$(PYTHON_310) -m venv $(VENV)

# Also installs the staff console (.venv/bin/ka2-staff) editable; setuptools comes from the lock file.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.5.4"
	$(BIN)/uv pip sync --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==0.5.4"
	$(BIN)/uv pip compile --python $(BIN)/python requirements.in -o requirements.lock

$(GENERATED_NLU): $(KNOWLEDGE) bot/actions/knowledge.py scripts/knowledge.py | $(VENV)/.installed
	$(BIN)/python scripts/knowledge.py generate

generate-nlu: $(GENERATED_NLU)

check-knowledge: $(VENV)/.installed
	$(BIN)/python scripts/knowledge.py check

# Retrain only when the configuration, the domain or the training data changed.
$(MODEL): config.yml bot/domain.yml $(NLU_DATA) $(GENERATED_NLU) | $(VENV)/.installed
	$(BIN)/rasa train --config config.yml --domain bot/domain.yml --data bot/data \
		--out models --fixed-model-name ka2
	@touch $@

train: $(MODEL)

run: $(MODEL) check-knowledge
	@scripts/run.sh

actions: $(VENV)/.installed
	$(BIN)/rasa run actions --actions bot.actions --port 5055

shell: $(MODEL) check-knowledge
	@scripts/run.sh shell

test: $(MODEL) check-knowledge
	$(BIN)/python -m pytest tests

lint: $(VENV)/.installed
	$(BIN)/ruff check bot tests scripts staff

clean:
	rm -rf models .pytest_cache results
