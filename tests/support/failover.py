"""One failover under a steady stream of submissions, counted: what was acknowledged to
the submitter, what reached the results stream, what was lost and what appeared twice.
Shared by ``tests/integration/test_sentinel.py`` (one failover) and ``bench/failover.py``
(five).

A submission is *acknowledged* when ``client.submit`` returned its task id. It is *lost*
when no result for it reached the stream by the deadline; a *duplicate* is a task id with
more than one entry on the results stream (the CMS's view), which must never happen.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from qualitygate.client import QualityGateClient
from qualitygate.config import Settings
from tests.support.sentinel import SentinelCluster
from tests.support.workers import wait_for

# Worker settings short enough that a message the dead master's queue state confused comes
# back in time: one failover's worth of redelivery within a test's patience.
FAST_RECOVERY = {
    "QG_WORKER__VISIBILITY_TIMEOUT_S": "10",
    "QG_WORKER__SOFT_TIME_LIMIT_S": "5",
    "QG_WORKER__TIME_LIMIT_S": "8",
    "QG_WORKER__REDELIVER_AFTER_S": "15",
    "QG_WORKER__BATCH_SIZE": "8",
}


@dataclass
class Traffic:
    """Submissions and results seen by a submitter thread and a reader thread."""

    settings: Settings
    interval_s: float = 0.05
    acknowledged: dict[str, float] = field(default_factory=dict)  # task id -> when
    refused: int = 0
    arrived: dict[str, float] = field(default_factory=dict)  # task id -> first arrival
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def start(self) -> Traffic:
        for target in (self._submit, self._read):
            threading.Thread(target=target, daemon=True).start()
        return self

    def _submit(self) -> None:
        client, index = QualityGateClient(settings=self.settings), 0
        while not self.stop.is_set():
            index += 1
            try:
                [task_id] = client.submit([{"id": f"item-{index}", "text": f"Post {index}."}])
                self.acknowledged[task_id] = time.monotonic()
            except Exception as exc:  # refused during the failover: never acknowledged
                self.refused += 1
                self.errors.append(type(exc).__name__)
            time.sleep(self.interval_s)

    def _read(self) -> None:
        client = QualityGateClient(settings=self.settings)
        while not self.stop.is_set() or not self._all_arrived():
            try:
                entries = client.results("cms", "reader", count=200, block_ms=200)
                client.ack([entry.entry_id for entry in entries], group="cms")
            except Exception as exc:  # the master is away: the client reconnects
                self.errors.append(type(exc).__name__)
                continue
            now = time.monotonic()
            for entry in entries:
                self.arrived.setdefault(entry.result.task_id or "", now)

    def _all_arrived(self) -> bool:
        return set(self.acknowledged) <= set(self.arrived)

    def acknowledged_after(self, moment: float) -> int:
        return sum(1 for at in self.acknowledged.values() if at > moment)


def duplicates_on_stream(client: QualityGateClient) -> int:
    """Task ids with more than one entry on the results stream."""
    seen: dict[str, int] = {}
    for _entry_id, fields in client.redis.xrange(client.stream):
        task_id = fields.get("task_id", "")
        seen[task_id] = seen.get(task_id, 0) + 1
    return sum(count - 1 for count in seen.values() if count > 1)


def one_failover(
    cluster: SentinelCluster, settings: Settings, before: int = 40, after: int = 40,
    settle_s: float = 45,
) -> dict[str, Any]:  # fmt: skip
    """Submit steadily, kill the master after ``before`` acknowledged submissions, go on
    until ``after`` more were acknowledged, then wait up to ``settle_s`` for every result."""
    traffic = Traffic(settings).start()
    wait_for(lambda: len(traffic.acknowledged) >= before, 60, "submissions before the kill")
    killed_at = time.monotonic()
    old, new = cluster.fail_over()
    promoted_at = time.monotonic()
    wait_for(lambda: traffic.acknowledged_after(promoted_at) >= after, 60, "submissions after")
    traffic.stop.set()
    with contextlib.suppress(AssertionError):  # what is missing is counted as lost
        wait_for(traffic._all_arrived, settle_s, "every acknowledged result", every_s=0.2)
    first_after = [at for tid, at in traffic.arrived.items()
                   if traffic.acknowledged.get(tid, 0) > killed_at]  # fmt: skip
    lost = sorted(set(traffic.acknowledged) - set(traffic.arrived))
    with QualityGateClient(settings=settings) as client:
        duplicates = duplicates_on_stream(client)
    return {
        "old_master": old,
        "new_master": new,
        "acknowledged": len(traffic.acknowledged),
        "refused_during_failover": traffic.refused,
        "lost": len(lost),
        "lost_ids": lost,
        "lost_acknowledged_before_kill_s": [
            round(killed_at - traffic.acknowledged[tid], 3) for tid in lost
        ],
        "duplicates_on_stream": duplicates,
        "promotion_s": round(promoted_at - killed_at, 3),
        "recovery_s": round(min(first_after) - killed_at, 3) if first_after else None,
        "first_submit_after_kill_s": _first_after(traffic.acknowledged.values(), killed_at),
        "first_read_after_kill_s": _first_after(traffic.arrived.values(), killed_at),
        "acknowledged_after_promotion": traffic.acknowledged_after(promoted_at),
        "graded_after_promotion": sum(
            1
            for tid, at in traffic.acknowledged.items()
            if at > promoted_at and tid in traffic.arrived
        ),
    }


def _first_after(moments: Any, start: float) -> float | None:
    later = [at for at in moments if at > start]
    return round(min(later) - start, 3) if later else None
