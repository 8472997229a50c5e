"""Language detection: a code, a confidence and how it was decided.

The order is fixed: a caller's hint wins; then Unicode scripts decide Korean, Japanese
and Chinese (Hangul -> ``ko``, any Kana -> ``ja``, Han alone -> ``zh``), by their share
of the letters so that a Korean post quoting English stays Korean and Kanji-heavy
Japanese is never called Chinese (a declaration never overrules a clear script majority,
Han alone included: the author would choose which block list applies); everything else
goes to a statistical detector (``qualitygate.detectors``). The language the document
declares (``<html lang>``, front matter ``lang:``) is the author's claim, and templates
often leave it at a default: it decides only when the text has too few letters or the
detector is unsure (below ``unsure_below``); never for text with CJK letters (their
script decides, or nothing does), nor when it names ko/ja/zh for text without any CJK
letter. When the detector is unsure and nothing usable was declared, a second detector,
if configured, is asked. Text with too few letters, or that no detector calls
confidently, is ``und`` with a low confidence and takes the default adapter.

Detection reads the text normalised (whitespace collapsed, zero-width characters
dropped), and only a sample of it: ``windows`` evenly spaced slices of
``max_chars`` characters in all, so an English menu at the top of a Korean page does not
decide the page, and a call stays well under a millisecond whatever the length. This
module owns the decision, not the models: it never loads one itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from qualitygate.detectors.base import LanguageDetector, Prediction, build_detector
from qualitygate.langcode import primary_subtag

if TYPE_CHECKING:
    from qualitygate.config import DetectionSettings


@dataclass(frozen=True)
class LanguageGuess:
    """``method``: ``hint``, ``script``, ``declared``, a detector's name, or ``undetermined``.

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


# A declaration is the author's claim, not proof: it decides only what the text cannot.
DECLARED_CONFIDENCE = 0.9


# How much raw text a slice is read from, per character it keeps: room for the
# indentation and blank lines of extracted HTML, which normalising removes.
_RAW_PER_SAMPLED = 8


# The invisible characters found inside words (zero-width space, non-joiner and joiner,
# word joiner, BOM, soft hyphen). The adapters strip every control and format character
# with a translate table, which costs 0.2 ms per KB: too slow for a sample.
_IN_WORD_INVISIBLES = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")


def _normalised(text: str) -> str:
    """Whitespace collapsed and in-word invisible characters gone: cheap, C loops only."""
    for invisible in _IN_WORD_INVISIBLES:
        if invisible in text:
            text = text.replace(invisible, "")
    return " ".join(text.split())


def sample_text(text: str, max_chars: int, windows: int) -> str:
    """What detection reads: the text, normalised, or ``windows`` slices spread across it.

    Invisible characters go and whitespace collapses first, so indentation and blank
    lines of extracted HTML take no room in the sample. Slices start at evenly spaced
    offsets, the first at the start and the last ending at the end. Long text is
    normalised only around its slices, so the cost does not grow with its length.
    """
    size = max(max_chars // windows, 1)
    count = max_chars // size
    whole = len(text) <= max_chars * _RAW_PER_SAMPLED
    source = _normalised(text) if whole else text
    if len(source) <= max_chars:
        return source
    span = size if whole else size * _RAW_PER_SAMPLED
    last_start = len(source) - span
    starts = [round(index * last_start / max(count - 1, 1)) for index in range(count)]
    slices = [source[start : start + span] for start in starts]
    if not whole:
        slices = [_normalised(piece)[:size] for piece in slices[:-1]] + [
            _normalised(slices[-1])[-size:]
        ]
    return " ".join(slices)


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
        windows: int,
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
        self.windows = windows
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
            windows=settings.windows,
            min_letters=settings.min_letters,
            min_confidence=settings.min_confidence,
            cjk_min_share=settings.cjk_min_share,
            unsure_below=settings.unsure_below,
            second_opinion=build_detector(second) if second != "none" else None,
            second_opinion_weight=settings.second_opinion_weight,
            candidates=settings.candidates,
        )

    def __call__(
        self, text: str, hint: str | None = None, declared: str | None = None
    ) -> LanguageGuess:
        """``declared``: the language tag the document itself declares, if any."""
        if hint and hint.strip():
            return LanguageGuess(code=primary_subtag(hint), confidence=1.0, method="hint")
        sample = sample_text(text, self.max_chars, self.windows)
        counts = count_scripts(sample)
        declaration = self._declaration(declared, counts)
        if counts.letters < self.min_letters:
            return declaration or UNDETERMINED
        by_script = decide_by_script(counts, self.cjk_min_share)
        if by_script is not None:
            return by_script  # whatever the page declares: a clear majority is evidence
        return self._detect_statistically(sample, counts, declaration)

    def _declaration(self, declared: str | None, counts: ScriptCounts) -> LanguageGuess | None:
        """The declared language, unless unusable: not expected, text with CJK letters
        (their script decides, or nothing does), or CJK on text without CJK."""
        code = primary_subtag(declared) if declared and declared.strip() else ""
        if not code or (self.candidates and code not in self.candidates) or counts.cjk:
            return None
        if code in CJK_CODES and counts.letters > 0:
            return None
        return LanguageGuess(code=code, confidence=DECLARED_CONFIDENCE, method="declared")

    def _ranked(self, detector: LanguageDetector, sample: str) -> list[Prediction]:
        ranked = detector.predict(sample, k=_TOP_K)
        if self.candidates:
            ranked = [hit for hit in ranked if hit.code in self.candidates]
        return ranked

    def _detect_statistically(
        self, sample: str, counts: ScriptCounts, declaration: LanguageGuess | None = None
    ) -> LanguageGuess:
        ranked = self._ranked(self.detector, sample)
        best = ranked[0] if ranked else Prediction(UNDETERMINED_CODE, 0.0)
        method = self.detector.name
        unsure = best.confidence < self.unsure_below
        if counts.cjk and (unsure or best.code in CJK_CODES):
            # Some Hangul/Kana/Han, and no confident call for a non-CJK language.
            return decide_by_script(counts, min_share=0.0) or UNDETERMINED
        if unsure and declaration is not None:
            return declaration  # the author's claim decides only what the text cannot
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


def detect_language(
    text: str, hint: str | None = None, declared: str | None = None
) -> LanguageGuess:
    """The language of ``text`` as the configured ``detection`` section decides it."""
    return default_identifier()(text, hint, declared)
