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

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from qualitygate.client import QualityGateClient, ResultEntry
from qualitygate.config import Settings
from qualitygate.protocol import Keys
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
    "QG_WORKER__REDELIVER_AFTER_S": "8",
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


def pool_child(worker: WorkerProcess) -> int:
    assert worker.process is not None
    found = subprocess.run(
        ["pgrep", "-P", str(worker.process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return int(found[0]) if len(found) == 1 else 0


def five_kills(
    kill: Callable[[], None],
    client: QualityGateClient,
    settings: Settings,
    redis_client: redis.Redis,
) -> tuple[list[str], int]:
    """Kill five times under a steady stream, each time once a batch has been published
    since the last; returns the submitted task ids and how many kills hit held messages."""
    results = settings.streams.results
    held_at_kill = 0
    with SteadyStream(client, every_s=0.05) as stream:
        for _ in range(5):
            seen = redis_client.xlen(results)
            wait_for(lambda s=seen: redis_client.xlen(results) >= s + 8, 60, "a batch")
            held_at_kill += any(
                settings.worker.queue in raw for _, raw in redis_client.hscan_iter("unacked")
            )
            kill()
        time.sleep(0.5)
    assert not stream.errors, stream.errors
    return stream.task_ids, held_at_kill


def test_five_pool_process_kills_under_a_steady_stream_lose_nothing(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    """The pool process dies (OOM killer, a native crash): its batch goes back at once."""
    settings = namespace.settings(**FAST_RECOVERY)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    worker = start_worker(**FAST_RECOVERY)

    killed: list[int] = []

    def kill_child() -> None:
        child = wait_for(lambda: pool_child(worker), 30, "a pool process")
        os.kill(child, signal.SIGKILL)
        killed.append(child)

    submitted, _ = five_kills(
        kill_child, QualityGateClient(settings=settings), settings, redis_client
    )
    entries: list[ResultEntry] = []
    with contextlib.suppress(AssertionError):  # what is missing is reported below
        read_all(client, len(submitted), timeout_s=60, into=entries)
    counts = Counter(entry.result.task_id for entry in entries)
    missing = [t for t in submitted if t not in counts]
    assert not missing, diagnose(redis_client, settings, missing, submitted)  # nothing lost
    assert client.results("cms", "test", count=10, block_ms=1000) == []
    assert max(counts.values()) == 1  # nothing published twice
    assert all(entry.result.status == "graded" for entry in entries)
    assert len(set(killed)) == 5 and worker.process is not None and worker.process.poll() is None
    batches_lost = worker.log().count("was lost")  # kills that landed mid-batch
    print(
        f"\npool SIGKILL x5 ({batches_lost} mid-batch): {len(submitted)} submitted, "
        f"{len(counts)} graded once, {len(missing)} lost"
    )
    client.close()


def test_five_whole_worker_kills_under_a_steady_stream(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    """The whole worker dies (container OOM, node loss). Messages it had received are
    restored after the visibility timeout and graded once. kombu's Redis transport takes a
    message with BRPOP and records it as unacknowledged only after it has read the reply,
    so a SIGKILL in between loses that message from the broker (celery/kombu#305); the
    redelivery sweep sends it again from the client's in-flight record after
    ``worker.redeliver_after_s``, so nothing is lost and nothing is graded twice."""
    settings = namespace.settings(**FAST_RECOVERY)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    workers = [start_worker(**FAST_RECOVERY)]

    def kill_and_restart() -> None:
        workers[-1].kill()
        workers.append(start_worker(**FAST_RECOVERY))

    submitted, held = five_kills(
        kill_and_restart, QualityGateClient(settings=settings), settings, redis_client
    )
    assert held >= 3, "most kills should land while the worker holds messages"
    entries: list[ResultEntry] = []
    quiet: list[bool] = []

    def settled() -> bool:
        """All results in, or nothing left anywhere that could still become one."""
        batch = client.results("cms", "test", count=500, block_ms=200)
        client.ack([entry.entry_id for entry in batch])
        entries.extend(batch)
        if len(entries) >= len(submitted):
            return True
        held = any(settings.worker.queue in raw for _, raw in redis_client.hscan_iter("unacked"))
        in_flight = redis_client.hlen(Keys.from_settings(settings).in_flight_payloads)
        idle = not batch and not held and redis_client.llen(settings.worker.queue) == 0
        quiet.append(idle and in_flight == 0)
        return quiet[-3:] == [True, True, True]  # three polls in a row, 200 ms apart

    wait_for(settled, 120, "the queue to drain", every_s=0)
    counts = Counter(entry.result.task_id for entry in entries)
    missing = [t for t in submitted if t not in counts]
    report = diagnose(redis_client, settings, missing, submitted)
    print(f"\nworker SIGKILL x5: {len(submitted)} submitted, {len(counts)} graded, {report}")
    assert not missing, report  # nothing lost
    assert max(counts.values()) == 1  # nothing published twice
    assert all(entry.result.status == "graded" for entry in entries)
    client.close()


def diagnose(
    client: redis.Redis, settings: Settings, missing: list[str], submitted: list[str]
) -> str:
    queue = client.lrange(settings.worker.queue, 0, -1)
    unacked = [raw for _, raw in client.hscan_iter("unacked")]
    lines = []
    for task_id in missing:
        state = [
            k for k in client.scan_iter(match=f"{settings.streams.state_key_prefix}*{task_id}*")
        ]
        lines.append(
            f"{task_id} #{submitted.index(task_id)}: in queue {any(task_id in m for m in queue)},"
            f" unacked {any(task_id in m for m in unacked)}, state {state}"
        )
    return "lost:\n" + "\n".join(lines)


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
