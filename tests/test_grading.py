"""Levels from thresholds, decisions escalated by rule actions, localized recommendations."""

from __future__ import annotations

import pytest

from qualitygate.config import load_settings
from qualitygate.grading import decide, level_for, recommend
from qualitygate.schemas import Flag

SETTINGS = load_settings()


def flag(action: str) -> Flag:
    return Flag(
        rule_id=f"test.{action}", category="test", severity="low", action=action, start=0, end=1
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("offset", "level"),
    [("excellent", "excellent"), ("good", "good"), ("fair", "fair")],
)
def test_threshold_is_the_lowest_score_of_its_level(offset: str, level: str) -> None:
    threshold = getattr(SETTINGS.levels, offset)
    assert level_for(threshold, SETTINGS.levels) == level
    below = level_for(threshold - 1e-9, SETTINGS.levels)
    assert below != level


def test_bottom_and_top() -> None:
    assert level_for(0.0, SETTINGS.levels) == "poor"
    assert level_for(1.0, SETTINGS.levels) == "excellent"


def test_decision_follows_level_without_flags() -> None:
    for level, expected in SETTINGS.decisions.by_level.items():
        assert decide(level, [], SETTINGS.decisions) == expected


def test_rules_escalate_but_never_soften() -> None:
    policy = SETTINGS.decisions
    assert decide("excellent", [flag("flag")], policy) == "approve"
    assert decide("excellent", [flag("review")], policy) == "review"
    assert decide("excellent", [flag("review"), flag("reject")], policy) == "reject"
    assert decide("poor", [flag("review")], policy) == "reject"


def test_escalation_can_be_switched_off() -> None:
    policy = SETTINGS.decisions.model_copy(update={"escalate_on_rules": False})
    assert decide("excellent", [flag("reject")], policy) == "approve"


@pytest.mark.parametrize(
    ("language", "expected_language"),
    [
        ("ko", "ko"),
        ("ja", "ja"),
        ("zh", "zh"),
        ("zh-Hant", "zh"),
        ("en", "en"),
        ("fr", "en"),
        (None, "en"),
    ],
)
def test_recommendations_in_content_language_else_english(
    language: str | None, expected_language: str
) -> None:
    texts = recommend("poor", language, SETTINGS.recommendations)
    assert texts == SETTINGS.recommendations.levels["poor"][expected_language]


def test_rule_advice_comes_first_and_is_not_repeated() -> None:
    level_texts = SETTINGS.recommendations.levels["fair"]["en"]
    texts = recommend(
        "fair", "en", SETTINGS.recommendations, ["Remove the phone number.", level_texts[0]]
    )
    assert texts[0] == "Remove the phone number."
    assert len(texts) == len(set(texts)) == 1 + len(level_texts)
