"""Any input on the queue, a result: a real worker fed hypothesis-built items (sent as
they are, unvalidated) and raw bytes that are not JSON. Exactly one result per message,
the worker never dies, and no error or log line carries the content planted in them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualitygate.client import QualityGateClient
from tests.reliability.strategies import SENTINEL, items
from tests.support.messages import send_not_json
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess

pytestmark = pytest.mark.integration

RAW_BODIES = st.binary(min_size=1, max_size=200).map(lambda b: b"\xff" + b + SENTINEL.encode())


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    batch=st.lists(items, min_size=30, max_size=30),
    raw=st.lists(RAW_BODIES, min_size=3, max_size=3),
)
def test_anything_on_the_queue_gets_exactly_one_result(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    batch: list[Any],
    raw: list[bytes],
) -> None:
    if not hasattr(namespace, "worker"):  # one worker for every example
        namespace.worker = start_worker()  # type: ignore[attr-defined]
    worker: WorkerProcess = namespace.worker  # type: ignore[attr-defined]
    settings_ = namespace.settings()
    with QualityGateClient(settings=settings_) as client:
        client.ensure_group("cms")
        task_ids = client.submit(batch, validate=False)
        task_ids += [send_not_json(settings_.redis.url, settings_.worker.queue, b) for b in raw]
        entries = read_all(client, len(task_ids), timeout_s=60, worker=worker)
    assert Counter(entry.result.task_id for entry in entries) == Counter(task_ids)
    for entry in entries:
        result = entry.result
        assert result.status in ("graded", "error")
        if result.error is not None:
            assert SENTINEL not in json.dumps(result.error.model_dump(), ensure_ascii=False)
    assert SENTINEL not in worker.log()  # log_content is off: no content in any line
    assert worker.process is not None and worker.process.poll() is None
