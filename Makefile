# One command per habit. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
AUDIT_VENV := .venv-audit
PIP_FLAGS := --quiet --disable-pip-version-check
BUNDLE := layers/model/model
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0

# make model [MODEL=est.joblib] [FEATURE_NAMES=a,b,c] [MODEL_NAME=..] [MODEL_VERSION=..]
#            [EVAL_CSV=data.csv EVAL_TARGET=column] [RUNTIME=auto|onnx|native] [MODEL_OUT=dir]
MODEL_OUT ?= $(BUNDLE)
PACKAGE_ARGS = $(if $(MODEL),--estimator "$(MODEL)") $(if $(FEATURE_NAMES),--feature-names "$(FEATURE_NAMES)") \
	$(if $(MODEL_NAME),--name "$(MODEL_NAME)") $(if $(MODEL_VERSION),--version "$(MODEL_VERSION)") \
	$(if $(EVAL_CSV),--eval-csv "$(EVAL_CSV)") $(if $(EVAL_TARGET),--target "$(EVAL_TARGET)") \
	$(if $(RUNTIME),--runtime "$(RUNTIME)") --out "$(MODEL_OUT)"

.PHONY: help venv model test lint typecheck build validate local dev invoke events engine image audit expand deploy-rehearsal bench bench-runtimes bench-cold bench-handler bench-profile clean

help:
	@echo "make local   set everything up and serve the API on http://127.0.0.1:$(PORT)"
	@echo "make test    lint, type checks, security audit and the whole test suite (sets up the virtualenvs)"
	@echo "make audit   checkov on template.yaml, pip-audit on the function and layer pins"
	@echo "make model   train the default model, or MODEL=est.joblib [FEATURE_NAMES=a,b] to package yours"
	@echo "make build   sam build (function + the model layer for the bundle's runtime, python3.13 bytecode); sizes"
	@echo "make dev     serve the app with uvicorn (no Docker, no SAM) on http://127.0.0.1:$(PORT)"
	@echo "make engine  make 'docker info' answer (installs and starts dockerd on Debian as root)"
	@echo "make image   the python3.13 Lambda image for sam local (official, or built from Debian packages)"
	@echo "make bench   this project vs the seed's Flask services, and ONNX Runtime vs scikit-learn (docs/benchmarks.md)"
	@echo "make bench-runtimes ONNX Runtime vs each model's own library (scikit-learn, XGBoost, LightGBM): cold, warm, size"
	@echo "make bench-cold     cold start in the Lambda container vs a bare import of its runtime + model load"
	@echo "make bench-handler  warm in-process handler latency vs model.predict and a no-op FastAPI + Mangum floor"
	@echo "make bench-profile  per Lambda memory size (128-3008 MB): warm p50/p99, init, peak memory (bench/profile.json)"
	@echo "make invoke EVENT=rest-predict-batch   one events/ file through sam local invoke"
	@echo "make events  regenerate events/*.json from sam local generate-event"
	@echo "make expand CONFIG_ENV=prod            the template as plain CloudFormation for an environment"
	@echo "make deploy-rehearsal CONFIG_ENV=prod  sam deploy against a moto server (no AWS account)"

venv: $(VENV)/.stamp $(SAM_VENV)/.stamp

# Each virtualenv also gets this project itself, editable and without dependencies: one import root
# (app, predictor, tools) and the console commands of pyproject.toml, e.g. $(BIN)/package-model --help.
$(VENV)/.stamp: requirements-dev.txt functions/predict/requirements.txt $(wildcard layers/model/requirements*.txt) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) -r requirements-dev.txt
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps -e .
	touch $@

# SAM CLI pins pydantic/boto3 ranges that clash with the function's: it gets a virtualenv of its own.
$(SAM_VENV)/.stamp: requirements-sam.txt pyproject.toml
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-sam.txt
	$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) --no-deps -e .
	touch $@

# A running `make local` keeps serving the bundle its `sam build` copied (SAM's warm container has it), and `make dev`
# the one it loaded: only a restart (Ctrl-C, make local: it builds again) serves the new one, which make model says when
# one runs (the brackets keep pgrep from finding the pattern in this very command line). `make invoke` builds each time.
model: $(VENV)/.stamp
	$(BIN)/package-model $(PACKAGE_ARGS)
	@$(if $(filter $(BUNDLE),$(MODEL_OUT)),if pgrep -f "sam-local local start-ap[i]|uvicorn app:ap[p]" >/dev/null 2>&1; then \
		echo "make model: the running make local (or make dev) still serves the previous bundle: restart it (Ctrl-C, make local)"; fi)

$(BUNDLE)/manifest.json: | $(VENV)/.stamp
	$(BIN)/package-model --out $(BUNDLE)

lint: $(VENV)/.stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.stamp
	$(BIN)/mypy

$(AUDIT_VENV)/.stamp: requirements-audit.txt
	test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-audit.txt
	touch $@

audit: $(AUDIT_VENV)/.stamp
	tools/deploy/audit

# The engine is started (and a headless Chromium installed) here so the sam local tests run; without them
# they skip (and fail under CI=true).
test: venv $(BUNDLE)/manifest.json lint typecheck audit
	-tools/build/docker-engine
	-tools/build/browser
	$(BIN)/pytest

validate: $(SAM_VENV)/.stamp
	$(SAM) validate --lint

# The layer gets the ML runtime the bundle's manifest names (tools/build/model_layer.py); then the unzipped sizes and the
# room left for a model under Lambda's limit.
build: venv $(BUNDLE)/manifest.json
	PYTHON=$(abspath $(BIN)/python) $(SAM) build
	$(BIN)/python -m tools.build.model_layer sizes .aws-sam/build

