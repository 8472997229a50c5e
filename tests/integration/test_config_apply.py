"""``config apply`` / ``rollback`` on a running worker, through the real command line and the
real Redis: the next batch is graded with the new version, the model is not loaded again,
and what cannot change live (or is invalid) is refused and changes nothing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from qualitygate.client import QualityGateClient
from qualitygate.protocol import Keys
from qualitygate.schemas import GradeResult
from tests.support.workers import (
    QUALITYGATE,
    QueueNamespace,
    WorkerProcess,
    wait_for,
    worker_environment,
)

pytestmark = pytest.mark.integration

# Constant calibrations: every raw reward of the test model lands on one known level.
POOR = {
    "languages": {
        "default": {"calibration": {"method": "table", "points": [[-1e6, 0.1], [1e6, 0.1]]}}
    }
}
EXCELLENT = {
    "languages": {
        "default": {"calibration": {"method": "table", "points": [[-1e6, 0.95], [1e6, 0.96]]}}
    }
}


def run_cli(space: QueueNamespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QUALITYGATE, *args],
        env=worker_environment(space.env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def fragment(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def grade_one(client: QualityGateClient, item_id: str, worker: WorkerProcess) -> GradeResult:
    text = f"Item {item_id}: a short, friendly note about our garden and the tomatoes."
    client.submit([{"id": item_id, "text": text, "language": "en"}])
    try:
        return wait_for(lambda: client.get(item_id), 60, f"the result of {item_id}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.log()[-3000:]}") from None


def model_loads(worker: WorkerProcess) -> int:
    return sum(1 for r in worker.log_records() if str(r.get("message", "")).startswith("model "))


def test_apply_and_rollback_change_the_next_grade_without_a_restart(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    worker = start_worker()
    client = QualityGateClient(settings=namespace.settings())
    first = grade_one(client, "before", worker)

    applied = run_cli(
        namespace, "config", "apply", str(fragment(tmp_path, "poor", POOR)), "--who", "ops"
    )
    assert applied.returncode == 0, applied.stderr
    poor_version = applied.stdout.strip()
    assert poor_version != first.config_version
    poor = grade_one(client, "after-poor", worker)
    assert (poor.level, poor.config_version) == ("poor", poor_version)

    applied = run_cli(namespace, "config", "apply", str(fragment(tmp_path, "top", EXCELLENT)))
    assert applied.returncode == 0, applied.stderr
    top = grade_one(client, "after-excellent", worker)
    assert (top.level, top.config_version) == ("excellent", applied.stdout.strip())

    rolled = run_cli(namespace, "config", "rollback", poor_version[:8], "--who", "ops")
    assert rolled.returncode == 0, rolled.stderr
    again = grade_one(client, "after-rollback", worker)
    assert (again.level, again.config_version) == ("poor", poor_version)

    assert model_loads(worker) == 1, worker.log()[-3000:]
    switched = [r for r in worker.log_records() if "previous_version" in r]
    assert [r["config_version"] for r in switched][-3:] == [
        poor_version,
        top.config_version,
        poor_version,
    ]
    history = run_cli(namespace, "config", "history")
    assert history.returncode == 0, history.stderr
    assert "rollback" in history.stdout and "ops" in history.stdout


def test_a_model_change_or_an_invalid_fragment_is_refused_and_changes_nothing(
    namespace: QueueNamespace, tmp_path: Path, redis_client
) -> None:
    client = QualityGateClient(settings=namespace.settings())
    applied = run_cli(namespace, "config", "apply", str(fragment(tmp_path, "poor", POOR)))
    assert applied.returncode == 0, applied.stderr
    active = client.config_version()
    assert active is not None

    refusals = {
        "model": ({"model": {"name": "another/model"}}, "model: cannot change live"),
        "worker": ({"worker": {"batch_size": 3}}, "worker: cannot change live"),
        "levels": ({"levels": {"good": 0.99}}, "config.levels: "),
        "typo": ({"levls": {"good": 0.5}}, "levls: unknown section"),
        "key": ({"levels": {"great": 0.5}}, "config.levels.great: unknown key"),
    }
    for name, (data, message) in refusals.items():
        result = run_cli(namespace, "config", "apply", str(fragment(tmp_path, name, data)))
        assert result.returncode == 2, (name, result.stdout)
        assert message in result.stderr.replace("\n", " "), (name, result.stderr)
    assert client.config_version() == active
    assert len(client.config_history()) == 2  # the files' version, then the one apply


def test_rollback_names_an_unknown_or_ambiguous_version(namespace: QueueNamespace) -> None:
    result = run_cli(namespace, "config", "rollback", "ffffffff")
    assert result.returncode == 2
    assert "version: 'ffffffff' is not a stored version" in result.stderr


def config_info(port: str) -> dict[str, float]:
    """``qualitygate_worker_config_info`` as the worker's metrics endpoint shows it now."""
    import re
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("qualitygate_worker_config_info{"):
            version = re.search(r'version="([^"]+)"', line)
            assert version is not None, line
            found[version.group(1)] = max(found.get(version.group(1), 0.0), float(line.split()[-1]))
    return found


def test_two_workers_grade_their_next_batch_with_the_applied_version(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    from tests.support.workers import free_port

    base = namespace.settings().version
    workers = []
    for n in range(2):  # a queue each, so each surely grades a batch
        env = {
            "QG_WORKER__QUEUE": f"{namespace.run}:q{n}",
            "QG_WORKER__METRICS_PORT": str(free_port()),
        }
        workers.append((start_worker(**env), env))
    for _, env in workers:
        assert config_info(env["QG_WORKER__METRICS_PORT"]) == {base: 1.0}

    applied = run_cli(namespace, "config", "apply", str(fragment(tmp_path, "top", EXCELLENT)))
    assert applied.returncode == 0, applied.stderr
    version = applied.stdout.strip()
    for n, (worker, env) in enumerate(workers):
        client = QualityGateClient(settings=namespace.settings(**env))
        result = grade_one(client, f"w{n}", worker)
        assert (result.level, result.config_version) == ("excellent", version)
        assert config_info(env["QG_WORKER__METRICS_PORT"]) == {base: 0.0, version: 1.0}
        assert model_loads(worker) == 1

    # The heartbeats say so too, so `doctor` and the console see a half-rolled deployment.
    def beat_versions() -> list[str]:
        keys = Keys.from_settings(namespace.settings())
        beats = client.redis.hvals(keys.workers)
        return sorted(json.loads(beat)["config_version"] for beat in beats)

    wait_for(lambda: beat_versions() == [version, version], 30, "heartbeats with the version")
