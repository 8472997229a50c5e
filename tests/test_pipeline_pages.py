"""Real pages through the gate: language of translated docs, and size limits on markup."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from qualitygate.config import load_settings
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ModelInfo

PAGES = Path(__file__).parent / "data" / "pages"


class ConstantScorer:
    info = ModelInfo(name="constant", revision="1")

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [0.0] * len(pairs)


@pytest.fixture(scope="module")
def gate() -> QualityGate:
    return QualityGate.from_settings(load_settings(), scorer=ConstantScorer())


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("rbe-ko-hello.html", "ko"),
        ("rbe-ko-types-cast.html", "ko"),
        ("rbe-ja-primitives.html", "ja"),
        ("rbe-ja-types-cast.html", "ja"),
        ("rbe-zh-error.html", "zh"),
    ],
)
def test_translated_pages_with_an_english_menu_get_their_language(
    gate: QualityGate, name: str, code: str
) -> None:
    page = (PAGES / name).read_text(encoding="utf-8")
    [result] = gate.grade([{"id": name, "text": page, "format": "html"}])
    assert result.status == "graded"
    assert result.language == code
    assert result.language_method in ("script", "declared")


@pytest.mark.parametrize("name", ["rbe-ko-hello.html", "rbe-ja-primitives.html"])
def test_pages_get_their_language_from_the_text_alone(gate: QualityGate, name: str) -> None:
    page = (PAGES / name).read_text(encoding="utf-8")
    without_lang = page.replace('<html lang="', '<html data-lang="', 1)
    [result] = gate.grade([{"id": name, "text": without_lang, "format": "html"}])
    assert result.language == name.split("-")[1]
    assert result.language_method == "script"


def test_the_declared_language_is_reported_as_what_decided(gate: QualityGate) -> None:
    # Text the detector is unsure of: the page's declaration decides, and says so.
    markup = "<html lang='de'><p>Termin ok?</p></html>"
    [result] = gate.grade([{"id": "1", "text": markup, "format": "html"}])
    assert (result.language, result.language_method) == ("de", "declared")
    source = "---\nlang: de\n---\nTermin ok?\n"
    [result] = gate.grade([{"id": "2", "text": source, "format": "markdown"}])
    assert (result.language, result.language_method) == ("de", "declared")
    [result] = gate.grade([{"id": "3", "text": source, "format": "markdown", "language": "en"}])
    assert (result.language, result.language_method) == ("en", "hint")


def test_a_declaration_does_not_overrule_text_the_detector_is_sure_of(gate: QualityGate) -> None:
    markup = "<html lang='de'><p>Ok, see you at the meeting then.</p></html>"
    [result] = gate.grade([{"id": "1", "text": markup, "format": "html"}])
    assert (result.language, result.language_method) == ("en", "fasttext")


def big_page(text_chars: int) -> str:
    """A page whose markup is most of it, like a real CMS theme's."""
    paragraph = "The committee will present its report on the new budget next week. " * 3
    chrome = (
        '<div class="col-md-8 offset-md-2 card shadow-sm border-0 rounded-3 my-4" '
        'data-track="section-body" data-analytics-id="article-paragraph" role="region">'
    )
    count = text_chars // len(paragraph) + 1
    body = "".join(f"{chrome}<p>{paragraph}</p></div>\n" for _ in range(count))
    return f"<!doctype html><html lang='en'><body>{body}</body></html>"


def test_a_page_with_less_text_than_the_limit_is_graded_whatever_its_markup(
    gate: QualityGate,
) -> None:
    limits = gate.settings.limits
    page = big_page(limits.max_text_chars * 2 // 3)
    assert len(page) > limits.max_text_chars  # refused on the raw length before
    [result] = gate.grade([{"id": "big", "text": page, "format": "html"}])
    assert result.status == "graded", result.error


def test_extracted_text_over_the_limit_is_refused_naming_it() -> None:
    base = load_settings()
    settings = load_settings(limits=base.limits.model_dump() | {"max_text_chars": 1000})
    gate = QualityGate(settings, ConstantScorer())
    [result] = gate.grade([{"id": "x", "text": big_page(1500), "format": "html"}])
    assert result.status == "error" and result.error is not None
    assert result.error.code == "invalid_item"
    assert "characters extracted" in result.error.message
    assert "limits.max_text_chars" in result.error.message


def test_raw_markup_over_its_byte_limit_is_refused_naming_it() -> None:
    base = load_settings()
    settings = load_settings(limits=base.limits.model_dump() | {"max_markup_bytes": 4000})
    gate = QualityGate(settings, ConstantScorer())
    markup = "<p>" + "한" * 1500 + "</p>"  # 1,507 characters, 4,507 bytes
    plain = "한" * 1500  # plain text is bounded by characters only
    results = gate.grade(
        [
            {"id": "html", "text": markup, "format": "html"},
            {"id": "md", "text": "한" * 1500, "format": "markdown"},
            {"id": "plain", "text": plain},
        ]
    )
    assert [r.status for r in results] == ["error", "error", "graded"]
    for result in results[:2]:
        assert result.error is not None
        assert "bytes of markup" in result.error.message
        assert "limits.max_markup_bytes" in result.error.message


def test_a_markdown_table_reaches_the_model_as_rows_not_rules(gate: QualityGate) -> None:
    source = (
        "# Prices\n\n| Item | Price | Notes |\n|------|------:|:------|\n"
        "| Tea | 3 | hot |\n| Cake | 5 | sweet |\n\nOld price ~~7~~.\n"
    )
    prepared = gate.prepare({"id": "t", "text": source, "format": "markdown"})
    assert "|" not in prepared.text and "---" not in prepared.text and "~~" not in prepared.text
    assert "Tea 3 hot" in prepared.text
    assert not [flag for flag in prepared.flags if flag.rule_id.startswith("spam.")]
