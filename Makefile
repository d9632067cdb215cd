# linernotes: the two commands are `make demo` and `make test`; everything else is here too.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LN := $(VENV)/bin/linernotes
STAMP := $(VENV)/.installed
DB ?= sqlite:///linernotes.db
SOURCES ?= sources.toml
SHARED ?= ../shared
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup setup-services setup-browser test test-fast lint typecheck demo crawl extract embed run bench train-ner clean

setup: $(STAMP)

# torch first, from the CPU wheel on disk: otherwise a dependency pulls a multi-GB CUDA build.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# System services the tests use (Debian packages): headless Chromium for the
# profile-page browser test, redis-server for the distributed-crawl test.
setup-services:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium chromium-driver"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

setup-browser: setup-services

test: setup
	$(VENV)/bin/pytest -q

test-fast: setup
	LINERNOTES_SKIP_PG=1 $(VENV)/bin/pytest -q -x -m "not slow"

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy linernotes storage crawler nlp

demo: setup
	bash demo/run.sh

crawl: setup
	$(LN) --db $(DB) crawl --sources $(SOURCES)

extract: setup
	$(LN) --db $(DB) extract

# The embed stage needs mentions first, so `make embed` extracts what is new, then embeds.
embed: extract
	$(LN) --db $(DB) embed

run: setup
	$(LN) --db $(DB) run --sources $(SOURCES)

bench: setup
	$(PY) -m bench.run

train-ner: setup
	nice -n 10 $(PY) -m nlp.train_ner --shared $(SHARED)

# Fine-tune the transformer music NER on ../shared and ship int8 ONNX to nlp/models/music-ner-int8
# (seeded; ~35 min on 2 shared CPU cores). CV_FOLDS=1,2,3,4 adds MusicRecoNER folds.
.PHONY: train-transformer-ner
CV_FOLDS ?=
train-transformer-ner: setup
	nice -n 10 $(PY) -m nlp.train_transformer_ner --shared $(SHARED) --cv-folds "$(CV_FOLDS)"

clean:
	rm -rf demo-out .pytest_cache .mypy_cache .ruff_cache bench/.cache
