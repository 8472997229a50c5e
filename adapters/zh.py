"""Chinese: the shared normalisation, half-width CJK punctuation, optional t2s conversion.

Full-width ASCII and full-width punctuation (``，！？：；（）``, all in U+FF01..U+FF5E)
become their ASCII counterparts in the shared step. Chinese punctuation with no ASCII
counterpart (``。、「」《》``) stays; its half-width forms (``｡､｢｣``) become the
full forms. Traditional characters are converted to simplified (OpenCC ``t2s``) only when
the language's ``traditional_to_simplified`` option is true; the converter is built once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import opencc

from adapters.base import Calibrator
from adapters.default import DefaultAdapter
from adapters.normalize import normalize_common

_HALFWIDTH_CJK_PUNCTUATION = str.maketrans({"｡": "。", "｢": "「", "｣": "」", "､": "、"})


@cache
def _traditional_to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


class ChineseAdapter(DefaultAdapter):
    language = "zh"

    def __init__(self, calibrator: Calibrator, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(calibrator, options)
        self._converter = (
            _traditional_to_simplified() if self.options.get("traditional_to_simplified") else None
        )

    def preprocess(self, text: str) -> str:
        text = text.translate(_HALFWIDTH_CJK_PUNCTUATION)
        text = normalize_common(text, self.max_repeat)
        if self._converter is not None:
            # After NFC, so compatibility ideographs are already unified ones.
            text = self._converter.convert(text)
        return text
