"""Callback deliveries per second: a real ``qualitygate deliver`` process, the real Redis,
and a local HTTP receiver that verifies every signature.

For each receiver latency and concurrency, publishes N results (with the real publisher
and an origin record each, as the API writes them) to a fresh namespace in Redis database
15, starts ``qualitygate deliver`` and times from its "ready" line to the last entry
acknowledged. The receiver is a ``ThreadingHTTPServer`` in this process, so on a small
machine it shares the cores with the deliverer and the numbers are a floor; its latency
(``--latency-ms``) stands for a CMS's handler and the network, which concurrency hides.
Prints a table and writes bench/results/deliver.json.

    .venv/bin/python -m bench.deliver            # about 2 minutes
    .venv/bin/python -m bench.deliver --items 500 --concurrency 1 4 --latency-ms 50
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis
import yaml

from bench.common import machine_info, print_table, write_results
from callbacks.signing import verify
from qualitygate.config import load_settings
from qualitygate.protocol import Keys
from qualitygate.schemas import GradeResult
from workers.publish import Outgoing, ResultPublisher

REDIS_URL = "redis://127.0.0.1:6379/15"
SECRET = "bench-callback-secret-0123456789"
QUALITYGATE = str(Path(sys.executable).with_name("qualitygate"))


class Counting(BaseHTTPRequestHandler):
    """Verifies the signature and counts; 401 for a bad one (none expected)."""

    verified = 0
    refused = 0
    delay_s = 0.0  # the receiver's own latency (a CMS's handler, the network)
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        good = verify(SECRET, body, self.headers.get("X-Qualitygate-Signature", ""))
        if Counting.delay_s:
            time.sleep(Counting.delay_s)
        with Counting.lock:
            if good:
                Counting.verified += 1
            else:
                Counting.refused += 1
        self.send_response(204 if good else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    # http.server listens with a backlog of 5: more simultaneous connects are dropped and
    # retried by the client's TCP a second later, which made concurrency 8 look slower.
    request_queue_size = 128


def namespace_env(run: str) -> dict[str, str]:
    return {
        "QG_REDIS__URL": REDIS_URL,
        "QG_STREAMS__RESULTS": f"{run}:results",
        "QG_STREAMS__DEAD": f"{run}:dead",
        "QG_STREAMS__DEAD_DELIVERIES": f"{run}:dead-deliveries",
        "QG_STREAMS__RESULT_KEY_PREFIX": f"{run}:result:",
        "QG_STREAMS__STATE_KEY_PREFIX": f"{run}:state:",
    }


def publish(env: dict[str, str], items: int) -> None:
    os.environ.update(env)
    settings = load_settings()
    keys = Keys.from_settings(settings)
    publisher = ResultPublisher.from_settings(settings)
    pipe = publisher.redis.pipeline(transaction=False)
    outgoing = []
    for i in range(items):
        result = GradeResult(id=f"item-{i}", status="graded", config_version="v", score=0.5)
        outgoing.append(Outgoing(result, f"task-{i}"))
        pipe.set(keys.origin(result.id), "key:bench")
    pipe.execute()
    for start in range(0, items, 500):
        publisher.publish(outgoing[start : start + 500])


def run_once(items: int, concurrency: int, port: int) -> dict[str, Any]:
    run = f"qgbench-{uuid.uuid4().hex[:10]}"
    env = namespace_env(run)
    publish(env, items)
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    section = {
        "callbacks": {"bench": {"url": f"http://127.0.0.1:{port}/hook", "secret": SECRET}},
        "routes": {"key:bench": "bench"},
        "allow_hosts": ["127.0.0.1"],
        "allow_private": ["127.0.0.1/32"],
        "concurrency": concurrency,
        "batch_size": max(16, 2 * concurrency),
        "block_ms": 100,
    }
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "deliver.yaml"
        config.write_text(yaml.safe_dump({"delivery": section}), encoding="utf-8")
        log = Path(folder) / "deliver.log"
        before = Counting.verified
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [QUALITYGATE, "deliver", "--config", str(config)],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            while "deliver ready" not in log.read_text(errors="replace"):
                if process.poll() is not None:
                    raise SystemExit(f"deliver exited:\n{log.read_text(errors='replace')}")
                time.sleep(0.01)
            started = time.perf_counter()
            while not _settled(client, env["QG_STREAMS__RESULTS"]):
                time.sleep(0.01)
            seconds = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=30)
    for key in client.scan_iter(match=f"{run}*", count=1000):
        client.delete(key)
    delivered = Counting.verified - before
    return {
        "items": items,
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "deliveries_per_s": round(delivered / seconds, 1),
        "verified": delivered,
    }


def _settled(client: redis.Redis, stream: str) -> bool:
    groups = client.xinfo_groups(stream)
    return bool(groups) and groups[0]["pending"] == 0 and groups[0]["lag"] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument(
        "--latency-ms", type=float, nargs="+", default=[0.0, 20.0], help="receiver latencies"
    )
    args = parser.parse_args()
    server = _Server(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    runs = []
    for latency_ms in args.latency_ms:
        Counting.delay_s = latency_ms / 1000
        for concurrency in args.concurrency:
            runs.append(run_once(args.items, concurrency, port) | {"latency_ms": latency_ms})
    server.shutdown()
    print_table(
        "qualitygate deliver: signed callbacks to a local receiver",
        ["receiver latency ms", "items", "concurrency", "seconds", "deliveries/s", "verified"],
        [
            [
                r["latency_ms"],
                r["items"],
                r["concurrency"],
                r["seconds"],
                r["deliveries_per_s"],
                r["verified"],
            ]
            for r in runs
        ],
    )
    write_results(
        "deliver",
        {"machine": machine_info("bench.deliver"), "runs": runs, "refused": Counting.refused},
    )


if __name__ == "__main__":
    main()
