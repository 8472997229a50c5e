"""End-to-end smoke benchmark: items through Redis, one real worker, results back.

Starts one ``qualitygate worker`` (prefork, one process) on its own queue and streams,
submits N items one message each (as a burst, or paced at --rate items/s), reads results
through a consumer group and reports throughput and submit-to-result latency (p50, p95).
Prints a table and writes JSON to bench/results/. Cleans up its Redis keys.

    python bench/e2e_smoke.py --items 1000                      # builds the test model
    python bench/e2e_smoke.py --items 1000 --rate 100 --model /path/to/model
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from qualitygate.client import QualityGateClient
from qualitygate.config import load_settings

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TEXTS = [
    "A short, friendly note about our garden and the tomatoes we grew this summer.",
    "오늘 날씨가 정말 좋네요. 공원에서 산책하면서 사진을 많이 찍었습니다.",
    "今日は友達と一緒に新しいカフェに行きました。コーヒーがとても美味しかったです。",
    "这家餐厅的服务很好，菜的味道也不错，下次还会再来。",
    "Step one: preheat the oven. Step two: mix flour, sugar and butter until smooth.",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    model = args.model
    if model is None:
        from qualitygate.testmodel import make_test_model

        model = str(make_test_model(Path(tempfile.mkdtemp(prefix="qg-bench-model-"))))
    run_id = f"qgbench-{uuid.uuid4().hex[:8]}"
    env = {
        "QG_REDIS__URL": args.redis_url,
        "QG_MODEL__NAME": model,
        "QG_WORKER__QUEUE": f"{run_id}:queue",
        "QG_WORKER__BATCH_SIZE": str(args.batch_size),
        "QG_WORKER__FLUSH_MS": str(args.flush_ms),
        "QG_WORKER__METRICS_PORT": "0",
        "QG_WORKER__CACHE_TTL_S": "0",  # measure scoring, not the cache
        "QG_STREAMS__RESULTS": f"{run_id}:results",
        "QG_STREAMS__DEAD": f"{run_id}:dead",
        "QG_STREAMS__RESULT_KEY_PREFIX": f"{run_id}:result:",
        "QG_STREAMS__STATE_KEY_PREFIX": f"{run_id}:state:",
    }
    os.environ.update(env)
    settings = load_settings()
    client = QualityGateClient(settings=settings)
    client.ensure_group("bench")
    log_path = Path(tempfile.mkdtemp(prefix="qg-bench-")) / "worker.log"
    qualitygate = str(Path(sys.executable).with_name("qualitygate"))
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [qualitygate, "worker", "--loglevel", "INFO"],
            env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "worker ready" not in log_path.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        time.sleep(1.0)  # let the pool process finish loading the model

        submitted: dict[str, float] = {}
        received: dict[str, float] = {}
        interval = 1.0 / args.rate if args.rate else 0.0
        started = time.perf_counter()
        for index in range(args.items):
            item = {"id": f"b{index}", "text": f"{TEXTS[index % len(TEXTS)]} (#{index})"}
            [task_id] = client.submit([item])
            submitted[task_id] = time.perf_counter()
            if interval:
                next_at = started + (index + 1) * interval
                while time.perf_counter() < next_at:
                    _drain(client, received, block_ms=None)
                    time.sleep(min(0.002, max(0.0, next_at - time.perf_counter())))
        submit_s = time.perf_counter() - started
        deadline = time.monotonic() + args.timeout_s
        while len(received) < args.items and time.monotonic() < deadline:
            _drain(client, received, block_ms=200)
        finished = max(received.values()) if received else time.perf_counter()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        _cleanup(redis.Redis.from_url(args.redis_url), run_id)

    latencies_ms = [(received[t] - submitted[t]) * 1000 for t in received if t in submitted]
    wall_s = finished - started
    return {
        "benchmark": "e2e_smoke",
        "items": args.items,
        "results": len(received),
        "mode": f"paced {args.rate}/s" if args.rate else "burst",
        "batch_size": args.batch_size,
        "flush_ms": args.flush_ms,
        "model": model if args.model else "test model (make-test-model)",
        "submit_s": round(submit_s, 3),
        "wall_s": round(wall_s, 3),
        "throughput_items_s": round(len(received) / wall_s, 1) if wall_s else None,
        "latency_ms_p50": round(percentile(latencies_ms, 0.50), 1) if latencies_ms else None,
        "latency_ms_p95": round(percentile(latencies_ms, 0.95), 1) if latencies_ms else None,
        "latency_ms_mean": round(statistics.fmean(latencies_ms), 1) if latencies_ms else None,
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def _drain(client: QualityGateClient, received: dict[str, float], block_ms: int | None) -> None:
    entries = client.results("bench", "bench", count=1000, block_ms=block_ms)
    now = time.perf_counter()
    for entry in entries:
        if entry.result.task_id:
            received.setdefault(entry.result.task_id, now)
    if entries:
        client.ack([entry.entry_id for entry in entries])


def _cleanup(client: redis.Redis, run_id: str) -> None:
    for pattern in (f"{run_id}*", f"_kombu.binding*.{run_id}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.0, help="items/s; 0 submits a burst")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--flush-ms", type=int, default=200)
    parser.add_argument("--model", default=None, help="model path; default builds the test model")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--timeout-s", type=float, default=600)
    args = parser.parse_args()
    report = run(args)
    width = max(len(key) for key in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = RESULTS_DIR / f"e2e_smoke-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
