"""Back-pressure on a real worker: with ``streams.on_full: pause`` it stops consuming
before its results would trim ones the CMS has not read, and resumes when the CMS catches
up; nothing is trimmed unread and every item is graded once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from qualitygate.client import QualityGateClient
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess, wait_for
from workers.backpressure import groups_at_risk

pytestmark = pytest.mark.integration

FULL = {
    "QG_STREAMS__MAXLEN": "100",
    "QG_STREAMS__PAUSE_HEADROOM": "60",
    "QG_STREAMS__FULL_CHECK_MS": "100",
    "QG_STREAMS__ON_FULL": "pause",
    "QG_WORKER__BATCH_SIZE": "4",
}


def test_the_worker_pauses_before_trimming_unread_results_and_resumes(
    namespace: QueueNamespace,
    redis_client: redis.Redis,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    settings = namespace.settings(**FULL)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")  # a CMS that is away: it reads nothing for now
    worker = start_worker(**FULL)
    task_ids = client.submit([{"id": f"item-{i}", "text": f"Post {i}."} for i in range(150)])

    wait_for(lambda: "paused consuming" in worker.log(), 60, "the worker to pause")
    # Celery's consumer itself stopped reading the queue (its log line for cancel_consumer).
    wait_for(lambda: f"Canceling queue {settings.worker.queue}" in worker.log(), 10, "cancel")
    stream = settings.streams.results
    assert groups_at_risk(redis_client, stream, 100, 60) == ["cms"]
    # Paused with items still queued, and none of the results the CMS has not read is gone.
    assert redis_client.llen(settings.worker.queue) > 0
    assert redis_client.xlen(stream) <= 100
    assert client.missed("cms") == []

    entries = read_all(client, 150, timeout_s=90, worker=worker)
    assert "resumed consuming" in worker.log()
    assert sorted(e.result.task_id for e in entries) == sorted(task_ids)
    assert client.missed("cms") == []
