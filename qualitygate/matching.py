"""The matching view of a text: what block lists compare against, with a way back.

Block-list terms must be found through the tricks used to slip past them: zero-width
characters (``b\\u200bad``), full-width letters (``ｂａｄ``) and mixed case (``BaD``). The
view drops invisible characters, folds width and casefolds; ``original_span`` maps a span
in the view back to the text it came from, so a flag points at what the author wrote.
"""

from __future__ import annotations

from adapters.normalize import fold_char_width, fold_width, is_invisible

# Letters (category Lo, so "printable") that render as nothing; see adapters.normalize.
_FILLERS = ("\u115f", "\u1160", "\u3164", "\uffa0", "\u2800")


def _surely_visible(text: str) -> bool:
    """True when no character is invisible (a C-speed check; False may be a false alarm)."""
    printable = text.replace("\n", "").replace("\t", " ").isprintable()
    return printable and not any(filler in text for filler in _FILLERS)


def matching_text(text: str) -> str:
    """The view's text alone (how block-list terms are keyed)."""
    return MatchingView(text).text


class MatchingView:
    """``text``: casefolded, width-folded, invisible-free; offsets map back to the original."""

    def __init__(self, original: str) -> None:
        self.original = original
        self._offsets: list[int] | None = None
        if _surely_visible(original):
            folded = fold_width(original).casefold()
            if len(folded) == len(original):  # casefold never shortens a character
                self.text = folded
                return
        pieces: list[str] = []
        offsets: list[int] = []
        for index, char in enumerate(original):
            if char != "\n" and is_invisible(char):
                continue
            folded = fold_char_width(char).casefold()
            pieces.append(folded)
            offsets.extend([index] * len(folded))
        self.text = "".join(pieces)
        if len(self.text) != len(original) or any(o != i for i, o in enumerate(offsets)):
            self._offsets = offsets

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced ``text[start:end]`` (end exclusive)."""
        if self._offsets is None:
            return start, end
        return self._offsets[start], self._offsets[end - 1] + 1
