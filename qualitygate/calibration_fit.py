"""Fitting one language's calibration from raw rewards, with or without human labels.

Owns the statistics of ``qualitygate calibrate``: Platt scaling (a logistic law fitted by
Newton's method), isotonic tables, percentile tables, and the metrics that say whether a
fit helped (ROC AUC, Brier score, expected calibration error). Every fit comes back as the
config model the gate already reads (``LogisticCalibration`` or ``TableCalibration``), so
nothing fitted here needs new code at grading time. It must not read files, load the
model or print: the caller hands in arrays and gets back data.

scikit-learn (the ``calibrate`` extra) is imported only where it is needed, so the worker
never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from qualitygate.calibration import build_calibrator
from qualitygate.config import (
    Calibration,
    CalibrationFitSettings,
    LogisticCalibration,
    TableCalibration,
)
from qualitygate.errors import QualityGateError

FitMethod = Literal["auto", "logistic", "isotonic", "percentile"]
FloatArray = NDArray[np.float64]
INSTALL_HINT = "pip install 'qualitygate[calibrate]'"
ACCEPT_LABELS = frozenset({"accept", "excellent", "good"})
REJECT_LABELS = frozenset({"reject", "fair", "poor"})


class CalibrationInputError(QualityGateError):
    """The content handed to ``calibrate`` cannot be fitted; the message says why."""

    code = "calibration_input_invalid"


class MissingExtraError(QualityGateError):
    """An optional dependency of ``calibrate`` is not installed; the message says how."""

    code = "missing_dependency"


def require_extra(module: str) -> Any:
    """Import a ``calibrate``-extra module, or explain how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"`qualitygate calibrate` needs {module.split('.')[0]}, which is not installed: "
            f"{INSTALL_HINT}"
        ) from None


def parse_label(value: Any) -> int | None:
    """1 for accept, 0 for reject, None for no label.

    A level name counts as a binary label: excellent and good are content the operator
    would publish (accept), fair and poor content they would not (reject).
    """
    if value is None:
        return None
    if isinstance(value, str):
        label = value.strip().lower()
        if label in ACCEPT_LABELS:
            return 1
        if label in REJECT_LABELS:
            return 0
    raise ValueError(
        f"label: {value!r} is not a label; use accept or reject, a level name "
        "(excellent, good, fair, poor), or leave it out"
    )


# --- metrics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """How well calibrated scores separate and match accept labels."""

    auc: float
    brier: float
    ece: float


def roc_auc(labels: NDArray[np.int_], scores: FloatArray) -> float:
    metrics = require_extra("sklearn.metrics")
    return float(metrics.roc_auc_score(labels, scores))


def brier_score(labels: NDArray[np.int_], probabilities: FloatArray) -> float:
    return float(np.mean((probabilities - labels) ** 2))


def _bin_index(probabilities: FloatArray, bins: int) -> NDArray[np.int_]:
    return np.minimum((probabilities * bins).astype(int), bins - 1)


def expected_calibration_error(
    labels: NDArray[np.int_], probabilities: FloatArray, bins: int
) -> float:
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
    labels: NDArray[np.int_], probabilities: FloatArray, bins: int
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


def evaluate(labels: NDArray[np.int_], probabilities: FloatArray, bins: int) -> Metrics:
    return Metrics(
        auc=roc_auc(labels, probabilities),
        brier=brier_score(labels, probabilities),
        ece=expected_calibration_error(labels, probabilities, bins),
    )


def apply_calibration(calibration: Calibration, raw: FloatArray) -> FloatArray:
    """Scores exactly as the gate would compute them with this calibration."""
    calibrator = build_calibrator(calibration)
    return np.array([calibrator(float(x)) for x in raw], dtype=np.float64)


# --- fits --------------------------------------------------------------------------------


