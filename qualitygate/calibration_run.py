"""The ``calibrate`` job's edges: read a labelled JSONL file, score it, group it by language.

Each line is a ``ContentItem`` plus, optionally, ``label`` (accept/reject or a level
name) and ``raw_reward`` (a score already computed with the same model, which skips the
model). Items go through the gate's own ``prepare`` (extraction, language detection,
preprocessing), so the raw rewards and languages are exactly the ones grading would see;
the model is loaded only if some line lacks a ``raw_reward``. Lines that cannot be used
are reported with their line number, never dropped silently. Fitting and thresholds live
in ``calibration_fit`` and ``thresholds``; this module must not print.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qualitygate.calibration_fit import (
    CalibrationInputError,
    FitMethod,
    LanguageFit,
    apply_calibration,
    fit_language,
    parse_label,
)
from qualitygate.config import Settings
from qualitygate.errors import QualityGateError
from qualitygate.jsonl import LineError
from qualitygate.pipeline import PreparedItem, QualityGate
from qualitygate.schemas import ModelInfo
from qualitygate.scoring import Scorer
from qualitygate.thresholds import (
    Confusion,
    Target,
    TargetError,
    Tuning,
    confusion_by_language,
    tune_levels,
)

CALIBRATE_FIELDS = ("label", "raw_reward")


@dataclass(frozen=True)
class Sample:
    """One usable line: its language, raw reward and label (1, 0, or -1 for none)."""

    line: int
    language: str
    raw_reward: float
    label: int


@dataclass
class SampleSet:
    samples: list[Sample] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line N: reason"
    scored_by_model: int = 0
    model: ModelInfo | None = None

    def by_language(self) -> dict[str, tuple[NDArray[np.float64], NDArray[np.int_]]]:
        grouped: dict[str, list[Sample]] = defaultdict(list)
        for sample in self.samples:
            grouped[sample.language].append(sample)
        return {
            code: (
                np.array([s.raw_reward for s in group], dtype=np.float64),
                np.array([s.label for s in group], dtype=np.int_),
            )
            for code, group in sorted(grouped.items())
        }


class LazyScorer:
    """Loads the model on first use, so files that carry raw rewards never load it."""

    def __init__(self, load: Callable[[], Scorer]) -> None:
        self._load = load
        self._scorer: Scorer | None = None

    def _get(self) -> Scorer:
        if self._scorer is None:
            self._scorer = self._load()
        return self._scorer

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    @property
    def info(self) -> ModelInfo:
        return self._get().info

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self._get().score(pairs)


def _split_line(value: Any) -> tuple[dict[str, Any], int, float | None]:
    """The ContentItem part of a line, its label and its raw reward; ValueError if bad."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    item = {k: v for k, v in value.items() if k not in CALIBRATE_FIELDS}
    label = parse_label(value.get("label"))
    raw = value.get("raw_reward")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"raw_reward: expected a number, got {raw!r}")
        if not math.isfinite(raw):
            raise ValueError(f"raw_reward: {raw} is not a finite number")
        raw = float(raw)
    return item, -1 if label is None else label, raw


def read_samples(
    lines: Iterable[tuple[int, Any]], gate: QualityGate, chunk: int = 256
) -> SampleSet:
    """Prepare and score every line; bad lines are listed in ``skipped`` with the reason.

    ``lines`` are (line number, parsed JSON or a ``LineError``), as ``qualitygate.jsonl``
    reads them.
    """
    result = SampleSet()
    pending: list[tuple[int, PreparedItem, int]] = []
    for number, value in lines:
        if isinstance(value, LineError):
            result.skipped.append(value.message)
            continue
        try:
            item, label, raw = _split_line(value)
            prepared = gate.prepare(item)
        except ValueError as exc:
            result.skipped.append(f"line {number}: {exc}")
            continue
        except QualityGateError as exc:
            result.skipped.append(f"line {number}: {exc.message}")
            continue
        if raw is None:
            pending.append((number, prepared, label))
        else:
            result.samples.append(Sample(number, prepared.language.code, raw, label))
    for offset in range(0, len(pending), chunk):
        window = pending[offset : offset + chunk]
        rewards = gate.scorer.score([(p.prompt, p.text) for _, p, _ in window])
        for (number, prepared, label), reward in zip(window, rewards, strict=True):
            if not math.isfinite(reward):
                result.skipped.append(f"line {number}: the model gave a non-finite reward")
                continue
            result.samples.append(Sample(number, prepared.language.code, float(reward), label))
        result.scored_by_model += len(window)
    if pending:
        result.model = gate.scorer.info
    result.samples.sort(key=lambda s: s.line)
    return result


def fit_all(
    samples: SampleSet, settings: Settings, method: FitMethod, min_items: int | None = None
) -> dict[str, LanguageFit]:
    """Fit every language found; raise CalibrationInputError when there is nothing to fit."""
    if not samples.samples:
        detail = f" ({len(samples.skipped)} lines unusable)" if samples.skipped else ""
        raise CalibrationInputError(f"no usable items with a raw reward{detail}")
    options = settings.calibration_fit
    if min_items is not None:
        options = options.model_copy(update={"min_items": min_items})
    fits = {}
    for code, (raw, labels) in samples.by_language().items():
        current = settings.language(code).calibration
        assert current is not None  # the default entry always has one (validated)
        fits[code] = fit_language(code, raw, labels, current, options, method)
    return fits


def calibrated_groups(
    samples: SampleSet, fits: dict[str, LanguageFit]
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.int_]]]:
    """Per language, scores under the calibration grading would use after this run."""
    return {
        code: (apply_calibration(fits[code].effective, raw), labels)
        for code, (raw, labels) in samples.by_language().items()
    }


@dataclass
class CalibrationOutcome:
    """Everything one ``calibrate`` run produced, for the report, the YAML and the plot."""

    samples: SampleSet
    fits: dict[str, LanguageFit]
    tuning: Tuning | None
    confusions: dict[str, Confusion]


def run_calibration(
    samples: SampleSet,
    settings: Settings,
    method: FitMethod,
    targets: Sequence[Target] = (),
    min_items: int | None = None,
) -> CalibrationOutcome:
    """Fit each language, then tune thresholds on the pooled calibrated scores if asked.

    The confusion tables use the tuned thresholds, or the configured ones without targets,
    so an operator always sees what grading would do with the fragment applied.
    """
    fits = fit_all(samples, settings, method, min_items)
    groups = calibrated_groups(samples, fits)
    tuning = None
    levels = settings.levels
    if targets:
        scores = np.concatenate([scores for scores, _ in groups.values()])
        labels = np.concatenate([labels for _, labels in groups.values()])
        try:
            tuning = tune_levels(targets, scores, labels, settings.levels, settings.decisions)
        except TargetError as exc:
            raise CalibrationInputError(str(exc)) from None
        levels = tuning.levels
    confusions = confusion_by_language(groups, levels, settings.decisions)
    return CalibrationOutcome(samples=samples, fits=fits, tuning=tuning, confusions=confusions)
