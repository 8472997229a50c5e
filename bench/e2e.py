"""End to end through Redis: one real worker against in-process ``grade`` on the same items.

Builds the scoring benchmark's model (or the tiny test model with ``--model test``),
grades the seeded corpus in-process as ``qualitygate grade`` does, then starts one real
``qualitygate worker`` on its own queue and streams, submits the same items one message
each as fast as the client can, and reads the results through a consumer group. Reports
throughput against in-process, submit-to-result latency p50/p95/p99 and the worker's
batch-size histogram (from its Prometheus endpoint). A second run trickles items in at a
fixed rate to show latency at low load: about ``flush_ms`` plus one forward pass.

    .venv/bin/python -m bench.e2e                        # 2,000 items, the scoring model
    .venv/bin/python -m bench.e2e --model test --items 1000 --trickle-items 0
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from bench.common import load_average, machine_info, print_table, quiet_transformers, write_results
from bench.corpus import generate
from bench.models import CPU_BENCH_SHAPE, make_bench_model
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings, load_settings

E2E_SEED = 20261126


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def build_model(kind: str, max_length: int) -> str:
    directory = Path(tempfile.mkdtemp(prefix="qg-e2e-model-"))
    if kind == "test":
        from qualitygate.testmodel import make_test_model

        return str(make_test_model(directory))
    if kind == "bench":
        return str(
            make_bench_model(directory, CPU_BENCH_SHAPE, max_positions=max(max_length, 2048))
        )
    return kind


def worker_env(args: argparse.Namespace, model: str, run_id: str) -> dict[str, str]:
    """Everything the worker and this client share: the model and a private namespace."""
    return {
        "QG_REDIS__URL": args.redis_url,
        "QG_MODEL__NAME": model,
        "QG_MODEL__DEVICE": "cpu",
        "QG_MODEL__MAX_LENGTH": str(args.max_length),
        "QG_MODEL__MAX_PROMPT_TOKENS": str(min(512, args.max_length // 2 - 1)),
        "QG_WORKER__QUEUE": f"{run_id}:queue",
        "QG_WORKER__BATCH_SIZE": str(args.batch_size),
        "QG_WORKER__FLUSH_MS": str(args.flush_ms),
        "QG_WORKER__METRICS_PORT": str(args.metrics_port),
        "QG_WORKER__CACHE_TTL_S": "0",  # measure scoring, not the cache
        "QG_STREAMS__RESULTS": f"{run_id}:results",
        "QG_STREAMS__DEAD": f"{run_id}:dead",
        "QG_STREAMS__RESULT_KEY_PREFIX": f"{run_id}:result:",
        "QG_STREAMS__STATE_KEY_PREFIX": f"{run_id}:state:",
    }


def in_process(settings: Settings, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The baseline: ``QualityGate.grade`` in chunks of 256, as ``qualitygate grade`` does."""
    from qualitygate.pipeline import QualityGate

    quiet_transformers()
    gate = QualityGate.from_settings(settings)
    gate.grade(items[:1])  # first-call setup is not throughput
    started = time.perf_counter()
    for offset in range(0, len(items), 256):
        gate.grade(items[offset : offset + 256])
    wall_s = time.perf_counter() - started
    single = []
    for item in items[:20]:
        began = time.perf_counter()
        gate.grade([item])
        single.append((time.perf_counter() - began) * 1000)
    return {
        "wall_s": round(wall_s, 2),
        "items_s": round(len(items) / wall_s, 2),
        "one_item_ms_p50": round(percentile(single, 0.5), 1),
    }


class Worker:
    """One ``qualitygate worker`` subprocess with its log in a temporary file."""

    def __init__(self, env: dict[str, str]) -> None:
        self.log_path = Path(tempfile.mkdtemp(prefix="qg-e2e-")) / "worker.log"
        qualitygate = str(Path(sys.executable).with_name("qualitygate"))
        clean = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [qualitygate, "worker", "--loglevel", "INFO"],
                env=clean | env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while "worker ready" not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)


def submit_and_collect(
    client: QualityGateClient, items: list[dict[str, Any]], rate: float, timeout_s: float
) -> dict[str, Any]:
    """Submit one message per item (a burst, or ``rate`` per second); time each result."""
    submitted: dict[str, float] = {}
    received: dict[str, float] = {}
    interval = 1.0 / rate if rate else 0.0
    started = time.perf_counter()
    for index, item in enumerate(items):
        [task_id] = client.submit([item])
        submitted[task_id] = time.perf_counter()
        if interval:
            next_at = started + (index + 1) * interval
            while time.perf_counter() < next_at:
                drain(client, received, block_ms=None)
                time.sleep(min(0.002, max(0.0, next_at - time.perf_counter())))
    submit_s = time.perf_counter() - started
    deadline = time.monotonic() + timeout_s
    while len(received) < len(items) and time.monotonic() < deadline:
        drain(client, received, block_ms=200)
    finished = max(received.values()) if received else time.perf_counter()
    latencies = [(received[t] - submitted[t]) * 1000 for t in received if t in submitted]
    wall_s = finished - started
    return {
        "items": len(items),
        "results": len(received),
        "submit_s": round(submit_s, 2),
        "wall_s": round(wall_s, 2),
        "items_s": round(len(received) / wall_s, 2) if wall_s else None,
        "latency_ms_p50": round(percentile(latencies, 0.50), 1) if latencies else None,
        "latency_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else None,
        "latency_ms_p99": round(percentile(latencies, 0.99), 1) if latencies else None,
    }


