"""Scoring throughput: one item at a time, fixed batches, and the project's scorer.

Three ways to score the same 512 items with the same model and the same token ids
(``RewardScorer.encode_pair`` does the templating and truncation for all three):

(a) one item per forward pass; (b) fixed batches of 32 in arrival order, right-padded to
the longest row, as a straightforward worker would; (c) ``RewardScorer.score`` on the
whole set, which sorts by length and packs to a token budget. Optionally (c32): the
scorer called once per worker batch of 32 arrival-ordered items, which is what the worker
hands it with the default ``worker.batch_size``.

Each way runs in its own fresh process, so its peak memory is its own. Run from the
repository root: ``python -m bench.scoring``. Prints a table and writes
``bench/results/scoring.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.common import (
    load_average,
    machine_info,
    peak_rss_mb,
    print_table,
    quiet_transformers,
    rss_mb,
    write_results,
)
from bench.corpus import SCORING_SEED, CorpusItem, generate
from bench.models import (
    CPU_BENCH_SHAPE,
    SMOKE_SHAPE,
    ModelShape,
    bench_model_settings,
    make_bench_model,
    parameter_count,
)
from qualitygate.config import load_settings
from qualitygate.scoring import RewardScorer, ScorerStats

FIXED_BATCH = 32
METHOD_LABELS = {
    "a": "(a) one at a time",
    "b": f"(b) fixed batches of {FIXED_BATCH}",
    "c": "(c) RewardScorer.score",
    "c32": f"(c32) scorer per {FIXED_BATCH}",
}
TARGETS = {
    "c_over_b_items_per_s": 1.5,
    "c_over_a_items_per_s": 3.0,
    "c_padding_efficiency": 0.90,
    "max_score_difference": 1e-4,
}

Pair = tuple[str, str]


@dataclass
class MethodRun:
    """What one way of scoring did: its scores and what it cost."""

    scores: list[float]
    real_tokens: int
    computed_tokens: int
    forward_passes: int


def _naive_forward(scorer: RewardScorer, rows: Sequence[Sequence[int]]) -> list[float]:
    """Right-pad to the longest row and read the reward: the textbook batched forward."""
    pad_id = scorer.tokenizer.pad_token_id
    longest = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention_mask[index, : len(row)] = 1
    with torch.inference_mode():
        output = scorer.model(input_ids=input_ids, attention_mask=attention_mask)
    return output.logits[:, 0].float().tolist()


def _fixed_batches(scorer: RewardScorer, pairs: Sequence[Pair], size: int) -> MethodRun:
    scores: list[float] = []
    real = computed = passes = 0
    for start in range(0, len(pairs), size):
        rows = [scorer.encode_pair(prompt, text) for prompt, text in pairs[start : start + size]]
        scores.extend(_naive_forward(scorer, rows))
        real += sum(len(row) for row in rows)
        computed += len(rows) * max(len(row) for row in rows)
        passes += 1
    return MethodRun(scores, real, computed, passes)


def one_at_a_time(scorer: RewardScorer, pairs: Sequence[Pair]) -> MethodRun:
    return _fixed_batches(scorer, pairs, 1)


def fixed_batches(scorer: RewardScorer, pairs: Sequence[Pair]) -> MethodRun:
    return _fixed_batches(scorer, pairs, FIXED_BATCH)


def _scorer_in_chunks(scorer: RewardScorer, pairs: Sequence[Pair], chunk: int) -> MethodRun:
    scorer.stats = ScorerStats()
    scores: list[float] = []
    for start in range(0, len(pairs), chunk):
        scores.extend(scorer.score(pairs[start : start + chunk]))
    stats = scorer.stats
    return MethodRun(scores, stats.real_tokens, stats.padded_tokens, stats.batches)


def project_scorer(scorer: RewardScorer, pairs: Sequence[Pair]) -> MethodRun:
    return _scorer_in_chunks(scorer, pairs, len(pairs))


def project_scorer_per_worker_batch(scorer: RewardScorer, pairs: Sequence[Pair]) -> MethodRun:
    return _scorer_in_chunks(scorer, pairs, FIXED_BATCH)


METHODS: dict[str, Callable[[RewardScorer, Sequence[Pair]], MethodRun]] = {
    "a": one_at_a_time,
    "b": fixed_batches,
    "c": project_scorer,
    "c32": project_scorer_per_worker_batch,
}


@dataclass(frozen=True)
class Job:
    method: str
    model_dir: str
    max_length: int
    batch_tokens: int
    threads: int
    pairs: list[Pair]


def run_method(job: Job) -> dict[str, Any]:
    """Load the model, warm it up, score every pair one way; runs in a fresh process."""
    torch.set_num_threads(job.threads)
    quiet_transformers()
    scorer = RewardScorer.load(
        bench_model_settings(job.model_dir, job.max_length, job.batch_tokens)
    )
    scorer.score(job.pairs[:1])  # first-call setup (kernels, caches) is not throughput
    loaded_mb = rss_mb()
    load_before = load_average()
    started, cpu_started = time.perf_counter(), time.process_time()
    run = METHODS[job.method](scorer, job.pairs)
    wall_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    count = len(job.pairs)
    return {
        "method": job.method,
        "label": METHOD_LABELS[job.method],
        "wall_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "items_per_s": count / wall_s,
        "items_per_cpu_s": count / cpu_s,
        "tokens_per_s": run.real_tokens / wall_s,
        "real_tokens": run.real_tokens,
        "computed_tokens": run.computed_tokens,
        "padding_efficiency": run.real_tokens / run.computed_tokens,
        "forward_passes": run.forward_passes,
        "rss_loaded_mb": round(loaded_mb, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "scores": run.scores,
    }


def _run_jobs(jobs: Sequence[Job], in_process: bool) -> list[dict[str, Any]]:
    if in_process:
        return [run_method(job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    results = []
    for job in jobs:
        print(f"running {METHOD_LABELS[job.method]} ...", file=sys.stderr, flush=True)
        with context.Pool(1) as pool:
            results.append(pool.apply(run_method, (job,)))
    return results


def _corpus_summary(scorer: RewardScorer, items: Sequence[CorpusItem], pairs: Sequence[Pair]):
    lengths = [len(scorer.encode_pair(prompt, text)) for prompt, text in pairs]
    truncated = sum(length >= scorer.settings.max_length for length in lengths)
    by_language: dict[str, dict[str, float]] = {}
    for language in sorted({item.language for item in items}):
        chars = sum(len(item.text) for item in items if item.language == language)
        tokens = sum(
            len(scorer.encoder.text_encoder.text(item.text))
            for item in items
            if item.language == language
        )
        by_language[language] = {
            "items": sum(item.language == language for item in items),
            "chars_per_token": round(chars / tokens, 3),
        }
    by_kind = {
        kind: sum(item.kind == kind for item in items) for kind in sorted({i.kind for i in items})
    }
    return {
        "items": len(items),
        "seed": SCORING_SEED,
        "by_kind": by_kind,
        "by_language": by_language,
        "tokens_total": sum(lengths),
        "tokens_min": min(lengths),
        "tokens_max": max(lengths),
        "tokens_mean": round(sum(lengths) / len(lengths), 1),
        "truncated_items": truncated,
    }


def run_benchmark(
    items: int = 512,
    max_length: int = 512,
    batch_tokens: int = 16384,
    threads: int = 2,
    methods: Sequence[str] = ("a", "b", "c"),
    shape: ModelShape = CPU_BENCH_SHAPE,
    in_process: bool = False,
    seed: int = SCORING_SEED,
) -> dict[str, Any]:
    """Build the model, score the corpus every way, and return the results as a dict."""
    torch.set_num_threads(threads)
    corpus = generate(items, seed)
    settings = load_settings()
    pairs = [(settings.prompt_for(item.kind), item.text) for item in corpus]
    with tempfile.TemporaryDirectory(prefix="qg-bench-model-") as model_dir:
        make_bench_model(model_dir, shape, max_positions=max(max_length, 2048))
        scorer = RewardScorer.load(bench_model_settings(model_dir, max_length, batch_tokens))
        summary = _corpus_summary(scorer, corpus, pairs)
        parameters = parameter_count(scorer.model)
        del scorer
        jobs = [
            Job(method, model_dir, max_length, batch_tokens, threads, pairs) for method in methods
        ]
        runs = {run["method"]: run for run in _run_jobs(jobs, in_process)}
    scores = {method: run.pop("scores") for method, run in runs.items()}
    for method, run in runs.items():
        if "a" in scores:
            run["max_score_difference_vs_a"] = max(
                abs(mine - theirs) for mine, theirs in zip(scores[method], scores["a"], strict=True)
            )
        for other in ("a", "b"):
            if other in runs:
                run[f"items_per_s_over_{other}"] = run["items_per_s"] / runs[other]["items_per_s"]
                run[f"items_per_cpu_s_over_{other}"] = (
                    run["items_per_cpu_s"] / runs[other]["items_per_cpu_s"]
                )
    score_values = scores[methods[0]]
    return {
        "benchmark": "scoring",
        "settings": {
            "model_shape": shape.__dict__,
            "parameters": parameters,
            "dtype": "float32",
            "device": "cpu",
            "max_length": max_length,
            "batch_tokens": batch_tokens,
            "fixed_batch": FIXED_BATCH,
            "torch_threads": threads,
            "separate_processes": not in_process,
        },
        "corpus": summary,
        "score_range": [min(score_values), max(score_values)],
        "results": runs,
        "targets": _targets(runs),
    }


def _targets(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    if {"a", "b", "c"} <= runs.keys():
        c = runs["c"]
        measured = {
            "c_over_b_items_per_s": c["items_per_s_over_b"],
            "c_over_a_items_per_s": c["items_per_s_over_a"],
            "c_padding_efficiency": c["padding_efficiency"],
            "max_score_difference": max(
                runs["b"]["max_score_difference_vs_a"], c["max_score_difference_vs_a"]
            ),
        }
        for name, value in measured.items():
            target = TARGETS[name]
            met = value < target if name == "max_score_difference" else value >= target
            checks[name] = {"measured": value, "target": target, "met": met}
    return checks


def print_report(payload: dict[str, Any]) -> None:
    settings, corpus = payload["settings"], payload["corpus"]
    title = (
        f"Scoring {corpus['items']} items: Qwen3 {settings['parameters'] / 1e6:.1f}M params, "
        f"max_length {settings['max_length']}, batch_tokens {settings['batch_tokens']}, "
        f"{settings['torch_threads']} torch threads"
    )
    headers = [
        "method",
        "items/s",
        "tokens/s",
        "padding eff.",
        "passes",
        "peak RSS MB",
        "vs (a)",
        "vs (b)",
        "max |Δ| vs (a)",
        "wall s",
        "CPU s",
        "CPU vs (a)",
        "CPU vs (b)",
    ]
    rows = [
        [
            run["label"],
            run["items_per_s"],
            run["tokens_per_s"],
            run["padding_efficiency"],
            run["forward_passes"],
            run["peak_rss_mb"],
            run.get("items_per_s_over_a", float("nan")),
            run.get("items_per_s_over_b", float("nan")),
            run.get("max_score_difference_vs_a", float("nan")),
            run["wall_s"],
            run["cpu_s"],
            run.get("items_per_cpu_s_over_a", float("nan")),
            run.get("items_per_cpu_s_over_b", float("nan")),
        ]
        for run in payload["results"].values()
    ]
    print_table(title, headers, rows)
    for name, check in payload["targets"].items():
        verdict = "met" if check["met"] else "NOT met"
        print(f"target {name}: {check['measured']:.4g} (target {check['target']}) {verdict}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring", description=__doc__)
    parser.add_argument("--items", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-tokens", type=int, default=16384)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--methods", default="a,b,c", help="comma list of a, b, c, c32")
    parser.add_argument("--tiny", action="store_true", help="a tiny model: a smoke test")
    parser.add_argument("--in-process", action="store_true", help="no fresh process per way")
    parser.add_argument("--output", type=Path, default=None, help="results directory")
    parser.add_argument("--name", default=None, help="results file name (default: scoring)")
    args = parser.parse_args(argv)
    methods = [method.strip() for method in args.methods.split(",") if method.strip()]
    unknown = sorted(set(methods) - METHODS.keys())
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {sorted(METHODS)}")
    quiet_transformers()
    machine = machine_info("bench.scoring", args.threads)
    payload = run_benchmark(
        items=args.items,
        max_length=args.max_length,
        batch_tokens=args.batch_tokens,
        threads=args.threads,
        methods=methods,
        shape=SMOKE_SHAPE if args.tiny else CPU_BENCH_SHAPE,
        in_process=args.in_process,
    )
    payload["machine"] = machine | {"load_average_at_end": load_average()}
    print_report(payload)
    name = args.name or ("scoring-tiny" if args.tiny else "scoring")
    path = write_results(name, payload, args.output)
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main()
