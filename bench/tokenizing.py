"""Tokenizing cost of the scorer: content, whole pairs, and prompts seen for the first time.

What encoding untrusted text as text (``qualitygate/tokenizing.py``) costs, on the fixed
512-item corpus and the project's test tokenizer: one batch call for all contents (what
``RewardScorer.score`` does), one call per content, ``encode_pair`` with a cached prompt,
and the template parts of 512 distinct prompts (the per-prompt cache missing each time).
No forward pass runs. Each figure is the best of ``--repeats`` runs, in wall time and in
the process's CPU time (run with ``RAYON_RS_NUM_CPUS=1`` for one tokenizer thread, so CPU
time is the cost, and a busy shared machine inflates it least). Run from the repository root:
``python -m bench.tokenizing``; to compare with another checkout, run the same command
there with ``--model DIR`` pointing at the model this run wrote (printed), so both load
the same tokenizer. Prints a table and writes ``bench/results/tokenizing.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import machine_info, print_table, quiet_transformers, write_results
from bench.corpus import scoring_items
from bench.models import SMOKE_SHAPE, bench_model_settings, make_bench_model
from qualitygate.scoring import RewardScorer

PROMPT = "Write a helpful, accurate and well-written community post."


def best_of(repeats: int, run: Callable[[], object]) -> tuple[float, float]:
    """The least wall time and the least CPU time over ``repeats`` runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return min(wall), min(cpu)


def measure(
    scorer: RewardScorer, repeats: int, items: int | None = None
) -> list[dict[str, float | int | str]]:
    texts = [item.text.strip() for item in scoring_items()[:items]]
    prompts = [f"{PROMPT} Topic {i}: {text[:60]}" for i, text in enumerate(texts)]
    tokens = sum(len(ids) for ids in scorer.encoder.text_encoder.texts(texts))
    cases: list[tuple[str, int, Callable[[], object]]] = [
        ("content, one batch call", len(texts), lambda: scorer.encoder.text_encoder.texts(texts)),
        (
            "content, one call each",
            len(texts),
            lambda: [scorer.encoder.text_encoder.text(t) for t in texts],
        ),
        (
            "encode_pair, cached prompt",
            len(texts),
            lambda: [scorer.encode_pair(PROMPT, text) for text in texts],
        ),
        (
            "template parts, new prompt",
            len(prompts),
            lambda: [scorer.encoder._template_parts(prompt) for prompt in prompts],
        ),
    ]
    rows = []
    for name, count, run in cases:
        wall, cpu = best_of(repeats, run)
        rows.append(
            {
                "case": name,
                "calls": count,
                "wall_s": wall,
                "cpu_s": cpu,
                "cpu_us_per_call": cpu / count * 1e6,
            }
        )
    rows[0]["tokens"] = tokens
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model directory to reuse")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--items", type=int, default=None, help="the first N corpus items")
    parser.add_argument("--output", type=Path, default=None, help="results directory")
    parser.add_argument("--name", default="tokenizing", help="results file name")
    args = parser.parse_args(argv)
    quiet_transformers()
    model_dir = args.model or make_bench_model(tempfile.mkdtemp(prefix="qg-tok-"), SMOKE_SHAPE)
    scorer = RewardScorer.load(bench_model_settings(model_dir, 4096, 16384))
    rows = measure(scorer, args.repeats, args.items)
    print_table(
        f"tokenizing, {rows[0]['calls']} corpus items, best of {args.repeats} (model {model_dir})",
        ["case", "calls", "wall s", "CPU s", "CPU µs per call"],
        [[r["case"], r["calls"], r["wall_s"], r["cpu_s"], r["cpu_us_per_call"]] for r in rows],
    )
    payload = {"machine": machine_info("bench.tokenizing"), "results": rows}
    print(f"wrote {write_results(args.name, payload, args.output)}")


if __name__ == "__main__":
    main()
