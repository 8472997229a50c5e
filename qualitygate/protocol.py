"""The wire contract between whoever submits content, the broker and the workers.

Owns everything both sides must agree on, in one place: the task name and the Celery
settings that make a producer and a worker understand each other (JSON only, the queue),
the Celery protocol-2 task message (headers, properties and the ``[args, kwargs, embed]``
body) as the client builds it and the worker checks it, every Redis key name the client
and the workers share, and the rule that gives a result its id. The CMS-side client, the
worker and an HTTP API all import it.

It must not import Celery, kombu or Redis, nor do any I/O: it says what goes on the wire
and under which key, and the callers send and store.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qualitygate.config import RedisSettings, Settings, StreamSettings
from qualitygate.redis_url import is_sentinel_url
from qualitygate.schemas import ContentItem, scrub_surrogates

# The task the workers register; a producer in another language sends Celery protocol-2
# messages with this task name and the item as the only positional argument.
TASK_NAME = "qualitygate.grade"

#: The one serializer on the wire, as Celery names it and as the message carries it.
SERIALIZER = "json"
CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
#: What a worker may decode: pickle, yaml or msgpack from the queue would let whoever can
#: write to Redis run code in the worker (pickle) or build odd objects.
SAFE_CONTENT = frozenset({SERIALIZER, CONTENT_TYPE})

#: The longest task id or item id a result may go under (ContentItem.id's bound too).
MAX_ID_CHARS = 256


def sentinel_kwargs(redis_settings: RedisSettings) -> dict[str, Any]:
    """redis-py's arguments for talking to the sentinels themselves: short timeouts (a
    dead sentinel is skipped quickly), their own password, TLS."""
    options: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if redis_settings.sentinel.password:
        options["password"] = redis_settings.sentinel.password
    return options | redis_tls(redis_settings)


def redis_tls(redis_settings: RedisSettings) -> dict[str, Any]:
    """redis-py's TLS arguments for a sentinel deployment (``rediss://`` URLs carry their
    own in the query); empty without ``redis.sentinel.tls``."""
    sentinel = redis_settings.sentinel
    if not sentinel.tls or not is_sentinel_url(redis_settings.url):
        return {}
    options: dict[str, Any] = {"ssl": True, "ssl_cert_reqs": "required"}
    if sentinel.tls_ca_certs:
        options["ssl_ca_certs"] = sentinel.tls_ca_certs
    return options


def broker_options(settings: Settings) -> dict[str, Any]:
    """kombu's transport options for ``redis.url``: the visibility timeout, and for a
    ``sentinel://`` URL the master's name and how to reach the sentinels, so kombu's
    Sentinel transport finds the master again after a failover."""
    options: dict[str, Any] = {"visibility_timeout": settings.worker.visibility_timeout_s}
    if not is_sentinel_url(settings.redis.url):
        return options
    return options | {
        "master_name": settings.redis.sentinel.master_name,
        "sentinel_kwargs": sentinel_kwargs(settings.redis),
    }


def broker_ssl(settings: Settings) -> dict[str, Any] | None:
    """kombu's ``ssl`` argument (Celery's ``broker_use_ssl``) for TLS to sentinel-managed
    data nodes; None otherwise."""
    options = redis_tls(settings.redis)
    return {k: v for k, v in options.items() if k != "ssl"} if options else None


def celery_settings(settings: Settings) -> dict[str, Any]:
    """The Celery settings a producer needs and a worker starts from: the broker, JSON
    only, and the queue the workers read."""
    return {
        "broker_url": settings.redis.url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": broker_options(settings),
        # Only for TLS behind sentinels: a rediss:// URL carries its own in the query.
        **({"broker_use_ssl": ssl} if (ssl := broker_ssl(settings)) else {}),
        "task_serializer": SERIALIZER,
        "accept_content": [SERIALIZER],
        "task_ignore_result": True,
        "task_default_queue": settings.worker.queue,
        "task_routes": {TASK_NAME: {"queue": settings.worker.queue}},
    }


# -- Redis keys -------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """Every Redis key the client and the workers share, named from ``streams`` config.

    The results and dead-letter streams and the per-id result keys are what a CMS reads;
    the rest, under ``streams.state_key_prefix``, is bookkeeping: the in-flight record the
    client writes and the publisher clears, the sweep lock of the redelivery, attempt
    counters, published markers and the cache of grades for identical content.
    """

    results: str
    dead: str
    result_prefix: str
    state_prefix: str
    dead_deliveries: str
    labels: str  # the moderators' labels stream (``streams.labels``)

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        return cls.from_streams(settings.streams)

    @classmethod
    def from_streams(cls, streams: StreamSettings) -> Keys:
        return cls(
            streams.results,
            streams.dead,
            streams.result_key_prefix,
            streams.state_key_prefix,
            streams.dead_deliveries,
            streams.labels,
        )

    def result(self, item_id: str) -> str:
        """The latest result for an item id, kept for ``streams.result_ttl_s``."""
        return self.result_prefix + item_id

    @property
    def in_flight_payloads(self) -> str:
        """Hash: task id -> payload submitted and not yet published."""
        return f"{self.state_prefix}inflight"

    @property
    def in_flight_sent_at(self) -> str:
        """Sorted set: task id -> when it was (last) sent."""
        return f"{self.state_prefix}inflight:sent-at"

    @property
    def redeliver_lock(self) -> str:
        """One redelivery sweep at a time across all workers."""
        return f"{self.state_prefix}inflight:sweep-lock"

    def _state(self, kind: str, name: str) -> str:
        return f"{self.state_prefix}{kind}:{name}"

    def published(self, task_id: str) -> str:
        """Set once a task id's result is on the stream: publishing is once per task id."""
        return self._state("published", task_id)

    def attempts(self, task_id: str) -> str:
        """The scoring attempts a task id has had, across deliveries."""
        return self._state("attempts", task_id)

    def submission(self, item_id: str, content_sha256: str) -> str:
        """The task id already sent for this item id and content, within the cache window:
        a CMS that retries a POST gets the same task, not a second grade."""
        return self._state("submitted", f"{content_sha256}:{item_id}")

    def origin(self, item_id: str) -> str:
        """Who submitted an item over HTTP (``key:NAME`` or ``source:NAME``), so the
        callback deliverer knows where its result goes. Lives as long as the result."""
        return self._state("origin", item_id)

    def latest_task(self, item_id: str) -> str:
        """The task id last submitted over HTTP for an item id, so ``GET /v1/results/{id}``
        can say "pending" while that task is still in flight. Lives as long as the result."""
        return self._state("latest-task", item_id)

    def rate_limit(self, key_name: str) -> str:
        """Sorted set: an API key's requests in its sliding window (score = time)."""
        return self._state("ratelimit", key_name)

    def intake_seen(self, source: str, signature: str) -> str:
        """Set while a webhook signature (or signed delivery id) of an intake source is
        inside its timestamp window, so the same signed request is not accepted twice."""
        digest = hashlib.sha256(signature.encode("utf-8")).hexdigest()
        return self._state("intake-seen", f"{source}:{digest}")

    @property
    def missed_prefix(self) -> str:
        """The prefix of every group's missed stream (``missed``); the publishing script
        appends the group name, as ``missed`` does."""
        return f"{self.state_prefix}missed:"

    def missed(self, group: str) -> str:
        """Stream: results trimmed past ``streams.maxlen`` before ``group`` read or
        acknowledged them (fields ``entry``, ``id``, ``task_id``), so the CMS can fetch
        them from their result keys while those live. Capped at ``streams.missed_maxlen``."""
        return self.missed_prefix + group

    @property
    def workers(self) -> str:
        """Hash: worker node name -> JSON ``{"seen_at", "config_version", "pid"}``,
        refreshed by every worker's heartbeat; readiness, ``doctor`` and the console read
        it to see which workers are alive and which config each one grades with."""
        return f"{self.state_prefix}workers"

    def delivery_attempts(self, group: str) -> str:
        """Hash: results stream entry id -> callback attempts so far, for one deliverer
        group; kept in Redis so a restarted ``deliver`` resumes the count."""
        return self._state("deliver:attempts", group)

    def delivery_due(self, group: str) -> str:
        """Sorted set: entry id -> when its next callback attempt is due (unix seconds);
        the entry stays pending in the group meanwhile."""
        return self._state("deliver:due", group)

    @property
    def config_active(self) -> str:
        """String: the live config version every worker grades with (``config apply``);
        absent until the first apply, when workers use their config files alone."""
        return f"{self.state_prefix}config:active"

    @property
    def config_versions(self) -> str:
        """Hash: config version -> JSON record (overlay, fragment, who, when)."""
        return f"{self.state_prefix}config:versions"

    @property
    def config_history(self) -> str:
        """List, newest first: every apply and rollback, as JSON."""
        return f"{self.state_prefix}config:history"

    def cache(self, parts: Sequence[str | None]) -> str:
        """The cached grade for content identified by ``parts`` (hash, prompt, model...)."""
        digest = hashlib.sha256(json.dumps(list(parts)).encode("utf-8")).hexdigest()
        return self._state("cache", digest)


