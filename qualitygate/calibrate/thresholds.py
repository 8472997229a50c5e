"""Picking level thresholds from a target, ORES-style.

An operator says what they need (``precision>=0.9``: of what is approved, 90% should be
content a person would accept; ``recall>=0.8``; ``reject:precision>=0.95``;
``review_share<=0.1``: at most a tenth of content waits for a person) and this module
moves the one level threshold that decides it, the way ORES's threshold optimisation
answers "maximum recall at precision >= 0.9", and says what each target achieved.

Thresholds act on calibrated scores, which is why they are shared by all languages: the
per-language calibration is what makes one threshold mean the same everywhere. This
module must not fit calibrations, read files or print; ``confusion`` shows what the
thresholds would have done.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from qualitygate.calibrate.errors import TargetError
from qualitygate.config import LEVELS, Decision, DecisionPolicy, Level, LevelThresholds
from qualitygate.grading import level_for
from qualitygate.verdicts import DECISIONS

Metric = Literal["precision", "recall", "review_share"]
# From the most lenient to the strictest: the column order of every table, and the order
# in which decisions must fall as levels fall.
_TARGET = re.compile(
    r"^\s*(?:(?P<decision>approve|reject)\s*:\s*)?(?P<metric>precision|recall|review_share)"
    r"\s*(?P<op>>=|<=)\s*(?P<value>[0-9]*\.?[0-9]+)\s*$"
)


@dataclass(frozen=True)
class Target:
    """``decision:metric op value``; precision and recall are of the decision's label."""

    metric: Metric
    value: float
    decision: Decision = "approve"

    def __str__(self) -> str:
        if self.metric == "review_share":
            return f"review_share<={self.value:g}"
        return f"{self.decision}:{self.metric}>={self.value:g}"


def parse_target(text: str) -> Target:
    match = _TARGET.match(text)
    if match is None:
        raise TargetError(
            f"target {text!r}: expected [approve:|reject:]precision>=X, "
            "[approve:|reject:]recall>=X or review_share<=X, with X in [0, 1]"
        )
    metric, op, value = match["metric"], match["op"], float(match["value"])
    if not 0.0 <= value <= 1.0:
        raise TargetError(f"target {text!r}: {value:g} is not in [0, 1]")
    if metric == "review_share":
        if op != "<=" or match["decision"]:
            raise TargetError(f"target {text!r}: review_share takes the form review_share<=X")
        return Target(metric="review_share", value=value, decision="review")
    if op != ">=":
        raise TargetError(f"target {text!r}: {metric} takes the form {metric}>=X")
    return Target(metric=metric, value=value, decision=match["decision"] or "approve")  # type: ignore[arg-type]


def parse_targets(texts: Sequence[str]) -> list[Target]:
    """Every ``--target``, parsed; the first bad one raises ``TargetError``."""
    return [parse_target(text) for text in texts]


@dataclass(frozen=True)
class Boundaries:
    """Which level's threshold decides approval and which decides rejection.

    ``approve``: the lowest level the policy approves (a score at or above its threshold
    is approved). ``reject``: the level just above the highest level the policy rejects
    (a score below its threshold is rejected). Either is None when no level approves or
    rejects.
    """

    approve: Level | None
    reject: Level | None


def boundaries(policy: DecisionPolicy) -> Boundaries:
    strictness = [DECISIONS.index(policy.by_level[level]) for level in LEVELS]
    if any(lower < upper for upper, lower in pairwise(strictness)):
        raise TargetError(
            "decisions.by_level does not fall from approve to reject as levels fall; "
            "threshold tuning needs a policy that does"
        )
    approving = [level for level in LEVELS[:-1] if policy.by_level[level] == "approve"]
    rejecting = [i for i, level in enumerate(LEVELS) if policy.by_level[level] == "reject"]
    reject = LEVELS[rejecting[0] - 1] if rejecting and rejecting[0] > 0 else None
    return Boundaries(approve=approving[-1] if approving else None, reject=reject)  # type: ignore[arg-type]


def _approve_threshold(target: Target, scores: NDArray, labels: NDArray) -> float:
    candidates = np.unique(scores)
    positives = max(int(np.sum(labels == 1)), 1)
    best: tuple[float, float] | None = None  # (objective, threshold)
    for t in candidates:
        chosen = scores >= t
        precision = float(np.mean(labels[chosen] == 1))
        recall = float(np.sum(labels[chosen] == 1)) / positives
        if target.metric == "precision" and precision >= target.value:
            # maximum recall at this precision: the lowest threshold that meets it
            return float(t)
        if target.metric == "recall" and recall >= target.value:
            objective = precision
            if best is None or objective >= best[0]:
                best = (objective, float(t))
    if best is None:
        raise TargetError(f"{target}: no threshold meets it on the labelled content")
    return best[1]


def _reject_threshold(target: Target, scores: NDArray, labels: NDArray) -> float:
    # A score below t is rejected; t just above a score value rejects that score too.
    candidates = np.unique(np.concatenate([scores, [1.0]]))
    negatives = max(int(np.sum(labels == 0)), 1)
    best: tuple[float, float] | None = None
    for t in candidates[::-1]:
        chosen = scores < t
        if not np.any(chosen):
            continue
        precision = float(np.mean(labels[chosen] == 0))
        recall = float(np.sum(labels[chosen] == 0)) / negatives
        if target.metric == "precision" and precision >= target.value:
            return float(t)  # the highest threshold that meets it: maximum reject recall
        meets_recall = target.metric == "recall" and recall >= target.value
        if meets_recall and (best is None or precision > best[0]):
            best = (precision, float(t))
    if best is None:
        raise TargetError(f"{target}: no threshold meets it on the labelled content")
    return best[1]


