"""/healthz and /readyz: ready only with Redis up and a fresh worker heartbeat."""

from __future__ import annotations

import json
import time

from api.health import fresh_workers
from tests.support.api import api_app, api_settings
from tests.support.workers import free_port


def test_ready_needs_a_fresh_heartbeat(api_run: str) -> None:
    settings = api_settings(api_run, ready_worker_max_age_s=10)
    with api_app(settings) as (client, http):
        assert http.get("/healthz").json() == {"status": "ok"}
        unready = http.get("/readyz")
        assert unready.status_code == 503
        assert "no worker heartbeat in the last 10 s" in unready.json()["reason"]

        stale = {"seen_at": time.time() - 60, "config_version": "old", "pid": 1}
        client.redis.hset(client.keys.workers, "w-stale", json.dumps(stale))
        assert http.get("/readyz").status_code == 503

        fresh = {"seen_at": time.time(), "config_version": settings.version, "pid": 2}
        client.redis.hset(client.keys.workers, "w-fresh", json.dumps(fresh))
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "workers": 1,
            "config_versions": [settings.version],
        }


def test_unreachable_redis_is_unready_and_says_so(api_run: str) -> None:
    settings = api_settings(api_run)
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    settings = settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": url})})
    with api_app(settings) as (_client, http):
        assert http.get("/healthz").status_code == 200
        response = http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("redis: unreachable")
    assert "s3cret" not in response.text


def test_unreadable_heartbeats_are_skipped() -> None:
    now = 1000.0
    raw = {
        "a": json.dumps({"seen_at": 999.0}),
        "b": "not json",
        "c": json.dumps({"pid": 3}),
        "d": json.dumps({"seen_at": "soon"}),
    }
    assert list(fresh_workers(raw, 5, now)) == ["a"]
