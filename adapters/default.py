"""The adapter for every language without its own: Unicode-safe, language-neutral cleanup.

It normalises to NFC (never NFKC, which would rewrite Korean compatibility jamo), drops
zero-width and control characters and collapses whitespace. Per-language adapters build
on it.
"""

from __future__ import annotations

import re
import unicodedata

from adapters.base import BaseAdapter

_WHITESPACE_RUN = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _is_dropped(char: str) -> bool:
    # Cc (controls, keeping \n and \t) and Cf (zero-width and bidi formatting characters).
    if char in "\n\t":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


class DefaultAdapter(BaseAdapter):
    language = "default"

    def preprocess(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        text = "".join(char for char in text if not _is_dropped(char))
        text = _WHITESPACE_RUN.sub(" ", text)
        text = "\n".join(line.strip() for line in text.split("\n"))
        return _BLANK_LINES.sub("\n\n", text).strip()
