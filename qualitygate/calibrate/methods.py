"""The three ways ``calibrate`` turns raw rewards into a calibration: Platt scaling (a
logistic law fitted by Newton's method), an isotonic table, and a percentile table.

Each returns the config model the gate already reads (``LogisticCalibration`` or
``TableCalibration``), so nothing fitted here needs new code at grading time, and
``apply_calibration`` reads scores back through the runtime calibrator itself. It must not
choose between methods (``fit`` does), read files or print; scikit-learn is imported only
for the isotonic fit.
"""

from __future__ import annotations

import numpy as np

from qualitygate.calibrate.errors import CalibrationInputError
from qualitygate.calibrate.extras import require_extra
from qualitygate.calibrate.metrics import FloatArray, LabelArray
from qualitygate.calibration import build_calibrator
from qualitygate.config import Calibration, LogisticCalibration, TableCalibration


def apply_calibration(calibration: Calibration, raw: FloatArray) -> FloatArray:
    """Scores exactly as the gate would compute them with this calibration."""
    calibrator = build_calibrator(calibration)
    return np.array([calibrator(float(x)) for x in raw], dtype=np.float64)


def fit_logistic(raw: FloatArray, labels: LabelArray) -> LogisticCalibration:
    """Platt scaling: maximum likelihood of P(accept) = sigmoid((raw - center) / scale).

    Uses Platt's smoothed targets ((N+ + 1)/(N+ + 2) and 1/(N- + 2)) rather than 0 and 1,
    so perfectly separated data still gives a finite scale, and Newton's method on
    standardised raw rewards (two parameters, a handful of iterations, no solver needed).
    """
    n_accept = int(np.sum(labels == 1))
    n_reject = int(np.sum(labels == 0))
    if n_accept == 0 or n_reject == 0:
        raise CalibrationInputError("a logistic fit needs both accept and reject labels")
    mean, spread = float(np.mean(raw)), float(np.std(raw))
    if not spread > 0:
        raise CalibrationInputError("every raw reward is the same; nothing to fit")
    x = (raw - mean) / spread
    target = np.where(labels == 1, (n_accept + 1) / (n_accept + 2), 1 / (n_reject + 2))
    slope, intercept = _newton_logistic(np.column_stack([x, np.ones_like(x)]), target)
    if not slope > 0:
        raise CalibrationInputError(
            "the raw reward does not rise with acceptance (fitted slope "
            f"{slope / spread:.3g}); check the labels, or the model is not fit for this content"
        )
    scale = spread / slope
    center = mean - intercept * scale
    return LogisticCalibration(method="logistic", center=center, scale=scale)


def _newton_logistic(design: FloatArray, target: FloatArray) -> tuple[float, float]:
    """(slope, intercept) minimising the logistic loss, by damped Newton steps."""
    params = np.zeros(2)

    def loss(p: FloatArray) -> float:
        z = design @ p
        # log(1 + e^z) - t z, written to stay finite for large |z|
        return float(np.sum(np.logaddexp(0.0, z) - target * z))

    for _ in range(100):
        z = design @ params
        prob = 1.0 / (1.0 + np.exp(-z))
        gradient = design.T @ (prob - target)
        hessian = design.T @ (design * (prob * (1 - prob))[:, None]) + 1e-12 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        current, shrink = loss(params), 1.0
        while loss(params - shrink * step) > current + 1e-12 and shrink > 1e-8:
            shrink /= 2
        params = params - shrink * step
        if float(np.max(np.abs(shrink * step))) < 1e-10:
            break
    return float(params[0]), float(params[1])


def _grid(raw: FloatArray, points: int) -> FloatArray:
    """Up to ``points`` strictly increasing raw values at evenly spaced quantiles."""
    return np.unique(np.quantile(raw, np.linspace(0.0, 1.0, points)))


def _table(xs: FloatArray, ys: FloatArray) -> TableCalibration:
    """A valid table: six significant digits (readable YAML), raw strictly increasing."""
    ys = np.clip(np.maximum.accumulate(ys), 0.0, 1.0)
    points: list[tuple[float, float]] = []
    for x, y in zip(xs, ys, strict=True):
        short = float(f"{float(x):.6g}")
        if points and short <= points[-1][0]:
            points[-1] = (points[-1][0], round(float(y), 6))  # keep the higher score
            continue
        points.append((short, round(float(y), 6)))
    if len(points) < 2:
        raise CalibrationInputError("raw rewards are too close together to fit a table")
    return TableCalibration(method="table", points=points)


def fit_isotonic(raw: FloatArray, labels: LabelArray, points: int) -> TableCalibration:
    """The isotonic (monotone least-squares) fit, read off at raw quantiles as a table.

    The step function becomes piecewise linear between the quantile points, which keeps
    the table short enough to read in a YAML file and still monotone.
    """
    isotonic = require_extra("sklearn.isotonic")
    if len(np.unique(raw)) < 2:
        raise CalibrationInputError("every raw reward is the same; nothing to fit")
    model = isotonic.IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    model.fit(raw, labels.astype(np.float64))
    xs = _grid(raw, points)
    return _table(xs, model.predict(xs))


def fit_percentile(raw: FloatArray, points: int) -> TableCalibration:
    """Score = the share of this language's reference content with a lower raw reward.

    A score of 0.8 then means "better than 80% of the reference content", so a level
    holds the same share of content in every language. Quantile points at evenly spaced
    ranks; where raw rewards tie, the tied point keeps the highest rank.
    """
    if len(np.unique(raw)) < 2:
        raise CalibrationInputError("every raw reward is the same; nothing to fit")
    ranks = np.linspace(0.0, 1.0, points)
    quantiles = np.quantile(raw, ranks)
    xs, last_index = np.unique(quantiles[::-1], return_index=True)
    ys = ranks[::-1][last_index]
    return _table(xs, ys)
