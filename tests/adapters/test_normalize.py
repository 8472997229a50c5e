"""Shared normalisation (adapters/normalize.py), through the default adapter: real
before/after examples."""

from __future__ import annotations

import pytest

from adapters.default import DefaultAdapter
from adapters.normalize import cap_repeats, fold_width
from tests.support.adapters import build, identity

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
    assert DefaultAdapter(identity, {}).preprocess("zzzzzzzz") == "zzzzzzzz"
    assert cap_repeats("aaaa", 4) == "aaaa"
    assert cap_repeats("aaaaa", 4) == "aaaa"


def test_width_folding_touches_only_fullwidth_ascii() -> None:
    assert fold_width("ＡＺａｚ０９～") == "AZaz09~"
    assert fold_width("ㅋㅋㅋ ｶﾀｶﾅ 한글") == "ㅋㅋㅋ ｶﾀｶﾅ 한글"
