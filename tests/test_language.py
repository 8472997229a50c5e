"""Language detection: hint, then script, then the statistical detectors, and their config."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from qualitygate.config import DetectionSettings, load_settings
from qualitygate.detectors import LanguageDetector, Prediction, build_detector
from qualitygate.errors import ConfigError
from qualitygate.langcode import primary_subtag
from qualitygate.language import (
    LanguageGuess,
    LanguageIdentifier,
    count_scripts,
    default_identifier,
    detect_language,
    sample_text,
)
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ModelInfo


@dataclass
class FixedDetector:
    """A test double through the protocol: always the same ranking; counts its calls."""

    name: str
    ranking: list[Prediction]
    calls: list[str] = field(default_factory=list)

    def predict(self, text: str, k: int = 3) -> list[Prediction]:
        self.calls.append(text)
        return self.ranking[:k]


def identifier(
    detector: LanguageDetector, second: LanguageDetector | None = None, **changes: object
) -> LanguageIdentifier:
    options = load_settings().detection.model_dump() | changes
    return LanguageIdentifier(
        detector,
        max_chars=options["max_chars"],
        windows=options["windows"],
        min_letters=options["min_letters"],
        min_confidence=options["min_confidence"],
        cjk_min_share=options["cjk_min_share"],
        unsure_below=options["unsure_below"],
        second_opinion=second,
        second_opinion_weight=options["second_opinion_weight"],
        candidates=options["candidates"],
    )


@pytest.fixture(scope="module")
def settings() -> DetectionSettings:
    return load_settings().detection


# --- the hint -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "code"),
    [("zh-Hant-TW", "zh"), ("pt-BR", "pt"), ("pt_BR", "pt"), ("EN", "en"), (" ko-KR ", "ko")],
)
def test_a_hint_wins_reduced_to_its_primary_subtag(hint: str, code: str) -> None:
    guess = detect_language("이것은 한국어 문장입니다.", hint=hint)
    assert guess == LanguageGuess(code=code, confidence=1.0, method="hint")
    assert primary_subtag(hint) == code


def test_a_blank_hint_is_no_hint() -> None:
    assert detect_language("이것은 한국어 문장입니다.", hint="  ").method == "script"


# --- scripts decide ko, ja and zh -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("오늘 날씨가 정말 좋네요. 산책하러 갈까요?", "ko"),
        ("今日はとても良い天気ですね。", "ja"),
        ("東京都庁で会議を開きました", "ja"),  # Kanji-heavy, one run of Kana
        ("今天天气很好，我们去公园散步吧。", "zh"),
        ("今天天氣很好，我們去公園散步吧。", "zh"),
    ],
)
def test_scripts_decide_cjk(text: str, code: str) -> None:
    guess = detect_language(text)
    assert (guess.code, guess.method) == (code, "script")
    assert guess.confidence > 0.5


def test_korean_quoting_english_stays_korean() -> None:
    text = "이 제품은 정말 좋아요. 'The best purchase I ever made' 라고 말하고 싶네요."
    guess = detect_language(text)
    assert (guess.code, guess.method) == ("ko", "script")


def test_korean_with_hanja_stays_korean() -> None:
    assert detect_language("大韓民國 憲法 제1조 대한민국은 민주공화국이다.").code == "ko"


@pytest.mark.parametrize(
    "text",
    [
        "使用 --force 选项可以覆盖 config.yaml 中的设置",
        "register_output_processor：指针为空",
        "'git multi-pack-index expire' 失败",
        "SIGNAL 訊息：INTERFACE 標頭欄位使用了保留的值",
    ],
)
def test_technical_chinese_with_ascii_names_is_chinese(text: str) -> None:
    guess = detect_language(text)
    assert (guess.code, guess.method) == ("zh", "script")


def test_english_mentioning_a_chinese_word_stays_english() -> None:
    text = "In Mandarin the greeting 你好 is used all day, and people reply with the same words."
    assert detect_language(text).code == "en"


# --- what detection reads: the normalised text, sampled across it -----------------------

ENGLISH_MENU = (
    "Home  About us  Blog  Contact  Sign in  Search the documentation  Keyboard shortcuts  "
    "Press S to search, press ? to show this help, press Esc to hide it. "
)
KOREAN_BODY = "오늘 날씨가 정말 좋네요. 산책하러 갈까요? 공원에 가면 꽃이 많이 피었을 거예요. "


def test_a_sample_is_bounded_and_spread_across_the_text() -> None:
    text = "".join(f"<{index:04d}> " for index in range(2000))  # 14,000 characters
    sample = sample_text(text, max_chars=256, windows=4)
    assert len(sample) <= 256 + 3
    assert sample.startswith("<0000>") and sample.endswith("<1999>")
    seen = [int(number) for number in re.findall(r"<(\d{4})>", sample)]
    assert any(500 < n < 800 for n in seen) and any(1200 < n < 1500 for n in seen)


def test_short_text_is_read_whole_with_whitespace_collapsed_and_invisibles_gone() -> None:
    text = "\n     \n\n   Hello\u200b   there \n\n\t world  "
    assert sample_text(text, max_chars=256, windows=4) == "Hello there world"


def test_an_english_menu_on_top_does_not_decide_a_korean_page() -> None:
    # Extracted HTML: indentation and blank lines first, an English menu, then the page.
    text = "\n        \n" * 40 + ENGLISH_MENU + KOREAN_BODY * 12
    guess = detect_language(text)
    assert (guess.code, guess.method) == ("ko", "script")


def test_a_korean_head_does_not_decide_an_english_text() -> None:
    text = KOREAN_BODY + "This page is written in English from here on, every word of it. " * 20
    assert detect_language(text).code == "en"


# --- the language the page declares ---------------------------------------------------


def test_a_confident_detector_beats_a_declared_language() -> None:
    # The author picks the declaration, and with it the block list: it must not overrule
    # what the text clearly is.
    text = "The committee will present its report on the new budget next week."
    guess = detect_language(text, declared="fr-CA")
    assert (guess.code, guess.method) == ("en", "fasttext")
    assert guess.confidence >= load_settings().detection.unsure_below


def test_a_declared_language_decides_when_the_detector_is_unsure() -> None:
    unsure = FixedDetector("fixed", [Prediction("en", 0.3), Prediction("fr", 0.2)])
    guess = identifier(unsure)("Ok merci see you", None, "fr-CA")
    assert (guess.code, guess.method) == ("fr", "declared")
    assert 0.0 < guess.confidence < 1.0  # the author's claim, below a caller's hint
    sure = FixedDetector("fixed", [Prediction("en", 0.91)])
    assert identifier(sure)("Ok merci see you", None, "fr-CA").code == "en"


def test_the_callers_hint_beats_a_declared_language() -> None:
    guess = detect_language(KOREAN_BODY, hint="ja", declared="ko")
    assert (guess.code, guess.method) == ("ja", "hint")


def test_a_clear_script_majority_beats_a_declared_language() -> None:
    guess = detect_language(KOREAN_BODY, declared="en")  # a template's default lang="en"
    assert (guess.code, guess.method) == ("ko", "script")


def test_a_cjk_declaration_on_text_without_cjk_is_ignored() -> None:
    text = "The committee will present its report on the new budget next week."
    assert detect_language(text, declared="ko").code == "en"


@pytest.mark.parametrize("declared", ["ja-JP", "ko", "en", "zh-Hant"])
def test_han_alone_is_chinese_whatever_the_page_declares(declared: str) -> None:
    # A declared ja/ko used to win here, and zh block-list terms stopped applying.
    text = "你个傻逼你个傻逼"
    assert (detect_language(text, declared=declared).code) == "zh"
    assert detect_language(text, declared=declared).method == "script"


def test_cjk_text_under_the_script_share_is_decided_by_its_script() -> None:
    # A Korean page that is mostly English code: too little Hangul for the script rule,
    # and the detector unsure: the Hangul decides, not the declaration.
    text = "cargo build --release --target x86_64-unknown-linux-gnu " * 4 + "빌드 방법"
    assert detect_language(text, declared="ko").code == "ko"
    assert detect_language(text, declared="ja").code == "ko"
    assert detect_language(text, declared="en").code == "ko"


def test_a_declaration_outside_the_candidates_is_ignored() -> None:
    ident = identifier(build_detector("fasttext"), candidates=["en", "de"])
    text = "The committee will present its report on the new budget next week."
    assert ident(text, None, "fr").code == "en"
    unsure = identifier(FixedDetector("fixed", [Prediction("en", 0.3)]), candidates=["en", "de"])
    assert unsure(text, None, "fr").code != "fr"
    assert unsure(text, None, "de").code == "de"


def test_a_declaration_names_text_too_short_to_call() -> None:
    assert detect_language("👍👍", declared="ko").code == "ko"
    assert detect_language("👍👍").code == "und"


def test_count_scripts() -> None:
    counts = count_scripts("漢字とカナ and 한글")
    assert (counts.han, counts.kana, counts.hangul) == (2, 3, 2)
    assert counts.letters == 2 + 3 + 2 + 3


# --- the statistical path ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The committee will publish its report on the new budget next week.", "en"),
        ("Der Ausschuss wird seinen Bericht über den neuen Haushalt nächste Woche vorlegen.", "de"),
        ("Комитет опубликует свой доклад о новом бюджете на следующей неделе.", "ru"),
    ],
)
def test_other_languages_go_to_the_detector(
    settings: DetectionSettings, text: str, code: str
) -> None:
    guess = detect_language(text)
    assert guess.code == code
    assert guess.method.split("+")[0] == settings.detector
    assert settings.min_confidence <= guess.confidence <= 1.0


@pytest.mark.parametrize("name", ["fasttext", "langdetect"])
def test_each_detector_path_through_the_identifier(name: str) -> None:
    ident = identifier(build_detector(name))
    guess = ident("Le comité publiera son rapport sur le nouveau budget la semaine prochaine.")
    assert guess == LanguageGuess("fr", guess.confidence, name)


def test_langdetect_path_is_deterministic() -> None:
    ident = identifier(build_detector("langdetect"))
    text = "ok merci bien"
    assert len({ident(text) for _ in range(5)}) == 1


@pytest.mark.parametrize("text", ["", "   ", "12345 678", "😀🎉👍", "!!! ???", "ab", "42 €"])
def test_too_little_to_call_is_und_with_low_confidence(
    settings: DetectionSettings, text: str
) -> None:
    guess = detect_language(text)
    assert guess.code == "und"
    assert guess.confidence < settings.min_confidence


def test_an_unsure_detector_without_second_opinion_gives_und() -> None:
    unsure = FixedDetector("double", [Prediction("de", 0.05), Prediction("nl", 0.04)])
    guess = identifier(unsure, min_confidence=0.15)("Einige Wörter hier")
    assert guess == LanguageGuess("und", 0.05, "undetermined")


def test_a_confident_detector_is_not_second_guessed() -> None:
    first = FixedDetector("first", [Prediction("sv", 0.95)])
    second = FixedDetector("second", [Prediction("de", 0.99)])
    guess = identifier(first, second, unsure_below=0.5)("Ta bort markerat bokmärke")
    assert guess == LanguageGuess("sv", 0.95, "first")
    assert second.calls == []


def test_an_unsure_detector_gets_a_weighted_second_opinion() -> None:
    first = FixedDetector("first", [Prediction("de", 0.40), Prediction("sv", 0.35)])
    second = FixedDetector("second", [Prediction("sv", 0.90), Prediction("no", 0.10)])
    ident = identifier(first, second, unsure_below=0.5, second_opinion_weight=0.3)
    guess = ident("Städar bort tillfällig satsfil")
    # sv: 0.35 + 0.3 * 0.90 = 0.62 beats de: 0.40, scaled by 1 / 1.3.
    assert guess.code == "sv" and guess.method == "first+second"
    assert guess.confidence == pytest.approx(0.62 / 1.3, abs=1e-4)
    assert len(second.calls) == 1


def test_candidates_keep_the_best_expected_language() -> None:
    detector = FixedDetector("double", [Prediction("nds", 0.6), Prediction("nl", 0.3)])
    ident = identifier(detector, candidates=["nl", "en"], unsure_below=0.0)
    assert ident("GdkPixbufAnimation om weer te geven").code == "nl"


def test_cjk_text_an_unsure_detector_cannot_place_is_decided_by_script() -> None:
    detector = FixedDetector("double", [Prediction("en", 0.3)])
    ident = identifier(detector, cjk_min_share=0.9, unsure_below=0.5)
    assert ident("initialize_job_control: getpgrp 失败") == LanguageGuess(
        "zh", pytest.approx(2 / 29, abs=1e-3), "script"
    )


# --- configuration ----------------------------------------------------------------------


def test_detect_language_uses_the_configured_detection(settings: DetectionSettings) -> None:
    ident = default_identifier()
    assert ident.detector.name == settings.detector
    assert ident.max_chars == settings.max_chars
    expected_second = None if settings.second_opinion == "none" else settings.second_opinion
    assert getattr(ident.second_opinion, "name", None) == expected_second


def test_detection_is_part_of_the_config_version() -> None:
    base = load_settings()
    changed = load_settings(detection=base.detection.model_dump() | {"min_confidence": 0.42})
    assert changed.version != base.version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"detector": "cld3"}, "config.detection.detector"),
        ({"second_opinion": "fasttext", "detector": "fasttext"}, "second_opinion must be"),
        ({"candidates": ["zh-TW"]}, "not a lower-case ISO 639 code"),
        ({"min_confidence": 1.5}, "config.detection.min_confidence"),
        ({"cjk_min_share": 0}, "config.detection.cjk_min_share"),
        ({"colour": "blue"}, "config.detection.colour: unknown key"),
    ],
)
def test_bad_detection_config_names_the_field(change: dict[str, object], message: str) -> None:
    detection = load_settings().detection.model_dump() | change
    with pytest.raises(ConfigError, match=message):
        load_settings(detection=detection)


class _NoScorer:
    """The pipeline's scorer seam; these tests never reach scoring."""

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="none", revision="none")

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        raise AssertionError("not scored in these tests")


def test_the_gate_detects_with_its_own_settings() -> None:
    text = "Der Ausschuss wird seinen Bericht über den neuen Haushalt nächste Woche vorlegen."
    base = load_settings()
    strict = load_settings(detection=base.detection.model_dump() | {"min_letters": 1000})
    for settings, code in ((base, "de"), (strict, "und")):
        gate = QualityGate.from_settings(settings, scorer=_NoScorer())
        assert gate.prepare({"id": "1", "text": text}).language.code == code
