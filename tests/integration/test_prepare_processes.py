"""A real worker with prepare processes (``worker.prepare_processes``) on the real Redis:
they start under Celery's daemonic pool process, the worker grades every item once with
what the in-process gate gives, and a prepare process killed between batches loses
nothing."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import pytest

from bench.corpus import generate
from qualitygate.client import QualityGateClient
from qualitygate.pipeline import QualityGate
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess, child_pids, wait_for

pytestmark = pytest.mark.integration

POOLED = {"QG_WORKER__PREPARE_PROCESSES": "2", "QG_WORKER__STAGE_ITEMS": "4"}


def test_a_worker_with_prepare_processes_grades_as_the_gate_does(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(**POOLED)
    assert "2 prepare processes started" in worker.log()
    assert worker.process is not None
    (pool_process,) = child_pids(worker.process.pid)
    prepare_processes = child_pids(pool_process)
    assert len(prepare_processes) == 2
    settings = namespace.settings(**POOLED)
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    items = [
        item.as_content_item() | {"id": f"c{i}", "text": item.text[:1500]}
        for i, item in enumerate(generate(24, 7))
    ]
    client.submit(items[:12])
    entries = read_all(client, 12, 90, worker)
    os.kill(prepare_processes[0], signal.SIGKILL)
    wait_for(lambda: len(child_pids(pool_process)) < 2, 10, "the killed process to go")
    client.submit(items[12:])
    entries += read_all(client, 12, 90, worker)
    results = {entry.result.id: entry.result for entry in entries}
    assert len(entries) == len(results) == 24  # every item once
    expected = {r.id: r for r in QualityGate.from_settings(settings).grade(items)}
    for item_id, result in results.items():
        other = expected[item_id]
        assert result.status == other.status == "graded"
        assert (result.language, result.flags, result.content_sha256) == (
            other.language,
            other.flags,
            other.content_sha256,
        )
        # Other neighbours in a forward pass pad to another width: equal but for rounding.
        assert result.raw_reward == pytest.approx(other.raw_reward, abs=1e-4)
    assert "a prepare process died" in worker.log()
    assert len(child_pids(pool_process)) == 2  # started again
