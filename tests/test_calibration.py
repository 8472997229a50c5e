"""Calibrators: monotone non-decreasing and inside [0, 1] for any input (property tests)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualitygate.calibration import LogisticCalibrator, TableCalibrator, build_calibrator
from qualitygate.config import LogisticCalibration, TableCalibration

rewards = st.floats(allow_nan=False, allow_infinity=True, width=64)


@st.composite
def tables(draw: st.DrawFn) -> TableCalibrator:
    xs = sorted(draw(st.sets(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=12)))
    ys = sorted(draw(st.lists(st.floats(0, 1), min_size=len(xs), max_size=len(xs))))
    return TableCalibrator(list(zip(xs, ys, strict=True)))


@st.composite
def logistics(draw: st.DrawFn) -> LogisticCalibrator:
    center = draw(st.floats(-20, 20))
    scale = draw(st.floats(0.01, 20))
    return LogisticCalibrator(center, scale)


@given(calibrator=st.one_of(tables(), logistics()), a=rewards, b=rewards)
def test_monotone_and_bounded(calibrator: LogisticCalibrator, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert 0.0 <= calibrator(low) <= calibrator(high) <= 1.0


@given(calibrator=st.one_of(tables(), logistics()))
def test_nan_maps_to_the_bottom(calibrator: LogisticCalibrator) -> None:
    assert calibrator(math.nan) == 0.0


def test_logistic_center_is_one_half_and_scale_stretches() -> None:
    narrow, wide = LogisticCalibrator(1.0, 0.5), LogisticCalibrator(1.0, 4.0)
    assert narrow(1.0) == pytest.approx(0.5)
    assert narrow(2.0) > wide(2.0) > 0.5


def test_table_interpolates_between_points_and_is_flat_outside() -> None:
    table = TableCalibrator([(-1.0, 0.1), (1.0, 0.9)])
    assert table(0.0) == pytest.approx(0.5)
    assert table(-100.0) == pytest.approx(0.1)
    assert table(100.0) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        ([(0.0, 0.1)], "two points"),
        ([(1.0, 0.1), (0.0, 0.2)], "increase"),
        ([(0, 0.5), (1, 0.4)], "decrease"),
    ],
)
def test_table_rejects_bad_points(points: list[tuple[float, float]], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        TableCalibrator(points)


def test_build_from_config_models() -> None:
    logistic = build_calibrator(LogisticCalibration(method="logistic", center=0.0, scale=1.0))
    table = build_calibrator(TableCalibration(method="table", points=[(0.0, 0.0), (1.0, 1.0)]))
    assert isinstance(logistic, LogisticCalibrator)
    assert table(0.25) == pytest.approx(0.25)
