"""Back-pressure before results would push unread ones off the stream (``streams.on_full``).

Redis 7.0 trims a stream by length whatever consumer groups have read. The publish script
reports every entry it trims that a group still needed (``Keys.missed``); this piece acts
*before* that happens: in each worker's main process, every ``streams.full_check_ms``, it
looks at the entries the next ``streams.pause_headroom`` publishes would trim, and when a
group has not read or acknowledged one of them, it stops this worker consuming from the
queue (Celery's own ``cancel_consumer`` control, which the consumer runs in its own loop)
until the group catches up (``add_consumer``). Items wait in the queue meanwhile, where
nothing trims them. With ``on_full: continue`` it only logs, once per episode. It must not
grade or publish anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import redis
from celery import Celery

from qualitygate.config import Settings
from qualitygate.protocol import Keys
from workers import metrics

logger = logging.getLogger("qualitygate.worker")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_after(a: str, b: str) -> bool:
    """Stream id ``a`` comes after ``b`` (ids are ``ms-seq``)."""
    a_ms, _, a_seq = a.partition("-")
    b_ms, _, b_seq = b.partition("-")
    return (int(a_ms), int(a_seq or 0)) > (int(b_ms), int(b_seq or 0))


def groups_at_risk(client: redis.Redis, stream: str, maxlen: int, headroom: int) -> list[str]:
    """The consumer groups that have not read, or not acknowledged, an entry that the next
    ``headroom`` publishes would trim (the oldest ``len + headroom - maxlen`` entries)."""
    doomed_count = int(client.xlen(stream)) + headroom - maxlen
    if doomed_count <= 0:
        return []
    doomed = client.xrange(stream, count=doomed_count)
    if not doomed:
        return []
    first, last = _text(doomed[0][0]), _text(doomed[-1][0])
    at_risk = []
    for group in client.xinfo_groups(stream):
        name = _text(group["name"])
        unread = _id_after(last, _text(group["last-delivered-id"]))
        if unread or (group["pending"] and client.xpending_range(stream, name, first, last, 1)):
            at_risk.append(name)
    return at_risk


class Backpressure:
    """Pauses and resumes this worker's consuming as ``groups_at_risk`` says."""

    def __init__(self, app: Celery, settings: Settings, client: redis.Redis, hostname: str):
        self.app = app
        self.settings = settings
        self.redis = client
        self.hostname = hostname
        self.stream = Keys.from_settings(settings).results
        self.paused = False
        self._warned = False

    def check(self) -> Sequence[str]:
        """One look: pause or resume as needed; returns the groups at risk."""
        streams = self.settings.streams
        groups = groups_at_risk(self.redis, self.stream, streams.maxlen, streams.pause_headroom)
        if groups and streams.on_full == "pause" and not self.paused:
            self._set_consuming(False)
            metrics.CONSUMING_PAUSED.inc()
            logger.warning(
                "paused consuming: the next %d results would trim results consumer group(s) "
                "%s have not read or acknowledged (streams.maxlen %d); resuming when they do",
                streams.pause_headroom,
                ", ".join(repr(g) for g in groups),
                streams.maxlen,
            )
        elif groups and streams.on_full == "continue" and not self._warned:
            logger.warning(
                "streams.on_full is continue: results will trim ones consumer group(s) %s "
                "have not read; their ids go to client.missed(group)",
                ", ".join(repr(g) for g in groups),
            )
        elif not groups and self.paused:
            self._set_consuming(True)
            logger.warning("resumed consuming: the consumer groups caught up")
        self._warned = bool(groups)
        return groups

    def _set_consuming(self, on: bool) -> None:
        queue, control = self.settings.worker.queue, self.app.control
        if on:
            control.add_consumer(queue, destination=[self.hostname], reply=False)
        else:
            control.cancel_consumer(queue, destination=[self.hostname], reply=False)
        self.paused = not on

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="qualitygate-backpressure", daemon=True)
        thread.start()

    def _run(self) -> None:
        while True:  # a daemon thread: it ends with the worker's main process
            time.sleep(self.settings.streams.full_check_ms / 1000)
            try:
                self.check()
            except Exception:  # Redis away or failing over: the next look tries again
                logger.exception("the back-pressure check failed")
