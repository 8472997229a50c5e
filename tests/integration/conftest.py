"""Integration fixtures: shared with tests/reliability, from tests.support.workers."""

from __future__ import annotations

from tests.support.workers import (  # noqa: F401  (fixtures and the helpers tests import)
    QueueNamespace,
    WorkerProcess,
    free_port,
    namespace,
    redis_client,
    start_worker,
    wait_for,
)
