"""The picture a person tunes thresholds with: per language, scores against thresholds,
and predicted against observed accept rate.

One row per language: on the left a histogram of calibrated scores (accepted, rejected
and unlabelled content stacked) with the level thresholds drawn across it; on the right
the reliability diagram (mean predicted score vs observed accept rate per bin, before
and after the fit, with the diagonal a perfect calibration would follow). matplotlib
(the ``calibrate`` extra) runs on the Agg backend, so no display is ever needed. It must
not fit anything: it draws what it is handed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qualitygate.calibrate.extras import require_extra
from qualitygate.calibrate.fit import LanguageFit
from qualitygate.calibrate.methods import apply_calibration
from qualitygate.calibrate.metrics import reliability_curve
from qualitygate.calibrate.run import CalibrationOutcome
from qualitygate.config import LevelThresholds

_COLOURS = {"accept": "#2e7d32", "reject": "#c62828", "unlabelled": "#9e9e9e"}
_LEVEL_STYLE = {"excellent": "-", "good": "--", "fair": ":"}
_DPI = 100


def _pyplot() -> Any:
    matplotlib = require_extra("matplotlib")
    matplotlib.use("Agg", force=True)
    return require_extra("matplotlib.pyplot")


def plot_calibration(path: Path, outcome: CalibrationOutcome, source_name: str) -> Path:
    """Draw every language's row of a run and write a PNG to ``path``."""
    plt = _pyplot()
    groups = outcome.samples.by_language()
    levels, bins = outcome.levels, outcome.options.ece_bins
    figure, axes = plt.subplots(
        len(groups), 2, figsize=(11, 3.1 * len(groups) + 0.6), squeeze=False, dpi=_DPI
    )
    edges = np.linspace(0.0, 1.0, bins * 2 + 1)
    for row, (code, (raw, labels)) in zip(axes, sorted(groups.items()), strict=True):
        fit = outcome.fits[code]
        scores = apply_calibration(fit.effective, raw)
        _histogram(row[0], scores, labels, edges, levels, fit)
        _reliability(row[1], raw, labels, fit, bins)
    figure.suptitle(_title(outcome, source_name), fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=_DPI)
    plt.close(figure)
    return path


def _title(outcome: CalibrationOutcome, source_name: str) -> str:
    samples = outcome.samples
    return f"{source_name}: {samples.reward_source}" + (
        " (TEST MODEL)" if samples.test_model else ""
    )


def _describe(fit: LanguageFit) -> str:
    if fit.method is not None:
        return f"{fit.language}: {fit.method} fit, {fit.count} items"
    return f"{fit.language}: kept current calibration, {fit.count} items"


def _histogram(
    ax: Any,
    scores: NDArray[np.float64],
    labels: NDArray[np.int_],
    edges: NDArray[np.float64],
    levels: LevelThresholds,
    fit: LanguageFit,
) -> None:
    groups = [("accept", 1), ("reject", 0), ("unlabelled", -1)]
    present = [(name, scores[labels == value]) for name, value in groups]
    present = [(name, values) for name, values in present if len(values)]
    ax.hist(
        [values for _, values in present],
        bins=edges,
        stacked=True,
        color=[_COLOURS[name] for name, _ in present],
        label=[name for name, _ in present],
    )
    for level, style in _LEVEL_STYLE.items():
        value = getattr(levels, level)
        ax.axvline(value, color="#1a237e", linestyle=style, linewidth=1.2)
        ax.annotate(
            level,
            (value, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="#1a237e",
        )
    ax.set_xlim(0, 1)
    ax.set_xlabel("calibrated score")
    ax.set_ylabel("items")
    ax.set_title(_describe(fit), fontsize=10)
    ax.legend(fontsize=8, loc="best")


def _reliability(
    ax: Any, raw: NDArray[np.float64], labels: NDArray[np.int_], fit: LanguageFit, bins: int
) -> None:
    ax.plot([0, 1], [0, 1], color="#757575", linewidth=1, linestyle="--", label="perfect")
    labelled = labels >= 0
    if not (np.any(labels[labelled] == 1) and np.any(labels[labelled] == 0)):
        ax.text(0.5, 0.5, "no labels of both kinds:\nno reliability diagram", ha="center")
    else:
        curves = [("before", fit.current, "#ef6c00")]
        if fit.calibration is not None:
            # drawn on the items it was fitted to; the table's metrics are out-of-fold
            curves.append((f"after ({fit.method}, in-sample)", fit.calibration, "#1565c0"))
        for name, calibration, colour in curves:
            predicted = apply_calibration(calibration, raw[labelled])
            points = reliability_curve(labels[labelled], predicted, bins)
            ax.plot(
                [p.mean_predicted for p in points],
                [p.observed for p in points],
                marker="o",
                color=colour,
                label=name,
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("predicted accept rate (calibrated score)")
    ax.set_ylabel("observed accept rate")
    ax.set_title(f"{fit.language}: reliability ({fit.labelled} labelled)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
