"""Every Redis write and read a worker makes besides the broker's own.

Owns the results stream and per-id result keys, the dead-letter stream, the attempt
counters that stand in for the delivery count Redis does not keep, the markers that make
publishing once per task id, the in-flight record the client writes (cleared with the
publish), and the cache of grades for identical content; the key names are
``qualitygate.protocol.Keys``, the publishing script is ``workers/lua/publish.lua``. It
must not grade anything or know about Celery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis

from qualitygate.config import Settings
from qualitygate.protocol import Keys, dead_payload
from qualitygate.redis_connect import connect
from qualitygate.schemas import GradeResult
from workers import metrics

logger = logging.getLogger("qualitygate.worker")


def lua_script(name: str) -> str:
    """A Lua script shipped in ``workers/lua/`` (and in the wheel), by file name."""
    return resources.files("workers").joinpath("lua", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Outgoing:
    """A result ready to publish, with the payload to keep if it goes to the dead stream."""

    result: GradeResult
    task_id: str
    payload: Any = None
    dead: bool = False


class ResultPublisher:
    """Writes results where the CMS reads them, and keeps the worker's bookkeeping."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.redis = client
        self.streams = settings.streams
        self.keys = Keys.from_settings(settings)
        worker = settings.worker
        self.cache_ttl_s = worker.cache_ttl_s
        # Long enough to outlive every redelivery a message can still get: as long as its
        # result is kept, and never shorter than its retries can take.
        self.state_ttl_s = max(
            settings.streams.result_ttl_s, worker.visibility_timeout_s * (worker.max_retries + 2)
        )
        self._publish_once = client.register_script(lua_script("publish.lua"))

    @classmethod
    def from_settings(cls, settings: Settings) -> ResultPublisher:
        return cls(connect(settings.redis), settings)

    def already_published(self, task_ids: Sequence[str]) -> list[bool]:
        """For each task id, whether its result is already on the stream."""
        pipe = self.redis.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.exists(self.keys.published(task_id))
        return [bool(found) for found in pipe.execute()]

    def count_attempts(self, task_ids: Sequence[str]) -> list[int]:
        """Count one more scoring attempt for each task id; returns the new totals.

        Counted before scoring, so a message whose scoring kills the worker process is
        counted too, and ends in the dead stream instead of looping forever.
        """
        pipe = self.redis.pipeline(transaction=False)
        for task_id in task_ids:
            key = self.keys.attempts(task_id)
            pipe.incr(key)
            pipe.expire(key, self.state_ttl_s)
        replies = pipe.execute()
        return [int(count) for count in replies[0::2]]

    def cache_key(self, parts: Sequence[str | None]) -> str:
        return self.keys.cache(parts)

    def publish(
        self, outgoing: Sequence[Outgoing], remember: Sequence[tuple[str, GradeResult]] = ()
    ) -> list[bool]:
        """Put each result on the stream and under its id key, and a dead one with its
        payload on the dead stream, once per task id; cache the grades in ``remember`` in
        the same round trip. Returns, per result, whether it was new.
        """
        if not self.cache_ttl_s:
            remember = ()
        if not outgoing and not remember:
            return []
        keys, streams = self.keys, self.streams
        pipe = self.redis.pipeline(transaction=False)
        for out in outgoing:
            document = out.result.model_dump_json()
            self._publish_once(
                keys=[
                    keys.results,
                    keys.result(out.result.id),
                    keys.published(out.task_id),
                    keys.dead,
                    keys.attempts(out.task_id),
                    keys.in_flight_payloads,
                    keys.in_flight_sent_at,
                    keys.missed_prefix,
                    keys.latest_task(out.result.id),
                ],
                args=[
                    document,
                    streams.result_ttl_s,
                    streams.maxlen,
                    self.state_ttl_s,
                    out.result.id,
                    out.task_id,
                    dead_payload(out.payload) if out.dead else "",
                    streams.missed_maxlen,
                ],
                client=pipe,
            )
        for key, result in remember:
            pipe.set(key, result.model_dump_json(), ex=self.cache_ttl_s)
        replies = pipe.execute()[: len(outgoing)]
        report_trimmed_unread(replies, self.streams.maxlen)
        return [reply is not None for reply in replies]


def report_trimmed_unread(replies: Sequence[Any], maxlen: int) -> dict[str, int]:
    """Log and count, per consumer group, the results trimmed past ``maxlen`` before the
    group read or acknowledged them (the script's reply after the entry id: group, count,
    ...); returns the counts. Never silent: this is the loss the CMS must hear about."""
    missed: dict[str, int] = {}
    for reply in replies:
        pairs = list(reply[1:]) if reply else []
        for group, count in zip(pairs[0::2], pairs[1::2], strict=True):
            name = group.decode() if isinstance(group, bytes) else str(group)
            missed[name] = missed.get(name, 0) + int(count)
    for group, count in missed.items():
        metrics.TRIMMED_UNREAD.labels(group).inc(count)
        logger.warning(
            "results stream past streams.maxlen (%d): trimmed %d result(s) consumer group %r "
            "had not read or acknowledged; their ids are in client.missed(%r)",
            maxlen,
            count,
            group,
            group,
        )
    return missed
