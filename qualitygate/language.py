"""Language detection: a code, a confidence and how it was decided.

A caller's hint wins; without one, the text is ``und`` (undetermined) and takes the
default adapter. Script-based and statistical detection plug in behind
``detect_language``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageGuess:
    code: str
    confidence: float
    method: str


UNDETERMINED = LanguageGuess(code="und", confidence=0.0, method="undetermined")


def normalize_hint(hint: str) -> str:
    """A BCP-47 hint reduced to the primary subtag the adapters are keyed by."""
    return hint.split("-")[0].lower()


def detect_language(text: str, hint: str | None = None) -> LanguageGuess:
    if hint:
        return LanguageGuess(code=normalize_hint(hint), confidence=1.0, method="hint")
    return UNDETERMINED
