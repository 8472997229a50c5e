"""The ``LanguageDetector`` protocol, its ``Prediction`` and the by-name factory, which
keeps one instance of each detector per process (so its model loads once).

A detector turns text into ranked language candidates and nothing more: no hints, no
script rules, no thresholds (``qualitygate.language`` owns those). Implementations must
be deterministic (the same text always gives the same answer), must never download
anything, and report ISO 639-1 style codes with Chinese folded to ``zh`` (by
``qualitygate.langcode.primary_subtag``). Implementations hold no singleton of their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Prediction:
    """One candidate language and the detector's probability for it, in [0, 1]."""

    code: str
    confidence: float


@runtime_checkable
class LanguageDetector(Protocol):
    """Ranks candidate languages for a text; best first, at most ``k`` of them."""

    @property
    def name(self) -> str: ...

    def predict(self, text: str, k: int = 3) -> list[Prediction]: ...


_DETECTORS: dict[str, LanguageDetector] = {}
_DETECTORS_LOCK = threading.Lock()


def build_detector(name: str) -> LanguageDetector:
    """The detector a config names, one instance per process (its model loads once);
    imported here so an unused one is never loaded."""
    with _DETECTORS_LOCK:
        if name not in _DETECTORS:
            _DETECTORS[name] = _new_detector(name)
        return _DETECTORS[name]


def _new_detector(name: str) -> LanguageDetector:
    if name == "fasttext":
        from qualitygate.detectors.fasttext import FastTextDetector

        return FastTextDetector()
    if name == "langdetect":
        from qualitygate.detectors.langdetect import LangdetectDetector

        return LangdetectDetector()
    raise ValueError(f"unknown language detector {name!r} (expected 'fasttext' or 'langdetect')")
