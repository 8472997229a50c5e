"""The adapter for every language without its own: the shared, script-safe normalisation.

Zero-width and control characters go, full-width ASCII becomes ASCII, the text is NFC
(never NFKC, which would rewrite Korean compatibility jamo), runs of one character are
capped at the language's ``max_repeat`` and whitespace is collapsed. See
``adapters.normalize`` for the exact steps; language adapters build on this class.
"""

from __future__ import annotations

from adapters.base import BaseAdapter
from adapters.normalize import normalize_common


class DefaultAdapter(BaseAdapter):
    language = "default"

    @property
    def max_repeat(self) -> int | None:
        """The longest run of one character kept; ``None`` (option absent) keeps all."""
        value = self.options.get("max_repeat")
        return int(value) if value else None

    def preprocess(self, text: str) -> str:
        return normalize_common(text, self.max_repeat)
