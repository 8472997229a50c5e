"""A language's fit: the method chosen from its labels, measured before and after, and
the reason it keeps its calibration when it cannot be fitted."""

from __future__ import annotations

import numpy as np
import pytest

from qualitygate.calibrate.errors import CalibrationInputError
from qualitygate.calibrate.fit import fit_language
from qualitygate.calibrate.methods import fit_percentile
from qualitygate.config import CalibrationFitSettings
from tests.support.calibration import DEFAULT, logistic_sample

# the `calibrate` extra; CI installs it, a bare core install skips these
pytest.importorskip("sklearn")


def test_auto_uses_labels_and_reports_before_and_after(options: CalibrationFitSettings) -> None:
    raw, labels = logistic_sample(3.0, 1.5, 600, 8)
    fit = fit_language("ko", raw, labels, DEFAULT, options)
    assert fit.method in {"logistic", "isotonic"}
    assert fit.before is not None
    chosen = fit.after[fit.method]
    # the default (center 0, scale 2) is miscalibrated for a law centred on 3
    assert chosen.ece < fit.before.ece
    assert chosen.brier < fit.before.brier
    assert not fit.after_in_sample


def test_few_labels_fit_logistic_only(options: CalibrationFitSettings) -> None:
    raw, labels = logistic_sample(0.0, 1.0, options.isotonic_min_items - 1, 9)
    fit = fit_language("ja", raw, labels, DEFAULT, options)
    assert fit.method == "logistic"
    assert set(fit.after) == {"logistic"}


def test_without_labels_auto_uses_percentiles(options: CalibrationFitSettings) -> None:
    raw = np.random.default_rng(10).normal(size=100)
    fit = fit_language("zh", raw, np.full(100, -1), DEFAULT, options)
    assert fit.method == "percentile"
    assert fit.before is None and fit.after == {}


def test_too_few_items_keep_the_current_calibration(options: CalibrationFitSettings) -> None:
    raw, labels = logistic_sample(0.0, 1.0, options.min_items - 1, 11)
    fit = fit_language("ko", raw, labels, DEFAULT, options)
    assert not fit.fitted
    assert fit.effective == DEFAULT
    assert "calibration_fit.min_items" in fit.note and "kept" in fit.note


def test_a_single_class_is_named(options: CalibrationFitSettings) -> None:
    raw = np.random.default_rng(12).normal(size=60)
    only_accepts = np.ones(60, dtype=np.int_)
    auto = fit_language("ko", raw, only_accepts, DEFAULT, options)
    assert auto.method == "percentile"
    assert "all 60 labelled items are accept" in auto.note
    forced = fit_language("ko", raw, only_accepts, DEFAULT, options, method="logistic")
    assert not forced.fitted
    assert "needs both" in forced.note


def test_nan_and_constant_rewards_are_refused_clearly(options: CalibrationFitSettings) -> None:
    raw = np.array([0.1, float("nan")] * 30)
    with pytest.raises(CalibrationInputError, match="NaN"):
        fit_language("ko", raw, np.zeros(60, dtype=np.int_), DEFAULT, options)
    with pytest.raises(CalibrationInputError, match="the same"):
        fit_percentile(np.full(50, 1.5), 11)
    constant = fit_language("ko", np.full(50, 1.5), np.full(50, -1), DEFAULT, options)
    assert not constant.fitted and "the same" in constant.note
