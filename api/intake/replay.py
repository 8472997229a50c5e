"""The replay cache: a signed request is accepted once.

The timestamp window alone lets a captured request be sent again for as long as it is
inside the window; the cache remembers every accepted signature (or signed delivery id) of
a source for twice the window (a request signed up to the window ahead of the clock stays
valid for twice its width), in Redis under ``Keys.intake_seen``, so every API process
shares it. A signature that carries no timestamp (WordPress) never goes stale, so its
claim is kept at least ``streams.result_ttl_s``: a captured webhook replayed within that
time is refused (bounded memory: one small key per accepted webhook). A claim is released
when the request then fails for a reason of ours (Redis down), so the CMS's retry of that
same request is not taken for a replay.
"""

from __future__ import annotations

import redis

from qualitygate.protocol import Keys


def claim_ttl_s(window_s: int, timestamped: bool, result_ttl_s: int) -> int:
    """How long a claim is kept: twice the window for a signed timestamp (past that the
    request is stale anyway); at least ``result_ttl_s`` without one (never stale)."""
    if timestamped:
        return 2 * window_s
    return max(2 * window_s, result_ttl_s)


class ReplayCache:
    """Claims on signatures, per source, in the client's Redis."""

    def __init__(self, connection: redis.Redis, keys: Keys) -> None:
        self._redis = connection
        self._keys = keys

    def claim(self, source: str, token: str, ttl_s: int, now: float) -> bool:
        """True the first time ``token`` is seen for ``source`` within ``ttl_s``."""
        key = self._keys.intake_seen(source, token)
        return bool(self._redis.set(key, f"{now:.3f}", nx=True, ex=ttl_s))

    def release(self, source: str, token: str) -> None:
        self._redis.delete(self._keys.intake_seen(source, token))
