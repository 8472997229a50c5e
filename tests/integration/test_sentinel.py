"""A Sentinel failover under load, with real processes on loopback: a master, a replica,
three sentinels, a real ``qualitygate worker`` on the tiny model and real clients. The
master is SIGKILLed mid-stream; Sentinel promotes the replica; the worker, the submitting
client and the reading client reconnect by themselves."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from qualitygate.cli import app
from qualitygate.config import load_settings
from qualitygate.redis_connect import connect
from tests.support.failover import FAST_RECOVERY, one_failover
from tests.support.sentinel import SentinelCluster
from tests.support.workers import QueueNamespace, WorkerProcess, wait_for

pytestmark = pytest.mark.integration


def test_a_failover_loses_no_acknowledged_result_and_duplicates_none(
    test_model_dir, sentinel_cluster: SentinelCluster, start_worker_on: Callable[..., WorkerProcess]
) -> None:
    space = QueueNamespace(test_model_dir, redis_url=sentinel_cluster.url)
    space.env |= sentinel_cluster.env | FAST_RECOVERY
    settings = space.settings()
    worker = start_worker_on(space)

    report = one_failover(sentinel_cluster, settings, before=40, after=40, settle_s=40)
    print(report)

    # Results already published never appear twice on the stream the CMS reads.
    assert report["duplicates_on_stream"] == 0
    # After the promotion, the worker and both clients work on the new master by themselves.
    assert report["graded_after_promotion"] == report["acknowledged_after_promotion"] >= 40
    # What a failover can lose: writes acknowledged by the old master and not yet
    # replicated, so only those acknowledged just before the kill.
    assert all(age < 1.0 for age in report["lost_acknowledged_before_kill_s"]), report
    assert worker.process is not None and worker.process.poll() is None


def test_a_read_blocked_on_the_dead_master_resumes_on_the_new_one(
    sentinel_cluster: SentinelCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: redis-py 8.1 retried a command whose connection the failover cut on the
    # dead master's address; the reader failed after its whole retry budget (15 s).
    for name, value in sentinel_cluster.env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    reader, writer = connect(settings.redis, decode_responses=True), connect(settings.redis)
    reader.xgroup_create("s", "cms", id="0", mkstream=True)
    got: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                for _stream, entries in reader.xreadgroup("cms", "c", {"s": ">"}, block=200):
                    got.extend(fields["n"] for _id, fields in entries)
            except Exception as exc:
                errors.append(repr(exc))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    # doctor reads the deployment through the sentinels, and sees all three.
    doctor = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "400"})
    report = " ".join(doctor.output.replace("│", " ").split())
    assert "master, 1 replica(s)" in report and "sentinels OK 3 of 3 agree" in report, report
    sentinel_cluster.fail_over()
    writer.xadd("s", {"n": "after"})
    try:
        wait_for(lambda: got, 30, "the reader to read from the new master")
    finally:
        stop.set()
        thread.join(timeout=20)
    assert got == ["after"]
    assert errors == []
