"""Japanese: the shared normalisation around ``neologdn``.

neologdn (the normaliser made for the mecab-ipadic-NEologd dictionary) folds half-width
katakana to full width (``ﾊﾝｶｸ`` -> ``ハンカク``) and full-width ASCII to ASCII, unifies the
many hyphen and long-vowel-mark look-alikes (``ｰｰｰー`` -> ``ー``) and removes spaces between
Japanese characters (``日本 語`` -> ``日本語``), keeping those between Latin words. Tildes
are turned into ``~`` (``tilde="normalize"``) rather than removed, so ``わ〜い`` keeps its
stretch. Repeated characters are capped by the shared step at ``max_repeat``, not by
neologdn's own ``repeat``, so every language caps the same way.
"""

from __future__ import annotations

import neologdn

from adapters.default import DefaultAdapter
from adapters.normalize import collapse_whitespace, normalize_common, strip_invisible


class JapaneseAdapter(DefaultAdapter):
    language = "ja"

    def preprocess(self, text: str) -> str:
        # neologdn keeps zero-width characters and sees a tab as a letter, so both are dealt
        # with first; then it runs per line, because it treats a newline like any space.
        lines = collapse_whitespace(strip_invisible(text)).split("\n")
        text = "\n".join(neologdn.normalize(line, tilde="normalize") for line in lines)
        return normalize_common(text, self.max_repeat)
