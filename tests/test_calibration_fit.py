"""Fits recover known laws, stay monotone, and refuse nonsense with a clear reason."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualitygate.calibration import build_calibrator
from qualitygate.calibration_fit import (
    CalibrationInputError,
    MissingExtraError,
    brier_score,
    expected_calibration_error,
    fit_isotonic,
    fit_language,
    fit_logistic,
    fit_percentile,
    fragment,
    parse_label,
    reliability_curve,
    require_extra,
)
from qualitygate.config import CalibrationFitSettings, LogisticCalibration, load_settings

# the `calibrate` extra; CI installs it, a bare core install skips these
pytest.importorskip("sklearn")

DEFAULT = LogisticCalibration(method="logistic", center=0.0, scale=2.0)


@pytest.fixture(scope="module")
def options() -> CalibrationFitSettings:
    return load_settings().calibration_fit


def logistic_sample(
    center: float, scale: float, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Raw rewards spread over the law's informative range, labels ~ Bernoulli(law)."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(center - 5 * scale, center + 5 * scale, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-(raw - center) / scale))).astype(np.int_)
    return raw, labels


# Tolerances: over 120 draws of 5,000 items (three laws, 40 seeds) the fitted scale's
# error had a spread of about 3% of the scale and the center's about 5% of the scale,
# so ±10% on the scale and ±0.15 scale on the center are about three standard errors.
SCALE_TOLERANCE = 0.10
CENTER_TOLERANCE = 0.15


@pytest.mark.parametrize(
    ("center", "scale", "seed"),
    [(0.0, 1.0, 1), (2.5, 0.7, 2), (-1.5, 3.0, 3), (4.0, 0.25, 4)],
)
def test_logistic_fit_recovers_the_law_it_was_drawn_from(
    center: float, scale: float, seed: int
) -> None:
    raw, labels = logistic_sample(center, scale, 5000, seed)
    fitted = fit_logistic(raw, labels)
    assert abs(fitted.scale / scale - 1) <= SCALE_TOLERANCE
    assert abs(fitted.center - center) <= CENTER_TOLERANCE * scale


def test_logistic_fit_stays_finite_on_perfectly_separated_labels() -> None:
    raw = np.linspace(-3, 3, 40)
    labels = (raw > 0).astype(np.int_)
    fitted = fit_logistic(raw, labels)
    assert math.isfinite(fitted.scale) and fitted.scale > 0
    assert -0.5 < fitted.center < 0.5


def test_logistic_fit_refuses_a_reward_that_falls_with_acceptance() -> None:
    raw, labels = logistic_sample(0.0, 1.0, 500, 5)
    with pytest.raises(CalibrationInputError, match="does not rise with acceptance"):
        fit_logistic(-raw, labels)


def test_isotonic_fit_follows_the_true_probability(options: CalibrationFitSettings) -> None:
    raw, labels = logistic_sample(1.0, 2.0, 5000, 6)
    table = fit_isotonic(raw, labels, options.table_points)
    calibrator = build_calibrator(table)
    for x in np.quantile(raw, [0.2, 0.35, 0.5, 0.65, 0.8]):
        truth = 1 / (1 + math.exp(-(x - 1.0) / 2.0))
        assert abs(calibrator(float(x)) - truth) < 0.08


def test_percentile_fit_maps_a_raw_reward_to_its_share_of_content() -> None:
    rng = np.random.default_rng(7)
    raw = rng.normal(3.0, 4.0, 4000)
    calibrator = build_calibrator(fit_percentile(raw, 21))
    for share in (0.1, 0.25, 0.5, 0.8, 0.95):
        x = float(np.quantile(raw, share))
        assert abs(calibrator(x) - share) < 0.02
    assert calibrator(float(raw.min()) - 1) == 0.0
    assert calibrator(float(raw.max()) + 1) == 1.0


raw_lists = st.lists(
    st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False),
    min_size=4,
    max_size=200,
).filter(lambda xs: len(set(xs)) >= 3)


def assert_monotone_table(points: list[tuple[float, float]], probe: list[float]) -> None:
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    assert all(b > a for a, b in itertools.pairwise(xs))
    assert all(b >= a for a, b in itertools.pairwise(ys))
    assert all(0.0 <= y <= 1.0 for y in ys)
    from qualitygate.calibration import TableCalibrator

    calibrator = TableCalibrator(points)
    scores = [calibrator(x) for x in sorted(probe)]
    assert all(b >= a for a, b in itertools.pairwise(scores))


@settings(max_examples=60, deadline=None)
@given(raw=raw_lists, data=st.data(), points=st.integers(min_value=2, max_value=40))
def test_isotonic_tables_are_monotone(raw: list[float], data: st.DataObject, points: int) -> None:
    labels = data.draw(st.lists(st.integers(0, 1), min_size=len(raw), max_size=len(raw)))
    table = fit_isotonic(np.array(raw), np.array(labels, dtype=np.int_), points)
    assert_monotone_table(table.points, [*raw, min(raw) - 1, max(raw) + 1])


@settings(max_examples=60, deadline=None)
@given(raw=raw_lists, points=st.integers(min_value=2, max_value=40))
def test_percentile_tables_are_monotone(raw: list[float], points: int) -> None:
    table = fit_percentile(np.array(raw), points)
    assert_monotone_table(table.points, raw)
    assert table.points[-1][1] == 1.0


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [("accept", 1), ("Reject", 0), ("excellent", 1), ("good", 1), ("fair", 0), ("poor", 0)],
)
def test_labels_and_levels(value: str, expected: int) -> None:
    assert parse_label(value) == expected


def test_unknown_label_names_the_field() -> None:
    assert parse_label(None) is None
    with pytest.raises(ValueError, match="label: 'maybe'"):
        parse_label("maybe")
    with pytest.raises(ValueError, match="label"):
        parse_label(1)


def test_fragment_holds_only_fitted_languages(options: CalibrationFitSettings) -> None:
    raw, labels = logistic_sample(0.0, 1.0, 200, 14)
    fits = {
        "ko": fit_language("ko", raw, labels, DEFAULT, options),
        "ja": fit_language("ja", raw[:5], labels[:5], DEFAULT, options),
    }
    data = fragment(fits)
    assert set(data["languages"]) == {"ko"}
    assert data["languages"]["ko"]["calibration"]["method"] in {"logistic", "table"}


def test_a_missing_extra_says_how_to_install_it() -> None:
    with pytest.raises(MissingExtraError, match=r"pip install 'qualitygate\[calibrate\]'"):
        require_extra("qualitygate_no_such_module")
