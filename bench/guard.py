"""What the optional guard costs: its time per item, and the pipeline's throughput with and
without it, on the tiny random models (``make-test-model`` and ``make-test-model --guard``).

Configurations, each on the same seeded corpus items (``bench.corpus.generate``), after a
warm-up call, the best of ``--repeats`` runs, interleaved (every configuration once, then
again) so the load of a shared machine falls on all alike: no guard; the generative guard
(random weights: every answer runs to ``guard.max_new_tokens`` and is unparsed, the worst
case of decoding); the generative guard forced to answer "Safety: Unsafe / Categories:
Violent" (it stops at its end token, like a real guard's short answer); the multi-label
classifier (one forward pass, no decoding).

What it tells: the guard's overhead relative to the reward model's pass when both are the
same tiny shape, the cost of greedy decoding (one pass per new token) against one
classifier pass, and that batching and packing hold for the guard. What it does not: the
cost of Qwen3Guard-Gen-0.6B/4B/8B or of a real classifier (on a real model the forward
passes dominate far more), nor GPU numbers.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS_DIR,
    load_average,
    machine_info,
    print_table,
    quiet_transformers,
    write_results,
)
from bench.corpus import KIND_BY_NAME, generate
from qualitygate.config import Settings, load_settings
from qualitygate.guard.model import GuardStats
from qualitygate.guard.testmodel import force_answer, make_guard_test_models
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ContentItem, GradeResult
from qualitygate.testmodel import make_test_model

FORCED = "Safety: Unsafe\nCategories: Violent"


def _settings(reward: Path, guard: Path | None, kind: str = "generative") -> Settings:
    defaults = load_settings()
    model = defaults.model.model_dump() | {"name": str(reward)}
    if guard is None:
        return load_settings(model=model)
    section = defaults.guard.model_dump()
    section["model"]["name"] = str(guard)
    section.update({"enabled": True, "kind": kind})
    return load_settings(model=model, guard=section)


def _timed(gate: QualityGate, items: Sequence[ContentItem]) -> tuple[float, list[GradeResult]]:
    started = time.perf_counter()
    results = gate.grade(items)
    return time.perf_counter() - started, results


def _summary(seconds: list[float], results: list[GradeResult]) -> dict[str, Any]:
    best = min(seconds)
    guard_ms = [r.timings_ms.get("guard", 0.0) for r in results]
    return {
        "items": len(results),
        "seconds_best": round(best, 4),
        "seconds_median": round(statistics.median(seconds), 4),
        "items_per_s": round(len(results) / best, 1),
        "guard_ms_per_item": round(statistics.fmean(guard_ms), 3),
        "guard_flags": sum(1 for r in results for f in r.flags if f.category == "guard"),
        "decisions": {
            d: sum(r.decision == d for r in results) for d in ("approve", "review", "reject")
        },
    }


def build_models(workdir: Path) -> tuple[Path, Path, Path]:
    """The tiny reward model, the tiny guards' folder and the forced generative guard."""
    reward = make_test_model(workdir / "reward")
    guards = make_guard_test_models(workdir / "guard")
    return reward, guards, force_answer(guards / "generative", workdir / "forced", FORCED)


def run_benchmark(
    count: int,
    repeats: int,
    models: tuple[Path, Path, Path],
    kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Every configuration on ``count`` corpus items (of these ``kinds`` only, if given)."""
    reward, guards, forced = models
    items = [
        ContentItem(id=item.id, text=item.text, content_type=item.kind)
        for item in generate(count, seed=7, kinds=[KIND_BY_NAME[k] for k in kinds or KIND_BY_NAME])
    ]
    configurations = {
        "no guard": _settings(reward, None),
        "generative (random: 16 tokens, unparsed)": _settings(reward, guards / "generative"),
        "generative (forced answer)": _settings(reward, forced),
        "classifier": _settings(reward, guards / "classifier", kind="classifier"),
    }
    gates = {name: QualityGate.from_settings(cfg) for name, cfg in configurations.items()}
    for gate in gates.values():
        gate.grade(items[: min(8, len(items))])  # warm-up: first-call allocations
        if gate.guard is not None:
            gate.guard.stats = GuardStats()  # type: ignore[attr-defined]  # timed runs only
    # Interleaved, so a change in the machine's load falls on every configuration alike.
    seconds: dict[str, list[float]] = {name: [] for name in gates}
    last: dict[str, list[GradeResult]] = {}
    for _ in range(repeats):
        for name, gate in gates.items():
            elapsed, last[name] = _timed(gate, items)
            seconds[name].append(elapsed)
    runs = {name: _summary(seconds[name], last[name]) for name in gates}
    for name, gate in gates.items():
        if gate.guard is not None:
            stats = gate.guard.stats  # type: ignore[attr-defined]
            runs[name]["guard_batches"] = round(stats.batches / repeats, 1)
            runs[name]["guard_generated_tokens_per_item"] = round(
                stats.generated_tokens / max(stats.items, 1), 2
            )
            runs[name]["guard_input_tokens_per_item"] = round(
                stats.input_tokens / max(stats.items, 1), 1
            )
    base = runs["no guard"]["items_per_s"]
    for run in runs.values():
        run["throughput_vs_no_guard"] = round(run["items_per_s"] / base, 3)
    return {"items": count, "repeats": repeats, "runs": runs}


def print_report(payload: dict[str, Any]) -> None:
    rows = [
        [
            name,
            run["items_per_s"],
            run["throughput_vs_no_guard"],
            run["guard_ms_per_item"],
            run.get("guard_generated_tokens_per_item", 0.0),
            run.get("guard_batches", 0),
            run["guard_flags"],
        ]
        for name, run in payload["runs"].items()
    ]
    print_table(
        f"pipeline with and without the guard ({payload['items']} items, tiny models, CPU)",
        [
            "configuration",
            "items/s",
            "vs no guard",
            "guard ms/item",
            "new tokens/item",
            "guard passes/run",
            "guard flags",
        ],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.guard", description=__doc__)
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None, help="results directory")
    args = parser.parse_args(argv)
    quiet_transformers()
    machine = machine_info("bench.guard")
    with tempfile.TemporaryDirectory() as workdir:
        payload = run_benchmark(args.items, args.repeats, build_models(Path(workdir)))
    payload["machine"] = machine | {"load_average_at_end": load_average()}
    print_report(payload)
    print(f"wrote {write_results('guard', payload, args.output or RESULTS_DIR)}")
    return payload


if __name__ == "__main__":
    main()
