"""How much of a GPU's time a real worker keeps busy, without a GPU: staged against sequential.

A real ``qualitygate worker`` on the real Redis grades the seeded corpus, its scorer
swapped for ``bench.overlap_double.SleepScorer``: real tokenizing with the tiny test
model's tokenizer, then a GIL-free ``time.sleep`` as long as the forward pass of the
Qwen3-0.6B or -8B shape (Skywork-Reward-V2) would take on an H100 SXM in bf16 at 50% MFU
(FLOP formula of ``bench/gpu.py``). Each shape runs the sequential worker (the
baseline) and the staged one (``worker.pipeline``) in the same run, on the same items.

Reported per run: items/s (all items submitted at once; from the submit to the last
result), the worker's stage times (from its JSON batch log lines), ``device_s_per_item``
(the double's sleep, computed from the items' real token counts), ``cpu_s_per_item``
(the sequential worker's batch time less that sleep: the CPU work of one item, measured
without overlap), and

    efficiency = items_per_s / (1 / max(cpu_s_per_item, device_s_per_item))

the fraction of the rate the slower side allows. Writes ``bench/results/overlap.json``.

    .venv/bin/python -m bench.overlap                 # both shapes, 1,000 items each
    .venv/bin/python -m bench.overlap --items 200 --shapes 0.6b
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import load_average, machine_info, print_table, quiet_transformers, write_results
from bench.corpus import generate
from bench.e2e import Worker, cleanup, drain, free_port
from bench.overlap_double import CARD, DOUBLE_VAR, MFU, SHAPES, forward_seconds
from qualitygate.client import QualityGateClient
from qualitygate.config import load_settings
from qualitygate.testmodel import make_test_model

SEED = 20261203
TARGET = 0.90
# The runs per shape: in sequence (the baseline), staged with the CPU work on the model
# process's own thread, and staged with it in worker.prepare_processes processes.
MODES = ("sequential", "staged", "pooled")
SITE = Path(__file__).resolve().parent / "overlap_site"
ROOT = Path(__file__).resolve().parent.parent


def shared_env(args: argparse.Namespace, model: str, run_id: str) -> dict[str, str]:
    """The worker's and this client's settings: the model, a private namespace."""
    return {
        "QG_REDIS__URL": args.redis_url,
        "QG_MODEL__NAME": model,
        "QG_MODEL__DEVICE": "cuda" if args.real else "cpu",
        "QG_MODEL__DTYPE": "bfloat16" if args.real else "auto",
        "QG_WORKER__QUEUE": f"{run_id}:queue",
        "QG_WORKER__BATCH_SIZE": str(args.batch_size),
        "QG_WORKER__FLUSH_MS": str(args.flush_ms),
        "QG_WORKER__STAGE_ITEMS": str(args.stage_items),
        "QG_WORKER__STAGE_DEPTH": str(args.stage_depth),
        "QG_WORKER__CACHE_TTL_S": "0",  # measure grading, not the cache
        "QG_WORKER__LOG_FORMAT": "json",
        "QG_STREAMS__RESULTS": f"{run_id}:results",
        "QG_STREAMS__DEAD": f"{run_id}:dead",
        "QG_STREAMS__RESULT_KEY_PREFIX": f"{run_id}:result:",
        "QG_STREAMS__STATE_KEY_PREFIX": f"{run_id}:state:",
    }


def device_seconds(items: list[dict[str, Any]], shape: str) -> tuple[float, float]:
    """The double's total sleep for these items, and their mean token count, computed
    here with the same preparing and tokenizing the worker does (the tokenizer alone: the
    model is not needed to count tokens)."""
    from qualitygate.pair_encoding import PairEncoder
    from qualitygate.preparing import Preparer

    settings = load_settings()
    preparer, encoder = Preparer(settings), PairEncoder.load(settings.model)
    prepared = [preparer.prepare(item) for item in items]
    encoded = encoder.encode_pairs([(p.prompt, p.text) for p in prepared])
    lengths = [len(ids) for ids in encoded]
    return sum(forward_seconds([n], SHAPES[shape]) for n in lengths), sum(lengths) / len(lengths)


def grade_once(
    env: dict[str, str], items: list[dict[str, Any]], timeout_s: float, ready: str
) -> dict:
    """One worker, all items submitted at once; items/s and the batch log lines."""
    worker = Worker(env)
    try:
        deadline = time.monotonic() + 300
        while ready not in worker.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise SystemExit(f"the double never loaded:\n{worker.log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        client = QualityGateClient(settings=load_settings())
        client.ensure_group("bench")
        received: dict[str, float] = {}
        started = time.perf_counter()
        client.submit(items)
        deadline = time.monotonic() + timeout_s
        while len(received) < len(items) and time.monotonic() < deadline:
            drain(client, received, block_ms=200)
        wall_s = max(received.values()) - started
        client.close()
        # A batch's log line comes just after its results: wait for the last one's.
        deadline = time.monotonic() + 10
        while sum(b["batch_size"] for b in batch_lines(worker)) < len(items):
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        worker.stop()
    return {"results": len(received), "wall_s": wall_s, "batches": batch_lines(worker)}


def batch_lines(worker: Worker) -> list[dict[str, Any]]:
    """The worker's JSON log records of its graded batches (a line still being written
    is left for the next read)."""
    records = []
    for line in worker.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"batch_ms"' in line:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def summarise(run: dict, items: int, device_s: float, cpu_s_item: float | None) -> dict:
    """Items/s, stage times per item and efficiency, for one worker run."""
    batches = run["batches"]
    batch_s = sum(b["batch_ms"] for b in batches) / 1000
    stages = {
        name: round(sum(b.get("stage_ms", {}).get(name, 0.0) for b in batches) / items, 4)
        for name in ("prepare", "forward", "finish")
    }
    own_cpu_s = (batch_s - device_s) / items
    cpu = cpu_s_item if cpu_s_item is not None else own_cpu_s
    device = device_s / items
    items_s = run["results"] / run["wall_s"]
    forward_s = sum(b.get("stage_ms", {}).get("forward", 0.0) for b in batches) / 1000
    return {
        "forward_stage_share_of_wall": round(forward_s / run["wall_s"], 3) if forward_s else None,
        "results": run["results"],
        "wall_s": round(run["wall_s"], 3),
        "items_per_s": round(items_s, 2),
        "batches": len(batches),
        "mean_batch_size": round(sum(b["batch_size"] for b in batches) / max(len(batches), 1), 1),
        "pool_busy_s_per_item_ms": round(batch_s / items * 1000, 4),
        "stage_ms_per_item": stages if any(stages.values()) else None,
        "cpu_s_per_item_own_run": round(own_cpu_s, 6),
        "cpu_s_per_item": round(cpu, 6),
        "device_s_per_item": round(device, 6),
        "efficiency": round(items_s * max(cpu, device), 3),
    }


def build_model(args: argparse.Namespace) -> str:
    """The tiny test model (its tokenizer feeds the double), or with ``--real`` a random
    model of the one shape asked for, in bf16 on the GPU."""
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"qg-ov-{os.getpid()}"
    if not args.real:
        return str(make_test_model(directory))
    from bench.models import make_bench_model

    os.environ |= {"QG_MODEL__DEVICE": "cuda", "QG_MODEL__DTYPE": "bfloat16"}
    return str(make_bench_model(directory, SHAPES[args.shapes.split(",")[0]], 40960))


def run_shape(args: argparse.Namespace, shape: str, model: str) -> dict[str, Any]:
    run_id = f"qgoverlap-{uuid.uuid4().hex[:8]}"
    env = shared_env(args, model, run_id)
    os.environ.update(env)
    items = [item.as_content_item() for item in generate(args.items, SEED)]
    device_s, mean_tokens = device_seconds(items, shape)
    out: dict[str, Any] = {"mean_tokens_per_item": round(mean_tokens, 1)}
    modes = MODES if args.prepare_processes else MODES[:2]
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    try:
        # Modes interleaved within each repeat, each repeat against its own sequential
        # run: a shared machine's speed drifts over minutes, not within one repeat.
        for _ in range(args.repeats):
            cpu_s_item = None
            for mode in modes:
                run = grade_once(
                    mode_env(args, env, mode, shape), items, args.timeout_s, ready(args)
                )
                runs[mode].append(summarise(run, len(items), device_s, cpu_s_item))
                cpu_s_item = runs["sequential"][-1]["cpu_s_per_item"]
                cleanup(args.redis_url, run_id)
    finally:
        cleanup(args.redis_url, run_id)
    for mode, summaries in runs.items():
        ranked = sorted(summaries, key=lambda r: r["efficiency"])
        out[mode] = ranked[len(ranked) // 2] | {
            "efficiency_per_repeat": [r["efficiency"] for r in summaries],
            "items_per_s_per_repeat": [r["items_per_s"] for r in summaries],
        }
    out["efficiency"] = out["pooled" if args.prepare_processes else "staged"]["efficiency"]
    out["baseline_efficiency"] = out["sequential"]["efficiency"]
    return out


def mode_env(args: argparse.Namespace, env: dict[str, str], mode: str, shape: str) -> dict:
    """The worker's settings for one mode: sequential, staged, or staged with processes."""
    worker_env = env | {
        "QG_WORKER__PIPELINE": "sequential" if mode == "sequential" else "staged",
        "QG_WORKER__PREPARE_PROCESSES": str(args.prepare_processes if mode == "pooled" else 0),
        "QG_WORKER__METRICS_PORT": str(free_port()),
    }
    if not args.real:
        worker_env |= {
            DOUBLE_VAR: json.dumps({"shape": shape}),
            "PYTHONPATH": os.pathsep.join([str(SITE), str(ROOT)]),
        }
    return worker_env


