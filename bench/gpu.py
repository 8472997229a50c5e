"""GPU throughput and model FLOPs utilisation at the 8B reward model's exact shapes.

A ``Qwen3ForSequenceClassification`` with the shapes of Skywork-Reward-V2-Qwen3-8B
(Qwen3-8B: hidden 4096, 36 layers, 32 query and 8 key/value heads of 128, MLP 12288,
one label) is built with random weights directly on the GPU in bf16; no download. Items
of exactly ``--item-tokens`` tokens go through the project's own path,
``RewardScorer.score_encoded`` (token-budget packing, right padding, the reward read at
the last real token), for each token budget given.

Model FLOPs, forward only, per sequence of ``s`` tokens::

    2 * N * s  +  2 * layers * s^2 * heads * head_dim

``N`` counts every parameter a token is multiplied through (all but the embedding
table, which is a lookup); the second term is QK^T and attention-times-V under the
causal mask (half of the full ``4 * s^2 * heads * head_dim``, which is what a
causal kernel computes). Padding is not counted: it is not useful work. Utilisation is
that over the elapsed time, divided by the GPU's dense bf16 peak (known cards are
detected; ``--peak-tflops`` overrides).

Without CUDA, or with ``--tiny``, a tiny model runs the same code on the CPU as a smoke
test, so this script cannot rot where no GPU is at hand.
Run from the repository root: ``python -m bench.gpu``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import Qwen3ForSequenceClassification

from bench.common import (
    load_average,
    machine_info,
    print_table,
    quiet_transformers,
    write_results,
)
from bench.models import SMOKE_SHAPE, ModelShape, bench_model_settings
from qualitygate.pair_encoding import PairEncoder
from qualitygate.schemas import ModelInfo
from qualitygate.scoring import RewardScorer, ScorerStats, _attention_implementation
from qualitygate.testmodel import build_tokenizer

SKYWORK_QWEN3_8B_SHAPE = ModelShape(
    hidden_size=4096,
    num_hidden_layers=36,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    intermediate_size=12288,
)
# Skywork-Reward-V2-Qwen3-0.6B (Qwen3-0.6B: hidden 1024, 28 layers, 16 and 8 heads of 128).
SKYWORK_QWEN3_0_6B_SHAPE = ModelShape(
    hidden_size=1024,
    num_hidden_layers=28,
    num_attention_heads=16,
    num_key_value_heads=8,
    head_dim=128,
    intermediate_size=3072,
)
# Qwen3's tokenizer length; the embedding table is a lookup, so this changes memory only.
SKYWORK_QWEN3_VOCAB = 151669
TARGET_MFU = 0.50

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' data sheets, TFLOP/s.
# Checked in order, so the more specific names come first.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),
    ("H200", 989.4),
    ("GH200", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
)


def peak_bf16_tflops(device_name: str) -> float | None:
    for fragment, peak in PEAK_BF16_TFLOPS:
        if fragment.lower() in device_name.lower():
            return peak
    return None


def build_random_model(
    shape: ModelShape, vocab_size: int, pad_token_id: int, device: torch.device, dtype: torch.dtype
) -> Qwen3ForSequenceClassification:
    """Random weights made where they will run, in their final dtype: no 32 GB detour."""
    config = shape.qwen3_config(vocab_size, pad_token_id, max_positions=40960)
    config._attn_implementation = _attention_implementation(device)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            model = Qwen3ForSequenceClassification(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def matmul_parameters(model: torch.nn.Module) -> int:
    """Parameters every token is multiplied through: all but the embedding lookup table."""
    embedding = model.get_input_embeddings().weight.numel()
    return sum(parameter.numel() for parameter in model.parameters()) - embedding


def forward_flops(lengths: Sequence[int], matmul_params: int, shape: ModelShape) -> float:
    """Useful forward FLOPs for sequences of these lengths (formula in the module docstring)."""
    attention_width = shape.num_attention_heads * shape.head_dim
    return float(
        sum(
            2 * matmul_params * s + 2 * shape.num_hidden_layers * s * s * attention_width
            for s in lengths
        )
    )


def make_scorer(
    model: Qwen3ForSequenceClassification,
    device: torch.device,
    batch_tokens: int,
    max_length: int,
) -> RewardScorer:
    """The project's scorer around a model built in memory, with the test tokenizer."""
    tokenizer = build_tokenizer()
    settings = bench_model_settings(
        "random-skywork-reward-v2-qwen3-8b-shapes", max_length, batch_tokens, device.type
    )
    info = ModelInfo(name=settings.name, revision="random", test_model=True)
    return RewardScorer(model, PairEncoder(tokenizer, settings), settings, info, device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    scorer: RewardScorer,
    rows: list[list[int]],
    warmup_rows: list[list[int]],
    device: torch.device,
) -> dict[str, Any]:
    scorer.score_encoded(warmup_rows)
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    scorer.stats = ScorerStats()
    started = time.perf_counter()
    scores = scorer.score_encoded(rows)
    synchronize(device)
    elapsed = time.perf_counter() - started
    stats = scorer.stats
    result: dict[str, Any] = {
        "items": len(rows),
        "forward_passes": stats.batches,
        "elapsed_s": elapsed,
        "tokens_per_s": stats.real_tokens / elapsed,
        "padding_efficiency": stats.padding_efficiency,
        "scores_finite": all(score == score and abs(score) != float("inf") for score in scores),
    }
    if device.type == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return result


