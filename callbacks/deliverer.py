"""The delivery loop: results from the stream to their callbacks, at least once.

Owns reading the results stream with the ``delivery.group`` consumer group and settling
each entry. Each round takes, in order: entries whose retry is due (``callbacks.schedule``),
entries other consumers (a killed ``deliver``) left pending longer than
``streams.reclaim_idle_ms`` (XAUTOCLAIM), and new entries (XREADGROUP). An entry is
acknowledged only after a 2xx, or when it has no callback (skipped), or when it moves to
``streams.dead_deliveries`` with its last error after ``delivery.max_attempts``; moving and
acknowledging happen in one transaction. A failed entry stays pending until it is due
again. Delivery is at least once: a receiver that answers after the timeout, or a
``deliver`` killed between the POST and the XACK, gets the entry again, with the same
``X-Qualitygate-Delivery`` id. Logs carry entry ids, item ids, callback names and status
codes; never a secret, a URL's query or the result's content. The Redis connection is the
client's (``QualityGateClient``), so it follows whatever the client follows.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from callbacks.metrics import DeliveryMetrics
from callbacks.routing import callback_for
from callbacks.schedule import Schedule
from callbacks.sender import Outcome, Sender
from callbacks.targets import Callback, load_callbacks
from qualitygate.callback_policy import private_networks
from qualitygate.client import QualityGateClient
from qualitygate.config import Settings

logger = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str] | None]


def default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Deliverer:
    """Reads results as one consumer of the deliverer group and POSTs each to its callback."""

    def __init__(
        self,
        settings: Settings,
        client: QualityGateClient,
        sender: Sender | None = None,
        callbacks: dict[str, Callback] | None = None,
    ) -> None:
        delivery = settings.delivery
        self.settings = settings
        self.delivery = delivery
        self.client = client
        self.redis = client.redis
        self.keys = client.keys
        self.stream = client.keys.results
        self.group = delivery.group
        self.consumer = delivery.consumer or default_consumer()
        self.callbacks = load_callbacks(delivery) if callbacks is None else callbacks
        self.sender = sender or Sender(delivery.timeout_s, private_networks(delivery))
        self.schedule = Schedule(
            self.redis, self.keys, self.group, delivery.backoff_base_s, delivery.backoff_max_s
        )
        self.metrics = DeliveryMetrics()
        self._claim_cursor = "0-0"
        self._pool = ThreadPoolExecutor(delivery.concurrency, thread_name_prefix="deliver")

    @classmethod
    def from_settings(cls, settings: Settings) -> Deliverer:
        """A deliverer on the configured Redis; ConfigError when a secret is missing."""
        callbacks = load_callbacks(settings.delivery)
        return cls(settings, QualityGateClient(settings=settings), callbacks=callbacks)

    def start(self) -> None:
        """Check Redis, create the group (at the stream's start) if it is new, and drop
        the group's consumers left by earlier processes that hold nothing pending."""
        self.client.ping()
        self.client.ensure_group(self.group)
        idle_ms = self.settings.streams.reclaim_idle_ms
        for consumer in self.redis.xinfo_consumers(self.stream, self.group):
            if consumer["pending"] == 0 and consumer["idle"] > idle_ms:
                self.redis.xgroup_delconsumer(self.stream, self.group, consumer["name"])

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; a Redis outage is logged and waited out."""
        while not stop.is_set():
            try:
                self.step()
            except redis.RedisError as exc:
                logger.warning("redis error, retrying in 1s: %s", type(exc).__name__)
                stop.wait(1.0)
                if "NOGROUP" in str(exc):
                    # The stream or the group was deleted under us: create them again.
                    self._recreate_group()

    def _recreate_group(self) -> None:
        with contextlib.suppress(redis.RedisError):  # still down: the next round says so
            self.client.ensure_group(self.group)

    def step(self, block_ms: int | None = None) -> int:
        """One round: due retries, reclaimed entries, then new ones; returns how many were
        handled. Waits for new entries only when nothing else was there to do."""
        entries = self._due() + self._reclaimed()
        wait = None if entries else (self.delivery.block_ms if block_ms is None else block_ms)
        entries += self._new(wait)
        list(self._pool.map(self._handle_safely, entries))
        return len(entries)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sender.close()
        self.client.close()

    # -- reading ------------------------------------------------------------------------

    def _due(self) -> list[Entry]:
        ids = [e for e in self.schedule.due(self.delivery.batch_size) if self.schedule.take(e)]
        if not ids:
            return []
        claimed = self.redis.xclaim(self.stream, self.group, self.consumer, 0, ids)
        found = {entry_id for entry_id, _ in claimed}
        # Acknowledged or trimmed meanwhile: nothing to send, only state to drop.
        self._forget([entry_id for entry_id in ids if entry_id not in found])
        return [(entry_id, fields) for entry_id, fields in claimed]

    def _reclaimed(self) -> list[Entry]:
        reply = self.redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=self.settings.streams.reclaim_idle_ms,
            start_id=self._claim_cursor,
            count=self.delivery.batch_size,
        )
        self._claim_cursor = reply[0]
        if len(reply) > 2:
            self._forget(list(reply[2]))  # trimmed while pending: Redis dropped them
        sendable = set(self.schedule.sendable(entry_id for entry_id, _ in reply[1]))
        return [(entry_id, fields) for entry_id, fields in reply[1] if entry_id in sendable]

    def _new(self, block_ms: int | None) -> list[Entry]:
        reply = self.redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=self.delivery.batch_size,
            block=block_ms or None,
        )
        return [
            (entry_id, fields) for _stream, messages in reply or [] for entry_id, fields in messages
        ]

    # -- settling -----------------------------------------------------------------------

    def _handle_safely(self, entry: Entry) -> None:
        try:
            self.handle(*entry)
        except redis.RedisError as exc:
            # Left pending: a round after Redis is back (or another deliverer) reclaims it.
            logger.warning("entry %s left pending: redis error %s", entry[0], type(exc).__name__)
        except Exception:
            logger.exception("entry %s left pending after an unexpected error", entry[0])

    def handle(self, entry_id: str, fields: dict[str, str] | None) -> None:
        """Route, send and settle one stream entry."""
        raw = (fields or {}).get("result")
        item_id = _item_id(raw)
        if raw is None or item_id is None:
            why = "not a result" if fields else "trimmed from the stream before delivery"
            self._dead(entry_id, raw or "", "", 0, f"the stream entry is {why}")
            return
        name = callback_for(self.settings, self.redis.get(self.keys.origin(item_id)))
        if name is None:
            self._acknowledge(entry_id)
            self.metrics.skipped.inc()
            return
        callback = self.callbacks.get(name)
        if callback is None:
            self._dead(entry_id, raw, name, 0, f"no callback named {name!r} is configured")
            return
        attempt = self.schedule.count_attempt(entry_id)
        if attempt > self.delivery.max_attempts:
            self._dead(entry_id, raw, name, attempt - 1, "attempts used up (last one cut short)")
            return
        outcome = self.sender.send(callback, raw.encode("utf-8"), entry_id, attempt)
        self._settle(entry_id, item_id, raw, name, attempt, outcome)

    def _settle(
        self, entry_id: str, item_id: str, raw: str, name: str, attempt: int, outcome: Outcome
    ) -> None:
        if outcome.delivered:
            self._acknowledge(entry_id)
            self.metrics.delivered.labels(name).inc()
            self.metrics.latency.labels(name).observe(outcome.seconds)
            return
        self.metrics.failed_attempts.labels(name).inc()
        limit = self.delivery.max_attempts
        if attempt >= limit:
            self._dead(entry_id, raw, name, attempt, outcome.error)
            return
        wait = self.schedule.retry_later(entry_id, attempt)
        logger.info(
            "callback %s for entry %s (item %r) failed, attempt %d of %d: %s; next in %.1fs",
            name,
            entry_id,
            item_id,
            attempt,
            limit,
            outcome.error,
            wait,
        )

    def _acknowledge(self, entry_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, entry_id)
        self.schedule.forget(pipe, entry_id)
        pipe.execute()

    def _dead(self, entry_id: str, raw: str, name: str, attempts: int, error: str) -> None:
        """Move an entry, with why it failed, to the dead-deliveries stream and ack it."""
        record = {
            "entry_id": entry_id,
            "group": self.group,
            "callback": name,
            "attempts": str(attempts),
            "error": error,
            "result": raw,
        }
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(
            self.keys.dead_deliveries,
            record,
            maxlen=self.settings.streams.maxlen,
            approximate=True,
        )
        pipe.xack(self.stream, self.group, entry_id)
        self.schedule.forget(pipe, entry_id)
        pipe.execute()
        if name:
            self.metrics.dead.labels(name).inc()
        logger.warning(
            "entry %s moved to %s after %d attempt(s) to callback %r: %s",
            entry_id,
            self.keys.dead_deliveries,
            attempts,
            name,
            error,
        )

    def _forget(self, entry_ids: list[str]) -> None:
        if not entry_ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        for entry_id in entry_ids:
            self.schedule.forget(pipe, entry_id)
        pipe.execute()


def _item_id(raw: str | None) -> str | None:
    """The result's item id, or None when the text is not a result object."""
    if not raw:
        return None
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return None
    item_id = data.get("id") if isinstance(data, dict) else None
    return item_id if isinstance(item_id, str) and item_id else None
