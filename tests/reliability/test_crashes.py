"""Crashes lose nothing: SIGKILL the worker five times under a steady stream; stop Redis
and start it again while the worker runs.

Which process is killed: the whole worker (main process and pool child, one SIGKILL to
the process group), because that is what an OOM kill of the container or a node loss
does and it is the harder case: the messages held in the main process's buffer and the
batch in the child are both unacknowledged and come back only through kombu's restore of
unacked messages after the visibility timeout. Killing only the pool child is covered by
tests/integration/test_worker.py (the batch is handed back at once) and by test_poison.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from qualitygate.client import QualityGateClient
from tests.support.redis_server import RedisServer
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess, forget_namespace, wait_for

pytestmark = pytest.mark.integration

# Messages a killed worker held come back after the visibility timeout (kombu restores
# unacked messages older than it, swept every second here).
FAST_RECOVERY = {
    "QG_WORKER__SOFT_TIME_LIMIT_S": "3",
    "QG_WORKER__TIME_LIMIT_S": "4",
    "QG_WORKER__VISIBILITY_TIMEOUT_S": "5",
    "QG_WORKER__UNACKED_RESTORE_INTERVAL_S": "1",
    "QG_WORKER__UNACKED_MUTEX_EXPIRE_S": "3",
    "QG_WORKER__BATCH_SIZE": "8",
}


def item(index: int) -> dict[str, object]:
    return {"id": f"item-{index}", "text": f"Post {index}: what we planted this spring."}


class SteadyStream:
    """Submits one item every ``every_s`` from a thread until stopped; remembers ids."""

    def __init__(self, client: QualityGateClient, every_s: float) -> None:
        self.client = client
        self.every_s = every_s
        self.task_ids: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            try:
                self.task_ids += self.client.submit([item(index)])
                index += 1
            except Exception as exc:  # pragma: no cover - reported by the test
                self.errors.append(exc)
                return
            self._stop.wait(self.every_s)

    def __enter__(self) -> SteadyStream:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_five_sigkills_under_a_steady_stream_lose_nothing(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    settings = namespace.settings(**FAST_RECOVERY)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    submitter = QualityGateClient(settings=settings)
    results = settings.streams.results
    kills_mid_batch = 0
    worker = start_worker(**FAST_RECOVERY)
    with SteadyStream(submitter, every_s=0.02) as stream:
        for _ in range(5):
            seen = redis_client.xlen(results)
            wait_for(lambda s=seen: redis_client.xlen(results) >= s + 8, 60, "a batch")
            held = [
                tag
                for tag, raw in redis_client.hscan_iter("unacked")
                if settings.worker.queue in raw
            ]
            kills_mid_batch += bool(held)
            worker.kill()
            worker = start_worker(**FAST_RECOVERY)
        time.sleep(0.5)
    assert not stream.errors, stream.errors
    submitted = stream.task_ids
    assert len(submitted) > 100

    entries = read_all(client, len(submitted), timeout_s=120, worker=worker)
    assert client.results("cms", "test", count=10, block_ms=1500) == []
    counts = Counter(entry.result.task_id for entry in entries)
    assert set(counts) == set(submitted)  # nothing lost
    assert max(counts.values()) == 1  # nothing published twice
    assert all(entry.result.status == "graded" for entry in entries)
    assert kills_mid_batch >= 3, "most kills should land while messages are held"
    print(f"\nSIGKILL x5: {len(submitted)} submitted, {len(counts)} graded once each")
    client.close()
    submitter.close()


def test_the_worker_reconnects_after_redis_restarts(
    test_model_dir: Path,
    private_redis: RedisServer,
    start_worker_on: Callable[..., WorkerProcess],
) -> None:
    space = QueueNamespace(test_model_dir, redis_url=private_redis.url)
    settings = space.settings()
    worker = start_worker_on(space)
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        first = client.submit([item(i) for i in range(20)])
        assert {e.result.task_id for e in read_all(client, 20, 60, worker)} == set(first)

    private_redis.kill()  # no persistence: the queue and the streams are gone
    time.sleep(2)
    assert worker.process is not None and worker.process.poll() is None
    private_redis.start()

    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        after = client.submit([item(i) for i in range(100, 140)])
        entries = read_all(client, 40, timeout_s=90, worker=worker)
        assert {e.result.task_id for e in entries} == set(after)
        assert all(e.result.status == "graded" for e in entries)
    assert worker.process.poll() is None  # the same worker, reconnected by itself
    with private_redis.client() as raw:
        forget_namespace(raw, space)
