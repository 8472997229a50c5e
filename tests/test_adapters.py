"""The language adapters: real before/after examples, registration, and properties."""

from __future__ import annotations

import sys
import textwrap
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from adapters.base import Adapter
from adapters.default import DefaultAdapter
from adapters.ja import JapaneseAdapter
from adapters.ko import KoreanAdapter
from adapters.normalize import cap_repeats, fold_width, strip_invisible
from adapters.registry import ENTRY_POINT_GROUP, adapter_class_for, adapter_classes
from adapters.zh import ChineseAdapter
from qualitygate.config import Settings
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ContentItem, ModelInfo

OPTIONS = {"max_repeat": 5, "traditional_to_simplified": False}


def _identity(raw: float) -> float:
    return raw


def build(adapter_class: type, **options: object) -> Adapter:
    return adapter_class(_identity, OPTIONS | options)


# --- shared normalisation, through the default adapter ----------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("b\u200bad", "bad"),  # zero-width space
        ("b\u200dad\ufeff", "bad"),  # zero-width joiner, BOM
        ("\u202eevil\u202c text", "evil text"),  # bidi override
        ("ｂａｄ　ｗｏｒｄ！", "bad word!"),  # full-width ASCII and ideographic space
        ("Ｃａｆｅ\u0301", "Café"),  # folded letter composes with its accent (NFC)
        ("wow!!!!!!!!!!!!", "wow!!!!!"),  # run capped at max_repeat
        ("price 1000000 won", "price 1000000 won"),  # digits are never capped
        ("  a \t b  \r\n\r\n\r\n\r\n c  ", "a b\n\nc"),
        ("line\x00one\x07", "lineone"),
    ],
)
def test_default_adapter_examples(before: str, after: str) -> None:
    assert build(DefaultAdapter).preprocess(before) == after


def test_repeat_cap_is_configurable_and_off_without_the_option() -> None:
    assert build(DefaultAdapter, max_repeat=3).preprocess("zzzzzzzz") == "zzz"
    assert DefaultAdapter(_identity, {}).preprocess("zzzzzzzz") == "zzzzzzzz"
    assert cap_repeats("aaaa", 4) == "aaaa"
    assert cap_repeats("aaaaa", 4) == "aaaa"


def test_width_folding_touches_only_fullwidth_ascii() -> None:
    assert fold_width("ＡＺａｚ０９～") == "AZaz09~"
    assert fold_width("ㅋㅋㅋ ｶﾀｶﾅ 한글") == "ㅋㅋㅋ ｶﾀｶﾅ 한글"


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


# --- registration -----------------------------------------------------------------------


def test_builtin_adapters_are_registered_through_entry_points() -> None:
    classes = adapter_classes()
    assert {name: classes[name] for name in ("default", "ko", "ja", "zh")} == {
        "default": DefaultAdapter,
        "ko": KoreanAdapter,
        "ja": JapaneseAdapter,
        "zh": ChineseAdapter,
    }
    assert adapter_class_for("xx") is DefaultAdapter


class _ConstantScorer:
    info = ModelInfo(name="constant", revision="test", test_model=True)

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [0.0 for _ in pairs]


@pytest.fixture
def third_party_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A distribution that declares a ``qualitygate.adapters`` entry point, on sys.path only."""
    module = tmp_path / "qg_klingon.py"
    module.write_text(
        textwrap.dedent(
            """
            from adapters.default import DefaultAdapter

            class KlingonAdapter(DefaultAdapter):
                language = "tlh"

                def preprocess(self, text):
                    return super().preprocess(text).upper()
            """
        )
    )
    dist_info = tmp_path / "qg_klingon-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: qg-klingon\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntlh = qg_klingon:KlingonAdapter\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    adapter_classes.cache_clear()
    yield "tlh"
    monkeypatch.delitem(sys.modules, "qg_klingon", raising=False)
    adapter_classes.cache_clear()


def test_a_third_party_package_adds_a_language(
    third_party_adapter: str, settings: Settings
) -> None:
    assert adapter_class_for(third_party_adapter).__name__ == "KlingonAdapter"
    gate = QualityGate(settings, _ConstantScorer())
    adapter = gate.adapter_for(third_party_adapter)
    assert adapter.preprocess("nuqneH  ｐａｔａｈ") == "NUQNEH PATAH"
    item = ContentItem(id="1", text="Qapla'", language=third_party_adapter)
    prepared = gate.prepare(item)
    assert prepared.text == "QAPLA'"
