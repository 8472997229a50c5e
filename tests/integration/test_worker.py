"""A real worker process on the real Redis: batching, bad input, a SIGKILL mid-batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import redis

from qualitygate.client import QualityGateClient
from tests.support.messages import send_not_json
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess, wait_for

pytestmark = pytest.mark.integration


def good_item(index: int) -> dict[str, Any]:
    return {
        "id": f"item-{index}",
        "text": f"Post number {index}: a short, friendly note about our garden and the tomatoes.",
        "metadata": {"index": index},
    }


EMPTY = "empty_content"
# Bad items the client sends as they are (validate=False), with what their error must name.
BAD_ITEMS: list[tuple[Any, str, str]] = [
    ({"id": "bad-no-text-1"}, "invalid_item", "text"),
    ({"id": "bad-no-text-2", "title": "only a title"}, "invalid_item", "text"),
    ({"id": "bad-no-text-3", "format": "html"}, "invalid_item", "text"),
    ({"id": "bad-type-1", "text": 123}, "invalid_item", "text"),
    ({"id": "bad-type-2", "text": "fine", "metadata": "not an object"}, "invalid_item", "metadata"),
    ({"id": "bad-type-3", "text": "fine", "format": "pdf"}, "invalid_item", "format"),
    ({"id": "x" * 300, "text": "an id far too long"}, "invalid_item", "id"),
    ({"id": "y" * 257, "text": "an id one too long"}, "invalid_item", "id"),
    ({"id": "z" * 1000, "text": "an id much too long"}, "invalid_item", "id"),
    ({"id": "bad-long-1", "text": "a" * 2001}, "invalid_item", "max_text_chars"),
    ({"id": "bad-long-2", "text": "b" * 5000}, "invalid_item", "max_text_chars"),
    ({"id": "bad-long-3", "text": "가" * 3000}, "invalid_item", "max_text_chars"),
    ({"id": "bad-html-1", "format": "html", "text": "</>"}, EMPTY, "text"),
    ({"id": "bad-html-2", "format": "html", "text": "<!-- a comment -->"}, EMPTY, "text"),
    ({"id": "bad-html-3", "format": "html", "text": "<p><script>1</script>"}, EMPTY, "text"),
    ("just a string, not an object", "invalid_item", "JSON object"),
    ([1, 2, 3], "invalid_item", "JSON object"),
]
NOT_JSON_BODIES = [b"this is not JSON", b'{"id": "broken", "text": ', b"\xff\xfe\x00garbage"]


def test_200_items_one_by_one_with_20_bad(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker()
    settings = namespace.settings()
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    expected: dict[str, tuple[str, str] | None] = {}  # task id -> (code, named) for bad ones
    bad_at = {i * 10 + 3: n for n, i in enumerate(range(len(BAD_ITEMS)))}
    not_json_at = {197: 0, 198: 1, 199: 2}
    for index in range(200):
        if index in bad_at:
            payload, code, named = BAD_ITEMS[bad_at[index]]
            [task_id] = client.submit([payload], validate=False)
            expected[task_id] = (code, named)
        elif index in not_json_at:
            task_id = send_not_json(
                settings.redis.url, settings.worker.queue, NOT_JSON_BODIES[not_json_at[index]]
            )
            expected[task_id] = ("invalid_item", "not valid")
        else:
            [task_id] = client.submit([good_item(index)])
            expected[task_id] = None
    assert sum(1 for v in expected.values() if v) == 20

    entries = read_all(client, 200, timeout_s=90, worker=worker)
    assert client.results("cms", "test", count=10, block_ms=500) == []  # and nothing more
    by_task = {entry.result.task_id: entry.result for entry in entries}
    assert len(entries) == 200 and set(by_task) == set(expected)

    for task_id, bad in expected.items():
        result = by_task[task_id]
        if bad is None:
            assert result.status == "graded", result.error
            assert result.id.startswith("item-") and result.level is not None
            assert result.metadata == {"index": int(result.id.split("-")[1])}
            continue
        code, named = bad
        assert result.status == "error" and result.error is not None
        assert result.error.code == code, result.error
        assert named in result.error.message, result.error.message
        assert len(result.id) <= 256
    too_long = [r for r in by_task.values() if r.error and r.error.message.startswith("id")]
    assert all(r.id == r.task_id for r in too_long)  # an unusable id falls back to the task id
    assert client.get("item-0") is not None and client.get("item-0").status == "graded"

    sizes = [r["batch_size"] for r in worker.log_records() if "batch_size" in r]
    assert sum(sizes) == 200 - len(NOT_JSON_BODIES)  # unreadable ones never reach the pool
    assert max(sizes) > 1, sizes
    assert all("Post number" not in line for line in worker.log().splitlines())

    metrics = urllib.request.urlopen(
        f"http://127.0.0.1:{settings.worker.metrics_port}/metrics", timeout=5
    ).read()
    text = metrics.decode()
    graded = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("qualitygate_items_graded_total{")
    )
    assert graded == 180
    assert 'qualitygate_item_errors_total{code="invalid_item"} 17.0' in text
    assert "qualitygate_queue_depth" in text
    client.close()


def test_sigkill_mid_batch_loses_nothing(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
) -> None:
    # A short visibility timeout, so messages the killed worker held come back in seconds.
    short = {
        "QG_WORKER__SOFT_TIME_LIMIT_S": "3",
        "QG_WORKER__TIME_LIMIT_S": "4",
        "QG_WORKER__VISIBILITY_TIMEOUT_S": "5",
        "QG_WORKER__REDELIVER_AFTER_S": "8",
        "QG_WORKER__BATCH_SIZE": "24",
    }
    settings = namespace.settings(**short)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    task_ids = client.submit([good_item(i) for i in range(240)])
    worker = start_worker(**short)

    results_stream = settings.streams.results
    wait_for(lambda: redis_client.xlen(results_stream) >= 30, 60, "the first batches")
    worker.kill()
    published_before = redis_client.xlen(results_stream)
    held = [
        tag
        for tag, raw in redis_client.hscan_iter("unacked")
        if json.loads(raw)[2] == settings.worker.queue
    ]
    assert published_before < 240, "the worker finished before it could be killed"
    assert held, "the killed worker held no unacknowledged messages"

    restarted = start_worker(**short)
    entries = read_all(client, 240, timeout_s=120, worker=restarted)
    assert client.results("cms", "test", count=10, block_ms=1500) == []
    counts = Counter(entry.result.task_id for entry in entries)
    assert set(counts) == set(task_ids) and max(counts.values()) == 1  # once per message
    assert all(entry.result.status == "graded" for entry in entries)
    for index in range(240):
        final = client.get(f"item-{index}")
        assert final is not None and final.status == "graded"
    client.close()


def test_a_killed_pool_process_hands_its_batch_back_at_once(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess]
) -> None:
    # A visibility timeout far beyond the wait below: only the immediate requeue of the
    # lost batch (not kombu's restore of old unacked messages) can bring them back.
    long_visibility = {
        "QG_WORKER__VISIBILITY_TIMEOUT_S": "900",
        "QG_WORKER__REDELIVER_AFTER_S": "1000",
    }
    settings = namespace.settings(**long_visibility)
    worker = start_worker(**long_visibility)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    task_ids = client.submit([good_item(i) for i in range(480)])
    results = settings.streams.results
    wait_for(lambda: client.redis.xlen(results) >= 16, 60, "the first batch")

    def lost() -> bool:
        return "the process grading a batch" in worker.log()

    # A kill can land between two batches, or on a fresh pool process still loading the
    # model, when the process holds nothing: kill again, each time right after the process
    # that replaced it has published, until one held a batch.
    for _ in range(10):
        published = client.redis.xlen(results)
        if lost() or published >= 480:
            break
        [child] = subprocess.run(
            ["pgrep", "-P", str(worker.process.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        os.kill(int(child), signal.SIGKILL)
        wait_for(
            lambda published=published: lost() or client.redis.xlen(results) > published + 16,
            60,
            "a pool process grading again",
        )

    entries = read_all(client, 480, timeout_s=90, worker=worker)
    assert Counter(entry.result.task_id for entry in entries) == Counter(task_ids)
    # The kill landed on a process that held a batch, so the requeue path really ran.
    assert "the process grading a batch" in worker.log()
    client.close()
