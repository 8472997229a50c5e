"""The Korean, Japanese and Chinese adapters: real before/after examples."""

from __future__ import annotations

import unicodedata

import pytest

from adapters.ja import JapaneseAdapter
from adapters.ko import KoreanAdapter
from adapters.zh import ChineseAdapter
from tests.support.adapters import build

# --- Korean -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("ㅋㅋㅋ", "ㅋㅋㅋ"),  # compatibility jamo stay (NFKC would make U+110F)
        ("ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ 진짜 웃겨요", "ㅋㅋㅋㅋㅋ 진짜 웃겨요"),
        ("\u1112\u1161\u11ab\u1100\u1173\u11af", "한글"),  # conjoining jamo compose (NFC)
        ("ﾡﾤﾾ", "ㄱㄴㅎ"),  # half-width Hangul -> compatibility jamo, not conjoining
        ("시\u200b발", "시발"),  # zero-width evasion inside a syllable run
        ("ㅎ\u3164ㅎ", "ㅎㅎ"),  # the Hangul filler renders as nothing
        ("좋아요！　ＯＫ", "좋아요! OK"),
    ],
)
def test_korean_examples(before: str, after: str) -> None:
    assert build(KoreanAdapter).preprocess(before) == after


def test_korean_never_produces_conjoining_jamo_from_compatibility_jamo() -> None:
    out = build(KoreanAdapter).preprocess("ㅋㅋㅋ ㅠㅠ ㄱㅅ")
    assert all(not 0x1100 <= ord(char) <= 0x11FF for char in out)
    assert out == unicodedata.normalize("NFC", "ㅋㅋㅋ ㅠㅠ ㄱㅅ")


# --- Japanese ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("ﾊﾝｶｸｶﾀｶﾅ", "ハンカクカタカナ"),
        ("ＡＢＣ１２３！", "ABC123!"),
        ("日本 語 の テキスト", "日本語のテキスト"),  # spaces between Japanese characters go
        ("Hello  World", "Hello World"),  # between Latin words one stays
        ("スーーーーパー", "スーパー"),  # long-vowel marks unified
        ("わ〜い", "わ~い"),  # tilde kept, as ASCII
        ("うまあああああああああい", "うまあああああい"),
        ("一行目\n二行目", "一行目\n二行目"),  # line breaks survive neologdn
        ("ば\u200bか", "ばか"),
    ],
)
def test_japanese_examples(before: str, after: str) -> None:
    assert build(JapaneseAdapter).preprocess(before) == after


# --- Chinese ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("你好，世界！", "你好,世界!"),  # full-width punctuation folded
        ("价格：（１００元）", "价格:(100元)"),
        ("他说｢好｣､然后走了｡", "他说「好」、然后走了。"),  # half-width CJK punctuation
        ("這是測試", "這是測試"),  # no conversion unless asked
    ],
)
def test_chinese_examples(before: str, after: str) -> None:
    assert build(ChineseAdapter).preprocess(before) == after


def test_chinese_traditional_to_simplified_only_when_configured() -> None:
    adapter = build(ChineseAdapter, traditional_to_simplified=True)
    assert adapter.preprocess("這是測試，漢字轉換") == "这是测试,汉字转换"
    assert adapter.preprocess("这是测试") == "这是测试"
