"""Moderation rules: hits and near-misses per rule, evasion, config, and hostile patterns."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from adapters.default import DefaultAdapter
from adapters.ko import KoreanAdapter
from qualitygate.config import Settings, load_settings
from qualitygate.errors import ConfigError
from qualitygate.pii import (
    cn_resident_id_valid,
    luhn_valid,
    my_number_valid,
    rrn_check_valid,
)
from qualitygate.rules import MAX_FLAGS_PER_RULE, RuleEngine
from qualitygate.schemas import Flag

RULE = {"enabled": True, "severity": "medium", "action": "review", "languages": []}


def settings_with(**rules: Any) -> Settings:
    """Defaults with parts of the ``rules`` section replaced."""
    base = load_settings().rules.model_dump()
    base["length"]["too_short"]["enabled"] = False  # the examples here are short on purpose
    return load_settings(rules=base | rules)


def blocklists(terms: dict[str, list[str]], **fields: Any) -> dict[str, Any]:
    return {"banned": RULE | {"severity": "high", "action": "reject", "terms": terms} | fields}


def _adapter_normalise(language: str, text: str) -> str:
    adapter = KoreanAdapter if language == "ko" else DefaultAdapter
    return adapter(float, {"max_repeat": 10}).preprocess(text)


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    settings = settings_with(
        blocklists=blocklists({"default": ["bad", "scam site"], "ko": ["바보"], "ja": ["ばか"]})
    )
    return RuleEngine(settings, normalise=_adapter_normalise)


def ids(flags: list[Flag]) -> list[str]:
    return [flag.rule_id for flag in flags]


def spans(flags: list[Flag], rule_id: str) -> list[tuple[int, int]]:
    return [(flag.start, flag.end) for flag in flags if flag.rule_id == rule_id]


# --- block lists ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["this is bad stuff", "this is BaD stuff", "this is b\u200bad stuff", "this is ｂａｄ stuff"],
    ids=["plain", "mixed-case", "zero-width", "full-width"],
)
def test_block_list_is_found_through_evasion(engine: RuleEngine, text: str) -> None:
    flags = engine.check(text, "en")
    assert ids(flags) == ["blocklist.banned"]
    (start, end) = spans(flags, "blocklist.banned")[0]
    assert text[start:end].replace("\u200b", "").casefold() in ("bad", "ｂａｄ")
    assert flags[0].action == "reject"
    assert flags[0].severity == "high"


def test_block_list_near_misses_are_not_flagged(engine: RuleEngine) -> None:
    assert engine.check("a badge for the ambassador", "en") == []
    assert engine.check("scam sites", "en") == []  # whole words at both ends
    assert ids(engine.check("a scam site here", "en")) == ["blocklist.banned"]


def test_block_list_is_per_language_plus_shared(engine: RuleEngine) -> None:
    assert ids(engine.check("너 바보야", "ko")) == ["blocklist.banned"]  # inside a word
    # A Korean term is Korean wherever it is written: in an English comment too.
    assert ids(engine.check("lol you are such a 바보 today", "en")) == ["blocklist.banned"]
    assert ids(engine.check("ばかだ", "ja")) == ["blocklist.banned"]
    assert ids(engine.check("this is bad", "ko")) == ["blocklist.banned"]  # shared
    assert ids(engine.check("this is bad", "fr")) == ["blocklist.banned"]


def test_thousands_of_terms_in_one_automaton() -> None:
    terms = [f"term{index:05d}" for index in range(5000)]
    engine = RuleEngine(settings_with(blocklists=blocklists({"default": terms})))
    flags = engine.check("clean text, then TERM04321 and term00007.", "en")
    assert spans(flags, "blocklist.banned") == [(17, 26), (31, 40)]


def test_a_languages_latin_terms_stay_in_that_language() -> None:
    engine = RuleEngine(settings_with(blocklists=blocklists({"ko": ["gaesaekki", "바보"]})))
    assert ids(engine.check("gaesaekki", "ko")) == ["blocklist.banned"]
    assert engine.check("gaesaekki", "en") == []
    assert ids(engine.check("such a 바보", "en")) == ["blocklist.banned"]


def test_chinese_terms_reach_other_languages_but_not_japanese() -> None:
    engine = RuleEngine(settings_with(blocklists=blocklists({"zh": ["傻逼"], "ja": ["ばか"]})))
    assert ids(engine.check("lol 傻逼 lol", "en")) == ["blocklist.banned"]
    assert engine.check("傻逼", "ja") == []  # Han alone in Japanese text is Japanese
    assert ids(engine.check("so ばか lol", "ko")) == ["blocklist.banned"]


def test_a_list_limited_to_some_languages(engine: RuleEngine) -> None:
    settings = settings_with(blocklists=blocklists({"default": ["spoiler"]}, languages=["en"]))
    limited = RuleEngine(settings)
    assert ids(limited.check("a spoiler", "en")) == ["blocklist.banned"]
    assert limited.check("a spoiler", "de") == []


# --- personal data ----------------------------------------------------------------------


def rrn_with_check(first_twelve: str) -> str:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(first_twelve, weights, strict=True))
    return first_twelve + str((11 - total % 11) % 10)


VALID_RRN = rrn_with_check("900101123456")
BAD_RRN = VALID_RRN[:12] + str((int(VALID_RRN[12]) + 1) % 10)


def test_check_digit_functions() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert rrn_check_valid(VALID_RRN)
    assert not rrn_check_valid(BAD_RRN)
    assert cn_resident_id_valid("11010519491231002X")
    assert not cn_resident_id_valid("110105194912310021")
    assert my_number_valid("123456789018")
    assert not my_number_valid("123456789010")


@pytest.mark.parametrize(
    ("text", "rule_id", "matched"),
    [
        ("write to jane.doe+cms@example.co.kr today", "pii.email", "jane.doe+cms@example.co.kr"),
        ("전화 010-1234-5678 로 주세요", "pii.phone", "010-1234-5678"),
        ("휴대폰01012345678입니다", "pii.phone", "01012345678"),
        ("서울 02-123-4567", "pii.phone", "02-123-4567"),
        ("東京 03-1234-5678 まで", "pii.phone", "03-1234-5678"),
        ("携帯 090-1234-5678", "pii.phone", "090-1234-5678"),
        ("手机 13812345678 联系", "pii.phone", "13812345678"),
        ("call +82 10 1234 5678 now", "pii.phone", "+82 10 1234 5678"),
        ("call (415) 555-0123 now", "pii.phone", "(415) 555-0123"),
        ("card 4111 1111 1111 1111 exp", "pii.payment_card", "4111 1111 1111 1111"),
        ("amex 3782-822463-10005", "pii.payment_card", "3782-822463-10005"),
        ("card 5555555555554444.", "pii.payment_card", "5555555555554444"),
        (
            f"주민번호 {VALID_RRN[:6]}-{VALID_RRN[6:]}",
            "pii.kr_rrn",
            f"{VALID_RRN[:6]}-{VALID_RRN[6:]}",
        ),
        (f"주민번호 {VALID_RRN}", "pii.kr_rrn", VALID_RRN),
        ("신생아 210315-4123450", "pii.kr_rrn", "210315-4123450"),  # post-2020, no check
        ("身份证 11010519491231002X", "pii.cn_resident_id", "11010519491231002X"),
        ("マイナンバー 1234 5678 9018", "pii.jp_my_number", "1234 5678 9018"),
    ],
)
def test_personal_data_hits(engine: RuleEngine, text: str, rule_id: str, matched: str) -> None:
    flags = [flag for flag in engine.check(text, "und") if flag.category == "pii"]
    assert [(flag.rule_id, text[flag.start : flag.end]) for flag in flags] == [(rule_id, matched)]


@pytest.mark.parametrize(
    "text",
    [
        f"주민번호 {BAD_RRN[:6]}-{BAD_RRN[6:]}",  # 13 digits, RRN check fails
        f"번호 {BAD_RRN}",
        "신생아 2103154123450",  # post-2020 date but no hyphen and no check digit
        "번호 901301-1234567",  # month 13
        "身份证 110105194912310021",  # wrong check character
        "card 4111 1111 1111 1112",  # Luhn fails
        "order 1234567890123",  # Luhn may pass by chance, but no card prefix
        "マイナンバー 1234 5678 9010",  # wrong check digit
        "order no. 20240512123456789",  # long numbers are not phone numbers
        "on 2024-05-12 at 10:30",
        "version 1.2.3, build 4567",
        "not an address: user@localhost",
        "tracking 9400-1234",
    ],
)
def test_personal_data_near_misses(engine: RuleEngine, text: str) -> None:
    assert [flag for flag in engine.check(text, "und") if flag.category == "pii"] == []


def test_a_valid_rrn_is_not_also_a_card_or_phone(engine: RuleEngine) -> None:
    flags = engine.check(f"주민번호 {VALID_RRN} 끝", "ko")
    assert ids(flags) == ["pii.kr_rrn"]


def test_pii_rule_can_be_disabled_and_takes_its_action_from_config() -> None:
    pii = load_settings().rules.pii.model_dump()
    pii["email"] = RULE | {"enabled": False}
    pii["phone"] = RULE | {"action": "reject", "severity": "high"}
    engine = RuleEngine(settings_with(pii=pii))
    flags = engine.check("a@example.com or 010-1234-5678", "en")
    assert [(f.rule_id, f.action, f.severity) for f in flags] == [("pii.phone", "reject", "high")]


# --- spam ---------------------------------------------------------------------------------


def test_repeated_character(engine: RuleEngine) -> None:
    assert ids(engine.check("wow!!!!!!!!!! great", "en")) == ["spam.repeated_char"]
    assert engine.check("wow!!!!!!!!! great", "en") == []  # 9, below min_run
    assert engine.check("price 10000000000 won", "en") == []  # digits are not spam


def test_repeated_token(engine: RuleEngine) -> None:
    text = "deal: buy BUY buy buy buy now"
    flags = engine.check(text, "en")
    assert ids(flags) == ["spam.repeated_token"]
    assert text[flags[0].start : flags[0].end] == "buy BUY buy buy buy"
    assert engine.check("buy buy buy buy, sell", "en") == []


def test_link_density(engine: RuleEngine) -> None:
    links = "https://a.example/x https://b.example/y www.c.example/z"
    assert ids(engine.check(f"see {links}", "en")) == ["spam.link_density"]
    prose = "A long paragraph about the topic with plenty of useful words in it. " * 5
    assert engine.check(prose + links, "en") == []
    assert engine.check("https://a.example/x https://b.example/y", "en") == []


# --- length -----------------------------------------------------------------------------


def test_length_limits() -> None:
    length = {
        "too_short": RULE | {"chars": 10, "action": "flag", "severity": "low"},
        "too_long": RULE | {"chars": 40},
    }
    engine = RuleEngine(settings_with(length=length))
    assert ids(engine.check("short", "en")) == ["length.too_short"]
    assert engine.check("just long enough", "en") == []
    flags = engine.check(" ".join(f"word{index}" for index in range(10)), "en")
    assert [(flag.rule_id, flag.action) for flag in flags] == [("length.too_long", "review")]


# --- operator patterns ------------------------------------------------------------------


def pattern(**fields: Any) -> dict[str, Any]:
    return RULE | {"id": "custom", "category": "spam", "pattern": "x"} | fields


def test_operator_pattern_hits() -> None:
    engine = RuleEngine(settings_with(patterns=[pattern(pattern=r"(?i)double your (btc|bitcoin)")]))
    flags = engine.check("Double your BTC today", "en")
    assert [(f.rule_id, f.category, f.start, f.end) for f in flags] == [
        ("pattern.custom", "spam", 0, 15)
    ]


@pytest.mark.timeout(20)
def test_redos_shaped_pattern_cannot_hang_the_worker() -> None:
    # (a+)+$ takes exponential time on a backtracking engine; RE2 is linear.
    engine = RuleEngine(settings_with(patterns=[pattern(pattern=r"(a+)+$", id="redos")]))
    hostile = "a" * 100_000 + "!"
    assert [f for f in engine.check(hostile, "en") if f.rule_id == "pattern.redos"] == []


@pytest.mark.parametrize("bad", [r"(a)\1", r"(?<=x)y", r"([a-z"])
def test_a_pattern_re2_cannot_compile_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"config\.rules\.patterns\.0\.pattern: .*RE2"):
        settings_with(patterns=[pattern(pattern=bad)])


# --- bounded output and advice --------------------------------------------------------------


def test_flags_per_rule_are_capped(engine: RuleEngine) -> None:
    text = " ".join(f"u{index}@example.com" for index in range(MAX_FLAGS_PER_RULE * 2))
    assert len(engine.check(text, "en")) == MAX_FLAGS_PER_RULE


def test_advice_is_in_the_content_language_and_specific_first(engine: RuleEngine) -> None:
    settings = load_settings()
    texts = settings.recommendations.rules
    short = Flag(
        rule_id="length.too_short", category="length", severity="low", action="flag", start=0, end=1
    )
    pii = Flag(rule_id="pii.email", category="pii", severity="low", action="flag", start=0, end=1)
    assert engine.advice([short, pii], "ko") == [
        *texts["length.too_short"]["ko"],
        *texts["pii"]["ko"],
    ]
    assert engine.advice([pii], "fr") == texts["pii"]["en"]
    assert engine.advice([pii, pii], "ja") == texts["pii"]["ja"]
    assert engine.advice([], "ja") == []


# --- properties -------------------------------------------------------------------------

_RULE_TEXT = st.lists(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(["bad", "ｂａｄ", "\u200b", "ß", "İ", "바보", " ", "010-1234-5678"]),
    ),
    max_size=40,
).map("".join)


@hypothesis_settings(max_examples=200, deadline=None)
@given(text=_RULE_TEXT)
def test_every_flag_points_inside_the_text(engine: RuleEngine, text: str) -> None:
    for flag in engine.check(text, "ko"):
        assert 0 <= flag.start < flag.end <= len(text)
        if flag.rule_id == "blocklist.banned":
            found = text[flag.start : flag.end]
            assert found[0] not in "\u200b" and found[-1] not in "\u200b"


def test_block_list_span_survives_casefold_expansion(engine: RuleEngine) -> None:
    text = "Straße ß\u200b BAD ß"
    [flag] = engine.check(text, "en")
    assert text[flag.start : flag.end] == "BAD"


@pytest.mark.parametrize(
    "text",
    [
        "Installation\n------------\nRun the script.",
        "Title\n==========\nBody text here.",
        "┌──────────────┐\n│ a box in docs │\n└──────────────┘",
        "Set the key to XXXXXXXXXXXXXXXX in the file.",
        "card number ****************",
        "Chapter 1 .................... 5",
        "________________ signature",
        "#############################",
    ],
    ids=[
        "dash-underline",
        "equals-underline",
        "box",
        "placeholder",
        "mask",
        "leader",
        "line",
        "hash",
    ],
)
def test_rules_underlines_and_placeholders_are_not_spam(engine: RuleEngine, text: str) -> None:
    assert [f for f in engine.check(text, "en") if f.rule_id == "spam.repeated_char"] == []


@pytest.mark.parametrize(
    "flood", ["!!!!!!!!!!!!", "??????????", "ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ", "😂😂😂😂😂😂😂😂😂😂"]
)
def test_character_floods_are_still_spam(engine: RuleEngine, flood: str) -> None:
    assert ids(engine.check(f"so good {flood} really", "ko")) == ["spam.repeated_char"]


def test_japanese_text_after_a_link_is_not_part_of_it(engine: RuleEngine) -> None:
    text = "詳細はhttps://a.example/x1をご覧https://b.example/y2と、www.c.example/z3です。"
    [flag] = [f for f in engine.check(text, "ja") if f.rule_id == "spam.link_density"]
    assert flag.detail is not None and flag.detail.startswith("3 links")
    assert text[flag.start : flag.end].endswith("www.c.example/z3")
