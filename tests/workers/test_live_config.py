"""A pool process following the live config version, on an in-memory Redis double."""

from __future__ import annotations

import logging

import pytest
import redis

from qualitygate.config import Settings
from qualitygate.live import candidate, new_version
from qualitygate.pipeline import QualityGate
from qualitygate.protocol import Keys
from tests.support.scorers import FlakyScorer
from workers.live_config import LiveConfig, LiveVersion

TABLE = {"method": "table", "points": [[-1e6, 0.95], [1e6, 0.96]]}


class MemoryRedis:
    """GET and HGET over dicts, counting the calls; ``down`` makes every GET fail and
    ``hget_failures`` the next that many HGETs."""

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.hashes: dict[str, dict[str, str]] = {}
        self.calls: list[str] = []
        self.down = False
        self.hget_failures = 0

    def get(self, key: str) -> str | None:
        self.calls.append("get")
        if self.down:
            raise redis.ConnectionError("refused")
        return self.strings.get(key)

    def hget(self, key: str, field: str) -> str | None:
        self.calls.append("hget")
        if self.hget_failures:
            self.hget_failures -= 1
            raise redis.ConnectionError("blip")
        return self.hashes.get(key, {}).get(field)


def store(fake: MemoryRedis, settings: Settings, overlay: dict) -> str:
    keys = Keys.from_settings(settings)
    _, merged = candidate(settings, {}, overlay)
    record = new_version(merged, overlay, overlay, "test", "apply")
    fake.hashes.setdefault(keys.config_versions, {})[record.version] = record.model_dump_json()
    fake.strings[keys.config_active] = record.version
    return record.version


def test_one_get_per_batch_and_a_switch_only_when_the_version_changes(settings: Settings) -> None:
    fake = MemoryRedis()
    live = LiveConfig(settings, fake)  # type: ignore[arg-type]
    gate = QualityGate(settings, FlakyScorer())
    assert live.refresh(gate) is gate
    assert fake.calls == ["get"]
    version = store(fake, settings, {"languages": {"default": {"calibration": TABLE}}})
    switched = live.refresh(gate)
    assert (switched.settings.version, live.version) == (version, version)
    assert switched.scorer is gate.scorer
    fake.calls.clear()
    assert live.refresh(switched) is switched
    assert fake.calls == ["get"]


def test_a_version_this_worker_cannot_use_is_logged_and_grading_goes_on(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    fake = MemoryRedis()
    live = LiveConfig(settings, fake)  # type: ignore[arg-type]
    gate = QualityGate(settings, FlakyScorer())
    keys = Keys.from_settings(settings)
    fake.strings[keys.config_active] = "gone"
    with caplog.at_level(logging.ERROR, "qualitygate.worker"):
        assert live.refresh(gate) is gate
    assert "config version gone cannot be used here" in caplog.text
    fake.down = True
    assert live.refresh(gate) is gate
    assert live.version == settings.version


def test_a_redis_error_reading_the_version_record_is_retried_next_batch(
    settings: Settings,
) -> None:
    """Regression: ``seen`` was set before the record was read, so one failed HGET kept the
    worker (and its heartbeat) on the old config until the next apply."""
    fake = MemoryRedis()
    live = LiveConfig(settings, fake)  # type: ignore[arg-type]
    beat = LiveVersion(settings, fake)  # type: ignore[arg-type]
    gate = QualityGate(settings, FlakyScorer())
    version = store(fake, settings, {"levels": {"excellent": 0.97}})
    fake.hget_failures = 2
    assert live.refresh(gate) is gate  # the blip: keeps grading with what it has
    with pytest.raises(redis.ConnectionError):
        beat.current()  # the heartbeat skips this beat
    switched = live.refresh(gate)
    assert (switched.settings.version, live.version, beat.current()) == (version,) * 3
