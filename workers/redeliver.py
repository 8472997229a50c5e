"""Sends again a submitted message that has no result long after it was sent.

kombu's Redis transport takes a message off the queue (BRPOP) before it records it as
unacknowledged, so a worker killed between the two loses that message for good
(celery/kombu#305): it is in neither the queue nor the unacked hash. The client records
every payload it submits; the publisher clears the record with the result. This sweep,
in each worker's main process, re-sends what is still recorded after
``worker.redeliver_after_s`` (longer than the visibility timeout, so messages a live or
restarted worker can still restore are left to kombu). The same task id is used, and
publishing is once per task id, so a message sent twice still gives one result. The
message is ``qualitygate.protocol``'s, as the client builds it. It must not grade
anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from celery import Celery

from qualitygate.config import Settings
from qualitygate.protocol import Keys, encode_task, load_payload
from workers.publish import ResultPublisher

logger = logging.getLogger("qualitygate.worker")

_BATCH = 500


class Redeliverer:
    """One sweep at a time across all workers (a Redis lock), every ``redeliver_scan_s``."""

    def __init__(self, app: Celery, settings: Settings, client: redis.Redis) -> None:
        self.app = app
        self.settings = settings
        self.redis = client
        keys = Keys.from_settings(settings)
        self.payload_key, self.sent_at_key = keys.in_flight_payloads, keys.in_flight_sent_at
        self.lock_key = keys.redeliver_lock
        self.publisher = ResultPublisher(client, settings)
        #: True while the worker holds back on purpose (``workers.backpressure``): no sweep.
        self.hold: Callable[[], bool] = lambda: False

    def sweep(self, now: float | None = None) -> int:
        """Re-send every recorded message older than the cut-off; returns how many."""
        scan_s = self.settings.worker.redeliver_scan_s
        if self.hold():
            return 0
        if not self.redis.set(self.lock_key, "1", nx=True, ex=max(1, scan_s)):
            return 0
        now = time.time() if now is None else now
        cutoff = now - self.settings.worker.redeliver_after_s
        stale = self.redis.zrangebyscore(self.sent_at_key, "-inf", cutoff, start=0, num=_BATCH)
        task_ids = [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in stale]
        sent = self._send_again(task_ids, now)
        if sent:
            logger.warning(
                "sent %d messages again that had no result after %d s (lost in transit)",
                sent,
                self.settings.worker.redeliver_after_s,
                extra={"redelivered": sent},
            )
        return sent

    def _send_again(self, task_ids: list[str], now: float) -> int:
        """Send each recorded message again, as the client built it; forget the records
        whose result is out (or whose payload is gone). Returns how many were sent."""
        published = self.publisher.already_published(task_ids)
        queue = self.settings.worker.queue
        sent = 0
        with self.app.producer_or_acquire() as producer:
            for task_id, done in zip(task_ids, published, strict=True):
                payload = self.redis.hget(self.payload_key, task_id)
                if payload is None or done:
                    self.redis.hdel(self.payload_key, task_id)
                    self.redis.zrem(self.sent_at_key, task_id)
                    continue
                message = encode_task(load_payload(payload), task_id)
                producer.publish(message.body, **message.publish_options(queue))
                self.redis.zadd(self.sent_at_key, {task_id: now}, xx=True)
                sent += 1
        return sent

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="qualitygate-redeliver", daemon=True)
        thread.start()

    def _run(self) -> None:
        while True:  # a daemon thread: it ends with the worker's main process
            time.sleep(self.settings.worker.redeliver_scan_s)
            try:
                self.sweep()
            except Exception:  # Redis away: the next sweep tries again
                logger.exception("the redelivery sweep failed")
