"""The one way a process turns ``redis`` settings into a redis-py client.

A ``redis://``, ``rediss://`` or ``unix://`` URL is ``Redis.from_url``; a ``sentinel://``
URL is ``Sentinel(...).master_for(redis.sentinel.master_name)``, whose connections ask the
sentinels where the master is each time they (re)connect, so a client built here follows a
failover by itself: no failover logic of ours. The client, the worker's publisher, state,
metrics and redelivery all connect through ``connect``; kombu's broker gets the matching
transport options from ``qualitygate.protocol`` (which also says how to reach the
sentinels). It must not hold keys or commands: it
only connects. With the client and the CLI, the one module of ``qualitygate`` that imports
redis (see the import-linter contract).
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.connection import SSLConnection
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from qualitygate.config import RedisSettings
from qualitygate.errors import ConfigError
from qualitygate.protocol import redis_tls, sentinel_kwargs
from qualitygate.redis_url import is_sentinel_url, parse_sentinel_url

# A client that lost its master retries for about as long as Sentinel takes to promote a
# replica (down-after plus the election), instead of failing the first command.
_FAILOVER_RETRIES = 20


class _AskingConnection(SentinelManagedConnection):
    """redis-py's Sentinel-managed connection, asking the sentinels again when it
    reconnects inside a command's retry.

    redis-py 8.1 reconnects a connection that lost its socket mid-command (a blocking
    XREADGROUP when the master died) through ``connect_check_health``, which reuses the
    dead master's address: every retry failed, and a reader stalled for the whole retry
    budget (15 s measured) after Sentinel had promoted the replica in 2.4 s. ``connect``
    is redis-py's own path that asks the sentinels; this only makes the retry take it.
    """

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self._sock:
            self.connect()
        super().send_packed_command(command, check_health)


class _AskingSSLConnection(_AskingConnection, SSLConnection):
    pass


def connect(settings: RedisSettings, url: str | None = None, **options: Any) -> redis.Redis:
    """A client for ``url`` (default ``settings.url``) that follows the master through a
    Sentinel failover when the URL is ``sentinel://``. ``options`` are redis-py's
    (``decode_responses``, ``socket_timeout``...)."""
    url = url or settings.url
    if not is_sentinel_url(url):
        return redis.Redis.from_url(url, **options)
    if not settings.sentinel.master_name:
        raise ConfigError("redis.sentinel.master_name: a sentinel:// url needs the master's name")
    parsed = parse_sentinel_url(url)
    sentinel = Sentinel(
        list(parsed.sentinels), sentinel_kwargs=sentinel_kwargs(settings), **redis_tls(settings)
    )
    retry = Retry(ExponentialBackoff(cap=1.0), _FAILOVER_RETRIES)
    return sentinel.master_for(
        settings.sentinel.master_name,
        redis_class=redis.Redis,
        username=parsed.username,
        password=parsed.password,
        db=parsed.db,
        retry=retry,
        retry_on_error=[redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError],
        connection_class=_AskingSSLConnection if settings.sentinel.tls else _AskingConnection,
        **options,
    )
