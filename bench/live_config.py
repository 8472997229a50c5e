"""What following the live config costs a worker: the per-batch check, and a switch.

Times, on the real Redis (database ``QG_TEST_REDIS_DB``, keys under a run prefix of their
own, deleted after), ``LiveConfig.refresh`` when the version is unchanged (one GET: paid on
every batch) and when it changed (read the version, validate the overlay over the files,
rebuild rules, adapters and grading around the loaded scorer: paid once per apply), and
what-if replay per result. Prints a table and writes bench/results/live_config.json.

    .venv/bin/python -m bench.live_config
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable

import redis

from bench.common import machine_info, print_table, write_results
from qualitygate.config import load_settings
from qualitygate.live import candidate, new_version
from qualitygate.pipeline import QualityGate
from qualitygate.protocol import Keys
from qualitygate.schemas import GradeResult, ModelInfo
from qualitygate.whatif import regrade, summarise
from workers.live_config import LiveConfig

URL = f"redis://127.0.0.1:6379/{os.environ.get('QG_TEST_REDIS_DB', '15')}"


class NoScorer:
    info = ModelInfo(name="none", revision="0")

    def score(self, pairs: object) -> list[float]:
        raise AssertionError("the benchmark never scores")


def median_ms(runs: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    run = f"qgbench-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        streams=load_settings().streams.model_dump() | {"state_key_prefix": f"{run}:"}
    )
    client = redis.Redis.from_url(URL, decode_responses=True)
    keys = Keys.from_settings(settings)
    live = LiveConfig(settings, client)
    gate = QualityGate(settings, NoScorer())
    try:
        unchanged = median_ms(2000, lambda: live.refresh(gate))
        versions = []
        for i in range(2):
            fragment = {"levels": {"excellent": 0.81 + i / 100}}
            overlay, merged = candidate(settings, {}, fragment)
            record = new_version(merged, overlay, fragment, "bench", "apply")
            client.hset(keys.config_versions, record.version, record.model_dump_json())
            versions.append(record.version)

        turns = [0]

        def switch() -> None:  # alternate between two versions: a switch every call
            turns[0] += 1
            client.set(keys.config_active, versions[turns[0] % 2])
            live.refresh(gate)

        switched = median_ms(50, switch)
    finally:
        for key in client.scan_iter(match=f"{run}:*"):
            client.delete(key)
    results = [
        GradeResult(
            id=str(i),
            status="graded",
            language=("en", "ko", "ja")[i % 3],
            raw_reward=(i % 17) - 8.0,
            config_version="v",
        )
        for i in range(10_000)
    ]
    _, stricter = candidate(settings, {}, {"levels": {"excellent": 0.9}})
    started = time.perf_counter()
    summarise(regrade(results, settings, stricter))
    replay_us = (time.perf_counter() - started) * 1e6 / len(results)
    rows = [
        ["refresh, version unchanged (every batch)", f"{unchanged:.3f} ms"],
        ["refresh, switch to another version (once per apply)", f"{switched:.1f} ms"],
        ["what-if replay, per result (10,000 results)", f"{replay_us:.1f} µs"],
    ]
    print_table("live config", ["what", "median"], rows)
    write_results(
        "live_config",
        {
            "machine": machine_info("bench.live_config"),
            "refresh_unchanged_ms": round(unchanged, 4),
            "refresh_switch_ms": round(switched, 2),
            "whatif_replay_us_per_result": round(replay_us, 2),
        },
    )


if __name__ == "__main__":
    main()