def drain(client: QualityGateClient, received: dict[str, float], block_ms: int | None) -> None:
    entries = client.results("bench", "bench", count=1000, block_ms=block_ms)
    now = time.perf_counter()
    for entry in entries:
        if entry.result.task_id:
            received.setdefault(entry.result.task_id, now)
    if entries:
        client.ack([entry.entry_id for entry in entries])


_BUCKET = re.compile(r'^qualitygate_batch_size_bucket\{le="([^"]+)"\} ([0-9.e+]+)$', re.M)


def batch_histogram(metrics_port: int) -> dict[str, int]:
    """Batches per size bucket, from the worker's cumulative Prometheus histogram."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as page:
        text = page.read().decode()
    histogram: dict[str, int] = {}
    below = 0
    previous = "0"
    for bound, cumulative in _BUCKET.findall(text):
        count = int(float(cumulative)) - below
        below += count
        if count:
            histogram[f"{previous}-{bound}" if bound != "+Inf" else f">{previous}"] = count
        previous = bound
    return histogram


def cleanup(url: str, run_id: str) -> None:
    client = redis.Redis.from_url(url)
    for pattern in (f"{run_id}*", f"_kombu.binding*.{run_id}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


def run(args: argparse.Namespace) -> dict[str, Any]:
    model = build_model(args.model, args.max_length)
    run_id = f"qgbench-{uuid.uuid4().hex[:8]}"
    env = worker_env(args, model, run_id)
    os.environ.update(env)
    settings = load_settings()
    items = [item.as_content_item() for item in generate(args.items, E2E_SEED)]
    trickle = [
        item.as_content_item()
        for item in generate(args.trickle_items, E2E_SEED + 1)
        if item.kind == "comment"
    ] or [item.as_content_item() for item in generate(args.trickle_items, E2E_SEED + 1)]

    load_before = load_average()
    baseline = in_process(settings, items) if not args.skip_in_process else None
    client = QualityGateClient(settings=settings)
    client.ensure_group("bench")
    worker = Worker(env)
    try:
        time.sleep(2.0)  # the pool process loads the model after the fork
        burst = submit_and_collect(client, items, rate=0.0, timeout_s=args.timeout_s)
        histogram = batch_histogram(args.metrics_port)
        slow = (
            submit_and_collect(client, trickle, rate=args.trickle_rate, timeout_s=120)
            if trickle and args.trickle_items
            else None
        )
    finally:
        worker.stop()
        client.close()
        cleanup(args.redis_url, run_id)
    return {
        "machine": machine_info("bench.e2e"),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "settings": {
            "model": args.model,
            "items": args.items,
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "flush_ms": args.flush_ms,
            "trickle_rate_items_s": args.trickle_rate,
        },
        "in_process": baseline,
        "worker_burst": burst,
        "worker_vs_in_process": (
            round(burst["items_s"] / baseline["items_s"], 3)
            if baseline and burst["items_s"]
            else None
        ),
        "batch_size_histogram": histogram,
        "worker_trickle": slow,
    }


def print_report(payload: dict[str, Any]) -> None:
    base, burst, slow = payload["in_process"], payload["worker_burst"], payload["worker_trickle"]
    rows: list[list[Any]] = []
    if base:
        rows.append(
            [
                "in-process grade",
                base["items_s"],
                "",
                "",
                "",
                f"1 item: {base['one_item_ms_p50']} ms",
            ]
        )
    rows.append(
        [
            "worker, burst",
            burst["items_s"],
            burst["latency_ms_p50"],
            burst["latency_ms_p95"],
            burst["latency_ms_p99"],
            f"{burst['results']}/{burst['items']} results",
        ]
    )
    if slow:
        rows.append(
            [
                f"worker, {payload['settings']['trickle_rate_items_s']}/s",
                slow["items_s"],
                slow["latency_ms_p50"],
                slow["latency_ms_p95"],
                slow["latency_ms_p99"],
                f"{slow['results']}/{slow['items']} results",
            ]
        )
    s = payload["settings"]
    print_table(
        f"e2e through Redis: {s['items']} items, model {s['model']}, max_length {s['max_length']}, "
        f"batch {s['batch_size']}, flush {s['flush_ms']} ms, load {payload['load_average_before']}",
        ["run", "items/s", "p50 ms", "p95 ms", "p99 ms", "note"],
        rows,
    )
    print(f"worker / in-process throughput: {payload['worker_vs_in_process']} (target >= 0.85)")
    print(f"batch sizes (batches per bucket): {payload['batch_size_histogram']}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--model", default="bench", help="bench | test | a model path")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--flush-ms", type=int, default=200)
    parser.add_argument("--trickle-items", type=int, default=40)
    parser.add_argument("--trickle-rate", type=float, default=1.0, help="items/s")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--metrics-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--timeout-s", type=float, default=3600)
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--name", default="e2e")
    args = parser.parse_args(argv)
    args.metrics_port = args.metrics_port or free_port()
    payload = run(args)
    print_report(payload)
    print(f"wrote {write_results(args.name, payload)}")
    return payload


if __name__ == "__main__":
    main()
