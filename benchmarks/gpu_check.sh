#!/usr/bin/env bash
# The GPU scenario on a real CUDA machine: what CI (which has no GPU) cannot show.
#
#   benchmarks/gpu_check.sh [OUT_DIR]       (PY=python3 by default)
#
# 1. the GPU and the torch build;
# 2. `ttfb measure` of ranker-gpu and ranker-cpu, five runs each: the probe must report a
#    first batch on the GPU and a cuda_init phase that the CPU run does not have;
# 3. an environment A/B on ranker-gpu, CUDA_MODULE_LOADING=EAGER against LAZY: the
#    question "does lazy CUDA module loading cut TTFB, and by how much?".
#
# Python needs the bot's dependencies (pyproject.toml) and a CUDA build of torch. On an H200
# one ranker-gpu sample took 7-10 s, so the whole check takes about 10 minutes: 10 measure
# samples, then 6 pairs and, for a finding, 10 confirmation pairs.
set -euo pipefail
OUT_DIR=${1:-out/gpu}
PY=${PY:-python3}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
"available", torch.cuda.is_available())'
for s in ranker-gpu ranker-cpu; do
  "$PY" -m bot.cli measure --scenario "$s" --runs 5 --no-history --no-depmap \
    --json "$OUT_DIR/measure-$s.json" --samples "$OUT_DIR/measure-$s.jsonl"
done
"$PY" -m bot.cli compare --scenario ranker-gpu --no-history --no-depmap \
  --base-env CUDA_MODULE_LOADING=EAGER --head-env CUDA_MODULE_LOADING=LAZY \
  --pairs 6 --max-pairs 6 --seed 1 --out-dir "$OUT_DIR/compare" || true  # exit 1 = a change
