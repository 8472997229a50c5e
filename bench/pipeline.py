"""Per-item cost of everything around the model: what a worker spends besides the forward pass.

For each language and size (1 KB and 20 KB of UTF-8), distinct items go through the public
API as a worker would run them: ``QualityGate.prepare`` on the JSON-decoded message
(validation, extraction, language detection, preprocessing, rules), the scorer's
``encode_pair`` (chat template, tokenizing, truncation), ``QualityGate.finish``
(calibration, grading, recommendations) and ``GradeResult.model_dump_json``. The scorer
handed to the gate is a double, so no forward pass runs; the tokenizer is the project's
test tokenizer (a real fast BPE, smaller than Qwen's). Reports p50 and p99 per stage and in
total. ``--profile`` then profiles the 1 KB plain items again with pyinstrument and
writes ``bench/results/pipeline-profile.txt``.

Run from the repository root: ``python -m bench.pipeline``.
"""

from __future__ import annotations

import argparse
import json
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
from bench.corpus import LANGUAGES, text_of_bytes
from bench.models import SMOKE_SHAPE, bench_model_settings, make_bench_model
from qualitygate.config import Settings, load_settings
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ModelInfo
from qualitygate.scoring import RewardScorer

SIZES = {"1KB": 1024, "20KB": 20 * 1024}
FORMATS = ("plain", "html")
TARGET_P50_MS_1KB = 1.0
STAGES = ("prepare", "encode", "finish", "serialise")


class ConstantScorer:
    """A scorer double: no model, a fixed reward, so only the pipeline around it is timed."""

    def __init__(self, reward: float = 0.5) -> None:
        self.reward = reward
        self._info = ModelInfo(name="bench-double", revision="none", test_model=True)

    @property
    def info(self) -> ModelInfo:
        return self._info

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [self.reward] * len(pairs)


