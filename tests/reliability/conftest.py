"""Reliability fixtures: workers started on any namespace, a private Redis's included. The
shared ones (real Redis, real workers, private redis-servers) come from the plugins that
``tests/conftest.py`` declares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.workers import QueueNamespace, WorkerProcess


@pytest.fixture
def start_worker_on(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers on any namespace (a private Redis's); stopped at the end."""
    workers: list[WorkerProcess] = []

    def start(space: QueueNamespace, **env: str) -> WorkerProcess:
        worker = WorkerProcess({**space.env, **env}, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
