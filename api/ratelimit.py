"""Per-key rate limits, a sliding window held in Redis so every API process shares it.

Owns the window's Lua script: one atomic call drops the key's requests older than the
window, counts the rest and either records this one or says how long until the oldest
leaves. Times come from Redis (``TIME``), so API processes on hosts whose clocks differ
agree. It must not decide who the caller is (``api.auth`` does).
"""

from __future__ import annotations

import uuid

import redis

from qualitygate.config import RateLimit
from qualitygate.protocol import Keys

# Returns -1 when the request is let through, else the seconds until a slot frees.
_WINDOW = """
local key, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return '-1'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RateLimiter:
    """``check(name, limit)``: None when the request may go ahead, else Retry-After
    seconds."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._keys = keys
        self._script = client.register_script(_WINDOW)

    def check(self, key_name: str, limit: RateLimit) -> float | None:
        member = uuid.uuid4().hex
        waited = float(
            self._script(
                keys=[self._keys.rate_limit(key_name)],
                args=[repr(float(limit.window_s)), str(limit.requests), member],
            )
        )
        return None if waited < 0 else waited
