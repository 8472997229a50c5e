"""The ``guard`` config section: off by default, validated with the field named, and out of
the config version while it is off."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from qualitygate.config import _GRADING_SECTIONS, Settings, load_settings
from qualitygate.errors import ConfigError
from qualitygate.guard.settings import GuardSettings


def _version_without_guard(settings: Settings) -> str:
    """The version as computed before the guard existed."""
    data = settings.model_dump(mode="json", include=set(_GRADING_SECTIONS))
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _guard(**changes: object) -> dict[str, object]:
    return load_settings().guard.model_dump() | changes


def test_off_by_default_with_a_default_category_and_threshold() -> None:
    guard = load_settings().guard
    assert guard.enabled is False
    assert guard.category("no_such_category") == guard.categories["default"]
    assert guard.category("violent").action == "reject"
    assert guard.threshold("toxicity") == guard.thresholds["default"]
    assert guard.runs_for("en") is False


def test_a_guard_that_is_off_leaves_the_config_version_as_it_was() -> None:
    defaults = load_settings()
    changed = load_settings(guard=_guard(model={**defaults.guard.model.model_dump(), "name": "x"}))
    assert defaults.version == changed.version == _version_without_guard(defaults)
    enabled = load_settings(guard=_guard(enabled=True))
    assert enabled.version != defaults.version


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {
                "categories": {
                    "default": {"severity": "high", "action": "reject"},
                    "Self-Harm": {"severity": "high", "action": "reject"},
                }
            },
            "categories",
            "'Self-Harm': a category key",
        ),
        ({"thresholds": {"default": 1.5}}, "thresholds", "a threshold is a probability"),
        (
            {"unparsed": {"severity": "low", "action": "flag"}},
            "unparsed",
            "action must be review or reject",
        ),
        ({"kind": "regex"}, "kind", "Input should be 'generative' or 'classifier'"),
        ({"max_new_tokens": 0}, "max_new_tokens", "greater than or equal to 1"),
        ({"batch_tokens": 100}, "guard", "batch_tokens (100) must be at least"),
        ({"surprise": 1}, "surprise", "unknown key"),
    ],
)
def test_invalid_guard_config_names_the_field(changes: dict, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(guard=_guard(**changes))
    message = caught.value.message
    assert message.startswith(f"config.guard.{field}: ") or message.startswith("config.guard: ")
    assert field in message
    assert reason in message


def test_categories_and_thresholds_need_a_default() -> None:
    section = _guard(categories={"violent": {"severity": "high", "action": "reject"}})
    with pytest.raises(ValidationError, match="needs a 'default' entry"):
        GuardSettings.model_validate(section)


def test_languages_filter_by_code_and_primary_subtag() -> None:
    guard = load_settings(guard=_guard(enabled=True, languages=["ko", "zh"])).guard
    assert guard.runs_for("ko") and guard.runs_for("zh-Hant")
    assert not guard.runs_for("en")
    assert load_settings(guard=_guard(enabled=True)).guard.runs_for("en")
