"""How well calibrated scores separate and match human accept labels: ROC AUC, Brier score,
expected calibration error, and the reliability curve a plot draws.

Pure functions over arrays: labels are 1 (accept) and 0 (reject), scores are calibrated
probabilities in [0, 1]. It must not fit, read files or decide anything; scikit-learn is
imported only for the AUC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qualitygate.calibrate.extras import require_extra

FloatArray = NDArray[np.float64]
LabelArray = NDArray[np.int_]


@dataclass(frozen=True)
class Metrics:
    """How well calibrated scores separate and match accept labels."""

    auc: float
    brier: float
    ece: float


def roc_auc(labels: LabelArray, scores: FloatArray) -> float:
    metrics = require_extra("sklearn.metrics")
    return float(metrics.roc_auc_score(labels, scores))


def brier_score(labels: LabelArray, probabilities: FloatArray) -> float:
    return float(np.mean((probabilities - labels) ** 2))


def _bin_index(probabilities: FloatArray, bins: int) -> LabelArray:
    return np.minimum((probabilities * bins).astype(int), bins - 1)


def expected_calibration_error(labels: LabelArray, probabilities: FloatArray, bins: int) -> float:
    """Share-weighted gap between predicted and observed accept rate over equal-width bins."""
    index = _bin_index(probabilities, bins)
    total = 0.0
    for b in np.unique(index):
        in_bin = index == b
        gap = abs(float(np.mean(labels[in_bin])) - float(np.mean(probabilities[in_bin])))
        total += gap * float(np.mean(in_bin))
    return total


@dataclass(frozen=True)
class ReliabilityBin:
    mean_predicted: float
    observed: float
    count: int


def reliability_curve(
    labels: LabelArray, probabilities: FloatArray, bins: int
) -> list[ReliabilityBin]:
    """Predicted vs observed accept rate per non-empty bin: the reliability diagram's data."""
    index = _bin_index(probabilities, bins)
    return [
        ReliabilityBin(
            mean_predicted=float(np.mean(probabilities[index == b])),
            observed=float(np.mean(labels[index == b])),
            count=int(np.sum(index == b)),
        )
        for b in np.unique(index)
    ]


def evaluate(labels: LabelArray, probabilities: FloatArray, bins: int) -> Metrics:
    return Metrics(
        auc=roc_auc(labels, probabilities),
        brier=brier_score(labels, probabilities),
        ece=expected_calibration_error(labels, probabilities, bins),
    )
