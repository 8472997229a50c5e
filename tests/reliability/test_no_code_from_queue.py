"""No code from the queue: a pickled message is refused and reported, never unpickled;
a worker whose Celery config would accept pickle refuses to start."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from qualitygate.client import QualityGateClient
from tests.support.messages import send_pickle
from tests.support.results import read_all
from tests.support.workers import TEST_REDIS_URL, QueueNamespace, WorkerProcess, worker_environment
from workers.app import UnsafeSerializerError, refuse_unsafe_serializers

CELERY = str(Path(sys.executable).with_name("celery"))


class _Exploit:
    """Unpickling this opens (creates) a file: the proof that code from the queue ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


@pytest.mark.integration
def test_a_pickled_message_is_reported_and_never_unpickled(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    settings = namespace.settings()
    worker = start_worker()
    proof = tmp_path / "pwned"
    client = QualityGateClient(settings=settings)
    client.ensure_group("cms")
    pickled = [
        send_pickle(settings.redis.url, settings.worker.queue, ([_Exploit(proof)], {}, {}))
        for _ in range(3)
    ]
    good = client.submit([{"id": "after", "text": "A short note on tomatoes and basil."}])
    entries = read_all(client, 4, timeout_s=60, worker=worker)
    by_task = {entry.result.task_id: entry.result for entry in entries}
    assert set(by_task) == {*pickled, *good}
    for task_id in pickled:
        result = by_task[task_id]
        assert result.status == "error" and result.error is not None
        assert result.error.code == "invalid_item"
        assert "refused" in result.error.message or "not valid" in result.error.message
    assert by_task[good[0]].status == "graded"
    assert not proof.exists(), "the worker unpickled a message from the queue"
    assert worker.process is not None and worker.process.poll() is None
    client.close()


@pytest.mark.parametrize(
    "override",
    [
        {"accept_content": ["json", "pickle"]},
        {"accept_content": ["application/x-python-serialize"]},
        {"task_serializer": "pickle"},
        {"result_accept_content": ["pickle"]},
    ],
)
def test_the_serializer_guard_names_what_would_accept_pickle(override: dict[str, object]) -> None:
    conf = {
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
    }
    refuse_unsafe_serializers(conf)  # the worker's own config passes
    with pytest.raises(UnsafeSerializerError, match=next(iter(override))):
        refuse_unsafe_serializers(conf | override)


def test_the_settings_have_no_way_to_allow_pickle(tmp_path: Path, test_model_dir: Path) -> None:
    config = tmp_path / "pickle.yaml"
    config.write_text("worker:\n  accept_content: [json, pickle]\n", encoding="utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("qualitygate")), "worker", "--config", str(config)],
        env=worker_environment({"QG_MODEL__NAME": str(test_model_dir)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "worker.accept_content" in done.stderr + done.stdout


def test_a_worker_whose_celery_config_accepts_pickle_refuses_to_start(
    tmp_path: Path, test_model_dir: Path
) -> None:
    # The settings model has no serializer key, and `celery --config MODULE` cannot
    # override what create_app set (conf.update wins over a config source): what is left
    # is a deployment that changes the app's config in code, as this module does.
    (tmp_path / "patched_app.py").write_text(
        'from workers.app import app\napp.conf.accept_content = ["json", "pickle"]\n',
        encoding="utf-8",
    )
    env = worker_environment(
        {
            "QG_MODEL__NAME": str(test_model_dir),
            "QG_REDIS__URL": TEST_REDIS_URL,
            "QG_WORKER__QUEUE": f"qgtest-{uuid.uuid4().hex[:8]}:never",
            "QG_WORKER__METRICS_PORT": "0",
            "PYTHONPATH": f"{tmp_path}:{Path.cwd()}",
            # Celery itself refuses pickle as root; get past it to reach our own check,
            # which holds for every user.
            "C_FORCE_ROOT": "1",
        }
    )
    done = subprocess.run(
        [CELERY, "-A", "patched_app", "worker", "--pool=solo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "refusing to start" in done.stderr and "accept_content" in done.stderr
