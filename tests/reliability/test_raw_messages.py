"""Messages kombu hands over undecoded: a content type it does not decode (empty, absent,
``application/data``, ``application/text``), an encoding it skips (``binary``,
``ascii-8bit``), an empty body, or JSON that is not a task message's shape. Each once
killed the worker (celery-batches' strategy raised outside any task), and every restart
again, since the message came back. Each must get an error result (or, with no task id,
a dead-letter entry) and the worker must keep grading."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
import redis

from qualitygate.client import QualityGateClient
from qualitygate.protocol import TASK_NAME
from tests.support.messages import push_envelope
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess

pytestmark = pytest.mark.integration

TASK_BODY = json.dumps([[{"id": "x", "text": "hi"}], {}, {}]).encode()
# (content type, content encoding, body); None leaves the envelope key out.
RAW_CASES = [
    ("", "binary", TASK_BODY),
    (None, None, TASK_BODY),
    (None, "binary", TASK_BODY),
    ("application/data", "binary", TASK_BODY),
    ("application/data", "ascii-8bit", TASK_BODY),
    ("application/data", "utf-8", TASK_BODY),
    ("application/text", "utf-8", TASK_BODY),
    ("application/text", "binary", b"\xff\xfe not text"),
    ("", "utf-8", json.dumps([[{"id": "x", "text": "args"}], {}, {}]).encode()),
    ("", "rot13", TASK_BODY),
    ("application/json", "utf-8", b""),
    ("application/json", "utf-8", b"null"),
    ("application/json", "utf-8", b"5"),
    ("application/json", "utf-8", b'"args"'),
    ("application/json", "utf-8", b"{}"),
    ("application/json", "utf-8", b"[1]"),
    ("application/json", "utf-8", b"[5, {}, {}]"),
    ("application/json", "utf-8", b'[[{"id": "y", "text": "hi"}], [], 7]'),
]


def push_raw_cases(namespace: QueueNamespace) -> tuple[list[str], str]:
    """Every raw case with a task id, and the issue's repro without one (headers carry
    only the task name). Returns the task ids and the id-less message's delivery tag."""
    settings = namespace.settings()
    task_ids = []
    for content_type, encoding, body in RAW_CASES:
        task_id = str(uuid.uuid4())
        headers = {"task": TASK_NAME, "id": task_id, "lang": "py"}
        push_envelope(
            settings.redis.url, settings.worker.queue, body, headers, content_type, encoding
        )
        task_ids.append(task_id)
    tag = push_envelope(
        settings.redis.url, settings.worker.queue, TASK_BODY, {"task": TASK_NAME}, "", "binary"
    )
    return task_ids, tag


def test_raw_messages_get_error_results_and_the_worker_keeps_grading(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    settings = namespace.settings()
    worker = start_worker()
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        raw_ids, tag = push_raw_cases(namespace)
        good = client.submit([{"id": "after", "text": "A short note on tomatoes and basil."}])
        entries = read_all(client, len(raw_ids) + 2, timeout_s=60, worker=worker)
    by_task = {entry.result.task_id: entry.result for entry in entries}
    assert set(by_task) == {*raw_ids, tag, *good}
    for task_id in [*raw_ids, tag]:
        result = by_task[task_id]
        assert result.status == "error" and result.error is not None, result
        assert result.error.code == "invalid_item"
        assert result.error.message.startswith("message:"), result.error.message
    assert by_task[good[0]].status == "graded"
    # The id-less message is kept for an operator on the dead stream, under its tag.
    dead = redis_client.xrange(settings.streams.dead)
    assert [fields["task_id"] for _, fields in dead] == [tag]
    assert worker.process is not None and worker.process.poll() is None
    assert redis_client.llen(settings.worker.queue) == 0


def test_a_restarted_worker_does_not_die_on_them_again(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess]
) -> None:
    settings = namespace.settings()
    first = start_worker()
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        raw_ids, _ = push_raw_cases(namespace)
        read_all(client, len(raw_ids) + 1, timeout_s=60, worker=first)
        first.stop()
        second = start_worker()
        good = client.submit([{"id": "later", "text": "Basil likes warm sunny windows."}])
        entries = read_all(client, 1, timeout_s=60, worker=second)
    assert [(e.result.task_id, e.result.status) for e in entries] == [(good[0], "graded")]
    assert second.process is not None and second.process.poll() is None


def test_queue_entries_that_are_not_kombu_messages_do_not_stop_the_worker(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    settings = namespace.settings()
    worker = start_worker()
    queue = settings.worker.queue
    for entry in ("not json", '{"body": "no properties"}', "[1, 2]", "[" * 100_000, "null"):
        redis_client.lpush(queue, entry)
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        good = client.submit([{"id": "after", "text": "A short note on tomatoes and basil."}])
        entries = read_all(client, 1, timeout_s=60, worker=worker)
    assert [(e.result.task_id, e.result.status) for e in entries] == [(good[0], "graded")]
    assert worker.process is not None and worker.process.poll() is None
    assert "dropped a queue entry that is not a kombu message" in worker.log()


def test_a_malformed_envelope_between_messages_strands_none_of_them(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    # kombu counts the KeyError of an envelope without properties as a connection error: the
    # consumer reconnected and the messages it had buffered waited out the visibility
    # timeout (an hour here) unanswered, while nothing new was consumed either.
    # Neither the visibility timeout nor the client's redelivery may rescue them in the test.
    slow = {"QG_WORKER__VISIBILITY_TIMEOUT_S": "3600", "QG_WORKER__REDELIVER_AFTER_S": "7200"}
    settings = namespace.settings(**slow)
    worker = start_worker(**slow)
    queue = settings.worker.queue
    texts = [f"Note {n} on growing tomatoes and basil together." for n in range(8)]
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        sent = client.submit([{"id": f"before-{n}", "text": t} for n, t in enumerate(texts[:5])])
        for entry in ('{"body": 1}', '{"properties": {}}', '{"properties": {"delivery_tag": "x"}}'):
            redis_client.lpush(queue, entry)
        sent += client.submit([{"id": f"after-{n}", "text": t} for n, t in enumerate(texts[5:])])
        entries = read_all(client, len(sent), timeout_s=90, worker=worker)
    assert sorted(e.result.task_id for e in entries) == sorted(sent)
    assert all(e.result.status == "graded" for e in entries)
    assert worker.process is not None and worker.process.poll() is None
    assert (
        "dropped a queue entry that is not a kombu message (no properties object)" in worker.log()
    )
