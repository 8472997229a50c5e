"""Fits recover known laws, stay monotone, and refuse nonsense with a clear reason."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualitygate.calibrate.errors import CalibrationInputError
from qualitygate.calibrate.methods import fit_isotonic, fit_logistic, fit_percentile
from qualitygate.calibration import build_calibrator
from qualitygate.config import CalibrationFitSettings
from tests.support.calibration import logistic_sample

# the `calibrate` extra; CI installs it, a bare core install skips these
pytest.importorskip("sklearn")

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
