"""Brier score, expected calibration error and the reliability curve on known values."""

from __future__ import annotations

import numpy as np
import pytest

from qualitygate.calibrate.metrics import (
    brier_score,
    expected_calibration_error,
    reliability_curve,
)

# the `calibrate` extra; CI installs it, a bare core install skips these
pytest.importorskip("sklearn")


def test_metrics_on_known_values() -> None:
    labels = np.array([1, 0])
    assert brier_score(labels, np.array([0.8, 0.4])) == pytest.approx(0.1)
    # one bin holding both: predicted mean 0.6, observed 0.5
    assert expected_calibration_error(labels, np.array([0.55, 0.65]), 2) == pytest.approx(0.1)
    rng = np.random.default_rng(13)
    p = rng.random(20000)
    honest = (rng.random(20000) < p).astype(np.int_)
    assert expected_calibration_error(honest, p, 10) < 0.02
    assert expected_calibration_error(honest, np.clip(p + 0.2, 0, 1), 10) > 0.15
    curve = reliability_curve(honest, p, 10)
    assert sum(b.count for b in curve) == 20000
    assert all(abs(b.observed - b.mean_predicted) < 0.05 for b in curve)
