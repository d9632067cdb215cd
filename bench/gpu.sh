#!/usr/bin/env bash
# GPU throughput of embedding and NER (bench/gpu_bench.py) on a lent accelerator.
#   bash bench/gpu.sh            on a CUDA machine: 200k sentences, < 5 minutes on an H200
#   bash bench/gpu.sh --dry-run  anywhere: a few hundred sentences on the CPU, in seconds
# Uses .venv when the repo has one, else the machine's python3 (a device machine
# has torch + transformers but not our venv; copy the model there first with
# `python -m bench.gpu_bench --save-model .gpu-model` and carry .gpu-model).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
exec "$PY" -m bench.gpu_bench "$@"
