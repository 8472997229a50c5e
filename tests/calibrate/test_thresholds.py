"""Threshold targets pick the threshold ORES would, and confusion tables count correctly."""

from __future__ import annotations

import numpy as np
import pytest

from qualitygate.calibrate.confusion import confusion, pooled
from qualitygate.calibrate.thresholds import (
    Target,
    TargetError,
    achieved,
    boundaries,
    parse_target,
    tune_levels,
)
from qualitygate.config import DecisionPolicy, LevelThresholds, load_settings

LEVELS = LevelThresholds(excellent=0.8, good=0.6, fair=0.4)


@pytest.fixture(scope="module")
def policy() -> DecisionPolicy:
    return load_settings().decisions


def noisy_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.random(n)
    labels = (rng.random(n) < scores).astype(np.int_)
    return scores, labels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("precision>=0.9", Target("precision", 0.9, "approve")),
        ("approve:recall >= 0.75", Target("recall", 0.75, "approve")),
        ("reject:precision>=.95", Target("precision", 0.95, "reject")),
        ("review_share<=0.1", Target("review_share", 0.1, "review")),
    ],
)
def test_parse_target(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("precision>0.9", "expected"),
        ("precision>=1.5", "not in"),
        ("precision<=0.9", "precision>=X"),
        ("review_share>=0.1", "review_share<=X"),
        ("accuracy>=0.9", "expected"),
    ],
)
def test_bad_targets_say_why(text: str, reason: str) -> None:
    with pytest.raises(TargetError, match=reason):
        parse_target(text)


def test_default_policy_boundaries(policy: DecisionPolicy) -> None:
    bounds = boundaries(policy)
    assert (bounds.approve, bounds.reject) == ("good", "fair")


def test_a_policy_that_does_not_fall_is_refused(policy: DecisionPolicy) -> None:
    upside_down = policy.model_copy(update={"by_level": {**policy.by_level, "poor": "approve"}})
    with pytest.raises(TargetError, match="does not fall"):
        boundaries(upside_down)


def test_precision_target_gives_maximum_recall(policy: DecisionPolicy) -> None:
    scores, labels = noisy_scores(2000, 1)
    target = parse_target("precision>=0.85")
    tuning = tune_levels([target], scores, labels, LEVELS, policy)
    good = tuning.levels.good
    assert tuning.achieved[str(target)] >= 0.85
    # any lower threshold (more recall) would break the target
    lower = np.sort(scores[scores < good])[-1]
    approved = scores >= lower
    assert np.mean(labels[approved] == 1) < 0.85
    assert tuning.levels.excellent > good > tuning.levels.fair


def test_recall_target_is_met(policy: DecisionPolicy) -> None:
    scores, labels = noisy_scores(2000, 2)
    target = parse_target("recall>=0.9")
    tuning = tune_levels([target], scores, labels, LEVELS, policy)
    assert tuning.achieved[str(target)] >= 0.9


def test_reject_precision_moves_the_fair_threshold(policy: DecisionPolicy) -> None:
    scores, labels = noisy_scores(2000, 3)
    target = parse_target("reject:precision>=0.9")
    tuning = tune_levels([target], scores, labels, LEVELS, policy)
    assert tuning.levels.good == LEVELS.good
    assert tuning.achieved[str(target)] >= 0.9
    rejected = scores < tuning.levels.fair
    assert np.mean(labels[rejected] == 0) >= 0.9


def test_review_share_caps_the_review_band(policy: DecisionPolicy) -> None:
    scores, labels = noisy_scores(1000, 4)
    target = parse_target("review_share<=0.05")
    tuning = tune_levels([target], scores, labels, LEVELS, policy)
    share = achieved(target, scores, labels, tuning.levels, policy)
    assert share <= 0.05
    assert share > 0.04  # the budget is used, not left empty
    assert tuning.levels.good == LEVELS.good


def test_untouched_levels_move_to_stay_descending(policy: DecisionPolicy) -> None:
    scores, labels = noisy_scores(2000, 5)  # precision of scores >= t is about (1 + t) / 2
    tuning = tune_levels([parse_target("precision>=0.95")], scores, labels, LEVELS, policy)
    assert tuning.levels.good > LEVELS.excellent
    assert tuning.levels.excellent > tuning.levels.good
    assert any("levels.excellent moved" in note for note in tuning.notes)


def test_an_unreachable_target_is_reported(policy: DecisionPolicy) -> None:
    scores = np.linspace(0, 1, 50)
    labels = np.array([1, 0] * 25)  # the top score is a reject: no threshold is pure
    with pytest.raises(TargetError, match="no threshold meets it"):
        tune_levels([parse_target("precision>=1.0")], scores, labels, LEVELS, policy)


def test_targets_need_both_labels(policy: DecisionPolicy) -> None:
    scores = np.linspace(0, 1, 50)
    with pytest.raises(TargetError, match="both accept and reject"):
        tune_levels([parse_target("precision>=0.9")], scores, np.ones(50, int), LEVELS, policy)


def test_confusion_counts_every_item(policy: DecisionPolicy) -> None:
    scores = np.array([0.9, 0.7, 0.5, 0.3, 0.65, 0.2, 0.1])
    labels = np.array([1, 1, 1, 0, 0, 0, -1])
    matrix = confusion(scores, labels, LEVELS, policy)
    assert matrix.counts["accept"] == {"approve": 2, "review": 1, "reject": 0}
    assert matrix.counts["reject"] == {"approve": 1, "review": 0, "reject": 2}
    assert matrix.counts["unlabelled"] == {"approve": 0, "review": 0, "reject": 1}
    assert matrix.approve_precision == pytest.approx(2 / 3)
    assert matrix.approve_recall == pytest.approx(2 / 3)
    assert matrix.review_share == pytest.approx(1 / 7)
    both = pooled({"ko": matrix, "ja": matrix})
    assert both.counts["accept"]["approve"] == 4
    assert both.review_share == pytest.approx(1 / 7)
