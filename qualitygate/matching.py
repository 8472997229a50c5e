"""The matching view of a text: what block lists compare against, with a way back.

Block-list terms must be found through the tricks used to slip past them, so terms and
text both go through one fold, and ``original_span`` maps a span of the view back to the
text it came from, so a flag points at what the author wrote. The fold, in order:

- per character: invisible characters dropped; NFKC for everything but Hangul (full-width,
  math-bold ``𝐛``, circled ``ⓑ``, ligatures); casefold; accents stripped from Latin
  letters (``bàd``), and every combining mark after a Latin letter dropped, stacked or
  overlaid (``i̶diot``, ``í̸diot``), while other scripts keep theirs; Unicode
  confusables folded to the ASCII letter they imitate (Cyrillic ``а``, Greek ``ο``), from
  the Unicode table that ``confusable-homoglyphs`` ships, not a hand list; Hangul
  decomposed to compatibility jamo (syllables, conjoining and half-width jamo alike), so
  ``ㅂㅏㅂㅗ`` typed jamo by jamo is ``바보``;
- leetspeak inside words that have letters (``b4d``: 4 -> a, 0 -> o, 1 -> i, 3 -> e,
  5 -> s, 7 -> t, @ -> a, $ -> s);
- three or more single letters separated by one space, dot, dash, underscore or star are
  joined (``b.a.d``, ``b a d``);
- runs of one character become one (``baaad``), with each run's length kept: a hit counts
  only where every run in the text is at least as long as the term's and, if longer, at
  most ``MAX_STRETCH`` (so ``as`` is not ``ass``, and 200,000 ``a`` are not a word).

Nothing here applies NFKC to Hangul (it would turn compatibility jamo into conjoining jamo).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache
from itertools import chain, repeat

from confusable_homoglyphs import confusables

from adapters.normalize import KEPT_CONTROLS, fold_char_width, is_invisible

# A run in the text may stretch a term's run up to this many characters ("baaaad").
MAX_STRETCH = 10

_LEET_CHARS = frozenset("4@0135$7")
_LEET = str.maketrans("4@0135$7", "aaoiesst")
_NOT_LETTERS = str.maketrans("", "", "@$")
_TOKEN = re.compile(r"[a-z0-9@$]+")
_RUN = re.compile(r"(.)\1+", re.DOTALL)
_SPACED = re.compile(
    r"(?<![^\W\d_])[^\W\d_](?P<sep>[ .\-_*])[^\W\d_](?:(?P=sep)[^\W\d_])+(?![^\W\d_])"
)
_SKIPPED_SCRIPTS = ("HANGUL", "CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH", "IDEOGRAPHIC")
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3


def _confusable_ascii() -> dict[str, str]:
    """Each non-ASCII character that Unicode lists as confusable with one ASCII letter."""
    table: dict[str, str] = {}
    for char, homoglyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii() or _in_skipped_script(char):
            continue
        targets = [g["c"] for g in homoglyphs if len(g["c"]) == 1 and g["c"].isascii()]
        letters = [target for target in targets if target.isalpha()]
        if letters:
            table[char] = letters[0].casefold()
    return table


def _in_skipped_script(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_SKIPPED_SCRIPTS)


_CONFUSABLE = _confusable_ascii()


def _jamo_to_compatibility(char: str) -> str:
    """A conjoining or half-width jamo as the compatibility jamo people type (``ᄇ`` -> ``ㅂ``)."""
    name = unicodedata.name(char, "")
    for prefix in ("HANGUL CHOSEONG ", "HANGUL JUNGSEONG ", "HANGUL JONGSEONG ", "HALFWIDTH "):
        if name.startswith(prefix):
            letter = name.removeprefix(prefix).removeprefix("HANGUL LETTER ")
            try:
                return unicodedata.lookup(f"HANGUL LETTER {letter}")
            except KeyError:
                return char
    return char


def _hangul(char: str) -> str:
    code = ord(char)
    if _HANGUL_FIRST <= code <= _HANGUL_LAST:
        return "".join(_jamo_to_compatibility(j) for j in unicodedata.normalize("NFD", char))
    return _jamo_to_compatibility(char)


def _is_hangul(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("HANGUL", "HALFWIDTH HANGUL"))


def _strip_latin_accent(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    if decomposed[0].isascii() and decomposed[0].isalpha():
        return decomposed[0]
    return char


@lru_cache(maxsize=65536)
def fold_char(char: str) -> str:
    """One character as the view sees it (possibly several characters, or none)."""
    if char != "\n" and is_invisible(char):
        return ""
    if _is_hangul(char):
        return _hangul(char)
    folded = unicodedata.normalize("NFKC", fold_char_width(char)).casefold()
    out = []
    for piece in folded:
        piece = _CONFUSABLE.get(piece, piece)
        out.append(_strip_latin_accent(piece).casefold())
    return "".join(out)


@lru_cache(maxsize=4096)
def _only_marks(piece: str) -> bool:
    """A folded piece made of combining marks only (categories Mn and Me)."""
    return all(unicodedata.category(char) in ("Mn", "Me") for char in piece)


def _drop_marks_after_latin(pieces: list[str]) -> None:
    """Empty every run of combining marks that follows a Latin letter, in place.

    Precomposed accents go in ``fold_char``; these are the marks left over: stacked ones
    (``i\u0301\u0316``), overlays with no precomposed form (``i\u0336``). Marks after a
    letter of another script (Devanagari, Thai, Hebrew vowel signs) are part of it and stay.
    """
    after_latin = False
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        if _only_marks(piece):
            if after_latin:
                pieces[index] = ""
            continue
        last = piece[-1]
        after_latin = last.isascii() and last.isalpha()


def _ascii_visible(text: str) -> bool:
    """No ASCII control characters but the kept ones, newline and tab (a C-speed check)."""
    for kept in KEPT_CONTROLS:
        text = text.replace(kept, " ")
    return text.isprintable()


def _leet(text: str) -> str:
    """Leetspeak digits and signs inside words that have letters (1:1, offsets unchanged)."""
    if not any(char in text for char in _LEET_CHARS):
        return text
    pieces: list[str] = []
    done = 0
    for match in _TOKEN.finditer(text):  # each token once: linear
        token = match.group(0)
        if not _LEET_CHARS.isdisjoint(token) and not token.translate(_NOT_LETTERS).isdigit():
            pieces += [text[done : match.start()], token.translate(_LEET)]
            done = match.end()
    return "".join([*pieces, text[done:]])


def matching_text(text: str) -> str:
    """The view's text alone (how block-list terms are keyed)."""
    return MatchingView(text).text


