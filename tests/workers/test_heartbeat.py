"""The worker heartbeat: a field per node in ``Keys.workers``, refreshed while the worker
lives and removed on a clean shutdown."""

from __future__ import annotations

import json
import os
import time

import redis

from qualitygate.protocol import Keys
from tests.support.api import api_settings
from tests.support.workers import wait_for
from workers.heartbeat import Heartbeat


def test_beats_until_stopped_then_leaves(api_run: str, redis_client: redis.Redis) -> None:
    settings = api_settings(api_run)
    worker = settings.worker.model_copy(update={"heartbeat_s": 0.05})
    settings = settings.model_copy(update={"worker": worker})
    key = Keys.from_settings(settings).workers
    heartbeat = Heartbeat(redis_client, settings, "w1@host").start()
    try:
        first = json.loads(redis_client.hget(key, "w1@host"))
        assert first["pid"] == os.getpid()
        assert first["config_version"] == settings.version
        assert abs(first["seen_at"] - time.time()) < 5
        wait_for(
            lambda: json.loads(redis_client.hget(key, "w1@host"))["seen_at"] > first["seen_at"],
            10,
            "a second beat",
        )
    finally:
        heartbeat.stop()
    assert redis_client.hget(key, "w1@host") is None


def test_a_redis_that_is_down_costs_a_beat_not_the_worker(api_run: str) -> None:
    settings = api_settings(api_run)
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    heartbeat = Heartbeat(down, settings, "w2")
    assert heartbeat.beat() is False
    heartbeat.stop()  # does not raise either
