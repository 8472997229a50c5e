"""workers/app.py: the Celery settings the worker runs with, derived from config."""

from __future__ import annotations

from qualitygate.config import Settings
from qualitygate.protocol import TASK_NAME
from workers.app import celery_config, create_app


def test_json_only_late_acks_and_prefetch_for_a_full_batch(settings: Settings) -> None:
    config = celery_config(settings)
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    worker = settings.worker
    # Redis counts buffered messages against the prefetch limit: room for two batches.
    assert config["worker_prefetch_multiplier"] >= worker.batch_size * 2
    transport = config["broker_transport_options"]
    assert transport["visibility_timeout"] == worker.visibility_timeout_s
    assert transport["visibility_timeout"] > config["task_time_limit"] + worker.flush_ms / 1000
    assert config["worker_send_task_events"]


def test_the_batch_task_is_sized_from_config(settings: Settings) -> None:
    app = create_app(settings)
    task = app.tasks[TASK_NAME]
    assert task.flush_every == settings.worker.batch_size
    assert task.flush_interval == settings.worker.flush_ms / 1000
    assert task.acks_late
