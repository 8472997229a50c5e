"""kombu's Redis transport, except that a queue entry that is not a kombu message is
logged and dropped instead of stopping the worker or stalling its consumer.

kombu parses each entry BRPOP takes off the queue (a JSON envelope with ``body``,
``headers`` and ``properties``) outside any of Celery's error handling. An entry that is
not JSON raised out of the event loop, and the worker exited with ``Unrecoverable error``.
An entry that is JSON but lacks what kombu reads (``properties.delivery_tag``) raised a
``KeyError``, which kombu's Redis transport counts as a *connection* error: the consumer
reconnected, and the messages it had buffered sat unacknowledged until the visibility
timeout while nothing new was consumed. So the envelope is checked before kombu builds a
message from it. BRPOP has already removed the entry then, and it carries no task id to
answer under, so it is logged (without its content) and dropped.
"""

from __future__ import annotations

import logging
from queue import Empty
from typing import Any

from kombu.transport import redis as kombu_redis

logger = logging.getLogger("qualitygate.worker")


def envelope_problem(payload: Any) -> str | None:
    """Why kombu could not build a message from ``payload``, or None when it can."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    properties = payload.get("properties")
    if not isinstance(properties, dict):
        return "no properties object"
    if not isinstance(properties.get("delivery_tag"), str):
        return "no delivery tag"
    delivery_info = properties.get("delivery_info")
    if (
        not isinstance(delivery_info, dict)
        or not {"exchange", "routing_key"} <= delivery_info.keys()
    ):
        return "no delivery info"
    if not isinstance(payload.get("body", ""), str):
        return "a body that is not a string"
    if not isinstance(payload.get("headers") or {}, dict):
        return "headers that are not an object"
    return None


def _drop(reason: str) -> None:
    logger.error(
        "dropped a queue entry that is not a kombu message (%s); it had no task id to answer under",
        reason,
    )


class _SurvivingReads:
    """The BRPOP read of either channel, surviving what is not a kombu message."""

    def _brpop_read(self, **options: Any) -> bool:
        try:
            return bool(super()._brpop_read(**options))  # type: ignore[misc]
        except Empty:
            raise
        except self.connection_errors:  # type: ignore[attr-defined]
            raise
        except Exception as exc:
            _drop(type(exc).__name__)
            return True


class Channel(_SurvivingReads, kombu_redis.Channel):
    pass


class SentinelChannel(_SurvivingReads, kombu_redis.SentinelChannel):
    pass


class _CheckedDelivery:
    def _deliver(self, message: Any, queue: str) -> None:
        problem = envelope_problem(message)
        if problem is not None:
            _drop(problem)
            return
        super()._deliver(message, queue)  # type: ignore[misc]


class Transport(_CheckedDelivery, kombu_redis.Transport):
    Channel = Channel


class SentinelTransport(_CheckedDelivery, kombu_redis.SentinelTransport):
    """The same, for ``sentinel://`` URLs: kombu's Sentinel transport finds the master
    through the sentinels, again after each failover."""

    Channel = SentinelChannel
