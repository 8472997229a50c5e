"""The CMS side of the queue: send items to the workers, read results back from Redis.

Owns the sending (one task message per item, built by ``qualitygate.protocol``, published
with kombu) and the consumer-group reading of the results stream, including reclaiming
entries a dead consumer left unacknowledged. The message format and the key names are the
protocol's, not this module's. With the CLI, this is the only module of ``qualitygate``
that imports Redis or kombu (kombu only when sending, so reading results needs no
broker library loaded); it must not import ``workers`` or Celery.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

import redis
from pydantic import ValidationError

from qualitygate.config import Settings, load_settings
from qualitygate.errors import ConfigError, InvalidItemError, RedisUnavailableError, first_line
from qualitygate.labels import LabelRecord, build_label, dump_label, load_label
from qualitygate.live import ConfigVersion
from qualitygate.protocol import (
    Keys,
    broker_options,
    broker_ssl,
    dump_payload,
    encode_task,
    item_id_of,
)
from qualitygate.redis_connect import connect
from qualitygate.redis_url import mask_url, normalise_redis_url
from qualitygate.schemas import ContentItem, GradeResult, validate_item

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from kombu import Connection

# Celery's own publishing retries: a Redis that blinks does not fail a submit.
# A blocking stream read waits at most this long per command: redis-py 8 gives every
# connection a 5 s socket timeout, and a longer XREADGROUP BLOCK would end in TimeoutError.
_BLOCK_SLICE_MS = 1000
_SEND_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


# One round trip for a whole request: per item, the task already sent for this id and
# content within the window -- but only while it is still the item's latest submission
# (A, then B, then A again is a new submission: A's old task is not B's grade) -- or a new
# one recorded in flight (before anything is sent, so a crash between this and the send
# loses nothing: redelivery sends it). A new one becomes the item's latest task (for
# "pending", and for the publisher to know which result is the latest) and records who
# sent it (for callbacks); a repeat changes neither, so it cannot steal the callback.
_SUBMIT_ONCE = """
local payloads, sent_at = KEYS[1], KEYS[2]
local now, window, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local origin = ARGV[4]
local out = {}
for i = 1, (#KEYS - 2) / 3 do
  local submitted, latest, origin_key = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local task_id, payload = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local existing = false
  if window > 0 then existing = redis.call('GET', submitted) end
  if existing and redis.call('GET', latest) ~= existing then existing = false end
  if existing then
    redis.call('EXPIRE', latest, keep)
    out[2 * i - 1], out[2 * i] = existing, 0
  else
    if window > 0 then redis.call('SET', submitted, task_id, 'EX', window) end
    redis.call('HSET', payloads, task_id, payload)
    redis.call('ZADD', sent_at, now, task_id)
    redis.call('SET', latest, task_id, 'EX', keep)
    if origin ~= '' then redis.call('SET', origin_key, origin, 'EX', keep) end
    out[2 * i - 1], out[2 * i] = task_id, 1
  end
end
return out
"""

# When sending failed: forget the submission keys this call set (each only while it still
# names this call's task), so the retried request sends again instead of answering "same
# task" with nothing queued. The in-flight record and the latest-task pointer stay: the
# task may have reached the broker after all, and redelivery sends it if it did not.
_UNDO_SUBMIT = """
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then redis.call('DEL', KEYS[i]) end
end
return #KEYS
"""


class Submitted(NamedTuple):
    """One item of an idempotent submit: its task id and whether this call sent it."""

    item_id: str
    task_id: str
    sent: bool


class ResultEntry(NamedTuple):
    """One stream entry: its id (to acknowledge) and the result it carries."""

    entry_id: str
    result: GradeResult


class MissedResult(NamedTuple):
    """A result trimmed from the stream before a group read or acknowledged it: fetch it
    with ``client.get(item_id)`` while its result key lives, then ``forget_missed``."""

    record_id: str  # in the group's missed stream; what ``forget_missed`` takes
    entry_id: str  # the results-stream entry it was
    item_id: str
    task_id: str


class QualityGateClient:
    """Submit content to the workers and consume their results, for a CMS.

    Results arrive on the stream ``streams.results``; read them with a consumer group so a
    CMS that was down catches up, and acknowledge what was handled. Each submitted message
    gets exactly one stream entry: the worker publishes at most once per task id, even when
    Redis delivers a message twice after a crash, so the client does not de-duplicate.
    """

    def __init__(self, redis_url: str | None = None, settings: Settings | None = None) -> None:
        settings = settings if settings is not None else load_settings()
        if redis_url:
            # Everything below (the broker's transport options too) reads this one URL.
            redis_settings = settings.redis.model_copy(update={"url": _checked_url(redis_url)})
            settings = settings.model_copy(update={"redis": redis_settings})
        self.settings = settings
        url = self._url = settings.redis.url
        # kombu connections and producers are not thread-safe, and an HTTP API's threadpool
        # shares this client: one producer behind a lock. bench/http.py measures it against
        # a producer per thread: as fast within noise, with one connection instead of one
        # per thread of the pool.
        self._broker: Connection | None = None
        self._producer: Any = None
        self._send_lock = threading.Lock()
        self._submit_once_script: Any = None
        self.keys = Keys.from_settings(self.settings)
        self.redis: redis.Redis = connect(self.settings.redis, url, decode_responses=True)
        self.stream = self.keys.results
        self._last_group: str | None = None
        self._claim_cursor: dict[str, str] = {}

    def close(self) -> None:
        with self._send_lock:
            if self._broker is not None:
                self._broker.release()
                self._broker = self._producer = None
        self.redis.close()

    def __enter__(self) -> QualityGateClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def reporting_unreachable(self) -> Iterator[None]:
        """Turn Redis being unreachable inside the block into one RedisUnavailableError
        naming the (masked) URL, so a command line prints a line, not a traceback."""
        from kombu.exceptions import OperationalError  # kombu's, when sending failed

        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError, OperationalError) as exc:
            raise RedisUnavailableError(
                f"redis.url {mask_url(self._url)}: cannot reach Redis ({first_line(exc)})"
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
        task_ids = [str(uuid.uuid4()) for _ in payloads]
        self._record_in_flight(task_ids, payloads)
        self._send(zip(task_ids, payloads, strict=True))
        return task_ids

    def submit_once(
        self, items: Iterable[ContentItem | Mapping[str, Any]], origin: str | None = None
    ) -> list[Submitted]:
        """Like ``submit``, but an item whose id and content were already submitted within
        ``worker.cache_ttl_s``, and are still its latest submission, gets the task id it
        got then, and nothing is sent again: a CMS that retries a request after a timeout
        gets one grade, not two. The content is the whole validated item (text, title,
        prompt, format, language, metadata...), so an edited item is graded again, and so
        is one edited back. ``origin`` (``key:NAME`` or ``source:NAME``) is recorded for
        the callback deliverer when the item is sent. When sending fails, a retry sends
        again. Items are always validated first."""
        checked = [self._checked(index, item) for index, item in enumerate(items)]
        if not checked:
            return []
        keys, argv = [self.keys.in_flight_payloads, self.keys.in_flight_sent_at], []
        streams, worker = self.settings.streams, self.settings.worker
        argv += [repr(time.time()), str(worker.cache_ttl_s), str(streams.result_ttl_s)]
        argv.append(origin or "")
        for item, payload in checked:
            digest = _submission_digest(payload)
            keys += [
                self.keys.submission(item.id, digest),
                self.keys.latest_task(item.id),
                self.keys.origin(item.id),
            ]
            argv += [str(uuid.uuid4()), dump_payload(payload)]
        if self._submit_once_script is None:
            self._submit_once_script = self.redis.register_script(_SUBMIT_ONCE)
        flat = self._submit_once_script(keys=keys, args=argv)
        done = [
            Submitted(item.id, str(flat[2 * i]), bool(int(flat[2 * i + 1])))
            for i, (item, _payload) in enumerate(checked)
        ]
        payload_of = {s.task_id: p for s, (_i, p) in zip(done, checked, strict=True) if s.sent}
        try:
            self._send(payload_of.items())
        except Exception:
            self._undo_submissions(keys, done)
            raise
        return done

    def _undo_submissions(self, keys: list[str], done: list[Submitted]) -> None:
        """After a failed send, let a retry send again (see ``_UNDO_SUBMIT``). Best effort:
        Redis may be what failed, and the send's own error is the one to report."""
        submission_keys = keys[2::3]  # after the two in-flight keys: submission, latest, origin
        sent = [(k, s.task_id) for k, s in zip(submission_keys, done, strict=True) if s.sent]
        if not sent:
            return
        try:
            self.redis.eval(_UNDO_SUBMIT, len(sent), *[k for k, _ in sent], *[t for _, t in sent])
        except redis.RedisError as exc:
            logger.warning("after a failed send, could not undo submissions: %s", first_line(exc))

    def _checked(self, index: int, item: Any) -> tuple[ContentItem, dict[str, Any]]:
        try:
            valid = validate_item(item, self.settings.limits)
        except InvalidItemError as exc:
            raise InvalidItemError(f"items[{index}]: {exc.message}") from None
        return valid, valid.model_dump(mode="json")

    def _send(self, messages: Iterable[tuple[str, Any]]) -> None:
        """Publish one task message per (task id, payload); one thread at a time."""
        with self._send_lock:
            if self._producer is None:
                self._producer = self._connection().Producer()
            self._publish(self._producer, messages)

    def _publish(self, producer: Any, messages: Iterable[tuple[str, Any]]) -> None:
        queue = self.settings.worker.queue
        for task_id, payload in messages:
            message = encode_task(payload, task_id)
            producer.publish(
                message.body,
                **message.publish_options(queue),
                retry=True,
                retry_policy=_SEND_RETRY,
            )

    def _connection(self) -> Connection:
        """A new broker connection (kombu, imported on the first submit)."""
        if self._broker is None:
            from kombu import Connection

            # The retry policy bounds connecting too, which kombu would otherwise retry forever.
            # A sentinel:// URL gets kombu's Sentinel transport with the master's name.
            options = broker_options(self.settings) | _SEND_RETRY
            ssl = broker_ssl(self.settings)
            extra = {"ssl": ssl} if ssl else {}
            self._broker = Connection(self._url, transport_options=options, **extra)
        return self._broker

    def _record_in_flight(self, task_ids: list[str], payloads: list[Any]) -> None:
        """Keep each payload until its result is published, so a worker can send again a
        message the broker lost (see ``workers/redeliver.py``)."""
        payload_key, at_key = self.keys.in_flight_payloads, self.keys.in_flight_sent_at
        now, keep = time.time(), self.settings.streams.result_ttl_s
        pipe = self.redis.pipeline(transaction=False)
        for index, (task_id, payload) in enumerate(zip(task_ids, payloads, strict=True)):
            try:
                encoded = dump_payload(payload)
            except (RecursionError, ValueError) as exc:
                # Unvalidated items still have to be JSON: say which, before anything is sent.
                raise InvalidItemError(
                    f"items[{index}]: cannot be sent as JSON ({type(exc).__name__}: nested "
                    "too deep or circular)"
                ) from None
            pipe.hset(payload_key, task_id, encoded)
            pipe.zadd(at_key, {task_id: now})
            # The newest submission of an id is the one whose result becomes its latest.
            item_id = item_id_of(payload, fallback=task_id)
            pipe.set(self.keys.latest_task(item_id), task_id, ex=keep)
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
        deadline = time.monotonic() + (block_ms or 0) / 1000
        while True:  # in slices: a wait longer than the socket timeout would raise
            left_ms = int((deadline - time.monotonic()) * 1000)
            block = min(left_ms, _BLOCK_SLICE_MS) if left_ms > 0 else None
            response = self.redis.xreadgroup(
                group, consumer, {self.stream: ">"}, count=count, block=block
            )
            entries: list[ResultEntry] = []
            for _stream, messages in response or []:
                entries.extend(_entries(messages))
            if entries or block is None:
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

    def missed(self, group: str, count: int = 1000, after: str = "-") -> list[MissedResult]:
        """Up to ``count`` results the group missed, oldest first: trimmed past
        ``streams.maxlen`` before it read or acknowledged them (with ``streams.on_full:
        continue``, or a CMS away longer than the pause could cover). Page with ``after``
        (the last ``record_id``), fetch each with ``get``, then ``forget_missed`` them."""
        start = "-" if after == "-" else f"({after}"
        rows = self.redis.xrange(self.keys.missed(group), min=start, count=count)
        return [
            MissedResult(record_id, f.get("entry", ""), f.get("id", ""), f.get("task_id", ""))
            for record_id, f in rows
        ]

    def forget_missed(self, group: str, record_ids: str | Iterable[str]) -> int:
        """Drop handled records from the group's missed stream; returns how many went."""
        ids = [record_ids] if isinstance(record_ids, str) else list(record_ids)
        return int(self.redis.xdel(self.keys.missed(group), *ids)) if ids else 0

    def get(self, item_id: str) -> GradeResult | None:
        """The latest result for an item id, while its TTL lasts; None when there is none."""
        raw = self.redis.get(self.keys.result(item_id))
        return GradeResult.model_validate_json(raw) if raw else None

    def recent_results(self, last: int) -> list[ResultEntry]:
        """The last ``last`` results on the stream, oldest first, without reading them as a
        group (nothing is claimed or acknowledged); an entry id starts with its unix ms."""
        return _entries(reversed(self.redis.xrevrange(self.stream, count=last)))

    # -- labels -----------------------------------------------------------------------

    def label(
        self, item_id: str, label: str, reviewer: str | None = None, reason: str | None = None
    ) -> LabelRecord:
        """Record a moderator's verdict on a graded item (``accept``/``reject`` or a level
        name) with what the gate had said; a later label for the same id replaces it.
        InvalidItemError names the field: a bad label, or an id with no stored result."""
        record = build_label(self.get(item_id), item_id, label, reviewer, reason)
        self.redis.xadd(
            self.keys.labels,
            {"id": item_id, "label": dump_label(record)},
            maxlen=self.settings.streams.maxlen,
            approximate=True,
        )
        return record

    def labels(self, since: float | None = None, page: int = 1000) -> list[LabelRecord]:
        """Every label on the stream (from ``since``, unix seconds), oldest first."""
        start = f"{int(since * 1000)}-0" if since else "-"
        records: list[LabelRecord] = []
        while True:
            entries = self.redis.xrange(self.keys.labels, min=start, count=page)
            for _, fields in entries:
                record = load_label(fields.get("label"))
                if record is not None:
                    records.append(record)
            if len(entries) < page:
                return records
            start = f"({entries[-1][0]}"

    # -- live config ------------------------------------------------------------------

    def config_version(self, version: str | None = None) -> ConfigVersion | None:
        """A stored config version (the active one by default); None when there is none."""
        version = version or self.redis.get(self.keys.config_active)
        raw = self.redis.hget(self.keys.config_versions, version) if version else None
        return ConfigVersion.model_validate_json(raw) if raw else None

    def config_version_ids(self) -> list[str]:
        return list(self.redis.hkeys(self.keys.config_versions))

    def activate_config(self, record: ConfigVersion, event: Mapping[str, Any]) -> None:
        """Store ``record`` (a version keeps its first record), make it the active one and
        log ``event`` in the history, in one transaction: workers switch on their next
        batch."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hsetnx(self.keys.config_versions, record.version, record.model_dump_json())
        pipe.set(self.keys.config_active, record.version)
        pipe.lpush(self.keys.config_history, json.dumps(dict(event)))
        pipe.ltrim(self.keys.config_history, 0, 999)
        pipe.execute()

    def config_history(self, last: int = 50) -> list[dict[str, Any]]:
        """The latest applies and rollbacks, newest first."""
        return [json.loads(raw) for raw in self.redis.lrange(self.keys.config_history, 0, last - 1)]

    def pending_task(self, item_id: str) -> str | None:
        """The task id of the item's latest ``submit_once`` while it is still in flight
        (queued or being graded); None once its result is published, or when unknown."""
        task_id = self.redis.get(self.keys.latest_task(item_id))
        if task_id and self.redis.hexists(self.keys.in_flight_payloads, task_id):
            return str(task_id)
        return None


def _submission_digest(payload: Mapping[str, Any]) -> str:
    """The SHA-256 of an item's canonical JSON: same id and same digest, same submission."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _checked_url(url: str) -> str:
    """A URL handed in directly gets the same credential rule as one from config."""
    try:
        return normalise_redis_url(url)
    except ValueError as exc:
        raise ConfigError(f"redis_url: {exc}") from None


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
