"""Word boundaries in Chinese and Japanese text, from dictionary-backed segmenters.

Block-list terms in Han or kana match inside words by default, so ``操`` would hit ``操作``
("operation") and ``ばか`` would hit ``ばかり`` ("only"). With ``rules.cjk_match`` set to
``word`` for a language, a hit counts only when both its ends are word boundaries of that
language's segmenter: jieba's dictionary (``rjieba``, the jieba-rs port, dictionary
compiled into the wheel) for Chinese, Sudachi's core dictionary (``sudachipy`` with
``sudachidict-core``, a wheel) for Japanese. Both are offline; each loads once per process,
on the first hit that needs it. Segmentation runs on a window around the hit, reused for
the hits after it, so hostile text (``操作`` 100,000 times) costs one pass, not one a hit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

# Characters either side of a hit that the segmenter sees; a word longer than this at the
# window's edge is the only thing that can be cut wrongly.
WINDOW = 64
# A hit this close to a window's inner edge gets a fresh window. (Sudachi refuses more
# than 49,149 bytes at once; a window is far below that.)
MARGIN = 16


def _is_kana(char: str) -> bool:
    return "\u3040" <= char <= "\u30ff" or "\uff66" <= char <= "\uff9f"


def language_of(term_text: str) -> str | None:
    """``ja`` for a term with kana, ``zh`` for Han alone, None for anything else."""
    if any(_is_kana(char) for char in term_text):
        return "ja"
    if term_text and all(_is_han(char) for char in term_text):
        return "zh"
    return None


def _is_han(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3FFFF


@lru_cache(maxsize=1)
def _chinese() -> Callable[[str], list[str]]:
    import rjieba

    return rjieba.cut  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _japanese() -> Callable[[str], list[str]]:
    from sudachipy import Dictionary, SplitMode

    tokenizer = Dictionary().tokenizer()
    return lambda text: [m.surface() for m in tokenizer.tokenize(text, SplitMode.C)]


def boundaries(text: str, language: str) -> set[int]:
    """Every word boundary of ``text`` (its ends included) by the language's segmenter."""
    cut = _japanese() if language == "ja" else _chinese()
    edges = {0}
    at = 0
    for word in cut(text):
        at += len(word)
        edges.add(at)
    return edges


class WordEdges:
    """Word boundaries of one text, segmented a window at a time and kept for later hits."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._windows: dict[str, tuple[int, int, set[int]]] = {}

    def is_word(self, start: int, end: int, language: str) -> bool:
        """Are ``start`` and ``end`` both word boundaries (the hit a word or words)?"""
        window = self._windows.get(language)
        if window is None or not self._well_inside(window, start, end):
            window = self._segment(start, end, language)
        edges = window[2]
        return start in edges and end in edges

    def _well_inside(self, window: tuple[int, int, set[int]], start: int, end: int) -> bool:
        # Near a window's edge (not the text's) a word may have been cut: segment afresh.
        first, last, _ = window
        low = first + MARGIN if first > 0 else 0
        high = last - MARGIN if last < len(self._text) else last
        return low <= start and end <= high

    def _segment(self, start: int, end: int, language: str) -> tuple[int, int, set[int]]:
        first = max(0, start - WINDOW)
        last = min(len(self._text), end + 4 * WINDOW)  # hits come in order: look ahead
        edges = {first + edge for edge in boundaries(self._text[first:last], language)}
        self._windows[language] = (first, last, edges)
        return first, last, edges
