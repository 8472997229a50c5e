"""The ``calibrate`` job's input: labelled JSONL lines become raw rewards per language.

Each line is a ``ContentItem`` plus, optionally, ``label`` (accept/reject or a level
name) and ``raw_reward`` (a score already computed with the same model, which skips the
model). Items go through the gate's own ``prepare`` (extraction, language detection,
preprocessing), so the raw rewards and languages are exactly the ones grading would see;
the model is loaded only if some line lacks a ``raw_reward``. Lines that cannot be used
are listed with their line number, never dropped silently. It must not fit or print.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qualitygate.calibrate.metrics import FloatArray, LabelArray
from qualitygate.config import Settings
from qualitygate.errors import QualityGateError
from qualitygate.jsonl import LineError
from qualitygate.labels import ACCEPT_LABELS, REJECT_LABELS
from qualitygate.pipeline import QualityGate
from qualitygate.preparing import PreparedItem
from qualitygate.schemas import ModelInfo
from qualitygate.scoring import Scorer, load_scorer

CALIBRATE_FIELDS = ("label", "raw_reward")


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


@dataclass(frozen=True)
class Sample:
    """One usable line: its language, raw reward and label (1, 0, or -1 for none)."""

    line: int
    language: str
    raw_reward: float
    label: int


@dataclass
class SampleSet:
    """Every usable line, the reasons the others were skipped, and the model that scored."""

    samples: list[Sample] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line N: reason"
    scored_by_model: int = 0
    model: ModelInfo | None = None

    @property
    def test_model(self) -> bool:
        """Whether the raw rewards came from the random test model (and so mean nothing)."""
        return self.model is not None and self.model.test_model

    @property
    def reward_source(self) -> str:
        """Where the raw rewards came from, for a person: the model, or the input file."""
        return self.model.name if self.model is not None else "raw_reward from the input file"

    def by_language(self) -> dict[str, tuple[FloatArray, LabelArray]]:
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
    def info(self) -> ModelInfo:
        return self._get().info

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self._get().score(pairs)


def gate_for(settings: Settings) -> QualityGate:
    """The gate lines are prepared and scored with: built from the run's own settings, so
    detection follows its ``--config`` too, with a model loaded only if a line needs it."""
    return QualityGate.from_settings(settings, LazyScorer(lambda: load_scorer(settings.model)))


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


Pending = list[tuple[int, PreparedItem, int]]  # (line, prepared item, label)


def read_samples(
    lines: Iterable[tuple[int, Any]], gate: QualityGate, chunk: int = 256
) -> SampleSet:
    """Prepare and score every line; bad lines are listed in ``skipped`` with the reason.

    ``lines`` are (line number, parsed JSON or a ``LineError``), as ``qualitygate.jsonl``
    reads them.
    """
    result = SampleSet()
    pending: Pending = []
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
    _score_pending(result, pending, gate, chunk)
    result.samples.sort(key=lambda s: s.line)
    return result


def _score_pending(result: SampleSet, pending: Pending, gate: QualityGate, chunk: int) -> None:
    """Score the lines without a raw reward, ``chunk`` at a time, with the gate's model."""
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