def run_benchmark(
    tiny: bool,
    item_tokens: int,
    items: int,
    batch_token_budgets: Sequence[int],
    peak_tflops: float | None,
    vocab_size: int = SKYWORK_QWEN3_VOCAB,
    seed: int = 0,
    gpu_shape: ModelShape = SKYWORK_QWEN3_8B_SHAPE,
) -> dict[str, Any]:
    use_cuda = torch.cuda.is_available() and not tiny
    device = torch.device("cuda" if use_cuda else "cpu")
    shape = gpu_shape if use_cuda else SMOKE_SHAPE
    dtype = torch.bfloat16 if use_cuda else torch.float32
    device_name = torch.cuda.get_device_name(device) if use_cuda else "cpu"
    peak = (
        peak_tflops
        if peak_tflops is not None
        else (peak_bf16_tflops(device_name) if use_cuda else None)
    )
    torch.manual_seed(seed)
    tokenizer_vocab = len(build_tokenizer())
    model = build_random_model(shape, vocab_size if use_cuda else tokenizer_vocab, 0, device, dtype)
    params = matmul_parameters(model)
    rng = random.Random(seed)
    # Ids from the test tokenizer's range: valid in any vocabulary at least that large.
    rows = [[rng.randrange(3, tokenizer_vocab) for _ in range(item_tokens)] for _ in range(items)]
    flops = forward_flops([item_tokens] * items, params, shape)
    runs = []
    for budget in batch_token_budgets:
        scorer = make_scorer(model, device, max(budget, item_tokens), item_tokens)
        per_batch = max(1, budget // item_tokens)
        result = measure(scorer, rows, rows[: per_batch * 2], device)
        achieved = flops / result["elapsed_s"] / 1e12
        result |= {
            "batch_tokens": budget,
            "items_per_batch": per_batch,
            "achieved_tflops": achieved,
            "mfu": achieved / peak if peak else None,
        }
        runs.append(result)
    best = max((run["mfu"] for run in runs if run["mfu"] is not None), default=None)
    return {
        "benchmark": "gpu",
        "settings": {
            "mode": "gpu" if use_cuda else "cpu smoke test (tiny model)",
            "device": device_name,
            "dtype": str(dtype).removeprefix("torch."),
            "attention": model.config._attn_implementation,
            "model_shape": shape.__dict__,
            "vocab_size": vocab_size if use_cuda else tokenizer_vocab,
            "matmul_parameters": params,
            "item_tokens": item_tokens,
            "items": items,
            "peak_bf16_tflops": peak,
            "flops_formula": "2*N*s + 2*layers*s^2*heads*head_dim per sequence (causal)",
            "flops_per_item": flops / items,
        },
        "results": runs,
        "targets": {
            "mfu": {
                "measured": best,
                "target": TARGET_MFU,
                "met": best is not None and best >= TARGET_MFU and use_cuda,
            }
        },
    }


def print_report(payload: dict[str, Any]) -> None:
    settings = payload["settings"]
    title = (
        f"{settings['mode']}: {settings['device']}, {settings['dtype']}, "
        f"{settings['matmul_parameters']:,} matmul params, {settings['attention']}, "
        f"{settings['item_tokens']}-token items, peak {settings['peak_bf16_tflops']} TFLOP/s"
    )
    headers = ["batch tokens", "items/batch", "passes", "tokens/s", "TFLOP/s", "MFU", "s"]
    rows = [
        [
            str(run["batch_tokens"]),
            run["items_per_batch"],
            run["forward_passes"],
            run["tokens_per_s"],
            run["achieved_tflops"],
            "n/a" if run["mfu"] is None else f"{run['mfu']:.1%}",
            run["elapsed_s"],
        ]
        for run in payload["results"]
    ]
    print_table(title, headers, rows)
    check = payload["targets"]["mfu"]
    if check["measured"] is None:
        print("target mfu: not measured (no GPU, or an unknown GPU without --peak-tflops)")
    else:
        verdict = "met" if check["met"] else "NOT met"
        print(f"target mfu: {check['measured']:.1%} (target {check['target']:.0%}) {verdict}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="tiny model on the CPU: smoke test")
    parser.add_argument("--item-tokens", type=int, default=None, help="tokens per item")
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument(
        "--batch-tokens", default="8192,16384,32768", help="comma list of token budgets"
    )
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak")
    parser.add_argument("--vocab-size", type=int, default=SKYWORK_QWEN3_VOCAB)
    parser.add_argument("--shape", choices=["8b", "0.6b"], default="8b", help="on a GPU")
    parser.add_argument("--output", type=Path, default=None, help="results directory")
    args = parser.parse_args(argv)
    quiet_transformers()
    smoke = args.tiny or not torch.cuda.is_available()
    item_tokens = args.item_tokens or (64 if smoke else 2000)
    items = args.items or (8 if smoke else 128)
    budgets = [int(value) for value in args.batch_tokens.split(",") if value.strip()]
    if smoke and args.batch_tokens == parser.get_default("batch_tokens"):
        budgets = [item_tokens * 2, item_tokens * 4]
    machine = machine_info("bench.gpu")
    payload = run_benchmark(
        tiny=smoke,
        item_tokens=item_tokens,
        items=items,
        batch_token_budgets=budgets,
        peak_tflops=args.peak_tflops,
        vocab_size=args.vocab_size,
        gpu_shape=SKYWORK_QWEN3_8B_SHAPE if args.shape == "8b" else SKYWORK_QWEN3_0_6B_SHAPE,
    )
    payload["machine"] = machine | {"load_average_at_end": load_average()}
    print_report(payload)
    name = "gpu-smoke" if smoke else "gpu" if args.shape == "8b" else f"gpu-0.6b-{item_tokens}"
    print(f"wrote {write_results(name, payload, args.output)}")
    return payload


if __name__ == "__main__":
    main()