def as_html(text: str) -> str:
    """The same prose as a CMS would store it: paragraphs in HTML with a little markup."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>\n" for p in paragraphs)
    return (
        f'<article><h2>Title</h2>\n{body}<p><a href="https://example.com/">link</a></p></article>'
    )


def messages(language: str, size_bytes: int, content_format: str, count: int) -> list[str]:
    """``count`` distinct JSON task payloads, so no cache can serve a repeat."""
    payloads = []
    for index in range(count):
        text = text_of_bytes(language, size_bytes, seed=index)
        if content_format == "html":
            text = as_html(text)
        payloads.append(
            json.dumps(
                {
                    "id": f"{language}-{size_bytes}-{content_format}-{index}",
                    "text": text,
                    "format": content_format,
                    "content_type": "post",
                    "metadata": {"site": "bench", "index": index},
                },
                ensure_ascii=False,
            )
        )
    return payloads


def time_item(gate: QualityGate, scorer: RewardScorer, payload: str) -> dict[str, float]:
    """Milliseconds per stage for one item, as a worker would run it.

    Stages are CPU time of this process (the machine may be shared: CPU time is the
    item's own cost, whatever else runs); ``total`` is CPU too and ``wall`` is elapsed.
    """
    cpu, wall = time.process_time, time.perf_counter
    wall_started = wall()
    started = cpu()
    prepared = gate.prepare(json.loads(payload))
    prepared_at = cpu()
    scorer.encode_pair(prepared.prompt, prepared.text)
    encoded_at = cpu()
    result = gate.finish(prepared, 0.5)
    finished_at = cpu()
    result.model_dump_json()
    done = cpu()
    wall_done = wall()
    return {
        "prepare": (prepared_at - started) * 1000,
        "encode": (encoded_at - prepared_at) * 1000,
        "finish": (finished_at - encoded_at) * 1000,
        "serialise": (done - finished_at) * 1000,
        "total": (done - started) * 1000,
        "wall": (wall_done - wall_started) * 1000,
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[rank]


def measure(
    gate: QualityGate,
    scorer: RewardScorer,
    payloads: Sequence[str],
) -> dict[str, Any]:
    for payload in payloads[:3]:  # lazy set-up (adapters, detectors) is not per-item cost
        time_item(gate, scorer, payload)
    timings = [time_item(gate, scorer, payload) for payload in payloads]
    summary: dict[str, Any] = {"items": len(payloads)}
    for stage in (*STAGES, "total", "wall"):
        values = [timing[stage] for timing in timings]
        summary[stage] = {
            "p50_ms": percentile(values, 0.50),
            "p99_ms": percentile(values, 0.99),
            "mean_ms": statistics.fmean(values),
        }
    return summary


def run_benchmark(
    count_small: int = 400,
    count_large: int = 60,
    languages: Sequence[str] = LANGUAGES,
    formats: Sequence[str] = FORMATS,
    settings: Settings | None = None,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    settings = settings or load_settings()
    gate = QualityGate.from_settings(settings, scorer=ConstantScorer())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="qg-bench-tokenizer-") as model_dir:
        make_bench_model(model_dir, SMOKE_SHAPE)
        scorer = RewardScorer.load(bench_model_settings(model_dir, 4096, 16384))
        cases = [
            (language, size_name, content_format)
            for content_format in formats
            for size_name in SIZES
            for language in languages
        ]
        workloads = {
            case: messages(
                case[0],
                SIZES[case[1]],
                case[2],
                count_small if case[1] == "1KB" else count_large,
            )
            for case in cases
        }
        for (language, size_name, content_format), payloads in workloads.items():
            result = measure(gate, scorer, payloads)
            rows.append(
                {"language": language, "size": size_name, "format": content_format, **result}
            )
        if profile_to is not None:
            # A separate pass: the profiler's hook on every Python call would inflate the
            # timings above, most of all for code that calls a function per character.
            profiled = [
                payload
                for (_, size_name, content_format), payloads in workloads.items()
                if size_name == "1KB" and content_format == "plain"
                for payload in payloads
            ]
            _write_profile(gate, scorer, profiled, profile_to)
    plain_1kb = [row for row in rows if row["size"] == "1KB" and row["format"] == "plain"]
    worst = max(row["total"]["p50_ms"] for row in plain_1kb) if plain_1kb else float("nan")
    worst_wall = max(row["wall"]["p50_ms"] for row in plain_1kb) if plain_1kb else float("nan")
    return {
        "benchmark": "pipeline",
        "settings": {
            "items_per_case": {"1KB": count_small, "20KB": count_large},
            "stages": {
                "prepare": "validate + extract + detect + preprocess + rules (QualityGate.prepare)",
                "encode": "chat template + tokenize + truncate (RewardScorer.encode_pair)",
                "finish": "calibrate + grade + recommend (QualityGate.finish)",
                "serialise": "GradeResult.model_dump_json",
            },
            "tokenizer": "project test tokenizer (byte-level BPE, 1,024 tokens)",
            "rules": "whatever QualityGate.from_settings wires in",
        },
        "results": rows,
        "targets": {
            "cpu_p50_ms_1KB_plain_worst_language": {
                "measured": worst,
                "target": TARGET_P50_MS_1KB,
                "met": worst < TARGET_P50_MS_1KB,
            },
            "wall_p50_ms_1KB_plain_worst_language": {
                "measured": worst_wall,
                "target": TARGET_P50_MS_1KB,
                "met": worst_wall < TARGET_P50_MS_1KB,
            },
        },
    }


def _write_profile(
    gate: QualityGate, scorer: RewardScorer, payloads: Sequence[str], target: Path
) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for payload in payloads:
        time_item(gate, scorer, payload)
    profiler.stop()
    target.parent.mkdir(parents=True, exist_ok=True)
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    target.write_text(text, encoding="utf-8")


def print_report(payload: dict[str, Any]) -> None:
    headers = ["language", "size", "format", "items"]
    for stage in STAGES:
        headers.append(f"{stage} p50")
    headers += ["CPU p50", "CPU p99", "wall p50", "wall p99"]
    rows = []
    for row in payload["results"]:
        cells = [row["language"], row["size"], row["format"], row["items"]]
        cells += [row[stage]["p50_ms"] for stage in STAGES]
        cells += [row["total"]["p50_ms"], row["total"]["p99_ms"]]
        cells += [row["wall"]["p50_ms"], row["wall"]["p99_ms"]]
        rows.append(cells)
    print_table(
        "Per-item pipeline cost without the forward pass (ms; stages are CPU time)", headers, rows
    )
    for name, check in payload["targets"].items():
        verdict = "met" if check["met"] else "NOT met"
        print(f"target {name}: {check['measured']:.3f} ms (target < {check['target']}) {verdict}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    parser.add_argument("--items", type=int, default=400, help="items per 1 KB case")
    parser.add_argument("--large-items", type=int, default=60, help="items per 20 KB case")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--profile", action="store_true", help="write a pyinstrument profile")
    parser.add_argument("--output", type=Path, default=None, help="results directory")
    args = parser.parse_args(argv)
    output = args.output or RESULTS_DIR
    quiet_transformers()
    machine = machine_info("bench.pipeline")
    payload = run_benchmark(
        count_small=args.items,
        count_large=args.large_items,
        languages=[code.strip() for code in args.languages.split(",") if code.strip()],
        formats=[name.strip() for name in args.formats.split(",") if name.strip()],
        profile_to=output / "pipeline-profile.txt" if args.profile else None,
    )
    payload["machine"] = machine | {"load_average_at_end": load_average()}
    print_report(payload)
    print(f"wrote {write_results('pipeline', payload, output)}")
    return payload


if __name__ == "__main__":
    main()
