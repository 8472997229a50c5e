"""One ``calibrate`` run: samples in; per-language fits, tuned thresholds and confusion
tables out, as one ``CalibrationOutcome`` the report, the YAML fragment and the plot read.

It strings the steps together and owns the run's rules: there must be something to fit,
thresholds are tuned on every language's calibrated scores pooled, and the confusion
tables use the thresholds grading would use after the run. It must not read files, load
the model or print.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qualitygate.calibrate.confusion import Confusion, confusion_by_language
from qualitygate.calibrate.errors import CalibrationInputError
from qualitygate.calibrate.fit import FitMethod, LanguageFit, fit_languages
from qualitygate.calibrate.methods import apply_calibration
from qualitygate.calibrate.metrics import FloatArray, LabelArray
from qualitygate.calibrate.samples import SampleSet
from qualitygate.calibrate.thresholds import Target, Tuning, tune_levels
from qualitygate.config import Calibration, CalibrationFitSettings, LevelThresholds, Settings


@dataclass
class CalibrationOutcome:
    """Everything one ``calibrate`` run produced, for the report, the YAML and the plot."""

    samples: SampleSet
    fits: dict[str, LanguageFit]
    tuning: Tuning | None
    confusions: dict[str, Confusion]
    levels: LevelThresholds  # tuned, or the configured ones when no target was given
    options: CalibrationFitSettings  # as the run used them (``--min-items`` applied)


def run_calibration(
    samples: SampleSet,
    settings: Settings,
    method: FitMethod,
    targets: Sequence[Target] = (),
    min_items: int | None = None,
) -> CalibrationOutcome:
    """Fit each language, then tune thresholds on the pooled calibrated scores if asked.

    The confusion tables use the tuned thresholds, or the configured ones without targets,
    so an operator always sees what grading would do with the fragment applied. Raises
    ``CalibrationInputError`` when there is nothing to fit or a target cannot be met.
    """
    if not samples.samples:
        detail = f" ({len(samples.skipped)} lines unusable)" if samples.skipped else ""
        raise CalibrationInputError(f"no usable items with a raw reward{detail}")
    options = settings.calibration_fit
    if min_items is not None:
        options = options.model_copy(update={"min_items": min_items})
    fits = fit_languages(samples.by_language(), _current(settings), options, method)
    groups = calibrated_groups(samples, fits)
    tuning = None
    levels = settings.levels
    if targets:
        scores = np.concatenate([scores for scores, _ in groups.values()])
        labels = np.concatenate([labels for _, labels in groups.values()])
        tuning = tune_levels(targets, scores, labels, settings.levels, settings.decisions)
        levels = tuning.levels
    confusions = confusion_by_language(groups, levels, settings.decisions)
    return CalibrationOutcome(samples, fits, tuning, confusions, levels, options)


def _current(settings: Settings) -> Callable[[str], Calibration]:
    """A language's calibration before this run, as grading reads it from the config."""

    def current(code: str) -> Calibration:
        calibration = settings.language(code).calibration
        assert calibration is not None  # the default entry always has one (validated)
        return calibration

    return current


def calibrated_groups(
    samples: SampleSet, fits: dict[str, LanguageFit]
) -> dict[str, tuple[FloatArray, LabelArray]]:
    """Per language, scores under the calibration grading would use after this run."""
    return {
        code: (apply_calibration(fits[code].effective, raw), labels)
        for code, (raw, labels) in samples.by_language().items()
    }
