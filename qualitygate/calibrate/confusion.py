"""What a set of level thresholds would have done to the labelled content: per language,
human label (accept, reject, unlabelled) against the gate's decision, with approval's
precision and recall and the share sent to review.

Counting only: it must not choose thresholds (``thresholds`` does) or print (``report``
draws the table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qualitygate.calibrate.thresholds import decisions_for
from qualitygate.config import Decision, DecisionPolicy, LevelThresholds
from qualitygate.verdicts import DECISIONS


@dataclass(frozen=True)
class Confusion:
    """Labelled items by human label (rows) and gate decision (columns); plus unlabelled."""

    counts: dict[str, dict[Decision, int]]

    def cell(self, label: str, decision: Decision) -> int:
        return self.counts[label][decision]

    @property
    def approve_precision(self) -> float:
        approved = self.cell("accept", "approve") + self.cell("reject", "approve")
        return self.cell("accept", "approve") / approved if approved else float("nan")

    @property
    def approve_recall(self) -> float:
        accepts = sum(self.counts["accept"].values())
        return self.cell("accept", "approve") / accepts if accepts else float("nan")

    @property
    def review_share(self) -> float:
        total = sum(sum(row.values()) for row in self.counts.values())
        reviewed = sum(row["review"] for row in self.counts.values())
        return reviewed / total if total else float("nan")


_ROWS = {1: "accept", 0: "reject", -1: "unlabelled"}  # a sample's label -> its table row


def _zero_counts() -> dict[str, dict[Decision, int]]:
    return {row: dict.fromkeys(DECISIONS, 0) for row in _ROWS.values()}


def confusion(
    scores: NDArray[np.float64],
    labels: NDArray[np.int_],
    levels: LevelThresholds,
    policy: DecisionPolicy,
) -> Confusion:
    counts = _zero_counts()
    for decision, label in zip(decisions_for(scores, levels, policy), labels, strict=True):
        counts[_ROWS[int(label)]][decision] += 1
    return Confusion(counts=counts)


def confusion_by_language(
    groups: Mapping[str, tuple[NDArray[np.float64], NDArray[np.int_]]],
    levels: LevelThresholds,
    policy: DecisionPolicy,
) -> dict[str, Confusion]:
    return {
        code: confusion(scores, labels, levels, policy) for code, (scores, labels) in groups.items()
    }


def pooled(confusions: Mapping[str, Confusion]) -> Confusion:
    """All languages' tables added together."""
    counts = _zero_counts()
    for matrix in confusions.values():
        for label, row in matrix.counts.items():
            for decision, count in row.items():
                counts[label][decision] += count
    return Confusion(counts=counts)
