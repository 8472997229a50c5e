"""The ``LanguageDetector`` protocol, its ``Prediction`` and the by-name factory.

A detector turns text into ranked language candidates and nothing more: no hints, no
script rules, no thresholds (``qualitygate.language`` owns those). Implementations must
be deterministic (the same text always gives the same answer), must never download
anything, and report ISO 639-1 style codes with Chinese folded to ``zh``.
"""

from __future__ import annotations

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


def fold_code(code: str) -> str:
    """``zh-cn``/``zh-tw``/``zh-Hant`` -> ``zh``: adapters are keyed by primary subtag."""
    return code.split("-")[0].split("_")[0].lower()


def build_detector(name: str) -> LanguageDetector:
    """The detector a config names; imported here so an unused one is never loaded."""
    if name == "fasttext":
        from qualitygate.detectors.fasttext import FastTextDetector

        return FastTextDetector.shared()
    if name == "langdetect":
        from qualitygate.detectors.langdetect import LangdetectDetector

        return LangdetectDetector.shared()
    raise ValueError(f"unknown language detector {name!r} (expected 'fasttext' or 'langdetect')")
