"""Language detection: a code, a confidence and how it was decided.

The order is fixed: a caller's hint wins; then Unicode scripts decide Korean, Japanese
and Chinese (Hangul -> ``ko``, any Kana -> ``ja``, Han alone -> ``zh``), by their share
of the letters so that a Korean post quoting English stays Korean and Kanji-heavy
Japanese is never called Chinese; everything else goes to a statistical detector
(``qualitygate.detectors``), optionally checked by a second one when the first is
unsure. Text with too few letters, or that no detector calls confidently, is ``und``
with a low confidence and takes the default adapter.

This module owns the decision, not the models: it never loads one itself, and it only
looks at the first ``max_chars`` characters, so a call stays well under a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qualitygate.detectors.base import LanguageDetector, Prediction, build_detector

if TYPE_CHECKING:
    from qualitygate.config import DetectionSettings


@dataclass(frozen=True)
class LanguageGuess:
    """``method``: ``hint``, ``script``, a detector's name, or ``undetermined``.

    A detector's name reads ``fasttext+langdetect`` when a second opinion was added in.
    """

    code: str
    confidence: float
    method: str


UNDETERMINED_CODE = "und"
UNDETERMINED = LanguageGuess(code=UNDETERMINED_CODE, confidence=0.0, method="undetermined")

# Hangul (syllables, jamo, compatibility jamo), Kana (hiragana, katakana and their
# extensions, half-width katakana), Han (unified ideographs, extension A, compatibility).
_HANGUL = r"\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff"
_KANA = r"\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUNS = re.compile(rf"([{_HANGUL}]+)|([{_KANA}]+)|([{_HAN}]+)")  # one scan, three counts
_ANY_CJK = re.compile(rf"[{_HANGUL}{_KANA}{_HAN}]")
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


def normalize_hint(hint: str) -> str:
    """A BCP-47 hint reduced to the primary subtag the adapters are keyed by."""
    return hint.strip().replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class ScriptCounts:
    """Letters in a sample, and how many of them are Hangul, Kana and Han."""

    letters: int
    hangul: int
    kana: int
    han: int

    @property
    def cjk(self) -> int:
        return self.hangul + self.kana + self.han


def count_scripts(sample: str) -> ScriptCounts:
    """Count letters by script; text without any CJK character costs one regex search."""
    letters = len("".join(_LETTER_RUNS.findall(sample)))
    if sample.isascii() or _ANY_CJK.search(sample) is None:
        return ScriptCounts(letters=letters, hangul=0, kana=0, han=0)
    hangul = kana = han = 0
    for hangul_run, kana_run, han_run in _CJK_RUNS.findall(sample):
        hangul += len(hangul_run)
        kana += len(kana_run)
        han += len(han_run)
    return ScriptCounts(letters=letters, hangul=hangul, kana=kana, han=han)


def decide_by_script(counts: ScriptCounts, min_share: float) -> LanguageGuess | None:
    """ko, ja or zh when CJK letters make up at least ``min_share`` of the letters.

    The confidence is that share: how much of the text supports the call.
    """
    if counts.letters == 0 or counts.cjk == 0:
        return None
    share = counts.cjk / counts.letters
    if share < min_share:
        return None
    if counts.hangul > counts.kana:
        code = "ko"
    elif counts.kana > 0:
        code = "ja"
    else:
        code = "zh"
    return LanguageGuess(code=code, confidence=round(min(share, 1.0), 4), method="script")


CJK_CODES = frozenset({"ko", "ja", "zh"})
_TOP_K = 5


class LanguageIdentifier:
    """Hint, then script, then statistical detection, as configured.

    Callable like ``detect_language``, so the pipeline takes either. Text with some
    CJK letters, too few to decide up front (technical Chinese full of ASCII option
    names), is still decided by script when the detector is unsure or itself names
    ko/ja/zh: the script tells those three apart better than any detector. When the
    detector is unsure (its best probability is below ``unsure_below``) the second
    detector, if configured, is asked, and the two rankings are added up, the second's
    probabilities weighted by ``second_opinion_weight`` (langdetect's are overconfident).
    """

    def __init__(
        self,
        detector: LanguageDetector,
        *,
        max_chars: int,
        min_letters: int,
        min_confidence: float,
        cjk_min_share: float,
        unsure_below: float,
        second_opinion: LanguageDetector | None = None,
        second_opinion_weight: float = 0.0,
        candidates: Sequence[str] = (),
    ) -> None:
        self.detector = detector
        self.second_opinion = second_opinion
        self.second_opinion_weight = second_opinion_weight
        self.unsure_below = unsure_below
        self.max_chars = max_chars
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.cjk_min_share = cjk_min_share
        self.candidates = frozenset(candidates)

    @classmethod
    def from_settings(cls, settings: DetectionSettings) -> LanguageIdentifier:
        second = settings.second_opinion
        return cls(
            build_detector(settings.detector),
            max_chars=settings.max_chars,
            min_letters=settings.min_letters,
            min_confidence=settings.min_confidence,
            cjk_min_share=settings.cjk_min_share,
            unsure_below=settings.unsure_below,
            second_opinion=build_detector(second) if second != "none" else None,
            second_opinion_weight=settings.second_opinion_weight,
            candidates=settings.candidates,
        )

    def __call__(self, text: str, hint: str | None = None) -> LanguageGuess:
        if hint and hint.strip():
            return LanguageGuess(code=normalize_hint(hint), confidence=1.0, method="hint")
        sample = text[: self.max_chars]
        counts = count_scripts(sample)
        if counts.letters < self.min_letters:
            return UNDETERMINED
        by_script = decide_by_script(counts, self.cjk_min_share)
        if by_script is not None:
            return by_script
        return self._detect_statistically(sample, counts)

    def _ranked(self, detector: LanguageDetector, sample: str) -> list[Prediction]:
        ranked = detector.predict(sample, k=_TOP_K)
        if self.candidates:
            ranked = [hit for hit in ranked if hit.code in self.candidates]
        return ranked

    def _detect_statistically(self, sample: str, counts: ScriptCounts) -> LanguageGuess:
        ranked = self._ranked(self.detector, sample)
        best = ranked[0] if ranked else Prediction(UNDETERMINED_CODE, 0.0)
        method = self.detector.name
        unsure = best.confidence < self.unsure_below
        if counts.cjk and (unsure or best.code in CJK_CODES):
            # Some Hangul/Kana/Han, and no confident call for a non-CJK language.
            return decide_by_script(counts, min_share=0.0) or UNDETERMINED
        if unsure and self.second_opinion is not None:
            best = self._combine(ranked, self._ranked(self.second_opinion, sample))
            method = f"{self.detector.name}+{self.second_opinion.name}"
        confidence = round(best.confidence, 4)
        if best.code == UNDETERMINED_CODE or confidence < self.min_confidence:
            return LanguageGuess(UNDETERMINED_CODE, confidence, "undetermined")
        return LanguageGuess(best.code, confidence, method)

    def _combine(self, first: list[Prediction], second: list[Prediction]) -> Prediction:
        """Add the two rankings' probabilities, the second's weighted; scaled back to [0, 1]."""
        weight = self.second_opinion_weight
        scores: dict[str, float] = {}
        for hit in first:
            scores[hit.code] = scores.get(hit.code, 0.0) + hit.confidence
        for hit in second:
            scores[hit.code] = scores.get(hit.code, 0.0) + weight * hit.confidence
        if not scores:
            return Prediction(UNDETERMINED_CODE, 0.0)
        code, score = max(scores.items(), key=lambda item: item[1])
        return Prediction(code, score / (1.0 + weight))


@lru_cache(maxsize=1)
def default_identifier() -> LanguageIdentifier:
    """Built from the effective settings' ``detection`` section, once per process."""
    from qualitygate.config import load_settings

    return LanguageIdentifier.from_settings(load_settings().detection)


def detect_language(text: str, hint: str | None = None) -> LanguageGuess:
    """The language of ``text`` as the configured ``detection`` section decides it."""
    return default_identifier()(text, hint)
