"""The adapter interface: what one language does before the model and after it.

An adapter owns a language's text normalisation (``preprocess``) and applies the
calibrator it is handed (``calibrate``). It never imports ``qualitygate``: the core builds
each adapter with its options and its calibrator from config, so adapters stay plain,
testable classes and a third-party package can add a language without this repo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

Calibrator = Callable[[float], float]


@runtime_checkable
class Adapter(Protocol):
    """One language's preprocessing and calibration."""

    language: str

    def preprocess(self, text: str) -> str:
        """Normalise text for the model and the rules; must be idempotent."""
        ...

    def calibrate(self, raw_reward: float) -> float:
        """Map an unbounded raw reward to a score in [0, 1], monotone non-decreasing."""
        ...


class BaseAdapter:
    """Holds the options and calibrator every adapter is built with.

    Subclasses override ``preprocess``; ``options`` are the language's entry in config
    (with the ``default`` entry filled in), as plain data.
    """

    language: ClassVar[str] = "default"

    def __init__(self, calibrator: Calibrator, options: Mapping[str, Any] | None = None) -> None:
        self._calibrator = calibrator
        self.options: Mapping[str, Any] = dict(options or {})

    def preprocess(self, text: str) -> str:
        raise NotImplementedError

    def calibrate(self, raw_reward: float) -> float:
        return self._calibrator(raw_reward)
