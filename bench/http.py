"""The HTTP API's cost: one worker, items through ``qualitygate serve`` against the Python
client, plus the client's thread-safety strategies compared.

Starts one real ``qualitygate worker`` (the tiny test model by default: the model is not
what is measured) and one real ``qualitygate serve`` on a free loopback port, on a private
namespace of the real Redis. The same seeded items go four ways: the Python client
(``submit``, one message per call) and the API (one ``POST /v1/items`` per item, httpx)
as a burst, then both again trickled at a fixed rate, where submit-to-result latency is
flush time plus one forward pass plus what the path adds. Results are read through a
consumer group: the client's own for the client runs, ``GET /v1/results`` and
``POST /v1/results/ack`` for the API runs. A last table times ``submit_once`` from 8
threads sharing one client, with the per-thread kombu producers it uses and with one
producer behind a lock. Targets: the API costs < 10% of throughput and < 5 ms p50.

    .venv/bin/python -m bench.http                       # 1,000 items, test model
    .venv/bin/python -m bench.http --items 300 --trickle-items 40
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.common import load_average, machine_info, print_table, write_results
from bench.corpus import generate
from bench.e2e import E2E_SEED, Worker, build_model, cleanup, free_port, percentile, worker_env
from qualitygate.client import QualityGateClient
from qualitygate.config import load_settings

Drain = Callable[[dict[str, float], int | None], None]
Submit = Callable[[dict[str, Any]], str]


class Server:
    """One ``qualitygate serve`` subprocess; ready once /healthz answers."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        qualitygate = str(Path(sys.executable).with_name("qualitygate"))
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [qualitygate, "serve", "--port", str(port)],
            env=os.environ | env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("qualitygate serve did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def client_path(client: QualityGateClient) -> tuple[Submit, Drain]:
    def submit(item: dict[str, Any]) -> str:
        return client.submit([item])[0]

    def drain(received: dict[str, float], block_ms: int | None) -> None:
        entries = client.results("bench-py", "bench", count=1000, block_ms=block_ms)
        now = time.perf_counter()
        for entry in entries:
            received.setdefault(entry.result.task_id or "", now)
        if entries:
            client.ack([entry.entry_id for entry in entries], group="bench-py")

    return submit, drain


def api_path(http: httpx.Client) -> tuple[Submit, Drain]:
    def submit(item: dict[str, Any]) -> str:
        response = http.post("/v1/items", json=item)
        response.raise_for_status()
        return str(response.json()["task_ids"][0])

    def drain(received: dict[str, float], block_ms: int | None) -> None:
        query = {"group": "bench-http", "consumer": "bench", "count": 1000}
        entries = http.get("/v1/results", params=query | {"block_ms": block_ms or 0}).json()
        now = time.perf_counter()
        for entry in entries["entries"]:
            received.setdefault(entry["result"]["task_id"] or "", now)
        if entries["entries"]:
            ids = [entry["entry_id"] for entry in entries["entries"]]
            http.post("/v1/results/ack", json={"group": "bench-http", "entry_ids": ids})

    return submit, drain


def measure(
    submit: Submit, drain: Drain, items: list[dict[str, Any]], rate: float, timeout_s: float
) -> dict[str, Any]:
    """Submit each item (a burst, or ``rate`` per second) while a reader thread long-polls
    results (``block_ms`` 100, as a CMS would), and time each one's result and each call."""
    submitted: dict[str, float] = {}
    received: dict[str, float] = {}
    calls: list[float] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            drain(received, 100)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    interval = 1.0 / rate if rate else 0.0
    started = time.perf_counter()
    for index, item in enumerate(items):
        began = time.perf_counter()
        task_id = submit(item)
        submitted[task_id] = time.perf_counter()
        calls.append((submitted[task_id] - began) * 1000)
        if interval:
            time.sleep(max(0.0, started + (index + 1) * interval - time.perf_counter()))
    submit_s = time.perf_counter() - started
    deadline = time.monotonic() + timeout_s
    while len(set(submitted) & set(received)) < len(items) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    reader.join()
    done = [t for t in submitted if t in received]
    latencies = [(received[t] - submitted[t]) * 1000 for t in done]
    wall_s = (max(received[t] for t in done) if done else time.perf_counter()) - started
    return {
        "items": len(items),
        "results": len(done),
        "submit_items_s": round(len(items) / submit_s, 1),
        "submit_call_ms_p50": round(percentile(calls, 0.50), 2),
        "submit_call_ms_p99": round(percentile(calls, 0.99), 2),
        "items_s": round(len(done) / wall_s, 2) if wall_s else None,
        "latency_ms_p50": round(percentile(latencies, 0.50), 1) if latencies else None,
        "latency_ms_p99": round(percentile(latencies, 0.99), 1) if latencies else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    model = build_model(args.model, 512)
    run_id = f"qgbench-{uuid.uuid4().hex[:8]}"
    key = "qg_" + secrets.token_urlsafe(32)
    env = worker_env(args, model, run_id) | {
        "QG_API__KEYS": json.dumps(
            [
                {
                    "name": "bench",
                    "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
                    "scopes": ["submit", "read"],
                    "rate_limit": {"requests": 1_000_000, "window_s": 1},
                }
            ]
        )
    }
    os.environ.update(env)
    settings = load_settings()
    corpus = [item.as_content_item() for item in generate(args.items * 2, E2E_SEED)]
    py_items, api_items = corpus[: args.items], corpus[args.items :]
    trickle = [item.as_content_item() for item in generate(args.trickle_items * 2, E2E_SEED + 1)]
    load_before = load_average()
    client = QualityGateClient(settings=settings)
    for group in ("bench-py", "bench-http"):
        client.ensure_group(group)
    worker = Worker(env)
    server = Server(env, free_port())
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
    runs: dict[str, Any] = {}
    try:
        time.sleep(2.0)  # the pool process loads the model after the fork
        py, api = client_path(client), api_path(http)
        measure(*py, corpus[:20], 0.0, 60)  # warm both paths and the model
        measure(*api, trickle[-20:], 0.0, 60)
        runs["client_burst"] = measure(*py, py_items, 0.0, args.timeout_s)
        runs["api_burst"] = measure(*api, api_items, 0.0, args.timeout_s)
        half = args.trickle_items
        runs["client_trickle"] = measure(*py, trickle[:half], args.trickle_rate, 120)
        runs["api_trickle"] = measure(*api, trickle[half : 2 * half], args.trickle_rate, 120)
    finally:
        http.close()
        server.stop()
        worker.stop()
        client.close()
    strategies = thread_strategies(settings, args.thread_items)
    cleanup(args.redis_url, run_id)
    return {
        "machine": machine_info("bench.http"),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "settings": {
            "model": args.model,
            "items": args.items,
            "batch_size": args.batch_size,
            "flush_ms": args.flush_ms,
            "trickle_rate_items_s": args.trickle_rate,
            "trickle_items": args.trickle_items,
        },
        "runs": runs,
        "api_throughput_vs_client": ratio(runs["api_burst"], runs["client_burst"]),
        "api_added_p50_ms_trickle": round(
            runs["api_trickle"]["latency_ms_p50"] - runs["client_trickle"]["latency_ms_p50"], 1
        ),
        "api_added_submit_call_p50_ms": round(
            runs["api_trickle"]["submit_call_ms_p50"]
            - runs["client_trickle"]["submit_call_ms_p50"],
            2,
        ),
        "thread_strategies": strategies,
    }


def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    return round(a["items_s"] / b["items_s"], 3) if a["items_s"] and b["items_s"] else None


class PerThreadClient(QualityGateClient):
    """The alternative the client does not use: a kombu connection and producer per thread
    instead of one producer behind a lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._connections: list[Any] = []

    def _send(self, messages: Any) -> None:
        producer = getattr(self._local, "producer", None)
        if producer is None:
            from kombu import Connection

            connection = Connection(self._url)
            self._connections.append(connection)
            producer = self._local.producer = connection.Producer()
        self._publish(producer, messages)

    def close(self) -> None:
        for connection in self._connections:
            connection.release()
        super().close()


def thread_strategies(settings: Any, items: int, threads: int = 8) -> dict[str, Any]:
    """``submit_once`` from ``threads`` threads on one client: items/s per strategy, each
    measured twice, alternating (the box is shared and noisy)."""
    out: dict[str, Any] = {}
    kinds = [("per_thread_producer", PerThreadClient), ("one_producer_lock", QualityGateClient)]
    for name, cls in kinds * 2:
        client = cls(settings=settings)
        per_thread = items // threads
        tag = uuid.uuid4().hex[:6]

        def work(t: int, client: Any = client, tag: str = tag, k: int = per_thread) -> None:
            for n in range(k):
                client.submit_once([{"id": f"{tag}-{t}-{n}", "text": "thread strategy probe"}])

        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        started = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        wall = time.perf_counter() - started
        entry = out.setdefault(name, {"threads": threads, "items": per_thread * threads})
        entry.setdefault("items_s", []).append(round(per_thread * threads / wall, 1))
        client.close()
    return out


def print_report(payload: dict[str, Any]) -> None:
    runs = payload["runs"]
    rows = [
        [
            name.replace("_", ", "),
            r["items_s"],
            r["submit_items_s"],
            r["latency_ms_p50"],
            r["latency_ms_p99"],
            r["submit_call_ms_p50"],
            r["submit_call_ms_p99"],
            f"{r['results']}/{r['items']}",
        ]
        for name, r in runs.items()
    ]
    s = payload["settings"]
    print_table(
        f"HTTP API vs Python client: model {s['model']}, batch {s['batch_size']}, flush "
        f"{s['flush_ms']} ms, trickle {s['trickle_rate_items_s']}/s, load "
        f"{payload['load_average_before']}",
        ["run", "items/s", "submit/s", "p50 ms", "p99 ms", "call p50 ms", "call p99 ms", "results"],
        rows,
    )
    print(f"API / client throughput (burst): {payload['api_throughput_vs_client']} (target >= 0.9)")
    print(f"API added p50, submit to result: {payload['api_added_p50_ms_trickle']} ms")
    print(
        f"API added p50 per submit call: {payload['api_added_submit_call_p50_ms']} ms (target < 5)"
    )
    print_table(
        "submit_once from 8 threads on one client",
        ["strategy", "items/s"],
        [[k, " / ".join(map(str, v["items_s"]))] for k, v in payload["thread_strategies"].items()],
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--model", default="test", help="test | bench | a model path")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--flush-ms", type=int, default=50)
    parser.add_argument("--trickle-items", type=int, default=60)
    parser.add_argument("--trickle-rate", type=float, default=1.0, help="items/s")
    parser.add_argument("--thread-items", type=int, default=4000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--metrics-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--timeout-s", type=float, default=1800)
    parser.add_argument("--name", default="http")
    args = parser.parse_args(argv)
    args.max_length = 512
    args.metrics_port = args.metrics_port or free_port()
    payload = run(args)
    print_report(payload)
    print(f"wrote {write_results(args.name, payload)}")
    return payload


if __name__ == "__main__":
    main()
