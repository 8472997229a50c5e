"""The worker's heartbeat: "this node is alive, grading with this config", in Redis.

Owns the field each worker main process keeps in the hash ``Keys.workers``: its node name
mapped to JSON ``{"seen_at", "config_version", "pid"}``, rewritten every
``worker.heartbeat_s`` from a daemon thread and removed on a clean shutdown. ``/readyz``,
``qualitygate doctor`` and the console read it. A Redis that blinks costs a beat, never
the worker: a failed write is logged and retried on the next beat. It must not grade,
publish or read anything else.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from qualitygate.config import Settings
from qualitygate.protocol import Keys
from qualitygate.redis_connect import connect

logger = logging.getLogger("qualitygate.worker")


def beat_value(settings: Settings, now: float | None = None, version: str | None = None) -> str:
    """What one beat writes: when, which config version (the live one when given), which
    process."""
    seen_at = time.time() if now is None else now
    version = settings.version if version is None else version
    return json.dumps(
        {"seen_at": seen_at, "config_version": version, "pid": os.getpid()},
        separators=(",", ":"),
    )


class Heartbeat:
    """Beats from a daemon thread until ``stop``, which also removes this node's field."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        node: str,
        version: Callable[[], str] | None = None,
    ) -> None:
        self.redis = client
        self.settings = settings
        self.node = node
        # The version the worker grades with: the live one (``config apply``) when given.
        self.version = version if version is not None else (lambda: settings.version)
        self.key = Keys.from_settings(settings).workers
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qualitygate-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> bool:
        """One write; False (logged) when Redis did not take it."""
        try:
            value = beat_value(self.settings, version=self.version())
            self.redis.hset(self.key, self.node, value)
        except redis.RedisError as exc:
            logger.warning("heartbeat: could not write to Redis (%s)", type(exc).__name__)
            return False
        return True

    def _run(self) -> None:
        while not self._stopped.wait(self.settings.worker.heartbeat_s):
            self.beat()

    def stop(self) -> None:
        """Stop beating and remove this node's field: a clean exit is not a dead worker."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.settings.worker.heartbeat_s + 1)
        try:
            self.redis.hdel(self.key, self.node)
        except redis.RedisError as exc:
            logger.warning("heartbeat: could not remove this worker (%s)", type(exc).__name__)


_current: dict[str, Heartbeat] = {}


def start_for(sender: Any, settings: Settings) -> None:
    """Start the main process's heartbeat, named after the Celery node (``sender`` is the
    consumer ``worker_ready`` hands over)."""
    node = getattr(sender, "hostname", None) or f"pid{os.getpid()}"
    from workers.live_config import LiveVersion  # imports metrics: only once Celery runs

    client = connect(settings.redis, socket_timeout=5)
    live = LiveVersion(settings, client)
    _current["main"] = Heartbeat(client, settings, str(node), live.current).start()


def stop_current() -> None:
    heartbeat = _current.pop("main", None)
    if heartbeat is not None:
        heartbeat.stop()