def fit_logistic(raw: FloatArray, labels: NDArray[np.int_]) -> LogisticCalibration:
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
    design = np.column_stack([x, np.ones_like(x)])
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
    slope, intercept = float(params[0]), float(params[1])
    if not slope > 0:
        raise CalibrationInputError(
            "the raw reward does not rise with acceptance (fitted slope "
            f"{slope / spread:.3g}); check the labels, or the model is not fit for this content"
        )
    scale = spread / slope
    center = mean - intercept * scale
    return LogisticCalibration(method="logistic", center=center, scale=scale)


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


def fit_isotonic(raw: FloatArray, labels: NDArray[np.int_], points: int) -> TableCalibration:
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


# --- one language --------------------------------------------------------------------------


@dataclass
class LanguageFit:
    """What was fitted for one language, how well, and why, for the report and the plot."""

    language: str
    count: int
    accepts: int
    rejects: int
    current: Calibration
    calibration: Calibration | None = None
    method: str | None = None
    note: str = ""
    before: Metrics | None = None
    after: dict[str, Metrics] = field(default_factory=dict)
    after_in_sample: bool = False

    @property
    def labelled(self) -> int:
        return self.accepts + self.rejects

    @property
    def fitted(self) -> bool:
        return self.calibration is not None

    @property
    def effective(self) -> Calibration:
        """The calibration grading would use after this run: the fit, or the one kept."""
        return self.calibration if self.calibration is not None else self.current


Fitter = Callable[[FloatArray, NDArray[np.int_]], Calibration]


def _out_of_fold(
    raw: FloatArray, labels: NDArray[np.int_], fitter: Fitter, folds: int
) -> tuple[FloatArray, bool]:
    """Each item scored by a fit that never saw it; in-sample when there are too few."""
    smallest_class = int(min(np.sum(labels == 1), np.sum(labels == 0)))
    folds = min(folds, smallest_class)
    if folds < 2:
        return apply_calibration(fitter(raw, labels), raw), True
    model_selection = require_extra("sklearn.model_selection")
    splitter = model_selection.StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    predictions = np.empty_like(raw)
    try:
        for train, test in splitter.split(raw, labels):
            fold_fit = fitter(raw[train], labels[train])
            predictions[test] = apply_calibration(fold_fit, raw[test])
    except CalibrationInputError:
        return apply_calibration(fitter(raw, labels), raw), True
    return predictions, False


