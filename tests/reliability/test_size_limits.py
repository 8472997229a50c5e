"""Size limits: the client refuses an oversized item before it reaches Redis, the worker
refuses one that arrives anyway, and a burst of maximal items stays under a memory bound.

The bound: the worker's resident memory (main process plus pool process) after it has
loaded the model and graded one small item, plus
- per message the worker can hold (batch_size x prefetch_batches), 40 times its UTF-8
  size: the JSON message, the decoded str (up to 4 bytes a character), the extracted and
  normalised copies and the matching view for the rules;
- per item of the batch being scored, 150 bytes per character: the scorer tokenizes a
  whole batch in one call (tokenizers' Rust ``Encoding``: ids, type ids, token strings,
  offsets and masks, about 100 bytes a token, and a token can be one character of this
  mixed CJK and emoji text) and then the Python list of ids, all before truncating to
  ``model.max_length``;
- 150 MB for allocator slack and the first batch's one-off costs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from qualitygate.client import QualityGateClient
from qualitygate.errors import InvalidItemError
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess

pytestmark = pytest.mark.integration

MAX_CHARS = 200_000  # the shipped default of limits.max_text_chars
BATCH = 8
PREFETCH_BATCHES = 2
BURST = 32


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of every process in the worker's process group, from /proc."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class PeakSampler:
    def __init__(self, pgid: int, every_s: float = 0.02) -> None:
        self.pgid = pgid
        self.every_s = every_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, group_rss_bytes(self.pgid))
            self._stop.wait(self.every_s)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def maximal_text(index: int) -> str:
    pieces = [f"Garden notes, week {index}. ", "가나다라 ", "日本語の文 ", "中文内容 ", "😀 "]
    text = "".join(pieces) * (MAX_CHARS // 40)
    return (text * 2)[:MAX_CHARS]


def test_the_client_refuses_an_oversized_item_before_redis(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    settings = namespace.settings()
    limit = settings.limits.max_text_chars
    with (
        QualityGateClient(settings=settings) as client,
        pytest.raises(InvalidItemError, match=r"items\[1\].*max_text_chars"),
    ):
        client.submit([{"id": "ok", "text": "fine"}, {"id": "big", "text": "x" * (limit + 1)}])
    assert redis_client.llen(settings.worker.queue) == 0  # not even the valid one was sent


def test_a_burst_of_maximal_items_stays_under_the_memory_bound(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    env = {
        "QG_LIMITS__MAX_TEXT_CHARS": str(MAX_CHARS),
        "QG_WORKER__BATCH_SIZE": str(BATCH),
        "QG_WORKER__PREFETCH_BATCHES": str(PREFETCH_BATCHES),
        "QG_WORKER__CACHE_TTL_S": "0",
    }
    settings = namespace.settings(**env)
    worker = start_worker(**env)
    assert worker.process is not None
    with QualityGateClient(settings=settings) as client:
        client.ensure_group("cms")
        client.submit([{"id": "warm-up", "text": "A short note to warm the worker up."}])
        read_all(client, 1, timeout_s=60, worker=worker)
        time.sleep(0.5)
        baseline = group_rss_bytes(worker.process.pid)
        items = [{"id": f"max-{i}", "text": maximal_text(i)} for i in range(BURST)]
        over = [{"id": f"over-{i}", "text": "z" * (MAX_CHARS + 1 + i)} for i in range(4)]
        item_bytes = max(len(item["text"].encode()) for item in items)
        with PeakSampler(worker.process.pid) as sampler:
            client.submit(items[:16] + over + items[16:], validate=False)
            entries = read_all(client, BURST + 4, timeout_s=150, worker=worker)
    by_id = {entry.result.id: entry.result for entry in entries}
    assert all(by_id[f"max-{i}"].status == "graded" for i in range(BURST))
    for i in range(4):
        refused = by_id[f"over-{i}"]
        assert refused.status == "error" and refused.error is not None
        assert "max_text_chars" in refused.error.message
    held = BATCH * PREFETCH_BATCHES
    bound = baseline + held * 40 * item_bytes + BATCH * MAX_CHARS * 150 + 150 * 2**20
    print(
        f"\nRSS: baseline {baseline / 2**20:.0f} MiB, peak {sampler.peak / 2**20:.0f} MiB, "
        f"bound {bound / 2**20:.0f} MiB ({BURST} items of {item_bytes / 2**20:.2f} MiB UTF-8)"
    )
    assert worker.process.poll() is None
    assert sampler.peak < bound
