"""One language's calibration: which method to fit, how well it does, and why a language
keeps its current calibration when it cannot be fitted.

With enough labels of both kinds it fits Platt scaling (and an isotonic table from
``isotonic_min_items`` labelled items), keeps the one with the lower out-of-fold Brier
score, and measures it against the current calibration; without labels it fits a
percentile table. Every decision not to fit is a note a person reads. It must not read
files, load the model or print: the caller hands in arrays and gets back data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from qualitygate.calibrate.errors import CalibrationInputError
from qualitygate.calibrate.extras import require_extra
from qualitygate.calibrate.methods import (
    apply_calibration,
    fit_isotonic,
    fit_logistic,
    fit_percentile,
)
from qualitygate.calibrate.metrics import FloatArray, LabelArray, Metrics, evaluate
from qualitygate.config import Calibration, CalibrationFitSettings

FitMethod = Literal["auto", "logistic", "isotonic", "percentile"]
Fitter = Callable[[FloatArray, LabelArray], Calibration]


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


def fit_language(
    language: str,
    raw: FloatArray,
    labels: LabelArray,
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
    fit = _counted(language, raw, labels, current)
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
    return _fit_labelled(fit, raw_l, labels_l, options, method)


def _counted(
    language: str, raw: FloatArray, labels: LabelArray, current: Calibration
) -> LanguageFit:
    """A fit not yet made, with its counts; refuses arrays that cannot be fitted at all."""
    if raw.shape != labels.shape:
        raise ValueError("raw and labels must have the same shape")
    if not np.all(np.isfinite(raw)):
        raise CalibrationInputError(f"{language}: raw rewards must be finite numbers (got NaN)")
    return LanguageFit(
        language=language,
        count=len(raw),
        accepts=int(np.sum(labels == 1)),
        rejects=int(np.sum(labels == 0)),
        current=current,
    )


def _fit_labelled(
    fit: LanguageFit,
    raw_l: FloatArray,
    labels_l: LabelArray,
    options: CalibrationFitSettings,
    method: FitMethod,
) -> LanguageFit:
    """Fit every candidate method, measure each out-of-fold, keep the lowest Brier score."""
    reasons = []
    for name, fitter in _candidates(fit, options, method).items():
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


def _candidates(
    fit: LanguageFit, options: CalibrationFitSettings, method: FitMethod
) -> dict[str, Fitter]:
    """The labelled methods worth trying: as forced, or as ``auto`` and the counts allow."""

    def isotonic(r: FloatArray, y: LabelArray) -> Calibration:
        return fit_isotonic(r, y, options.table_points)

    candidates: dict[str, Fitter] = {}
    if method in ("auto", "logistic"):
        candidates["logistic"] = fit_logistic
    if method == "isotonic" or (method == "auto" and fit.labelled >= options.isotonic_min_items):
        candidates["isotonic"] = isotonic
    return candidates


def _out_of_fold(
    raw: FloatArray, labels: LabelArray, fitter: Fitter, folds: int
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
    labels_l: LabelArray,
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


def fit_languages(
    groups: Mapping[str, tuple[FloatArray, LabelArray]],
    current: Callable[[str], Calibration],
    options: CalibrationFitSettings,
    method: FitMethod,
) -> dict[str, LanguageFit]:
    """Fit every language of ``groups`` (raw rewards and labels by language code)."""
    return {
        code: fit_language(code, raw, labels, current(code), options, method)
        for code, (raw, labels) in groups.items()
    }
