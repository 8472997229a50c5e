"""The CMS client on the real Redis: consumer groups, acknowledgement, reclaiming."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import redis

from qualitygate.client import QualityGateClient
from qualitygate.errors import InvalidItemError
from qualitygate.schemas import GradeResult
from tests.support.workers import QueueNamespace
from workers.publish import Outgoing, ResultPublisher

pytestmark = pytest.mark.integration

DYING_CONSUMER = """
import os, sys
from qualitygate.client import QualityGateClient
client = QualityGateClient()
entries = client.results("cms", "web-1", count=int(sys.argv[1]), block_ms=1000)
print(len(entries), flush=True)
os._exit(0)  # dies without acknowledging anything
"""


def publish_results(settings, count: int) -> list[str]:
    publisher = ResultPublisher.from_settings(settings)
    outgoing = [
        Outgoing(
            GradeResult(id=f"r{i}", status="graded", config_version=settings.version),
            task_id=f"task-{i}",
        )
        for i in range(count)
    ]
    assert publisher.publish(outgoing) == [True] * count
    assert publisher.publish(outgoing[:2]) == [False, False]  # once per task id
    return [out.task_id for out in outgoing]


def test_dead_consumers_entries_are_reclaimed(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    settings = namespace.settings(QG_STREAMS__RECLAIM_IDLE_MS="300")
    publish_results(settings, 10)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")

    dying = subprocess.run(
        [sys.executable, "-c", DYING_CONSUMER, "6"],
        env={**os.environ, **namespace.env, "QG_STREAMS__RECLAIM_IDLE_MS": "300"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert dying.stdout.strip() == "6"
    pending = redis_client.xpending(settings.streams.results, "cms")
    assert pending["pending"] == 6 and pending["consumers"][0]["name"] == "web-1"

    # Right away the six are not idle long enough: web-2 gets the four nobody read.
    fresh = client.results("cms", "web-2", count=100, block_ms=100)
    assert [entry.result.id for entry in fresh] == [f"r{i}" for i in range(6, 10)]
    client.ack([entry.entry_id for entry in fresh])

    time.sleep(0.4)  # web-1 is gone: its entries pass the reclaim idle time
    reclaimed = client.results("cms", "web-2", count=100, block_ms=100)
    assert sorted(entry.result.id for entry in reclaimed) == [f"r{i}" for i in range(6)]
    assert client.ack([entry.entry_id for entry in reclaimed]) == 6
    assert redis_client.xpending(settings.streams.results, "cms")["pending"] == 0
    assert client.results("cms", "web-2", count=100, block_ms=100) == []
    client.close()


def test_submit_validates_before_sending(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    settings = namespace.settings()
    client = QualityGateClient(settings=settings)
    with pytest.raises(InvalidItemError, match=r"items\[1\]: text"):
        client.submit([{"id": "a", "text": "fine"}, {"id": "b"}])
    assert redis_client.llen(settings.worker.queue) == 0  # all or nothing
    task_ids = client.submit([{"id": "a", "text": "fine"}, {"id": "b"}], validate=False)
    assert len(set(task_ids)) == 2 and redis_client.llen(settings.worker.queue) == 2
    assert client.get("nothing-here") is None
    client.close()


def test_an_entry_the_client_cannot_read_never_blocks_the_others(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    settings = namespace.settings()
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    stream = settings.streams.results
    newer = GradeResult(id="newer", status="graded", config_version="v").model_dump(mode="json")
    redis_client.xadd(stream, {"result": json.dumps(newer | {"field_from_a_newer_worker": 1})})
    redis_client.xadd(stream, {"result": "not a result at all"})
    redis_client.xadd(stream, {"unexpected": "shape"})
    publish_results(settings, 2)
    entries = client.results("cms", "web-1", count=10, block_ms=500)
    assert [entry.result.id for entry in entries] == ["newer", "r0", "r1"]
    # The unreadable ones stay pending for an operator (XPENDING), not lost.
    assert redis_client.xpending(stream, "cms")["pending"] == 5
    client.close()
