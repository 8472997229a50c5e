"""What the calibrate tests share: a sampler that draws labels from a known logistic law,
the default calibration a fit is measured against, and the shipped labelled example."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qualitygate.config import LogisticCalibration

DEFAULT = LogisticCalibration(method="logistic", center=0.0, scale=2.0)
SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "labelled.jsonl"


def logistic_sample(
    center: float, scale: float, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Raw rewards spread over the law's informative range, labels ~ Bernoulli(law)."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(center - 5 * scale, center + 5 * scale, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-(raw - center) / scale))).astype(np.int_)
    return raw, labels
