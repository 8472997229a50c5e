"""The redelivery sweep on the real Redis: a message the broker lost is sent again,
once a result exists nothing is, and one sweep runs at a time."""

from __future__ import annotations

import json

import pytest
import redis
from celery import Celery

from qualitygate.client import QualityGateClient
from qualitygate.protocol import Keys, celery_settings
from qualitygate.schemas import GradeResult
from tests.support.workers import QueueNamespace
from workers.publish import Outgoing, ResultPublisher
from workers.redeliver import Redeliverer

pytestmark = pytest.mark.integration


def queued_task_ids(redis_client: redis.Redis, queue: str) -> list[str]:
    return [json.loads(raw)["headers"]["id"] for raw in redis_client.lrange(queue, 0, -1)]


def test_a_message_lost_in_transit_is_sent_again_once_and_forgotten_when_published(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    settings = namespace.settings()
    client = QualityGateClient(settings=settings)
    lost, answered = client.submit([{"id": "a", "text": "one"}, {"id": "b", "text": "two"}])
    queue = settings.worker.queue
    assert sorted(queued_task_ids(redis_client, queue)) == sorted([lost, answered])
    redis_client.delete(queue)  # what a worker killed right after BRPOP leaves behind
    ResultPublisher.from_settings(settings).publish(
        [Outgoing(GradeResult(id="b", status="graded", config_version="v"), answered)]
    )
    keys = Keys.from_settings(settings)
    payloads, sent_at = keys.in_flight_payloads, keys.in_flight_sent_at
    assert redis_client.hkeys(payloads) == [lost]  # publishing cleared the answered one

    app = Celery("redeliver-test", set_as_current=False)
    app.conf.update(celery_settings(settings) | {"broker_url": settings.redis.url})
    sweeper = Redeliverer(app, settings, redis_client)
    too_early = float(redis_client.zscore(sent_at, lost) or 0) + 1
    assert sweeper.sweep(now=too_early) == 0  # younger than redeliver_after_s
    redis_client.delete(sweeper.lock_key)
    late = too_early + settings.worker.redeliver_after_s
    assert sweeper.sweep(now=late) == 1
    assert queued_task_ids(redis_client, queue) == [lost]
    message = json.loads(redis_client.lindex(queue, 0))
    assert message["headers"]["task"] == "qualitygate.grade"
    assert sweeper.sweep(now=late) == 0  # the lock: one sweep per scan interval
    redis_client.delete(sweeper.lock_key)
    assert sweeper.sweep(now=late + 1) == 0  # sent again just now: not yet stale
    client.close()
    app.close()
