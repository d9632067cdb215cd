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

.PHONY: setup setup-services setup-browser test test-fast lint typecheck demo crawl extract embed run bench bench-scale bench-vectors train-ner train-transformer-ner cv-transformer-ner export-model lock clean

setup: $(STAMP)

# The development environment: the package with every extra but [gpu] (tests with
# PostgreSQL, Redis and Chromium; torch for the model export and the embedding quality
# check), exactly as requirements-dev.lock pins and hashes it. That lock pins torch to
# its CPU build (the wheel on disk), so no multi-GB CUDA build is pulled. A user who
# only runs the tool needs none of this: `pip install .` (requirements.lock) has no torch.
$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
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
	$(VENV)/bin/mypy linernotes

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

# Corpus scale (not in `make bench`: about an hour at 10,000 pages on 2 cores).
PAGES ?= 10000
# The extract and embed ceilings are timed on this share of the input and scaled (bench/scale/run.py).
CEILING_SHARE ?= 0.1
bench-scale: setup
	nice -n 10 $(PY) -m bench.scale.run --pages $(PAGES) --ceiling-share $(CEILING_SHARE)

# A million vectors on the embedded PostgreSQL + pgvector, and SQLite exact search.
VECTORS ?= 1000000
bench-vectors: setup
	nice -n 10 $(PY) -m bench.scale.vectors --n $(VECTORS)

train-ner: setup
	nice -n 10 $(PY) -m linernotes.nlp.train_ner --shared $(SHARED)

# Rebuild the shipped int8 MiniLM (nlp/models/minilm-int8/) from the pinned weights
# package; the export is deterministic, so an unchanged PROVENANCE.json means nothing moved.
export-model: setup
	nice -n 10 $(PY) -m linernotes.nlp.minilm_export

# Re-resolve both locks (hashes included) after a dependency change in pyproject.toml.
LOCKTOOL := $(VENV)/.lock-tools
lock:
	test -x $(LOCKTOOL)/bin/pip-compile || { $(PYTHON) -m venv $(LOCKTOOL) && \
		$(LOCKTOOL)/bin/pip install --quiet pip-tools; }
	$(LOCKTOOL)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(LOCKTOOL)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml
	# the extras name the project itself (linernotes[test,train]): `make setup` installs it, editable
	sed -i '/^# WARNING: pip install will require the following package to be hashed\.$$/,/^    # via linernotes (pyproject.toml)$$/d' \
		requirements-dev.lock

# Fine-tune the transformer music NER on ../shared twice (seeds 13 and 14) and ship both int8 ONNX
# graphs as one ensemble to nlp/models/music-ner-int8 (~35-40 min on 2 shared CPU cores; a member
# already trained in the work folder is kept, so a killed run resumes).
train-transformer-ner: setup
	nice -n 10 $(PY) -m linernotes.nlp.train_transformer_ner --shared $(SHARED)

# MusicRecoNER dataset 4, 5-fold: the same recipe once per fold (all five trained, fold 0 too),
# then transformer / rules / both scored on each held-out fold, and each fold model on datasets
# 1-3 (two fine-tunes a fold, ~12-20 min each).
CV_WORK ?= /tmp/linernotes-transformer-ner-cv
cv-transformer-ner: setup
	nice -n 10 $(PY) -m linernotes.nlp.transformer_ner_cv --shared $(SHARED) --work $(CV_WORK)

clean:
	rm -rf demo-out .pytest_cache .mypy_cache .ruff_cache bench/.cache
