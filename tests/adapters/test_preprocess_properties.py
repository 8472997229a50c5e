"""Properties every adapter keeps, on generated text: idempotent, and no letters vanish."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from adapters.base import Adapter
from adapters.default import DefaultAdapter
from adapters.ja import JapaneseAdapter
from adapters.ko import KoreanAdapter
from adapters.normalize import strip_invisible
from adapters.zh import ChineseAdapter
from tests.support.adapters import build

# --- properties -------------------------------------------------------------------------

ADAPTERS = [
    build(DefaultAdapter),
    build(KoreanAdapter),
    build(JapaneseAdapter),
    build(ChineseAdapter),
    build(ChineseAdapter, traditional_to_simplified=True),
]
ADAPTER_IDS = ["default", "ko", "ja", "zh", "zh-t2s"]

# Text drawn from the scripts the adapters care about, plus the characters they rewrite.
_ALPHABET = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(
        [
            *"ㅋㅠ가각ｶﾞﾊｰ〜~ 　\n\t\u200b\u3164\u0301ａＡ！，。這測試日本語ー!",
            "\r\n",
            "\u1100\u1161",
        ]
    ),
)
_TEXTS = st.lists(_ALPHABET, max_size=60).map("".join)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=ADAPTER_IDS)
@hypothesis_settings(max_examples=300, deadline=None)
@given(text=_TEXTS)
def test_preprocess_is_idempotent(adapter: Adapter, text: str) -> None:
    once = adapter.preprocess(text)
    assert adapter.preprocess(once) == once


@pytest.mark.parametrize("adapter", ADAPTERS, ids=ADAPTER_IDS)
@hypothesis_settings(max_examples=300, deadline=None)
@given(text=_TEXTS)
def test_letters_never_vanish(adapter: Adapter, text: str) -> None:
    visible_letters = [
        char
        for char in text
        if unicodedata.category(char).startswith("L") and strip_invisible(char) != ""
    ]
    if visible_letters:
        assert any(unicodedata.category(char).startswith("L") for char in adapter.preprocess(text))
