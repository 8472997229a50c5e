"""Redis Sentinel failovers under load: what a failover loses, duplicates and costs in time.

Starts a master, a replica and three sentinels on loopback (``tests/support/sentinel.py``),
one ``qualitygate worker`` on the tiny test model and two clients (one submitting an item
every 50 ms, one reading results with a consumer group), then SIGKILLs the master
``--failovers`` times. After each failover the killed node comes back as a replica, so the
next one has something to promote. Per failover: submissions acknowledged (``submit``
returned a task id), refused, lost (acknowledged, no result on the stream by the
deadline), duplicates on the results stream (must be 0), the time until the sentinels
promoted the replica, and the time until the first result of an item submitted after the
kill reached the reader. Writes ``bench/results/failover.json``.

    .venv/bin/python -m bench.failover
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import machine_info, print_table, write_results
from qualitygate.testmodel import make_test_model
from tests.support.failover import FAST_RECOVERY, one_failover
from tests.support.sentinel import SentinelCluster
from tests.support.workers import QueueNamespace, WorkerProcess


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="qg-failover-"))
    cluster = SentinelCluster(workdir).start()
    worker: WorkerProcess | None = None
    rounds = []
    try:
        space = QueueNamespace(make_test_model(workdir / "model"), redis_url=cluster.url)
        space.env |= cluster.env | FAST_RECOVERY
        settings = space.settings()
        worker = WorkerProcess(space.env, workdir / f"worker-{uuid.uuid4().hex[:6]}.log").start()
        for index in range(args.failovers):
            report = one_failover(cluster, settings, args.before, args.after, args.settle_s)
            report.pop("lost_ids")
            rounds.append({"failover": index + 1, **report})
            print(f"failover {index + 1}: {report}", flush=True)
            cluster.restart_as_replica(report["old_master"], report["new_master"])
        alive = worker.process is not None and worker.process.poll() is None
    finally:
        if worker is not None:
            worker.stop()
        cluster.stop()
    return {
        "machine": machine_info("bench.failover"),
        "settings": {
            "sentinel_down_after_ms": cluster.down_after_ms,
            "submit_interval_s": 0.05,
            "before_kill": args.before,
            "after_promotion": args.after,
            "appendonly": "yes, appendfsync everysec",
            "min_replicas_to_write": 0,
            **{k.removeprefix("QG_WORKER__").lower(): v for k, v in FAST_RECOVERY.items()},
        },
        "worker_survived_every_failover": alive,
        "totals": totals(rounds),
        "failovers": rounds,
    }


def totals(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def column(name: str) -> list[float]:
        return [r[name] for r in rounds if r[name] is not None]

    return {
        "failovers": len(rounds),
        "acknowledged": sum(column("acknowledged")),
        "refused_during_failover": sum(column("refused_during_failover")),
        "lost_acknowledged": sum(column("lost")),
        "duplicates_on_stream": sum(column("duplicates_on_stream")),
        "promotion_s_max": max(column("promotion_s"), default=None),
        "recovery_s_mean": round(sum(column("recovery_s")) / max(1, len(column("recovery_s"))), 3),
        "recovery_s_max": max(column("recovery_s"), default=None),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failovers", type=int, default=5)
    parser.add_argument("--before", type=int, default=40, help="submissions before the kill")
    parser.add_argument("--after", type=int, default=40, help="submissions after promotion")
    parser.add_argument("--settle-s", type=float, default=40)
    parser.add_argument("--name", default="failover")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    payload = run(args)
    rows = [
        [r["failover"], r["acknowledged"], r["refused_during_failover"], r["lost"],
         r["duplicates_on_stream"], r["promotion_s"], r["recovery_s"]]
        for r in payload["failovers"]
    ]  # fmt: skip
    t = payload["totals"]
    rows.append(["all", t["acknowledged"], t["refused_during_failover"], t["lost_acknowledged"],
                 t["duplicates_on_stream"], t["promotion_s_max"], t["recovery_s_max"]])  # fmt: skip
    print_table(
        "Sentinel failovers under a steady stream (master SIGKILLed)",
        ["failover", "acknowledged", "refused", "lost", "duplicates", "promote s", "recover s"],
        rows,
    )
    print(f"wrote {write_results(args.name, payload)}")
    return payload


if __name__ == "__main__":
    main()