# -- task messages ----------------------------------------------------------------------


@dataclass(frozen=True)
class TaskMessage:
    """One Celery protocol-2 task message carrying one item, ready for a kombu producer:
    ``producer.publish(message.body, **message.publish_options(queue))``."""

    task_id: str
    body: list[Any]
    headers: dict[str, Any] = field(default_factory=dict)

    def publish_options(self, queue: str) -> dict[str, Any]:
        """Straight to the queue (kombu's default exchange), persistent, JSON."""
        return {
            "routing_key": queue,
            "exchange": "",
            "serializer": SERIALIZER,
            "headers": self.headers,
            "correlation_id": self.task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "declare": [],
        }


def encode_task(item: Any, task_id: str) -> TaskMessage:
    """The message that asks a worker to grade ``item``, with the headers Celery's own
    ``send_task`` writes, so a worker, Flower and ``celery inspect`` read it as theirs."""
    headers = {
        "lang": "py",
        "task": TASK_NAME,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": "(...)",
        "kwargsrepr": "{}",
        "origin": f"{os.getpid()}@{socket.gethostname()}",
        "ignore_result": True,
    }
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    return TaskMessage(task_id, [[item], {}, embed], headers)


class MalformedTaskError(ValueError):
    """A message body that is not a Celery task message; its text is the problem."""


