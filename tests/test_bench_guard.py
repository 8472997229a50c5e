"""bench/guard.py still runs and measures what it claims, on two comments: the guard runs
(one unparsed flag per item from the random guard, one Violent flag from the forced one) and
is absent from the run without it. No timings are asserted."""

from __future__ import annotations

from pathlib import Path

from bench import guard


def test_guard_benchmark_runs_each_configuration(
    test_model_dir: Path, guard_models_dir: Path
) -> None:
    models = (test_model_dir, guard_models_dir, guard_models_dir / "forced_violent")
    payload = guard.run_benchmark(count=2, repeats=1, models=models, kinds=["comment"])
    runs = payload["runs"]
    assert runs["no guard"]["guard_flags"] == 0
    random = runs["generative (random: 16 tokens, unparsed)"]
    assert random["guard_flags"] == 2 and random["guard_generated_tokens_per_item"] == 16
    forced = runs["generative (forced answer)"]
    assert forced["guard_flags"] == 2 and forced["decisions"]["reject"] == 2
    assert runs["classifier"]["guard_batches"] >= 1
