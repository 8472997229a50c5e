"""When a callback is tried again: attempt counts and due times, kept in Redis.

Owns the per-entry retry state of one deliverer group: a hash of attempts so far (counted
before each POST, so an attempt cut short by a crash counts too, and a restarted
``deliver`` resumes the count) and a sorted set of due times. An entry waiting for its next
attempt stays pending in the consumer group (nothing is lost if every deliverer dies) and
is simply not sent until it is due, so it never blocks the entries behind it. Taking a due
entry is a ZREM: of several deliverers, exactly one gets to try it. Backoff is exponential
with full jitter. It must not send HTTP or decide routes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable

import redis

from qualitygate.protocol import Keys


def backoff_s(
    attempt: int, base_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """The wait after failed attempt number ``attempt`` (1 = the first): a random time in
    ``[0, min(max_s, base_s * 2 ** (attempt - 1))]`` ("full jitter"), so receivers coming
    back from an outage are not hit by every deliverer at the same instant."""
    exponent = min(max(attempt - 1, 0), 62)
    ceiling = min(max_s, base_s * (2**exponent))
    return ceiling * rand()


class Schedule:
    """Attempt counts and due times of one group's entries."""

    def __init__(
        self, client: redis.Redis, keys: Keys, group: str, base_s: float, max_s: float
    ) -> None:
        self.redis = client
        self.attempts_key = keys.delivery_attempts(group)
        self.due_key = keys.delivery_due(group)
        self.base_s = base_s
        self.max_s = max_s

    def count_attempt(self, entry_id: str) -> int:
        """One more attempt for ``entry_id``; returns the total so far, this one included."""
        return int(self.redis.hincrby(self.attempts_key, entry_id, 1))

    def attempts(self, entry_id: str) -> int:
        return int(self.redis.hget(self.attempts_key, entry_id) or 0)

    def retry_later(self, entry_id: str, attempt: int, now: float | None = None) -> float:
        """Schedule the next attempt after failed attempt ``attempt``; returns the wait."""
        wait = backoff_s(attempt, self.base_s, self.max_s)
        self.redis.zadd(self.due_key, {entry_id: (now or time.time()) + wait})
        return wait

    def due(self, count: int, now: float | None = None) -> list[str]:
        """Up to ``count`` entries whose next attempt is due."""
        now = time.time() if now is None else now
        return list(self.redis.zrangebyscore(self.due_key, "-inf", now, start=0, num=count))

    def take(self, entry_id: str) -> bool:
        """Claim a due entry's next attempt; False when another deliverer took it first."""
        return bool(self.redis.zrem(self.due_key, entry_id))

    def sendable(self, entry_ids: Iterable[str], now: float | None = None) -> list[str]:
        """Those of ``entry_ids`` (reclaimed from an idle consumer) to send now: the ones
        with no attempt scheduled (their sender died mid-attempt), and the ones due that
        this deliverer takes; an entry scheduled for later stays pending untouched."""
        ids = list(entry_ids)
        if not ids:
            return []
        now = time.time() if now is None else now
        scores = self.redis.zmscore(self.due_key, ids)
        return [
            entry_id
            for entry_id, score in zip(ids, scores, strict=True)
            if score is None or (score <= now and self.take(entry_id))
        ]

    def forget(self, pipe: redis.client.Pipeline, entry_id: str) -> None:
        """Drop an entry's state, inside the caller's pipeline (with its XACK)."""
        pipe.hdel(self.attempts_key, entry_id)
        pipe.zrem(self.due_key, entry_id)
