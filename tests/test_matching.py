"""Block-list evasions: each trick people use to slip a term past a filter, and the near
misses the folds must not create."""

from __future__ import annotations

import pytest

from adapters.default import DefaultAdapter
from adapters.ko import KoreanAdapter
from qualitygate.config import load_settings
from qualitygate.matching import MatchingView
from qualitygate.rules import RuleEngine


def _normalise(language: str, text: str) -> str:
    adapter = KoreanAdapter if language == "ko" else DefaultAdapter
    return adapter(float, {"max_repeat": 10}).preprocess(text)


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    rules = load_settings().rules.model_dump()
    rules["length"]["too_short"]["enabled"] = False
    rules["blocklists"]["banned"]["terms"] = {"default": ["bad", "idiot"], "ko": ["바보"]}
    return RuleEngine(load_settings(rules=rules), normalise=_normalise)


def hits(engine: RuleEngine, text: str, language: str = "en") -> list[str]:
    return [
        text[flag.start : flag.end]
        for flag in engine.check(_normalise(language, text), language)
        if flag.category == "blocklist"
    ]


@pytest.mark.parametrize(
    ("kind", "text", "found"),
    [
        ("dotted", "you are b.a.d", "b.a.d"),
        ("spaced", "you are b a d!", "b a d"),
        ("cyrillic", "you are bаd", "bаd"),  # U+0430
        ("greek", "an іdіοt", "іdіοt"),  # Cyrillic і, Greek ο
        ("accents", "you are bàd", "bàd"),
        ("math-bold", "you are 𝐛𝐚𝐝", "𝐛𝐚𝐝"),
        ("circled", "you are ⓑⓐⓓ", "ⓑⓐⓓ"),
        ("leet", "you are b4d", "b4d"),
        ("leet-2", "what an 1d10t", "1d10t"),
        ("doubled", "you are baaad", "baaad"),
        ("doubled-2", "you are bbaadd", "bbaadd"),
    ],
)
def test_latin_evasions_are_caught(engine: RuleEngine, kind: str, text: str, found: str) -> None:
    assert hits(engine, text) == [found], kind


@pytest.mark.parametrize(
    ("kind", "text", "found"),
    [
        ("separate jamo", "너 ㅂㅏㅂㅗ 야", "ㅂㅏㅂㅗ"),
        ("half-width jamo", "너 \uffb2\uffc2\uffb2\uffcc 야", "\uffb2\uffc2\uffb2\uffcc"),
        ("syllables", "너 바보야", "바보"),
        ("english comment", "lol you are such a 바보 today", "바보"),
    ],
)
def test_korean_evasions_are_caught(engine: RuleEngine, kind: str, text: str, found: str) -> None:
    language = "en" if kind == "english comment" else "ko"
    assert hits(engine, text, language) == [found], kind


@pytest.mark.parametrize(
    "text",
    [
        "a badge for the ambassador",
        "bid on it",  # one letter differs
        "abad",  # inside a word
        "b. a. d.",  # separated by more than one character: ordinary initials
        "b4",  # leet only inside words with letters... and this is not the term
        "바복",  # 바보's jamo are a prefix of 바복's: not the word
        "as" + "a" * 200,  # a stretched run past any believable length
    ],
)
def test_near_misses_stay_clean(engine: RuleEngine, text: str) -> None:
    assert hits(engine, text, "ko" if "바" in text else "en") == []


@pytest.mark.parametrize(
    "text",
    [
        "what an i\u0336diot",  # overlay stroke, no precomposed form
        "what an id\u0338iot",  # overlay solidus
        "what an i\u0301\u0316d\u0317iot",  # stacked above and below
        "what an i\u0301diot",  # a plain accent, as before
        "what an i\u20dddiot",  # enclosing circle (category Me)
    ],
)
def test_combining_marks_on_latin_letters_are_dropped(engine: RuleEngine, text: str) -> None:
    normalised = _normalise("en", text)  # NFC composes what it can: offsets are its own
    flags = [f for f in engine.check(normalised, "en") if f.category == "blocklist"]
    assert [normalised[f.start : f.end] for f in flags] == [normalised.removeprefix("what an ")]


def test_marks_of_other_scripts_are_kept() -> None:
    # Devanagari and Thai vowel signs are letters of their words, not decoration.
    assert MatchingView("a किताब").text == "a किताब"
    assert MatchingView("x \u0e01\u0e34\u0e19").text == "x \u0e01\u0e34\u0e19"
    # Nor does a mark right after a space or digit vanish.
    assert MatchingView("a \u0336b").text == "a \u0336b"


def test_a_run_shorter_than_the_terms_is_not_the_term() -> None:
    rules = load_settings().rules.model_dump()
    rules["blocklists"]["banned"]["terms"] = {"default": ["ass"]}
    engine = RuleEngine(load_settings(rules=rules))
    assert [f.rule_id for f in engine.check("as long as it works", "en")] == []
    assert [f.rule_id for f in engine.check("what an asss", "en")] == ["blocklist.banned"]


def test_the_view_maps_back_to_what_the_author_wrote() -> None:
    view = MatchingView("Ｂ.a.ⓓ 바보")
    assert view.text == "bad ㅂㅏㅂㅗ"
    assert view.original_span(0, 3) == (0, 5)
    assert view.original_span(4, 8) == (6, 8)
    assert view.splits_a_character(4, 7)  # ends inside 보


def test_half_width_jamo_in_an_english_comment() -> None:
    # The Korean adapter folds half-width jamo; in English text only the view does.
    view = MatchingView("such a \uffb2\uffc2\uffb2\uffcc")
    assert view.text.endswith("ㅂㅏㅂㅗ")


def test_spaced_letters_after_a_one_letter_word(engine: RuleEngine) -> None:
    assert hits(engine, "what a i d i o t") == ["i d i o t"]
    assert hits(engine, "I am a b.a.d one") == ["b.a.d"]


def _cjk_engine(mode: str) -> RuleEngine:
    rules = load_settings().rules.model_dump()
    rules["length"]["too_short"]["enabled"] = False
    rules["cjk_match"] = {"zh": mode, "ja": mode}
    rules["blocklists"]["banned"]["terms"] = {"zh": ["操"], "ja": ["ばか"]}
    return RuleEngine(load_settings(rules=rules))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("工作区中下列未跟踪的文件将会因为合并操作而被删除", "zh"),  # 操作: operation
        ("显示或操纵历史列表。", "zh"),  # 操纵: to manipulate
        ("削除またはリネームされたばかりのようです。", "ja"),  # ばかり: just, only
        ("体操の練習", "ja"),  # Han term's characters inside a Japanese word (by Sudachi)
    ],
)
def test_cjk_terms_do_not_match_inside_words(text: str, language: str) -> None:
    assert [f.rule_id for f in _cjk_engine("word").check(text, language)] == []


@pytest.mark.parametrize(
    ("text", "language", "found"),
    [
        ("操！这什么玩意", "zh", "操"),
        ("操你妈的", "zh", "操"),
        ("お前はばかだな", "ja", "ばか"),
        ("このばか！", "ja", "ばか"),
        ("lol 操 lol", "en", "操"),
    ],
)
def test_cjk_terms_match_as_words(text: str, language: str, found: str) -> None:
    [flag] = _cjk_engine("word").check(text, language)
    assert text[flag.start : flag.end] == found


def test_cjk_match_anywhere_keeps_the_old_behaviour() -> None:
    assert len(_cjk_engine("anywhere").check("合并操作", "zh")) == 1
