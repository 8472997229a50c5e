"""A message that kills the worker process every time it is scored ends in the dead stream
after the bounded retries, and the queue behind it keeps moving.

The crash is the test-only hook in tests/support/crash_hook.py, which the worker loads
from its environment: the pool process calls ``os._exit`` while scoring a text with the
marker.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest
import redis

from qualitygate.client import QualityGateClient
from tests.support.crash_hook import crash_hook_env
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess

pytestmark = pytest.mark.integration

MARKER = "POISON-7f3a"


def item(index: int, text: str | None = None) -> dict[str, object]:
    return {"id": f"item-{index}", "text": text or f"Post {index}: notes on our garden beds."}


def test_a_message_that_kills_the_worker_every_time_ends_in_the_dead_stream(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    env = {**crash_hook_env(MARKER), "QG_WORKER__MAX_RETRIES": "2"}
    settings = namespace.settings(**env)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    worker = start_worker(**env)
    before = [item(i) for i in range(10)]
    poison = item(10, f"A friendly post with a hidden {MARKER} inside it.")
    after = [item(i) for i in range(11, 41)]
    task_ids = client.submit([*before, poison, *after])
    poison_task = task_ids[10]

    entries = read_all(client, len(task_ids), timeout_s=90, worker=worker)
    assert client.results("cms", "test", count=10, block_ms=500) == []
    counts = Counter(entry.result.task_id for entry in entries)
    assert counts == Counter(task_ids)  # exactly one result per message, poison included
    by_task = {entry.result.task_id: entry.result for entry in entries}
    dead_result = by_task[poison_task]
    assert dead_result.status == "error" and dead_result.error is not None
    assert dead_result.error.code == "scoring_failed", dead_result.error
    assert dead_result.attempts == 3  # max_retries + 1
    assert MARKER not in json.dumps(dead_result.error.model_dump())
    assert all(by_task[t].status == "graded" for t in task_ids if t != poison_task)

    dead = redis_client.xrange(settings.streams.dead)
    assert [fields["task_id"] for _, fields in dead] == [poison_task]
    assert json.loads(dead[0][1]["payload"])["text"] == poison["text"]  # kept to inspect
    # The main process survived all of it and kept consuming.
    assert worker.process is not None and worker.process.poll() is None
    assert worker.log().count("was lost") >= 3  # one lost pool process per attempt
    client.close()
