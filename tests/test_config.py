"""Config layers, validation rules (each names its field) and the version hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualitygate.config import Settings, load_settings, mask_url
from qualitygate.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "qualitygate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_file_alone_is_a_valid_config() -> None:
    settings = load_settings()
    assert settings.model.name == "Skywork/Skywork-Reward-V2-Qwen3-0.6B"
    assert settings.levels.excellent > settings.levels.good > settings.levels.fair


def test_user_file_deep_merges_over_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "model:\n  max_length: 2048\n"))
    assert settings.model.max_length == 2048
    assert settings.model.name == load_settings().model.name  # untouched sibling kept


def test_environment_wins_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QG_MODEL__NAME", "/models/from-env")
    settings = load_settings(write(tmp_path, "model:\n  name: /models/from-file\n"))
    assert settings.model.name == "/models/from-env"


def test_config_file_from_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUALITYGATE_CONFIG", str(write(tmp_path, "levels:\n  fair: 0.3\n")))
    assert load_settings().levels.fair == 0.3


@pytest.mark.parametrize(
    ("yaml_text", "field", "reason"),
    [
        ("levels:\n  good: 0.9\n", "config.levels", "thresholds must descend"),
        ("modle:\n  name: x\n", "config.modle", "unknown key"),
        ("model:\n  colour: red\n", "config.model.colour", "unknown key"),
        (
            "languages:\n  ko:\n    calibration: {method: logistic, center: 0, scale: -1}\n",
            "config.languages.ko.calibration.scale",
            "greater than 0",
        ),
        (
            "languages:\n  ja:\n    calibration: {method: table, points: [[0, 0.5], [1, 0.2]]}\n",
            "config.languages.ja.calibration.points",
            "must not decrease",
        ),
        ("model:\n  batch_tokens: 100\n", "config.model", "batch_tokens"),
        (
            "decisions:\n  by_level: {excellent: publish}\n",
            "config.decisions.by_level.excellent",
            "'approve', 'review' or 'reject'",
        ),
        ("redis:\n  url: http://nope\n", "config.redis.url", "pattern"),
        ("worker:\n  visibility_timeout_s: 10\n", "config.worker", "visibility_timeout_s"),
    ],
)
def test_invalid_config_names_field_and_reason(
    tmp_path: Path, yaml_text: str, field: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, yaml_text))
    assert field in caught.value.message
    assert reason in caught.value.message


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_language_entries_inherit_from_default(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, "languages:\n  fr:\n    traditional_to_simplified: false\n")
    )
    assert settings.language("fr").calibration == settings.languages["default"].calibration
    assert settings.language("xx") == settings.languages["default"]


def test_version_tracks_grading_sections_only(tmp_path: Path) -> None:
    base = load_settings()
    other_redis = load_settings(write(tmp_path, "redis:\n  url: redis://elsewhere:6380/3\n"))
    other_levels = load_settings(write(tmp_path, "levels:\n  excellent: 0.85\n"))
    assert base.version == other_redis.version
    assert base.version != other_levels.version


def test_password_masked_in_public_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QG_REDIS__URL", "rediss://cms:s3cret@redis.internal:6380/2")
    dump = load_settings().public_dump()
    assert "s3cret" not in str(dump)
    assert dump["redis"]["url"] == "rediss://cms:***@redis.internal:6380/2"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host/1", "redis://user:***@host/1"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_settings_are_immutable() -> None:
    settings: Settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.model.name = "other"  # type: ignore[misc]


def test_shipped_operator_example_validates() -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "examples" / "operator.yaml"
    settings = load_settings(example)
    assert settings.levels.excellent == 0.85
    assert settings.language("zh").traditional_to_simplified is True
    assert "change-me" not in str(settings.public_dump())