def decode_task(payload: Any, version: int = 2) -> tuple[Sequence[Any], Mapping[str, Any], Any]:
    """``(args, kwargs, embed)`` of a decoded task message body: protocol 2's
    ``[args, kwargs, embed]``, or protocol 1's dict with ``args`` and ``kwargs`` (which
    Celery hands the strategy as its body). MalformedTaskError names what is wrong."""
    if version == 2:
        shaped = (
            isinstance(payload, list | tuple)
            and len(payload) == 3
            and isinstance(payload[0], list | tuple)
            and isinstance(payload[1], dict)
            and isinstance(payload[2], dict | None)
        )
        if not shaped:
            raise MalformedTaskError(
                "message: the body is not a Celery task message ([args, kwargs, embed])"
            )
        return payload[0], payload[1], payload[2]
    if not isinstance(payload, Mapping):
        raise MalformedTaskError("message: the body is not a Celery task message")
    args, kwargs = payload.get("args", []), payload.get("kwargs", {})
    if not isinstance(args, list | tuple) or not isinstance(kwargs, dict):
        raise MalformedTaskError("message: the body's args or kwargs are not a list and an object")
    return args, kwargs, payload


def usable_id(value: Any) -> str | None:
    """``value`` when it can name a task or a result (a string of 1 to 256 chars)."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS else None


# -- payloads and result ids ------------------------------------------------------------


def dump_payload(payload: Any) -> str:
    """A submitted payload as the in-flight record keeps it (redelivery sends it again).
    ASCII escapes keep lone surrogates (valid in JSON, not in UTF-8) storable. Raises
    RecursionError or ValueError for what JSON cannot carry."""
    return json.dumps(payload, default=str)


def load_payload(raw: str | bytes) -> Any:
    return json.loads(raw)


def dead_payload(payload: Any) -> str:
    """A payload as the dead-letter stream keeps it, readable for an operator."""
    return json.dumps(payload, ensure_ascii=False, default=str)


def item_id_of(data: Any, fallback: str = "") -> str:
    """The id a result for ``data`` carries, valid or not, in-process and in the worker.

    The item's own id when it is usable (a string, or an integer, of 1 to 256 characters),
    else ``fallback``: the task id of the message that carried it in the worker, ``""``
    in-process (where results come back in input order). Never a truncated id, which
    could be another item's.
    """
    if isinstance(data, ContentItem):
        return data.id
    raw = data.get("id") if isinstance(data, Mapping) else None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return fallback
    text = str(raw)
    return scrub_surrogates(text) if 1 <= len(text) <= MAX_ID_CHARS else fallback
