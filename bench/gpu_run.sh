#!/usr/bin/env bash
# Issue 14's GPU checks in one go, for a session that has a GPU (about 8-10 minutes on an
# H100/H200; each step has its own timeout so one slow step cannot eat the rest). Run from
# the repository root with the project's virtualenv: `bash bench/gpu_run.sh`. Every step
# writes its JSON to bench/results/ (or $RESULTS); the log goes to stdout.
#
#   1. bench.gpu, Skywork-Reward-V2-Qwen3-8B shapes, bf16, 2,000-token items: MFU (>= 50%)
#   2. bench.gpu, the 0.6B shapes, bf16, 350- and 2,000-token items
#   3. bench.overlap with the real forward pass: a random 0.6B-shape model on the GPU
#      behind a real worker, sequential against staged (GPU busy share; target >= 80%)
#   4. bench.compile on CUDA, bf16: compile vs eager, and the compile time paid at start
#   5. the batch_tokens probe: what one token of a max_length pass costs on this card
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RESULTS=${RESULTS:-bench/results}
mkdir -p "$RESULTS"
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv || true
step() { echo "== $1 =="; shift; "$@" || echo "!! step failed with $?"; }

step "8B MFU" timeout 150 "$PY" -m bench.gpu --shape 8b --item-tokens 2000 --items 96 \
    --batch-tokens 16384,32768,65536 --output "$RESULTS"
step "0.6B 2000-token" timeout 60 "$PY" -m bench.gpu --shape 0.6b --item-tokens 2000 \
    --items 256 --batch-tokens 16384,32768,65536 --output "$RESULTS"
step "0.6B 350-token" timeout 60 "$PY" -m bench.gpu --shape 0.6b --item-tokens 350 \
    --items 1024 --batch-tokens 8192,16384,32768 --output "$RESULTS"
step "overlap, real 0.6B forward pass" timeout 200 "$PY" -m bench.overlap --real \
    --shapes 0.6b --items 2000 --batch-size 512 --stage-items 64 --name overlap-gpu
step "compile vs eager, CUDA" timeout 150 "$PY" -m bench.compile --device cuda \
    --shapes bench --items 256 --max-length 2048 --batch-tokens 32768 --name compile-gpu
step "batch_tokens probe" timeout 60 "$PY" - <<'PY'
import json, tempfile
import torch
from bench.gpu import SKYWORK_QWEN3_0_6B_SHAPE, SKYWORK_QWEN3_8B_SHAPE, build_random_model
from qualitygate.device_memory import fit_batch_tokens, probe_bytes_per_token
device, out = torch.device("cuda"), {}
for name, shape in (("0.6b", SKYWORK_QWEN3_0_6B_SHAPE), ("8b", SKYWORK_QWEN3_8B_SHAPE)):
    model = build_random_model(shape, 151669, 0, device, torch.bfloat16)
    for max_length in (4096, 16384):
        per_token = probe_bytes_per_token(model, device, max_length, 0)
        free, total = torch.cuda.mem_get_info(device)
        out[f"{name}@{max_length}"] = {
            "bytes_per_token": per_token, "free_gib": free / 2**30,
            "batch_tokens_that_fit": fit_batch_tokens(10**9, max_length, free, per_token),
        }
    del model; torch.cuda.empty_cache()
print(json.dumps(out, indent=1))
json.dump(out, open("bench/results/memory-gpu.json", "w"), indent=1)
PY
echo "done: commit bench/results/{gpu,gpu-0.6b,overlap-gpu,compile-gpu,memory-gpu}.json"