def _review_threshold(share: float, scores: NDArray, approve_at: float) -> float:
    """The lowest reject boundary that sends at most ``share`` of content to review."""
    below = np.sort(scores[scores < approve_at])
    allowed = int(np.floor(share * len(scores) + 1e-9))
    if allowed == 0 or len(below) == 0:
        return approve_at
    if allowed >= len(below):
        return 0.0
    # everything at or above below[-allowed] is reviewed; ties below it are not
    return float(below[len(below) - allowed])


@dataclass
class Tuning:
    """The thresholds a set of targets chose, what each target achieved, and notes."""

    levels: LevelThresholds
    achieved: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def tune_levels(
    targets: Sequence[Target],
    scores: NDArray[np.float64],
    labels: NDArray[np.int_],
    current: LevelThresholds,
    policy: DecisionPolicy,
) -> Tuning:
    """New level thresholds meeting the targets on the pooled calibrated scores.

    ``labels`` holds 1, 0 or -1 (unlabelled); precision and recall use the labelled items,
    the review share uses all of them. Levels no target touches keep their value unless
    the thresholds would stop descending, in which case they move just enough.
    """
    bounds = boundaries(policy)
    thresholds: dict[str, float] = current.model_dump()
    labelled = labels >= 0
    notes: list[str] = []
    fixed: set[str] = set()
    review_target = next((t for t in targets if t.metric == "review_share"), None)
    for target in targets:
        if target.metric == "review_share":
            continue
        if not (np.any(labels[labelled] == 1) and np.any(labels[labelled] == 0)):
            raise TargetError(f"{target}: needs labelled content with both accept and reject")
        level = bounds.approve if target.decision == "approve" else bounds.reject
        if level is None:
            raise TargetError(f"{target}: no level in decisions.by_level is {target.decision}d")
        pick = _approve_threshold if target.decision == "approve" else _reject_threshold
        thresholds[level] = pick(target, scores[labelled], labels[labelled])
        fixed.add(level)
    if review_target is not None:
        if bounds.approve is None or bounds.reject is None:
            raise TargetError("review_share: the policy needs both an approve and a reject level")
        if any(t.decision == "reject" for t in targets if t.metric != "review_share"):
            notes.append("review_share is checked, not tuned, because a reject target is set")
        else:
            thresholds[bounds.reject] = _review_threshold(
                review_target.value, scores, thresholds[bounds.approve]
            )
    levels = _descending(thresholds, fixed, notes)
    tuning = Tuning(levels=levels, notes=notes)
    for target in targets:
        tuning.achieved[str(target)] = achieved(target, scores, labels, levels, policy)
    return tuning


_GAP = 1e-3


def _descending(thresholds: dict[str, float], fixed: set[str], notes: list[str]) -> LevelThresholds:
    """Move the thresholds no target chose so excellent > good > fair holds, and say so."""
    names = ("excellent", "good", "fair")
    values = [thresholds[name] for name in names]
    for i in (1, 2):  # an untouched level below a chosen one goes under it
        if names[i] not in fixed and values[i] >= values[i - 1]:
            values[i] = max(values[i - 1] - _GAP, 0.0)
    for i in (1, 0):  # an untouched level above a chosen one goes over it
        if names[i] not in fixed and values[i] <= values[i + 1]:
            values[i] = min(values[i + 1] + _GAP, 1.0)
    for name, value in zip(names, values, strict=True):
        if name not in fixed and abs(value - thresholds[name]) > 1e-12:
            notes.append(f"levels.{name} moved to {value:.3f} to keep the levels descending")
    try:
        return LevelThresholds(excellent=values[0], good=values[1], fair=values[2])
    except ValueError as exc:
        reason = str(exc).splitlines()[-1].strip()
        raise TargetError(f"the targets leave no room for descending levels: {reason}") from None


def decisions_for(
    scores: NDArray[np.float64], levels: LevelThresholds, policy: DecisionPolicy
) -> list[Decision]:
    return [policy.by_level[level_for(float(s), levels)] for s in scores]


def achieved(
    target: Target,
    scores: NDArray[np.float64],
    labels: NDArray[np.int_],
    levels: LevelThresholds,
    policy: DecisionPolicy,
) -> float:
    """The target's metric under these thresholds (NaN when it has no denominator)."""
    decisions = np.array(decisions_for(scores, levels, policy))
    if target.metric == "review_share":
        return float(np.mean(decisions == "review")) if len(decisions) else float("nan")
    labelled = labels >= 0
    decisions, labels = decisions[labelled], labels[labelled]
    wanted = 1 if target.decision == "approve" else 0
    chosen = decisions == target.decision
    if target.metric == "precision":
        return float(np.mean(labels[chosen] == wanted)) if np.any(chosen) else float("nan")
    relevant = labels == wanted
    return float(np.mean(chosen[relevant])) if np.any(relevant) else float("nan")
