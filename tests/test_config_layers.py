"""Config layers: files deep-merge in order, except a calibration, which is replaced whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualitygate.config import TableCalibration, load_settings
from qualitygate.errors import ConfigError


def test_a_table_fragment_replaces_a_logistic_calibration_whole(tmp_path: Path) -> None:
    """Config layers merge key by key, except a calibration, which a later layer replaces."""
    fragment = tmp_path / "fragment.yaml"
    fragment.write_text(
        "languages:\n  ko:\n    calibration: {method: table, points: [[-1.0, 0.0], [1.0, 1.0]]}\n"
        "  ja:\n    max_repeat: 3\n",
        encoding="utf-8",
    )
    settings = load_settings(fragment)
    assert settings.languages["ko"].calibration == TableCalibration(
        method="table", points=[(-1.0, 0.0), (1.0, 1.0)]
    )
    # other keys still merge: ja keeps its default calibration next to the new option
    assert settings.languages["ja"].calibration == load_settings().languages["ja"].calibration
    assert settings.languages["ja"].max_repeat == 3


def test_a_broken_config_layer_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("languages: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_settings(listed)
