"""Turns a language's calibration config into a calibrator: raw reward -> score in [0, 1].

Raw rewards are unbounded logits whose scale differs by model and language; levels are
only ever read from calibrated scores. Every calibrator here is monotone non-decreasing
and clipped to [0, 1], whatever the input (NaN included, which maps to 0).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise

from qualitygate.config import Calibration, LogisticCalibration, TableCalibration


class LogisticCalibrator:
    """score = 1 / (1 + exp(-(raw - center) / scale)): Platt scaling's shape."""

    def __init__(self, center: float, scale: float) -> None:
        if not scale > 0:
            raise ValueError("scale must be positive")
        self.center = center
        self.scale = scale

    def __call__(self, raw_reward: float) -> float:
        if math.isnan(raw_reward):
            return 0.0
        z = (raw_reward - self.center) / self.scale
        # Split by sign so exp never overflows for large |z|.
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


class TableCalibrator:
    """Piecewise-linear through fitted (raw, score) points; flat beyond the ends."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        if len(points) < 2:
            raise ValueError("a table needs at least two points")
        self.xs = [float(x) for x, _ in points]
        self.ys = [min(1.0, max(0.0, float(y))) for _, y in points]
        if any(b <= a for a, b in pairwise(self.xs)):
            raise ValueError("raw values must strictly increase")
        if any(b < a for a, b in pairwise(self.ys)):
            raise ValueError("scores must not decrease")

    def __call__(self, raw_reward: float) -> float:
        if math.isnan(raw_reward):
            return 0.0
        xs, ys = self.xs, self.ys
        if raw_reward <= xs[0]:
            return ys[0]
        if raw_reward >= xs[-1]:
            return ys[-1]
        i = bisect_right(xs, raw_reward)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return min(y1, max(y0, y0 + (y1 - y0) * (raw_reward - x0) / (x1 - x0)))


def build_calibrator(calibration: Calibration) -> LogisticCalibrator | TableCalibrator:
    if isinstance(calibration, LogisticCalibration):
        return LogisticCalibrator(calibration.center, calibration.scale)
    if isinstance(calibration, TableCalibration):
        return TableCalibrator(calibration.points)
    raise TypeError(f"unknown calibration {calibration!r}")
