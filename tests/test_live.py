"""Live config versions: what may change live, how fragments add up, how versions are named."""

from __future__ import annotations

import pytest

from qualitygate.config import Settings
from qualitygate.errors import ConfigError
from qualitygate.live import (
    LIVE_SECTIONS,
    RESTART_SECTIONS,
    candidate,
    check_fragment,
    live_part,
    overlay_settings,
    resolve_version,
)

TABLE = {"method": "table", "points": [[-1.0, 0.0], [1.0, 1.0]]}


def test_fragments_add_up_and_the_version_is_the_merged_config_hash(settings: Settings) -> None:
    overlay, first = candidate(settings, {}, {"levels": {"excellent": 0.9}})
    overlay, second = candidate(settings, overlay, {"languages": {"ko": {"calibration": TABLE}}})
    assert (second.levels.excellent, second.languages["ko"].calibration.method) == (0.9, "table")
    assert len({settings.version, first.version, second.version}) == 3
    assert overlay_settings(settings, overlay).version == second.version


def test_a_calibration_is_replaced_whole_not_merged(settings: Settings) -> None:
    _, changed = candidate(settings, {}, {"languages": {"default": {"calibration": TABLE}}})
    assert changed.languages["default"].calibration.points == [(-1.0, 0.0), (1.0, 1.0)]


@pytest.mark.parametrize(
    "fragment, message",
    [
        ({"model": {"name": "other"}}, "model: cannot change live (each worker loads the model"),
        ({"worker": {"batch_size": 2}}, "worker: cannot change live"),
        ({"redis": {"url": "redis://other:6379/0"}}, "redis: cannot change live"),
        ({"streams": {"results": "x"}}, "streams: cannot change live"),
        ({"limits": {"max_text_chars": 5}}, "limits: cannot change live"),
        ({"api": {"max_count": 5}}, "api: cannot change live (qualitygate serve reads"),
        ({"delivery": {"max_attempts": 1}}, "delivery: cannot change live (qualitygate deliver"),
        ({"intake": {"tolerance_s": 5}}, "intake: cannot change live (qualitygate serve reads"),
        ({"levels": {"good": 0.95}}, "config.levels: "),
        ({"rules": {"pii": {"email": {"action": "ban"}}}}, "config.rules.pii.email.action: "),
    ],
)
def test_what_cannot_change_live_or_is_invalid_is_refused_naming_it(
    settings: Settings, fragment: dict, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        candidate(settings, {}, fragment)
    assert caught.value.message.startswith(message)


def test_only_live_sections_are_applied_and_every_other_section_says_why() -> None:
    """Regression: api, delivery and intake were in neither list, so `config apply` took
    them (callback secrets stored in Redis) although no process reads them live."""
    sections = set(Settings.model_fields)
    assert set(LIVE_SECTIONS) | set(RESTART_SECTIONS) == sections
    assert not set(LIVE_SECTIONS) & set(RESTART_SECTIONS)
    assert sorted(live_part(dict.fromkeys(sections, 1))) == sorted(LIVE_SECTIONS)


def test_a_changed_callback_secret_is_refused_and_not_quoted(settings: Settings) -> None:
    secret = "TOP-SECRET-0123456789"
    delivery = {
        "callbacks": {"x": {"url": "https://cms.example.com/hook", "secret": secret}},
        "allow_hosts": ["cms.example.com"],
    }
    with pytest.raises(ConfigError) as caught:
        candidate(settings, {}, {"levels": {"excellent": 0.96}, "delivery": delivery})
    assert caught.value.message.startswith("delivery: cannot change live")
    assert secret not in caught.value.message


def test_an_unchanged_restart_section_is_accepted(settings: Settings) -> None:
    fragment = {"model": settings.model.model_dump(), "levels": {"excellent": 0.85}}
    _, changed = candidate(settings, {}, fragment)
    assert changed.levels.excellent == 0.85


def test_a_fragment_must_be_a_mapping_of_known_sections() -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        check_fragment([1, 2])
    with pytest.raises(ConfigError, match="levls: unknown section"):
        check_fragment({"levls": {}})
    assert check_fragment(None) == {}


def test_versions_by_full_name_or_unique_prefix() -> None:
    known = ["abc123", "abd456", "ff0000"]
    assert resolve_version("ff", known) == "ff0000"
    assert resolve_version("abc123", known) == "abc123"
    with pytest.raises(ConfigError, match="prefix of 2 versions"):
        resolve_version("ab", known)
    with pytest.raises(ConfigError, match="not a stored version"):
        resolve_version("zz", known)
    with pytest.raises(ConfigError, match="not a stored version"):
        resolve_version("", known)
