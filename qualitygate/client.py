"""The CMS side of the queue: send items to the workers, read results back from Redis.

Owns the message format a CMS sends (one Celery task message per item, JSON only, the
item as the task's one argument) and the consumer-group reading of the results stream,
including reclaiming entries a dead consumer left unacknowledged. This is the only module
of ``qualitygate`` that imports Celery or Redis; it must not import ``workers``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import redis
from celery import Celery
from kombu.exceptions import OperationalError
from kombu.utils.uuid import uuid
from pydantic import ValidationError

from qualitygate.config import Settings, load_settings
from qualitygate.errors import ConfigError, InvalidItemError, RedisUnavailableError
from qualitygate.redis_url import mask_url, normalise_redis_url
from qualitygate.schemas import ContentItem, GradeResult, validate_item

logger = logging.getLogger(__name__)

# The task the workers register; a CMS in another language sends Celery protocol 2
# messages with this task name and the item as the only positional argument.
TASK_NAME = "qualitygate.grade"


class ResultEntry(NamedTuple):
    """One stream entry: its id (to acknowledge) and the result it carries."""

    entry_id: str
    result: GradeResult


def celery_client_config(settings: Settings) -> dict[str, Any]:
    """What a producer needs: the broker, JSON only, and the queue the workers read."""
    return {
        "broker_url": settings.redis.url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": settings.worker.visibility_timeout_s},
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_default_queue": settings.worker.queue,
        "task_routes": {TASK_NAME: {"queue": settings.worker.queue}},
    }


class QualityGateClient:
    """Submit content to the workers and consume their results, for a CMS.

    Results arrive on the stream ``streams.results``; read them with a consumer group so a
    CMS that was down catches up, and acknowledge what was handled. Each submitted message
    gets exactly one stream entry: the worker publishes at most once per task id, even when
    Redis delivers a message twice after a crash, so the client does not de-duplicate.
    """

    def __init__(self, redis_url: str | None = None, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        url = _checked_url(redis_url) if redis_url else self.settings.redis.url
        self._url = url
        config = celery_client_config(self.settings) | {"broker_url": url}
        self._celery = Celery("qualitygate-client", set_as_current=False)
        self._celery.conf.update(config)
        self.redis: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
        self.stream = self.settings.streams.results
        self._last_group: str | None = None
        self._claim_cursor: dict[str, str] = {}

    def close(self) -> None:
        self._celery.close()
        self.redis.close()

    def __enter__(self) -> QualityGateClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def reporting_unreachable(self) -> Iterator[None]:
        """Turn Redis being unreachable inside the block into one RedisUnavailableError
        naming the (masked) URL, so a command line prints a line, not a traceback."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError, OperationalError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RedisUnavailableError(
                f"redis.url {mask_url(self._url)}: cannot reach Redis ({reason})"
            ) from None

    def ping(self) -> None:
        """Fail fast, before any work, when Redis cannot be reached."""
        with self.reporting_unreachable():
            self.redis.ping()

    # -- submitting -------------------------------------------------------------------

    def submit(
        self, items: Iterable[ContentItem | Mapping[str, Any] | Any], validate: bool = True
    ) -> list[str]:
        """Send one message per item; returns their task ids, in order.

        With ``validate`` (the default) every item is checked first and nothing is sent
        if one is invalid (InvalidItemError names its index and field). Without it, items
        go as they are and a bad one comes back as an error result on the stream.
        """
        payloads = [self._payload(index, item, validate) for index, item in enumerate(items)]
        task_ids = [uuid() for _ in payloads]
        self._record_in_flight(task_ids, payloads)
        with self._celery.producer_or_acquire() as producer:
            for task_id, payload in zip(task_ids, payloads, strict=True):
                self._celery.send_task(
                    TASK_NAME,
                    args=[payload],
                    task_id=task_id,
                    queue=self.settings.worker.queue,
                    serializer="json",
                    producer=producer,
                )
        return task_ids

    def _record_in_flight(self, task_ids: list[str], payloads: list[Any]) -> None:
        """Keep each payload until its result is published, so a worker can send again a
        message the broker lost (see ``workers/redeliver.py``)."""
        payload_key, at_key = in_flight_keys(self.settings)
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for index, (task_id, payload) in enumerate(zip(task_ids, payloads, strict=True)):
            try:
                # ASCII escapes keep lone surrogates (valid in JSON, not in UTF-8) storable.
                encoded = json.dumps(payload, default=str)
            except (RecursionError, ValueError) as exc:
                # Unvalidated items still have to be JSON: say which, before anything is sent.
                raise InvalidItemError(
                    f"items[{index}]: cannot be sent as JSON ({type(exc).__name__}: nested "
                    "too deep or circular)"
                ) from None
            pipe.hset(payload_key, task_id, encoded)
            pipe.zadd(at_key, {task_id: now})
        pipe.execute()

    def _payload(self, index: int, item: Any, validate: bool) -> Any:
        if isinstance(item, ContentItem):
            payload: Any = item.model_dump(mode="json")
        else:
            payload = dict(item) if isinstance(item, Mapping) else item
        if validate:
            try:
                validate_item(payload, self.settings.limits)
            except InvalidItemError as exc:
                raise InvalidItemError(f"items[{index}]: {exc.message}") from None
        return payload

    # -- consuming --------------------------------------------------------------------

    def ensure_group(self, group: str) -> None:
        """Create the consumer group at the stream's start (so nothing already there is
        missed), creating the stream too; a group that exists is left alone."""
        try:
            self.redis.xgroup_create(self.stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def results(
        self, group: str, consumer: str, count: int = 100, block_ms: int | None = 1000
    ) -> list[ResultEntry]:
        """Up to ``count`` results for this consumer: first entries reclaimed from consumers
        idle longer than ``streams.reclaim_idle_ms``, else new ones (waiting up to
        ``block_ms``; None or 0 does not wait). Acknowledge each with ``ack`` once handled."""
        self.ensure_group(group)
        self._last_group = group
        reclaimed = self.reclaim(group, consumer, count=count)
        if reclaimed:
            return reclaimed
        response = self.redis.xreadgroup(
            group, consumer, {self.stream: ">"}, count=count, block=block_ms or None
        )
        entries: list[ResultEntry] = []
        for _stream, messages in response or []:
            entries.extend(_entries(messages))
        return entries

    def reclaim(
        self, group: str, consumer: str, count: int = 100, min_idle_ms: int | None = None
    ) -> list[ResultEntry]:
        """Take over entries another consumer read but did not acknowledge for
        ``min_idle_ms`` (default ``streams.reclaim_idle_ms``): a CMS process that died."""
        idle = self.settings.streams.reclaim_idle_ms if min_idle_ms is None else min_idle_ms
        cursor = self._claim_cursor.get(group, "0-0")
        response = self.redis.xautoclaim(
            self.stream, group, consumer, min_idle_time=idle, start_id=cursor, count=count
        )
        next_cursor, messages = response[0], response[1]
        self._claim_cursor[group] = next_cursor
        return _entries(messages)

    def ack(self, entry_ids: str | Iterable[str], group: str | None = None) -> int:
        """Acknowledge handled entries (for ``group``, or the group last read); returns how
        many were pending."""
        ids = [entry_ids] if isinstance(entry_ids, str) else list(entry_ids)
        group = group or self._last_group
        if group is None:
            raise ValueError("ack: no group given and none read yet")
        return int(self.redis.xack(self.stream, group, *ids)) if ids else 0

    def get(self, item_id: str) -> GradeResult | None:
        """The latest result for an item id, while its TTL lasts; None when there is none."""
        raw = self.redis.get(self.settings.streams.result_key_prefix + item_id)
        return GradeResult.model_validate_json(raw) if raw else None


def _checked_url(url: str) -> str:
    """A URL handed in directly gets the same credential rule as one from config."""
    try:
        return normalise_redis_url(url)
    except ValueError as exc:
        raise ConfigError(f"redis_url: {exc}") from None


def in_flight_keys(settings: Settings) -> tuple[str, str]:
    """The hash of payloads submitted but not yet published, and the sorted set of when
    each was (last) sent; the publisher removes an entry when its result is out."""
    prefix = settings.streams.state_key_prefix
    return f"{prefix}inflight", f"{prefix}inflight:sent-at"


def _entries(messages: Iterable[Any]) -> list[ResultEntry]:
    entries = []
    for entry_id, fields in messages:
        if not fields:  # trimmed away while pending
            continue
        result = parse_result(fields.get("result"))
        if result is None:
            # Left pending (XPENDING shows it), so one stray entry never blocks the rest.
            logger.warning("stream entry %s is not a GradeResult; left pending", entry_id)
            continue
        entries.append(ResultEntry(entry_id, result))
    return entries


def parse_result(raw: str | None) -> GradeResult | None:
    """A result from a newer or older worker too: fields this client does not know are
    dropped rather than failing the read; None when it is not a result at all."""
    if not raw:
        return None
    try:
        return GradeResult.model_validate_json(raw)
    except ValidationError:
        pass
    try:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in GradeResult.model_fields}
        return GradeResult.model_validate(known)
    except (ValueError, AttributeError, ValidationError):
        return None
