"""The live-config commands' bodies on an in-memory store: apply, rollback, history, diff."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from qualitygate import cli_config
from qualitygate.client import ResultEntry
from qualitygate.config import Settings
from qualitygate.errors import ConfigError
from qualitygate.labels import LabelRecord
from qualitygate.live import ConfigVersion
from qualitygate.schemas import GradeResult


class MemoryStore:
    """``ConfigStore`` over dicts and lists."""

    def __init__(self, results: list[GradeResult] = (), labels: list[LabelRecord] = ()) -> None:
        self.versions: dict[str, ConfigVersion] = {}
        self.active: str | None = None
        self.events: list[dict[str, Any]] = []
        self.results = list(results)
        self.label_records = list(labels)

    def config_version(self, version: str | None = None) -> ConfigVersion | None:
        return self.versions.get(version or self.active or "")

    def config_version_ids(self) -> list[str]:
        return list(self.versions)

    def activate_config(self, record: ConfigVersion, event: Mapping[str, Any]) -> None:
        self.versions.setdefault(record.version, record)
        self.active = record.version
        self.events.insert(0, json.loads(json.dumps(dict(event))))

    def config_history(self, last: int = 50) -> list[dict[str, Any]]:
        return self.events[:last]

    def recent_results(self, last: int) -> list[ResultEntry]:
        return [ResultEntry(f"{i}-0", r) for i, r in enumerate(self.results[-last:])]

    def labels(self, since: float | None = None) -> list[LabelRecord]:
        return self.label_records


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_apply_adds_up_and_rollback_returns(settings: Settings, tmp_path: Path) -> None:
    store = MemoryStore()
    first = cli_config.apply(
        store, settings, write(tmp_path, "a", {"levels": {"excellent": 0.9}}), "kim"
    )
    table = {"method": "table", "points": [[0, 0], [1, 1]]}
    second = cli_config.apply(
        store, settings, write(tmp_path, "b", {"languages": {"ko": {"calibration": table}}}), "lee"
    )
    assert second.overlay["levels"] == {"excellent": 0.9} and "languages" in second.overlay
    assert [e["action"] for e in store.events] == ["apply", "apply", "files"]
    assert store.events[0]["previous"] == first.version
    assert store.config_version(settings.version).overlay == {}  # the files' own version
    back = cli_config.rollback(store, settings, first.version[:6], "kim")
    assert (store.active, back.version) == (first.version, first.version)
    assert store.events[0]["action"] == "rollback"
    out = Console(width=200, record=True)
    cli_config.print_history(store, out, 10)
    assert f"{first.version} (active)" in out.export_text()


def test_a_refused_fragment_changes_nothing(settings: Settings, tmp_path: Path) -> None:
    store = MemoryStore()
    for name, data, message in [
        ("model", {"model": {"name": "x"}}, "model: cannot change live"),
        ("api", {"api": {"rate_limit": {"requests": 1, "window_s": 60}}}, "api: cannot change"),
        ("intake", {"intake": {"tolerance_s": 5}}, "intake: cannot change live"),
        ("list", [1], "expected a mapping"),
        ("bad", {"levels": {"fair": 2}}, "config.levels.fair: "),
    ]:
        with pytest.raises(ConfigError, match=message):
            cli_config.apply(store, settings, write(tmp_path, name, data), "kim")
    broken = tmp_path / "broken.yaml"
    broken.write_text("levels: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        cli_config.apply(store, settings, broken, "kim")
    assert (store.active, store.events) == (None, [])


def test_diff_counts_changes_and_draws(settings: Settings, tmp_path: Path) -> None:
    results = [
        GradeResult(id=str(i), status="graded", language="en", raw_reward=r, config_version="v")
        for i, r in enumerate([4.0, 1.0, 1.0, -4.0])
    ]
    store = MemoryStore(results)
    fragment = write(tmp_path, "strict", {"levels": {"excellent": 0.95, "good": 0.7}})
    current, proposed, diffs = cli_config.diff(store, settings, fragment, 100)
    assert current.version == settings.version != proposed.version
    assert (diffs["en"].items, diffs["en"].changed) == (4, 2)
    out = Console(width=200, record=True)
    out.print(cli_config.diff_table(diffs, current, proposed))
    assert "75% -> 25%" in out.export_text()  # approve: a, b, c before; only a after
    plot = tmp_path / "diff.png"
    cli_config.plot_diff(plot, diffs)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_callback_secret_is_refused_and_never_stored(settings: Settings, tmp_path: Path) -> None:
    """Regression: `config apply` took the delivery section and stored its callback
    secrets in Redis in plaintext."""
    store = MemoryStore()
    secret = "TOP-SECRET-0123456789"
    callbacks = {"x": {"url": "https://cms.example.com/hook", "secret": secret}}
    fragment = {
        "levels": {"excellent": 0.96},
        "delivery": {"callbacks": callbacks, "allow_hosts": ["cms.example.com"]},
    }
    with pytest.raises(ConfigError, match="delivery: cannot change live") as caught:
        cli_config.apply(store, settings, write(tmp_path, "secret", fragment), "kim")
    assert secret not in caught.value.message
    assert (store.active, store.versions, store.events) == (None, {}, [])


def test_an_unchanged_restart_section_is_not_stored(settings: Settings, tmp_path: Path) -> None:
    store = MemoryStore()
    full = {"redis": settings.redis.model_dump(), "levels": {"excellent": 0.9}}
    record = cli_config.apply(store, settings, write(tmp_path, "full", full), "kim")
    assert (record.fragment, record.overlay) == ({"levels": {"excellent": 0.9}},) * 2
    assert store.events[0]["sections"] == ["levels"]
