"""What the command line's progress bar costs: slices against one call a window.

``qualitygate grade`` on a terminal asks the gate for progress, and the gate then scores
each 256-item window in length-sorted slices of about one forward pass (estimated from
UTF-8 bytes) instead of one call. This measures both ways on the same items and model:
forward passes, padded tokens (the work a forward pass does), time, and how often the bar
moves. Two sets: the seeded 512-item benchmark corpus (mixed lengths) and the same items
cut to 120 characters (short comments).

Forward passes and padded tokens do not depend on the model's size, so the default is the
tiny smoke model; ``--cpu-shape`` uses the 25.7M-parameter CPU benchmark model for
timings that mean more (about 10 minutes on 2 idle cores). Run from the repository root:
``python -m bench.progress``; prints a table and writes ``bench/results/progress.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from bench.common import machine_info, print_table, quiet_transformers, write_results
from bench.corpus import scoring_items
from bench.models import CPU_BENCH_SHAPE, SMOKE_SHAPE, bench_model_settings, make_bench_model
from qualitygate.config import load_settings
from qualitygate.pipeline import BYTES_PER_TOKEN_ESTIMATE, QualityGate
from qualitygate.scoring import RewardScorer, ScorerStats

WINDOW = 256  # what the command line hands the gate at a time


def run(gate: QualityGate, items: list[dict[str, Any]], sliced: bool) -> dict[str, Any]:
    scorer = gate.scorer
    assert isinstance(scorer, RewardScorer)
    scorer.stats = ScorerStats()
    moves: list[int] = []
    started = time.perf_counter()
    for offset in range(0, len(items), WINDOW):
        window = items[offset : offset + WINDOW]
        gate.grade(window, progress=moves.append if sliced else None)
    wall = time.perf_counter() - started
    stats = scorer.stats
    return {
        "forward_passes": stats.batches,
        "padded_tokens": stats.padded_tokens,
        "padding_efficiency": round(stats.padding_efficiency, 4),
        "wall_s": round(wall, 3),
        "items_per_s": round(len(items) / wall, 3),
        "bar_moves": len(moves) if sliced else len(range(0, len(items), WINDOW)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cpu-shape", action="store_true", help="the 25.7M CPU bench model")
    shape_name = "cpu" if parser.parse_args().cpu_shape else "smoke"
    quiet_transformers()
    corpus = [item.as_content_item(with_hint=True) for item in scoring_items()]
    short = [item | {"text": item["text"][:120]} for item in corpus]
    with tempfile.TemporaryDirectory() as directory:
        shape = CPU_BENCH_SHAPE if shape_name == "cpu" else SMOKE_SHAPE
        model_dir = make_bench_model(directory, shape)
        model = bench_model_settings(model_dir, max_length=1024, batch_tokens=16384)
        settings = load_settings(model=model.model_dump())
        gate = QualityGate.from_settings(settings)
        results: dict[str, Any] = {}
        for name, items in (("corpus", corpus), ("short", short)):
            for sliced in (False, True):
                results[f"{name}/{'slices' if sliced else 'one call'}"] = run(gate, items, sliced)
    rows = [
        (name, r["forward_passes"], r["padded_tokens"], r["padding_efficiency"], r["wall_s"],
         r["items_per_s"], r["bar_moves"])
        for name, r in results.items()
    ]  # fmt: skip
    print_table(
        f"grade with and without the progress bar ({WINDOW}-item windows, "
        f"slices of one estimated forward pass)",
        ("items / mode", "forward passes", "padded tokens", "padding eff.", "wall s",
         "items/s", "bar moves"),
        rows,
    )  # fmt: skip
    payload = machine_info("bench.progress") | {
        "window": WINDOW,
        "bytes_per_token_estimate": BYTES_PER_TOKEN_ESTIMATE,
        "model_shape": shape_name,
        "max_length": 1024,
        "batch_tokens": 16384,
    }
    print(write_results("progress", payload | {"results": results}))


if __name__ == "__main__":
    main()
