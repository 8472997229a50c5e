"""``model.compile`` against eager: scoring throughput, and the compile time a worker pays.

Loads the same checkpoint twice through ``RewardScorer.load``, eager and with
``model.compile`` (``torch.compile`` with dynamic shapes, warmed up at load), and scores
the same rows of mixed lengths (random token ids, lengths spread like real items) with
each, after one untimed pass. Reports items/s, tokens/s, the compiled-over-eager ratio,
the compile time paid at start (the compiled load less the eager one), how far the scores
agree, and whether a batch shape seen for the first time compiled again (a timed pass
of new shapes against one of known shapes). Shapes: the tiny test model and
``bench.models.CPU_BENCH_SHAPE``; on CUDA (``--device cuda``) the same code runs in bf16.

    .venv/bin/python -m bench.compile
    .venv/bin/python -m bench.compile --shapes bench --items 64 --device cuda
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import load_average, machine_info, print_table, quiet_transformers, write_results
from bench.models import CPU_BENCH_SHAPE, bench_model_settings, make_bench_model
from qualitygate.scoring import RewardScorer
from qualitygate.testmodel import make_test_model


def rows_for(items: int, max_length: int, vocab: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    lengths = [min(max_length, int(rng.lognormvariate(5.3, 0.7))) + 8 for _ in range(items)]
    return [[rng.randrange(3, vocab) for _ in range(n)] for n in lengths]


def timed(scorer: RewardScorer, rows: list[list[int]]) -> tuple[float, list[float]]:
    started = time.perf_counter()
    scores = scorer.score_encoded(rows)
    return time.perf_counter() - started, scores


def measure(model_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = bench_model_settings(model_dir, args.max_length, args.batch_tokens, args.device)
    if args.device == "cuda":
        settings = settings.model_copy(update={"dtype": "bfloat16"})
    out: dict[str, Any] = {}
    scorers = {}
    for mode in ("eager", "compiled"):
        started = time.perf_counter()
        scorer = RewardScorer.load(settings.model_copy(update={"compile": mode == "compiled"}))
        out[f"{mode}_load_s"] = round(time.perf_counter() - started, 2)
        scorers[mode] = scorer
    vocab = len(scorers["eager"].tokenizer)
    rows = rows_for(args.items, args.max_length, vocab, seed=1)
    fresh = rows_for(args.items // 2, args.max_length, vocab, seed=2)  # unseen batch shapes
    for mode, scorer in scorers.items():
        scorer.score_encoded(rows[: max(2, args.items // 8)])  # one untimed pass
        elapsed, scores = timed(scorer, rows)
        again, _ = timed(scorer, fresh)
        out[mode] = {
            "items_per_s": round(len(rows) / elapsed, 2),
            "tokens_per_s": round(sum(map(len, rows)) / elapsed, 1),
            "fresh_shapes_items_per_s": round(len(fresh) / again, 2),
        }
        out[f"{mode}_scores"] = scores
    eager, compiled = out.pop("eager_scores"), out.pop("compiled_scores")
    out["max_abs_score_difference"] = max(abs(a - b) for a, b in zip(eager, compiled, strict=True))
    out["compile_s_at_start"] = round(out["compiled_load_s"] - out["eager_load_s"], 2)
    out["compiled_over_eager"] = round(
        out["compiled"]["items_per_s"] / out["eager"]["items_per_s"], 3
    )
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.compile", description=__doc__)
    parser.add_argument("--shapes", default="tiny,bench", help="comma list of: tiny, bench")
    parser.add_argument("--items", type=int, default=96)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--name", default="compile")
    args = parser.parse_args(argv)
    quiet_transformers()
    load_before = load_average()
    results: dict[str, Any] = {}
    for shape in args.shapes.split(","):
        directory = Path(tempfile.mkdtemp(prefix=f"qg-compile-{shape}-"))
        model_dir = (
            make_test_model(directory)
            if shape == "tiny"
            else make_bench_model(directory, CPU_BENCH_SHAPE, max_positions=args.max_length)
        )
        results[shape] = measure(str(model_dir), args)
    payload = {
        "machine": machine_info("bench.compile"),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "settings": vars(args),
        "results": results,
    }
    rows = [
        [
            shape,
            r["eager"]["items_per_s"],
            r["compiled"]["items_per_s"],
            r["compiled_over_eager"],
            r["compiled"]["fresh_shapes_items_per_s"],
            r["compile_s_at_start"],
            f"{r['max_abs_score_difference']:.1e}",
        ]
        for shape, r in results.items()
    ]
    print_table(
        f"compile vs eager on {args.device}: {args.items} items, load {load_before}",
        ["shape", "eager it/s", "compiled it/s", "ratio", "new shapes", "compile s", "max diff"],
        rows,
    )
    print(f"wrote {write_results(args.name, payload)}")
    return payload


if __name__ == "__main__":
    main()