class MatchingView:
    """The folded text, run-collapsed; ``runs`` and spans map back to the original."""

    def __init__(self, original: str) -> None:
        self.original = original
        origin: list[int] | None = None  # index in the original of each folded character
        if original.isascii() and _ascii_visible(original):
            chars = original.lower()  # all fold_char does to printable ASCII
        else:
            pieces = list(map(fold_char, original))
            _drop_marks_after_latin(pieces)
            chars = "".join(pieces)
            if len(chars) != len(original) or not all(pieces):
                lengths = map(len, pieces)
                origin = list(chain.from_iterable(map(repeat, range(len(pieces)), lengths)))
        chars, origin, joined = _join_spaced(_leet(chars), origin)
        self._origin = origin
        # Runs of one character collapse to one: where each view character starts in
        # ``chars`` and how long its run is (None: no runs, the identity).
        self._first: list[int] | None = None
        self._length: list[int] | None = None
        runs = [match.span() for match in _RUN.finditer(chars)]
        if not runs:
            self.text = chars
        else:
            self._collapse(chars, runs)
        self.spaced = [(self._view_index(a), self._view_index(b - 1) + 1) for a, b in joined]

    def _collapse(self, chars: str, runs: list[tuple[int, int]]) -> None:
        text: list[str] = []
        first: list[int] = []
        length: list[int] = []
        done = 0
        for start, end in runs:
            text += [chars[done : start + 1]]
            first.extend(range(done, start + 1))
            length.extend(repeat(1, start - done))
            length.append(end - start)
            done = end
        text.append(chars[done:])
        first.extend(range(done, len(chars)))
        length.extend(repeat(1, len(chars) - done))
        self.text = "".join(text)
        self._first, self._length = first, length

    def _view_index(self, index: int) -> int:
        return index if self._first is None else bisect_right(self._first, index) - 1

    def _source(self, index: int) -> int:
        return index if self._origin is None else self._origin[index]

    def _start(self, view_index: int) -> int:
        """The original index of the first character behind a view character."""
        at = view_index if self._first is None else self._first[view_index]
        return self._source(at)

    def _end(self, view_index: int) -> int:
        """One past the original index of the last character behind a view character."""
        if self._first is None or self._length is None:
            return self._source(view_index) + 1
        return self._source(self._first[view_index] + self._length[view_index] - 1) + 1

    def runs(self, start: int, end: int) -> list[int]:
        """Run lengths of ``text[start:end]`` in the text before runs were collapsed."""
        return [1] * (end - start) if self._length is None else self._length[start:end]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced ``text[start:end]`` (end exclusive)."""
        return self._start(start), self._end(end - 1)

    def splits_a_character(self, start: int, end: int) -> bool:
        """Does the span begin or end inside what one original character became?

        A syllable decomposes to jamo: ``바보`` must not match inside ``바복`` (whose last
        syllable's jamo begin like ``보``'s).
        """
        split_start = start > 0 and self._end(start - 1) > self._start(start)
        split_end = end < len(self.text) and self._start(end) < self._end(end - 1)
        return split_start or split_end


def _join_spaced(
    chars: str, origin: list[int] | None
) -> tuple[str, list[int] | None, list[tuple[int, int]]]:
    """``b.a.d`` and ``b a d`` as ``bad``: separators between single letters dropped.

    Also returns the joined spans, in the joined text's indices.
    """
    matches = [match.span() for match in _SPACED.finditer(chars)]
    if not matches:
        return chars, origin, []
    source = origin if origin is not None else list(range(len(chars)))
    text: list[str] = []
    kept: list[int] = []
    spans: list[tuple[int, int]] = []
    done = 0
    for start, end in matches:
        text.append(chars[done:start])
        kept += source[done:start]
        spans.append((len(kept), len(kept) + (end - start + 1) // 2))
        text.append(chars[start:end:2])
        kept += source[start:end:2]
        done = end
    text.append(chars[done:])
    kept += source[done:]
    return "".join(text), kept, spans


def runs_fit(term_runs: list[int], text_runs: list[int]) -> bool:
    """Does the text stretch each of the term's runs by a believable amount only?"""
    return all(
        have == need or need < have <= MAX_STRETCH
        for need, have in zip(term_runs, text_runs, strict=True)
    )
