"""Korean: the shared normalisation (NFC, never NFKC) plus half-width Hangul jamo.

What it must not do: NFKC. NFKC turns compatibility jamo into conjoining jamo, so
``ㅋㅋㅋ`` (U+314B) would become ``ᄏᄏᄏ`` (U+110F), which renders differently, tokenises
differently and defeats block lists. The only width folding beyond full-width ASCII is the
half-width Hangul block (U+FFA1..U+FFDC), mapped to the compatibility jamo (``ﾡ`` -> ``ㄱ``),
its one-step ``<narrow>`` decomposition (not NFKC, which would go on to ``ᄀ``).
"""

from __future__ import annotations

import unicodedata

from adapters.default import DefaultAdapter
from adapters.normalize import normalize_common


def _narrow_target(code: int) -> str | None:
    # The one-step <narrow> decomposition, not NFKC: NFKC would go on to conjoining jamo.
    tag, _, target = unicodedata.decomposition(chr(code)).partition(" ")
    return chr(int(target, 16)) if tag == "<narrow>" else None


_HALFWIDTH_HANGUL = {
    code: target for code in range(0xFFA1, 0xFFDD) if (target := _narrow_target(code))
}


class KoreanAdapter(DefaultAdapter):
    language = "ko"

    def preprocess(self, text: str) -> str:
        text = text.translate(_HALFWIDTH_HANGUL)
        return normalize_common(text, self.max_repeat)
