"""Reliability fixtures: the integration ones (real Redis, real workers), and private
redis-servers a test may kill, restart or lock down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import private_redis  # noqa: F401
from tests.support.workers import (  # noqa: F401
    QueueNamespace,
    WorkerProcess,
    namespace,
    redis_client,
    start_worker,
)


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
