"""Every Redis write and read a worker makes besides the broker's own.

Owns the results stream and per-id result keys, the dead-letter stream, the attempt
counters that stand in for the delivery count Redis does not keep, the markers that make
publishing once per task id, the in-flight record the client writes (cleared with the
publish), and the cache of grades for identical content. It must not
grade anything or know about Celery.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from qualitygate.client import in_flight_keys
from qualitygate.config import Settings
from qualitygate.schemas import GradeResult

# Publish a result only if this task id has none yet: a message Redis delivers again after
# a crash (published but not acknowledged) must not give the CMS a second entry. Its
# attempt counter has done its job then.
_PUBLISH_ONCE = """
redis.call('HDEL', KEYS[6], ARGV[6])
redis.call('ZREM', KEYS[7], ARGV[6])
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then
  local entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',
                           'id', ARGV[5], 'task_id', ARGV[6], 'result', ARGV[1])
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
  redis.call('DEL', KEYS[5])
  if ARGV[7] ~= '' then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'id', ARGV[5],
               'task_id', ARGV[6], 'result', ARGV[1], 'payload', ARGV[7])
  end
  return entry
end
return false
"""


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
        worker = settings.worker
        self.cache_ttl_s = worker.cache_ttl_s
        # Long enough to outlive every redelivery a message can still get: as long as its
        # result is kept, and never shorter than its retries can take.
        self.state_ttl_s = max(
            settings.streams.result_ttl_s, worker.visibility_timeout_s * (worker.max_retries + 2)
        )
        self._publish_once = client.register_script(_PUBLISH_ONCE)
        self.in_flight = in_flight_keys(settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> ResultPublisher:
        return cls(redis.Redis.from_url(settings.redis.url), settings)

    def _key(self, kind: str, name: str) -> str:
        return f"{self.streams.state_key_prefix}{kind}:{name}"

    def already_published(self, task_ids: Sequence[str]) -> list[bool]:
        """For each task id, whether its result is already on the stream."""
        pipe = self.redis.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.exists(self._key("published", task_id))
        return [bool(found) for found in pipe.execute()]

    def attempts_so_far(self, task_ids: Sequence[str]) -> list[int]:
        """How many scoring attempts each task id has had (0 for none)."""
        if not task_ids:
            return []
        found = self.redis.mget([self._key("attempts", task_id) for task_id in task_ids])
        return [int(count) if count else 0 for count in found]

    def count_attempts(self, task_ids: Sequence[str]) -> list[int]:
        """Count one more scoring attempt for each task id; returns the new totals.

        Counted before scoring, so a message whose scoring kills the worker process is
        counted too, and ends in the dead stream instead of looping forever.
        """
        pipe = self.redis.pipeline(transaction=False)
        for task_id in task_ids:
            key = self._key("attempts", task_id)
            pipe.incr(key)
            pipe.expire(key, self.state_ttl_s)
        replies = pipe.execute()
        return [int(count) for count in replies[0::2]]

    def cache_key(self, parts: Sequence[str | None]) -> str:
        digest = hashlib.sha256(json.dumps(list(parts)).encode("utf-8")).hexdigest()
        return self._key("cache", digest)

    def cached(self, keys: Sequence[str]) -> list[GradeResult | None]:
        """Cached grades for these keys (None where there is none or the cache is off)."""
        if not keys or not self.cache_ttl_s:
            return [None] * len(keys)
        return [
            GradeResult.model_validate_json(raw) if raw else None for raw in self.redis.mget(keys)
        ]

    def remember(self, entries: Sequence[tuple[str, GradeResult]]) -> None:
        if not entries or not self.cache_ttl_s:
            return
        pipe = self.redis.pipeline(transaction=False)
        for key, result in entries:
            pipe.set(key, result.model_dump_json(), ex=self.cache_ttl_s)
        pipe.execute()

    def publish(self, outgoing: Sequence[Outgoing]) -> list[bool]:
        """Put each result on the stream and under its id key, and a dead one with its
        payload on the dead stream, once per task id. Returns, per result, whether it was new.
        """
        if not outgoing:
            return []
        streams = self.streams
        pipe = self.redis.pipeline(transaction=False)
        for out in outgoing:
            document = out.result.model_dump_json()
            self._publish_once(
                keys=[
                    streams.results,
                    streams.result_key_prefix + out.result.id,
                    self._key("published", out.task_id),
                    streams.dead,
                    self._key("attempts", out.task_id),
                    *self.in_flight,
                ],
                args=[
                    document,
                    streams.result_ttl_s,
                    streams.maxlen,
                    self.state_ttl_s,
                    out.result.id,
                    out.task_id,
                    json.dumps(out.payload, ensure_ascii=False, default=str) if out.dead else "",
                ],
                client=pipe,
            )
        replies = pipe.execute()
        return [reply is not None for reply in replies]
