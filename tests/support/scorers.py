"""Scorer doubles for the worker's tests: a scorer that fails on demand."""

from __future__ import annotations

from collections.abc import Sequence

from qualitygate.errors import ScoringError
from qualitygate.schemas import ModelInfo


class FlakyScorer:
    """Fails on any batch holding a text that contains ``poison``; fails the first
    ``fail_first`` calls whatever they hold."""

    def __init__(self, fail_first: int = 0, poison: str = "\x00never") -> None:
        self.fail_first = fail_first
        self.poison = poison
        self.calls: list[int] = []

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="double", revision="1")

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.calls.append(len(pairs))
        if len(self.calls) <= self.fail_first or any(self.poison in t for _, t in pairs):
            raise ScoringError("CUDA out of memory (simulated)")
        return [float(len(text) % 7) - 3 for _, text in pairs]
