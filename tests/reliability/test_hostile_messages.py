"""Messages built to hurt the worker rather than to be graded: items nested hundreds of
levels deep (which once stalled a batch forever from the flush timer, or killed the worker
from a full batch, when pickling it for the pool hit the recursion limit) and compressed
bodies that inflate to hundreds of megabytes (kombu inflates before any check)."""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from qualitygate.client import QualityGateClient
from qualitygate.errors import InvalidItemError
from qualitygate.protocol import TASK_NAME
from qualitygate.schemas import max_message_bytes
from tests.reliability.test_size_limits import PeakSampler, group_rss_bytes
from tests.support.messages import push_envelope
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess

pytestmark = pytest.mark.integration

DEEP_ERROR = "metadata: nested deeper than 32 levels (limits.max_nesting_depth)"
BOMB_BYTES = 256 * 2**20


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def fine(prefix: str, count: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "text": f"Tomato note {i}: water early."} for i in range(count)]


def test_deep_items_are_refused_at_decode_and_their_neighbours_graded(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess]
) -> None:
    settings = namespace.settings()
    worker = start_worker()
    deep = {"id": "deep", "text": "hi", "metadata": nested(900)}
    with QualityGateClient(settings=settings) as client:
        with pytest.raises(InvalidItemError, match=r"^items\[1\]: metadata: nested deeper"):
            client.submit([fine("x", 1)[0], deep])
        client.ensure_group("cms")
        results = {}
        # Fewer than a batch: flushed by the timer. Then a full batch: flushed on arrival.
        for prefix, neighbours in (("timer", 4), ("full", settings.worker.batch_size - 1)):
            item = deep | {"id": f"deep-{prefix}"}
            client.submit([item, *fine(prefix, neighbours)], validate=False)
            entries = read_all(client, neighbours + 1, timeout_s=60, worker=worker)
            results |= {entry.result.id: entry.result for entry in entries}
        after = client.submit(fine("after", 40), validate=False)
        entries = read_all(client, len(after), timeout_s=90, worker=worker)
    for prefix in ("timer", "full"):
        refused = results.pop(f"deep-{prefix}")
        assert refused.status == "error" and refused.error is not None
        assert (refused.error.code, refused.error.message) == ("invalid_item", DEEP_ERROR)
    assert len(results) == 4 + settings.worker.batch_size - 1
    assert all(result.status == "graded" for result in results.values())
    assert {e.result.task_id for e in entries} == set(after)
    assert worker.process is not None and worker.process.poll() is None


def zlib_bomb(size: int) -> bytes:
    """``size`` zero bytes, zlib-compressed (about 1,000 to 1), built a MiB at a time."""
    packer = zlib.compressobj(9)
    block = b"\0" * 2**20
    return b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()


def send_compressed(settings: Any, body: bytes, task_id: str) -> None:
    headers = {"task": TASK_NAME, "id": task_id, "compression": "application/x-gzip"}
    push_envelope(
        settings.redis.url, settings.worker.queue, body, headers, "application/json", "utf-8"
    )


def test_a_zlib_bomb_is_refused_without_inflating_it(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess]
) -> None:
    settings = namespace.settings()
    worker = start_worker()
    assert worker.process is not None
    bomb = zlib_bomb(BOMB_BYTES)
    legit = zlib.compress(json.dumps([[fine("zipped", 1)[0]], {}, {}]).encode())
    ids = {"bomb": str(uuid.uuid4()), "legit": str(uuid.uuid4())}
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        client.submit(fine("warm", 1))
        read_all(client, 1, timeout_s=60, worker=worker)
        time.sleep(0.5)
        baseline = group_rss_bytes(worker.process.pid)
        with PeakSampler(worker.process.pid, every_s=0.005) as sampler:
            send_compressed(settings, bomb, ids["bomb"])
            send_compressed(settings, legit, ids["legit"])
            entries = read_all(client, 2, timeout_s=60, worker=worker)
    growth = sampler.peak - baseline
    cap = max_message_bytes(settings.limits)
    print(
        f"\nbomb of {len(bomb)} bytes inflating to {BOMB_BYTES >> 20} MiB: worker RSS "
        f"baseline {baseline >> 20} MiB, peak {sampler.peak >> 20} MiB (+{growth >> 20} MiB); "
        f"inflation cap {cap} bytes"
    )
    by_task = {entry.result.task_id: entry.result for entry in entries}
    refused = by_task[ids["bomb"]]
    assert refused.status == "error" and refused.error is not None
    assert refused.error.message.startswith(
        f"message: the compressed body inflates past {cap} bytes"
    ), refused.error
    assert by_task[ids["legit"]].status == "graded"  # compression within the cap still works
    assert growth < 64 * 2**20  # the bound: the cap, kombu's copies of it, and slack
    assert worker.process.poll() is None