engine:
	tools/build/docker-engine

image: engine $(VENV)/.stamp
	$(BIN)/lambda-image

dev: $(VENV)/.stamp $(BUNDLE)/manifest.json
	cd functions/predict && MODEL_DIR=$(abspath $(BUNDLE)) $(abspath $(BIN)/uvicorn) app:app --host 127.0.0.1 --port $(PORT)

# sam local through sam-local (tools/local/sam_local.py): Ctrl-C or SIGTERM (make passes its own on) stops SAM as Ctrl-C does
# and removes any Lambda container it left running.
SAM_LOCAL = $(BIN)/sam-local --sam $(SAM) --
# sam build's output (its "Commands you can use next" included) goes here, and is shown only when it fails.
BUILD_LOG := .aws-sam/build.log

# sam local start-api in the python3.13 Lambda image; without a Docker engine, the same app under uvicorn.
local: venv $(BUNDLE)/manifest.json
	@if tools/build/docker-engine; then \
		image=$$($(BIN)/lambda-image) || exit 1; \
		echo "make local: sam build (its output: $(BUILD_LOG))"; mkdir -p $(dir $(BUILD_LOG)); \
		PYTHON=$(abspath $(BIN)/python) $(SAM) build >$(BUILD_LOG) 2>&1 || { cat $(BUILD_LOG); exit 1; }; \
		echo "make local: sam local start-api on http://127.0.0.1:$(PORT) in $$image (Ctrl-C stops it)"; \
		exec $(SAM_LOCAL) local start-api --port $(PORT) --invoke-image "$$image" --skip-pull-image; \
	else \
		echo "make local: no Docker engine (see above): serving the same app with uvicorn instead"; \
		exec $(MAKE) --no-print-directory dev; \
	fi

# make invoke EVENT=rest-predict-batch: one events/ file through sam local invoke (tools/local/invoke.py: the body fitted
# to the bundle's features, exit status 1 when the function answers 4xx/5xx). It builds into a folder of its own:
# a `sam build` into .aws-sam/build would make a running `make local` drop its warm container.
EVENT ?= rest-predict-single
INVOKE_DIR := .aws-sam/invoke
invoke: venv $(BUNDLE)/manifest.json
	@tools/build/docker-engine
	@image=$$($(BIN)/lambda-image) || exit 1; mkdir -p $(INVOKE_DIR); \
		PYTHON=$(abspath $(BIN)/python) $(SAM) build --build-dir $(INVOKE_DIR)/build >$(INVOKE_DIR)/build.log 2>&1 \
			|| { cat $(INVOKE_DIR)/build.log; exit 1; }; \
		exec $(BIN)/sam-invoke --sam $(SAM) --image "$$image" --template $(INVOKE_DIR)/build/template.yaml \
			--manifest $(BUNDLE)/manifest.json events/$(EVENT).json

# make expand CONFIG_ENV=prod: template.yaml as plain CloudFormation for that samconfig environment
CONFIG_ENV ?= default
expand: $(SAM_VENV)/.stamp
	$(SAM_VENV)/bin/expand-template --config-env $(CONFIG_ENV)

# make deploy-rehearsal CONFIG_ENV=prod: sam package + sam deploy against a moto server on loopback
# Its own build folder, as make invoke's: a running make local keeps its .aws-sam/build (and its warm container).
REHEARSAL_DIR := .aws-sam/rehearsal
deploy-rehearsal: venv $(BUNDLE)/manifest.json
	@mkdir -p $(REHEARSAL_DIR)
	PYTHON=$(abspath $(BIN)/python) $(SAM) build --build-dir $(REHEARSAL_DIR)/build >$(REHEARSAL_DIR)/build.log 2>&1 \
		|| { cat $(REHEARSAL_DIR)/build.log; exit 1; }
	$(BIN)/deploy-rehearsal --config-env $(CONFIG_ENV) --build-dir $(REHEARSAL_DIR)/build

# The benchmarks' own bundles and builds, never .aws-sam/ nor layers/model/model: the runtime comparison's four
# bundles with their layers (runtimes/) and make bench's sam build of the project's bundle (sam-build/).
BENCH_DIR := .build/bench

# The benchmark against the seed's architectures and the runtime comparison (docs/benchmarks.md); wrk is the load
# generator.
bench: venv $(BUNDLE)/manifest.json
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "make bench: needs wrk (apt-get install wrk / brew install wrk)"; exit 1; }
	rm -rf $(BENCH_DIR)/sam-build
	-tools/build/docker-engine && $(BIN)/lambda-image >/dev/null && \
		PYTHON=$(abspath $(BIN)/python) $(SAM) build --build-dir $(BENCH_DIR)/sam-build >/dev/null
	$(BIN)/bench --work-dir $(BENCH_DIR)
	-tools/build/docker-engine && $(BIN)/bench-profile --build-dir $(BENCH_DIR)/sam-build

# ONNX Runtime vs scikit-learn alone (issue 11): the default model and a 100-tree forest in both runtimes; prints the
# table and PASS/MISS per target (make bench writes the same section into docs/benchmarks.md).
bench-runtimes: venv
	-tools/build/docker-engine && $(BIN)/lambda-image >/dev/null
	$(BIN)/python -m bench.runtimes --work-dir $(BENCH_DIR)/runtimes

bench-cold: build image
	$(BIN)/bench-cold-start

# The function in the python3.13 container at each Lambda memory size (docker --cpus memory/1769, --memory):
# writes bench/profile.json (its schema: docs/performance.md).
bench-profile: build image
	$(BIN)/bench-profile

bench-handler: $(VENV)/.stamp $(BUNDLE)/manifest.json
	$(BIN)/bench-handler

events: venv
	$(BIN)/make-events

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
