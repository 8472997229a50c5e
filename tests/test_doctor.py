"""The doctor's checks as pure functions of a snapshot: each problem gives FAIL or WARN
with its fix, a sound deployment gives OK everywhere."""

from __future__ import annotations

import pytest

from qualitygate.config import load_settings
from qualitygate.doctor import Group, Snapshot, WorkerSeen, check_all, read_worker

SETTINGS = load_settings()


def snapshot(**changes) -> Snapshot:
    base = {
        "role": "master",
        "replicas": 1,
        "appendonly": "yes",
        "maxmemory_policy": "noeviction",
        "results_len": 10,
        "dead_len": 0,
        "queue_len": 0,
        "groups": [Group("cms", pending=2, lag=3, missed=0)],
        "workers": [WorkerSeen("gpu0@h", 1.0, SETTINGS.version, 7)],
    }
    return Snapshot(**(base | changes))


def statuses(snap: Snapshot) -> dict[str, str]:
    return {check.name: check.status for check in check_all(snap, SETTINGS, stale_after_s=60)}


def test_a_sound_deployment_is_ok_everywhere() -> None:
    assert set(statuses(snapshot()).values()) == {"ok"}


@pytest.mark.parametrize(
    ("changes", "name", "status"),
    [
        ({"role": "slave"}, "redis role", "fail"),
        ({"appendonly": "no"}, "persistence", "fail"),
        ({"appendonly": None}, "persistence", "warn"),  # CONFIG refused by a managed Redis
        ({"maxmemory_policy": "allkeys-lru"}, "eviction", "fail"),
        ({"maxmemory_policy": None}, "eviction", "warn"),
        ({"dead_len": 4}, "dead letters", "warn"),
        ({"results_len": 2_000_000}, "results stream", "warn"),
        ({"groups": []}, "consumer groups", "warn"),
        ({"groups": [Group("cms", 0, 0, missed=5)]}, "group 'cms'", "fail"),
        ({"groups": [Group("cms", 10, 999_000, 0)]}, "group 'cms'", "warn"),
        ({"workers": []}, "workers", "fail"),
        ({"workers": [WorkerSeen("w", 600.0, SETTINGS.version, 1)]}, "worker w", "warn"),
        ({"workers": [WorkerSeen("w", 1.0, "other", 1)]}, "worker w", "fail"),
        ({"workers": [WorkerSeen("w", None, None, None)]}, "worker w", "warn"),
    ],
)
def test_each_problem_is_named_with_a_fix(changes, name: str, status: str) -> None:
    checks = {c.name: c for c in check_all(snapshot(**changes), SETTINGS, stale_after_s=60)}
    assert checks[name].status == status
    assert checks[name].fix


def test_sentinels_need_a_majority_that_sees_the_master_up() -> None:
    up = ("10.0.0.1:26379", None)
    down = ("10.0.0.2:26379", "ConnectionError: refused")
    assert statuses(snapshot(sentinels=[up, up, up]))["sentinels"] == "ok"
    assert statuses(snapshot(sentinels=[up, up, down]))["sentinels"] == "warn"
    assert statuses(snapshot(sentinels=[up, down, down]))["sentinels"] == "fail"


def test_a_heartbeat_entry_is_read_in_the_workers_format() -> None:
    raw = '{"seen_at": 100.5, "config_version": "abc", "pid": 42}'
    assert read_worker("w", raw, now=110.5) == WorkerSeen("w", 10.0, "abc", 42)
    assert read_worker("w", "not json", now=1).seen_s_ago is None


def test_a_live_config_makes_a_version_difference_a_warning() -> None:
    other = [WorkerSeen("w", 1.0, "other", 1)]
    checks = check_all(snapshot(workers=other, live_config="v3"), SETTINGS, stale_after_s=60)
    worker = next(c for c in checks if c.name == "worker w")
    assert worker.status == "warn" and "live config v3" in worker.found


def test_a_worker_on_the_applied_live_version_is_ok() -> None:
    # A heartbeat reports the live version a worker grades with: on it is healthy, and
    # the file's own version is then the outdated one.
    live = [WorkerSeen("w", 1.0, "v3", 1)]
    checks = check_all(snapshot(workers=live, live_config="v3"), SETTINGS, stale_after_s=60)
    assert next(c for c in checks if c.name == "worker w").status == "ok"
    behind = [WorkerSeen("w", 1.0, SETTINGS.version, 1)]
    checks = check_all(snapshot(workers=behind, live_config="v3"), SETTINGS, stale_after_s=60)
    assert next(c for c in checks if c.name == "worker w").status == "warn"
