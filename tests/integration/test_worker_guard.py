"""A real worker process with the guard on, on the real Redis: it loads the guard beside the
reward model, runs it for the languages it is set to, and publishes its flags, the decision
they escalate and the guard's name on the results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qualitygate.client import QualityGateClient
from tests.support.results import read_all
from tests.support.workers import QueueNamespace, WorkerProcess

pytestmark = pytest.mark.integration


def test_a_worker_publishes_guard_flags_for_the_languages_it_guards(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    guard_models_dir: Path,
) -> None:
    guard_dir = guard_models_dir / "forced_violent"
    guard_env = {
        "QG_GUARD__ENABLED": "true",
        "QG_GUARD__MODEL__NAME": str(guard_dir),
        "QG_GUARD__LANGUAGES": '["ko"]',
    }
    worker = start_worker(**guard_env)
    client = QualityGateClient(settings=namespace.settings(**guard_env))
    client.ensure_group("cms")
    client.submit(
        [
            {"id": "ko", "text": "오늘 정원에서 토마토를 땄어요. 정말 맛있네요."},
            {"id": "en", "text": "We picked tomatoes in the garden today; they taste great."},
        ]
    )
    results = {entry.result.id: entry.result for entry in read_all(client, 2, 60, worker)}
    korean, english = results["ko"], results["en"]
    assert [f.rule_id for f in korean.flags if f.category == "guard"] == ["guard.violent"]
    assert korean.decision == "reject"
    assert korean.guard is not None and korean.guard.name == str(guard_dir)
    assert korean.guard.test_model is True
    assert english.guard is None
    assert not [f for f in english.flags if f.category == "guard"]
    assert "guard model" in worker.log() and "TEST MODEL" in worker.log()
