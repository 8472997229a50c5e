"""What-if: results already graded, graded again under another config, without the model.

A result keeps its raw reward, language and rule flags, so a candidate config's
calibration, level thresholds, decision policy and rule actions (a rule switched off, or
its action changed) can be replayed on it exactly; what needs the text (new block-list
terms, new patterns, preprocessing, detection, prompts) cannot, and is left as it was.
Per language it counts decisions before and after, the items that change, and, where
moderators' labels exist, the precision and recall of ``approve`` against them. Pure: no
Redis, no model, no printing; ``config diff`` and the console call it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from qualitygate.calibration import LogisticCalibrator, TableCalibrator, build_calibrator
from qualitygate.config import RuleSettings, RulesSettings, Settings
from qualitygate.grading import decide, level_for
from qualitygate.schemas import Flag, GradeResult
from qualitygate.verdicts import Decision, Level

ALL = "all"


@dataclass(frozen=True)
class Regraded:
    """One result's decision under the current config and under the candidate."""

    id: str
    language: str
    before: Decision
    after: Decision
    before_level: Level
    after_level: Level
    label: int | None  # 1 a moderator accepted it, 0 rejected, None unlabelled


@dataclass
class LanguageDiff:
    """One language's (or every language's) decisions before and after."""

    language: str
    items: int = 0
    changed: int = 0
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    labelled: list[tuple[int, str, str]] = field(default_factory=list)  # label, before, after

    def share(self, side: str, decision: str) -> float:
        counts = self.before if side == "before" else self.after
        return counts[decision] / self.items if self.items else 0.0

    def precision(self, side: str) -> float | None:
        """Of the labelled items approved, the share moderators accepted."""
        approved = [label for label, *sides in self.labelled if _side(sides, side) == "approve"]
        return sum(approved) / len(approved) if approved else None

    def recall(self, side: str) -> float | None:
        """Of the labelled items moderators accepted, the share approved."""
        accepted = [sides for label, *sides in self.labelled if label == 1]
        if not accepted:
            return None
        return sum(1 for sides in accepted if _side(sides, side) == "approve") / len(accepted)


def _side(sides: Sequence[str], side: str) -> str:
    return sides[0] if side == "before" else sides[1]


def rule_settings(rule_id: str, rules: RulesSettings) -> RuleSettings | None:
    """The config entry of a flag's rule (``pii.email``, ``blocklist.banned``,
    ``pattern.ID``), or None for a rule the config does not have."""
    kind, _, name = rule_id.partition(".")
    if kind == "blocklist":
        return rules.blocklists.get(name)
    if kind == "pattern":
        return next((p for p in rules.patterns if p.id == name), None)
    if kind in ("pii", "spam", "length"):
        return getattr(getattr(rules, kind), name, None)
    return None


def replay_flags(flags: Iterable[Flag], language: str, rules: RulesSettings) -> list[Flag]:
    """The flags with each rule's action from ``rules``; a rule now off (or not for this
    language) drops its flags. A rule the config no longer names keeps its flag."""
    replayed = []
    for flag in flags:
        rule = rule_settings(flag.rule_id, rules)
        if rule is None:
            replayed.append(flag)
        elif rule.enabled and (not rule.languages or language in rule.languages):
            replayed.append(flag.model_copy(update={"action": rule.action}))
    return replayed


class Grader:
    """Calibration, level and decision of a graded result under one config."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._calibrators: dict[str, LogisticCalibrator | TableCalibrator] = {}

    def grade(self, result: GradeResult) -> tuple[float, Level, Decision]:
        language = result.language or "und"
        calibrator = self._calibrators.get(language)
        if calibrator is None:
            calibration = self.settings.language(language).calibration
            calibrator = build_calibrator(calibration)  # type: ignore[arg-type]
            self._calibrators[language] = calibrator
        score = calibrator(float(result.raw_reward or 0.0))
        level = level_for(score, self.settings.levels)
        flags = replay_flags(result.flags, language, self.settings.rules)
        return score, level, decide(level, flags, self.settings.decisions)


def regrade(
    results: Iterable[GradeResult],
    current: Settings,
    candidate: Settings,
    labels: Mapping[str, int] | None = None,
) -> list[Regraded]:
    """Every graded result (errors skipped) under both configs, with its label if any."""
    before, after = Grader(current), Grader(candidate)
    labels = labels or {}
    regraded = []
    for result in results:
        if result.status != "graded" or result.raw_reward is None:
            continue
        _, level_before, decision_before = before.grade(result)
        _, level_after, decision_after = after.grade(result)
        regraded.append(
            Regraded(
                result.id,
                result.language or "und",
                decision_before,
                decision_after,
                level_before,
                level_after,
                labels.get(result.id),
            )
        )
    return regraded


def summarise(regraded: Iterable[Regraded]) -> dict[str, LanguageDiff]:
    """Per language, sorted, then ``all``: decision counts, changes and labelled pairs."""
    diffs: dict[str, LanguageDiff] = {}
    total = LanguageDiff(ALL)
    for item in regraded:
        diff = diffs.setdefault(item.language, LanguageDiff(item.language))
        for target in (diff, total):
            target.items += 1
            target.before[item.before] += 1
            target.after[item.after] += 1
            target.changed += item.before != item.after
            if item.label is not None:
                target.labelled.append((item.label, item.before, item.after))
    ordered = {code: diffs[code] for code in sorted(diffs)}
    return {**ordered, ALL: total} if ordered else {}
