"""The normalisation every adapter shares: invisible characters, width, repeats, whitespace.

Language adapters call ``normalize_common`` and add only what their language needs. It
must stay safe for every script: it never applies NFKC wholesale (NFKC rewrites Korean
compatibility jamo, ``ㅋ`` U+314B into ``ᄏ`` U+110F), so width folding is explicit and
limited to full-width ASCII (U+FF01..U+FF5E) and the ideographic space.

Each step is idempotent and the order makes the whole idempotent: invisible characters go
first (so ``b\\u200bad`` is ``bad`` before anything looks at it), width folding comes
before NFC (a folded letter can then compose with a following accent), repeats are capped
after NFC, and whitespace is tidied last.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

# Letters that render as nothing and are used to slip words past filters. U+115F/U+1160 are
# the Hangul choseong/jungseong fillers, U+3164/U+FFA0 the (half-width) Hangul filler.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# The controls that are text, not tricks: kept by every fold (public: the matching view reads it).
KEPT_CONTROLS = frozenset("\n\t")
_FULLWIDTH_FIRST, _FULLWIDTH_LAST = 0xFF01, 0xFF5E
_FULLWIDTH_OFFSET = 0xFEE0
_IDEOGRAPHIC_SPACE = "\u3000"

_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_WHITESPACE_RUN = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def is_invisible(char: str) -> bool:
    """Controls (except newline and tab), format characters (zero-width, bidi) and fillers."""
    if char in KEPT_CONTROLS:
        return False
    return char in _INVISIBLE_LETTERS or unicodedata.category(char) in ("Cc", "Cf")


def _invisible_table() -> dict[int, None]:
    # Every invisible code point of this Python's Unicode database, found once per process,
    # so stripping is one C-level str.translate instead of a loop per character. Controls
    # and format characters live in planes 0, 1 and 14 only (2-13 are ideographs or empty,
    # 15-16 private use), so the scan skips the rest.
    planes = itertools.chain(range(0x20000), range(0xE0000, 0xF0000))
    return {
        code: None
        for code in planes
        if (code < 0x80 and not 0x20 <= code < 0x7F) or is_invisible(chr(code))
        if chr(code) not in KEPT_CONTROLS
    }


_INVISIBLE_TABLE = _invisible_table()


def strip_invisible(text: str) -> str:
    """Drop invisible characters; line breaks of every kind become ``\\n`` first."""
    return _LINE_BREAKS.sub("\n", text).translate(_INVISIBLE_TABLE)


def fold_char_width(char: str) -> str:
    """One full-width ASCII character or the ideographic space as ASCII; others unchanged."""
    code = ord(char)
    if _FULLWIDTH_FIRST <= code <= _FULLWIDTH_LAST:
        return chr(code - _FULLWIDTH_OFFSET)
    if char == _IDEOGRAPHIC_SPACE:
        return " "
    return char


_WIDTH_TABLE = {
    **{code: code - _FULLWIDTH_OFFSET for code in range(_FULLWIDTH_FIRST, _FULLWIDTH_LAST + 1)},
    ord(_IDEOGRAPHIC_SPACE): ord(" "),
}


def fold_width(text: str) -> str:
    """Full-width ASCII (``ａｂｃ１２３！``) to ASCII; nothing else, so jamo and kana stay."""
    return text.translate(_WIDTH_TABLE)


def cap_repeats(text: str, max_repeat: int | None) -> str:
    """Cut runs of one repeated character to ``max_repeat``; digits and spaces are exempt.

    Digits are exempt because ``1000000`` must stay a million (and the PII rules need every
    digit). ``None`` or 0 turns the cap off.
    """
    if not max_repeat:
        return text
    pattern = _repeat_pattern(max_repeat)
    return pattern.sub(lambda match: match.group(1) * max_repeat, text)


_repeat_patterns: dict[int, re.Pattern[str]] = {}


def _repeat_pattern(max_repeat: int) -> re.Pattern[str]:
    pattern = _repeat_patterns.get(max_repeat)
    if pattern is None:
        # One character then more than max_repeat - 1 copies: linear, no nested quantifier.
        pattern = re.compile(rf"([^\d\s])\1{{{max_repeat},}}")
        _repeat_patterns[max_repeat] = pattern
    return pattern


def collapse_whitespace(text: str) -> str:
    """One space between words, no spaces at line ends, at most one blank line in a row."""
    text = _WHITESPACE_RUN.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def normalize_common(text: str, max_repeat: int | None) -> str:
    """The shared pipeline: invisible -> width -> NFC -> repeats -> whitespace."""
    text = strip_invisible(text)
    text = fold_width(text)
    text = unicodedata.normalize("NFC", text)
    text = cap_repeats(text, max_repeat)
    return collapse_whitespace(text)