def fit_language(
    language: str,
    raw: FloatArray,
    labels: NDArray[np.int_],
    current: Calibration,
    options: CalibrationFitSettings,
    method: FitMethod = "auto",
) -> LanguageFit:
    """Fit one language; keep its current calibration (and say why) when it cannot be.

    ``labels`` holds 1 (accept), 0 (reject) or -1 (unlabelled) per raw reward. With
    ``auto``, enough labels of both kinds give Platt scaling, or an isotonic table when
    there are at least ``isotonic_min_items`` labelled items and it has the lower
    out-of-fold Brier score; otherwise the percentile fit over all items.
    """
    if raw.shape != labels.shape:
        raise ValueError("raw and labels must have the same shape")
    if not np.all(np.isfinite(raw)):
        raise CalibrationInputError(f"{language}: raw rewards must be finite numbers (got NaN)")
    accepted, rejected = labels == 1, labels == 0
    fit = LanguageFit(
        language=language,
        count=len(raw),
        accepts=int(np.sum(accepted)),
        rejects=int(np.sum(rejected)),
        current=current,
    )
    if fit.count < options.min_items:
        fit.note = (
            f"{fit.count} items, fewer than calibration_fit.min_items ({options.min_items}): "
            "kept the current calibration"
        )
        return fit
    is_labelled = labels >= 0
    raw_l, labels_l = raw[is_labelled], labels[is_labelled]
    both_classes = fit.accepts > 0 and fit.rejects > 0
    if both_classes:
        fit.before = evaluate(labels_l, apply_calibration(current, raw_l), options.ece_bins)

    enough_labels = (
        fit.labelled >= options.min_items and min(fit.accepts, fit.rejects) >= options.min_per_class
    )
    if method == "percentile" or (method == "auto" and not enough_labels):
        if method == "auto" and fit.labelled:
            fit.note = _why_not_labelled(fit, options) + "; used the percentile fit instead"
        return _fit_percentile(fit, raw, raw_l, labels_l, both_classes, options)
    if not enough_labels:
        fit.note = _why_not_labelled(fit, options) + ": kept the current calibration"
        return fit

    def isotonic(r: FloatArray, y: NDArray[np.int_]) -> Calibration:
        return fit_isotonic(r, y, options.table_points)

    candidates: dict[str, Fitter] = {}
    if method in ("auto", "logistic"):
        candidates["logistic"] = fit_logistic
    if method == "isotonic" or (method == "auto" and fit.labelled >= options.isotonic_min_items):
        candidates["isotonic"] = isotonic
    reasons = []
    for name, fitter in candidates.items():
        try:
            calibration = fitter(raw_l, labels_l)
        except CalibrationInputError as exc:
            reasons.append(f"{name}: {exc.message}")
            continue
        predictions, in_sample = _out_of_fold(raw_l, labels_l, fitter, options.cv_folds)
        fit.after[name] = evaluate(labels_l, predictions, options.ece_bins)
        fit.after_in_sample = fit.after_in_sample or in_sample
        if fit.calibration is None or fit.after[name].brier < fit.after[fit.method or ""].brier:
            fit.calibration, fit.method = calibration, name
    if fit.calibration is None:
        fit.note = "; ".join(reasons) + ": kept the current calibration"
    elif reasons:
        fit.note = "; ".join(reasons)
    return fit


def _why_not_labelled(fit: LanguageFit, options: CalibrationFitSettings) -> str:
    if fit.accepts == 0 or fit.rejects == 0:
        only = "accept" if fit.accepts else "reject"
        return f"all {fit.labelled} labelled items are {only} (a labelled fit needs both)"
    if fit.labelled < options.min_items:
        return (
            f"{fit.labelled} labelled items, fewer than calibration_fit.min_items "
            f"({options.min_items})"
        )
    return (
        f"{min(fit.accepts, fit.rejects)} items of the rarer label, fewer than "
        f"calibration_fit.min_per_class ({options.min_per_class})"
    )


def _fit_percentile(
    fit: LanguageFit,
    raw: FloatArray,
    raw_l: FloatArray,
    labels_l: NDArray[np.int_],
    both_classes: bool,
    options: CalibrationFitSettings,
) -> LanguageFit:
    try:
        fit.calibration = fit_percentile(raw, options.table_points)
    except CalibrationInputError as exc:
        fit.note = f"{exc.message}: kept the current calibration"
        return fit
    fit.method = "percentile"
    if both_classes:
        # Percentile ranks are not probabilities; the metrics show how far apart they are.
        predictions = apply_calibration(fit.calibration, raw_l)
        fit.after["percentile"] = evaluate(labels_l, predictions, options.ece_bins)
        fit.after_in_sample = True
    return fit


def fragment(fits: Mapping[str, LanguageFit]) -> dict[str, Any]:
    """The ``languages`` section for the fitted languages, ready to merge into a config."""
    languages = {
        code: {"calibration": fit.calibration.model_dump(mode="json")}
        for code, fit in sorted(fits.items())
        if fit.calibration is not None
    }
    for entry in languages.values():
        calibration = entry["calibration"]
        if calibration["method"] == "table":
            calibration["points"] = [list(point) for point in calibration["points"]]
        else:
            # Six significant digits: short in YAML, and a tiny scale never rounds to zero.
            calibration["center"] = float(f"{calibration['center']:.6g}")
            calibration["scale"] = float(f"{calibration['scale']:.6g}")
    return {"languages": languages}