def ready(args: argparse.Namespace) -> str:
    """The worker's log line that says its scorer is in place."""
    return "loaded in process" if args.real else "BENCHMARK DOUBLE ACTIVE"


def print_report(payload: dict[str, Any]) -> None:
    rows = []
    for shape, result in payload["shapes"].items():
        for mode in (m for m in MODES if m in result):
            r = result[mode]
            stages = r["stage_ms_per_item"] or {}
            rows.append(
                [
                    f"{shape} {mode}",
                    r["items_per_s"],
                    r["cpu_s_per_item"] * 1000,
                    r["device_s_per_item"] * 1000,
                    " / ".join(f"{stages[k]:.2f}" for k in stages) if stages else "-",
                    r["mean_batch_size"],
                    r["efficiency"],
                ]
            )
    s = payload["settings"]
    print_table(
        f"overlap: {s['items']} items, sleep double on {CARD} at {MFU:.0%} MFU, batch "
        f"{s['batch_size']}, chunks of {s['stage_items']}, load {payload['load_average_before']}",
        ["run", "items/s", "cpu ms/item", "device ms/item", "prep/fwd/fin ms", "batch", "eff."],
        rows,
    )
    for shape, result in payload["shapes"].items():
        verdict = "met" if result["efficiency"] >= TARGET else "NOT met"
        print(f"{shape}: efficiency {result['efficiency']} (target >= {TARGET}) {verdict}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.overlap", description=__doc__)
    parser.add_argument("--items", type=int, default=1024, help="best a multiple of batch")
    parser.add_argument("--shapes", default="0.6b,8b", help="comma list of: 0.6b, 8b")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--stage-items", type=int, default=8)
    parser.add_argument("--stage-depth", type=int, default=2)
    parser.add_argument("--flush-ms", type=int, default=3000)
    parser.add_argument(
        "--prepare-processes",
        type=int,
        default=2,
        help="the pooled run's worker.prepare_processes (0: no pooled run)",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of every mode; the median is reported"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--timeout-s", type=float, default=1800)
    parser.add_argument("--name", default="overlap")
    parser.add_argument(
        "--real", action="store_true", help="on a GPU: a random model of the shape, no double"
    )
    args = parser.parse_args(argv)
    quiet_transformers()
    model = build_model(args)
    load_before = load_average()
    shapes = {shape: run_shape(args, shape, model) for shape in args.shapes.split(",")}
    payload = {
        "machine": machine_info("bench.overlap"),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "settings": {
            "items": args.items,
            "card": CARD,
            "mfu": MFU,
            "batch_size": args.batch_size,
            "stage_items": args.stage_items,
            "stage_depth": args.stage_depth,
            "prepare_processes": args.prepare_processes,
            "repeats": args.repeats,
            "flush_ms": args.flush_ms,
            "real_forward_pass": args.real,
            "note": (
                "a random model of the shape on the GPU: device_s_per_item is still the "
                "FLOP formula's time on the stated card"
                if args.real
                else "device time is a sleep of the FLOP formula's time: not a real model"
            ),
        },
        "shapes": shapes,
        "target_efficiency": TARGET,
    }
    print_report(payload)
    print(f"wrote {write_results(args.name, payload)}")
    return payload


if __name__ == "__main__":
    main()
