"""The pipeline with rules wired in: extract -> preprocess -> rules -> score -> grade."""

from __future__ import annotations

from typing import Any

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ContentItem, ModelInfo


class HighScorer:
    """Every text is excellent to this scorer, so any reject comes from the rules."""

    info = ModelInfo(name="high", revision="test", test_model=True)

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        self.seen.extend(pairs)
        return [10.0 for _ in pairs]


@pytest.fixture(scope="module")
def settings() -> Settings:
    rules: dict[str, Any] = load_settings().rules.model_dump()
    rules["blocklists"]["banned"]["terms"] = {"default": ["scam"], "ko": ["사기꾼"]}
    return load_settings(rules=rules)


def test_a_reject_rule_still_gives_a_full_result_with_advice_in_the_language(
    settings: Settings,
) -> None:
    gate = QualityGate(settings, HighScorer())
    text = "이 판매자는 사\u200b기\u200b꾼 입니다. 연락처 010-1234-5678 으로 문의하세요."
    [result] = gate.grade([ContentItem(id="k1", text=text, language="ko")])
    assert result.status == "graded"
    assert result.level == "excellent"
    assert result.decision == "reject"
    assert {flag.rule_id for flag in result.flags} == {"blocklist.banned", "pii.phone"}
    advice = settings.recommendations.rules
    assert result.recommendations[:2] == [*advice["blocklist"]["ko"], *advice["pii"]["ko"]]
    assert result.recommendations[2:] == settings.recommendations.levels["excellent"]["ko"]


def test_html_is_extracted_and_normalised_before_rules_and_model(settings: Settings) -> None:
    scorer = HighScorer()
    gate = QualityGate(settings, scorer)
    markup = "<p>Ｓｃａｍ alert</p><script>var scam = 1</script><!-- scam -->"
    [result] = gate.grade([ContentItem(id="h1", text=markup, format="html", language="en")])
    assert scorer.seen[0][1] == "Scam alert"
    [flag] = result.flags
    assert (flag.rule_id, flag.start, flag.end) == ("blocklist.banned", 0, 4)
    assert result.decision == "reject"


def test_clean_content_is_approved_without_rule_advice(settings: Settings) -> None:
    gate = QualityGate(settings, HighScorer())
    [result] = gate.grade([ContentItem(id="c1", text="A thoughtful, clean review.", language="en")])
    assert result.flags == []
    assert result.decision == "approve"
    assert result.recommendations == settings.recommendations.levels["excellent"]["en"]


@pytest.mark.parametrize(
    ("item", "language", "term"),
    [
        (
            {"format": "html", "text": '<p>you are such an idiot, really</p><html lang="de">'},
            "en",
            "idiot",
        ),
        ({"format": "html", "text": '<p>你个傻逼</p><html lang="ja">'}, "zh", "傻逼"),
        (
            {"format": "html", "text": '<!doctype html><html lang="ja"><p>你个傻逼</p>'},
            "zh",
            "傻逼",
        ),
        (
            {"format": "html", "text": '<!doctype html><html lang="de"><p>you are an idiot</p>'},
            "en",
            "idiot",
        ),
        ({"format": "markdown", "text": "---\nlang: ja\n---\n你个傻逼"}, "zh", "傻逼"),
        (
            {"format": "markdown", "text": "---\nlang: fr\n---\nYou are such an idiot, really."},
            "en",
            "idiot",
        ),
    ],
    ids=["html-fragment-de", "html-fragment-ja", "page-ja", "page-de", "md-ja", "md-fr"],
)
def test_a_declared_language_does_not_escape_the_block_list(
    item: dict[str, str], language: str, term: str
) -> None:
    # The author writes the declaration: it must not choose which block list applies.
    rules: dict[str, Any] = load_settings().rules.model_dump()
    rules["blocklists"]["banned"]["terms"] = {"en": ["idiot"], "zh": ["傻逼"]}
    gate = QualityGate(load_settings(rules=rules), HighScorer())
    [result] = gate.grade([{"id": "1", **item}])
    assert result.language == language
    [hit] = [flag for flag in result.flags if flag.rule_id == "blocklist.banned"]
    assert hit.end - hit.start == len(term)
    assert result.decision == "reject"
