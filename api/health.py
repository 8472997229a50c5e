"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job).

Ready means Redis answers a ping and at least one worker wrote its heartbeat
(``Keys.workers``, see ``workers/heartbeat.py``) within ``api.ready_worker_max_age_s``;
otherwise ``503`` with the reason, so a load balancer or an orchestrator holds traffic.
Neither needs a key: they say nothing about content. It must not change anything.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from qualitygate.client import QualityGateClient
from qualitygate.config import Settings


def fresh_workers(raw: dict[str, str], max_age_s: float, now: float) -> dict[str, dict[str, Any]]:
    """The heartbeats younger than ``max_age_s``, by node; unreadable ones are skipped."""
    fresh = {}
    for node, value in raw.items():
        try:
            beat = json.loads(value)
            seen_at = float(beat["seen_at"])
        except (ValueError, TypeError, KeyError):
            continue
        if now - seen_at <= max_age_s:
            fresh[node] = beat
    return fresh


def readiness(client: QualityGateClient, settings: Settings) -> tuple[bool, dict[str, Any]]:
    max_age = settings.api.ready_worker_max_age_s
    try:
        client.redis.ping()
        raw = client.redis.hgetall(client.keys.workers)
    except redis.RedisError as exc:
        return False, {"status": "unready", "reason": f"redis: unreachable ({type(exc).__name__})"}
    fresh = fresh_workers(raw, max_age, time.time())
    if not fresh:
        reason = f"workers: no worker heartbeat in the last {max_age:g} s"
        return False, {"status": "unready", "reason": reason}
    versions = sorted({str(beat.get("config_version")) for beat in fresh.values()})
    return True, {"status": "ready", "workers": len(fresh), "config_versions": versions}


def build_router(settings: Settings, client: QualityGateClient) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        # async and without I/O: it answers on the event loop even when every worker
        # thread is busy, which is what "the process answers" means.
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "Redis or workers missing"}})
    def readyz() -> JSONResponse:
        ready, body = readiness(client, settings)
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
