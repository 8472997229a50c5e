"""Score -> level -> decision -> recommendations, all from config.

Pure functions: no model, no I/O. Levels come from calibrated scores only; rule hits can
escalate a decision (flag < review < reject) but never soften it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qualitygate.config import DecisionPolicy, LevelThresholds
from qualitygate.config import RecommendationSettings as Recommendations
from qualitygate.langcode import primary_subtag
from qualitygate.schemas import Flag
from qualitygate.verdicts import DECISION_RANK, Decision, Level

_ACTION_DECISION: dict[str, Decision | None] = {
    "flag": None,
    "review": "review",
    "reject": "reject",
}


def level_for(score: float, thresholds: LevelThresholds) -> Level:
    if score >= thresholds.excellent:
        return "excellent"
    if score >= thresholds.good:
        return "good"
    if score >= thresholds.fair:
        return "fair"
    return "poor"


def decide(level: Level, flags: Iterable[Flag], policy: DecisionPolicy) -> Decision:
    decision: Decision = policy.by_level[level]
    if not policy.escalate_on_rules:
        return decision
    for flag in flags:
        wanted = _ACTION_DECISION[flag.action]
        if wanted is not None and DECISION_RANK[wanted] > DECISION_RANK[decision]:
            decision = wanted
    return decision


def localized(texts: dict[str, list[str]], language: str | None, fallback: str) -> list[str]:
    """The texts in ``language`` (or its primary subtag), else in the fallback language."""
    if language:
        for code in (language, primary_subtag(language)):
            if code in texts:
                return list(texts[code])
    return list(texts.get(fallback, []))


def recommend(
    level: Level,
    language: str | None,
    settings: Recommendations,
    extra: Sequence[str] = (),
) -> list[str]:
    """Rule-specific advice first (it says what to fix), then the level's advice."""
    level_texts = localized(settings.levels[level], language, settings.fallback_language)
    combined = [*extra, *level_texts]
    return list(dict.fromkeys(combined))
