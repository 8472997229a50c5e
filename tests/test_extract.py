"""HTML and Markdown extraction: what is kept, what is dropped, and hostile markup."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from qualitygate.errors import ExtractionError
from qualitygate.extract import (
    MAX_TREE_DEPTH,
    _nesting_depth,
    _tree_text,
    extract_text,
    html_to_text,
    markdown_to_text,
)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_html_drops_script_style_comments_and_head() -> None:
    markup = (
        "<html><head><title>Tab title</title><style>p { color: red }</style></head>"
        "<body><p>Hello <b>world</b></p><script>alert('x')</script>"
        "<!-- a comment --><noscript>enable js</noscript><p>Bye</p></body></html>"
    )
    text = html_to_text(markup)
    assert words(text) == "Hello world Bye"


def test_html_block_elements_become_line_breaks() -> None:
    text = html_to_text("<h1>Title</h1><p>One</p><ul><li>a</li><li>b</li></ul>x<br>y")
    assert [line for line in text.split("\n") if line] == ["Title", "One", "a", "b", "x", "y"]


def test_html_entities_are_decoded() -> None:
    assert words(html_to_text("<p>Fish &amp; chips &lt;3 &#xD55C;&#44544; &nbsp;ok</p>")) == (
        "Fish & chips <3 한글 ok"
    )


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>unclosed <b>bold <i>both", "unclosed bold both"),
        ("<div><p>stray</div></p></span>end", "stray end"),
        ("<<>>text<", "<<>>text<"),
        ("<p attr='never closed>gone", ""),
    ],
)
def test_malformed_html_is_tolerated(markup: str, expected: str) -> None:
    assert words(html_to_text(markup)) == expected


def test_markdown_goes_through_a_real_parser() -> None:
    source = "# Title\n\nSome **bold** and a [link](https://example.com).\n\n- one\n- two\n"
    lines = [line for line in markdown_to_text(source).split("\n") if line]
    assert lines == ["Title", "Some bold and a link.", "one", "two"]


def test_markdown_inline_html_script_is_dropped() -> None:
    assert "alert" not in markdown_to_text("hello\n\n<script>alert(1)</script>\n\nworld")


def test_plain_is_untouched_and_unknown_format_is_an_error() -> None:
    assert extract_text("<b>not markup</b>", "plain") == "<b>not markup</b>"
    with pytest.raises(ExtractionError, match="format"):
        extract_text("x", "rtf")


@pytest.mark.parametrize(
    "hostile",
    [
        "<div>" * 40_000,
        "<ul>" * 50_000,
        "<div>x" * 33_333,
        "<section><p>" * 16_666,
        "<!--" * 50_000,
        "<a " * 66_666,
    ],
    ids=["div", "ul", "div-text", "section-p", "comments", "open-tags"],
)
def test_hostile_markup_of_200k_chars_finishes(hostile: str) -> None:
    # Timing lives in bench/; the pytest-timeout guard only catches a hang. What is
    # asserted is that the text survives.
    text = html_to_text(hostile[:200_000])
    assert isinstance(text, str)
    if "x" in hostile:
        assert text.count("x") == hostile[:200_000].count("x")


def test_deep_nesting_takes_the_chunked_path_and_keeps_the_text() -> None:
    markup = "<div>" * (MAX_TREE_DEPTH * 3) + "deep text" + "</div>" * (MAX_TREE_DEPTH * 3)
    assert _nesting_depth(markup) == MAX_TREE_DEPTH * 3
    assert words(html_to_text(markup)) == "deep text"


def test_unclosed_paragraphs_are_not_counted_as_nesting() -> None:
    markup = "<p>para" * (MAX_TREE_DEPTH * 2)
    assert _nesting_depth(markup) == 0
    assert words(html_to_text(markup)) == words(_tree_text(markup))


def test_ordinary_page_is_parsed_as_one_tree() -> None:
    block = "<div><h2>Title</h2><p>Some <b>bold</b> text.</p><script>x='<p>'</script></div>"
    page = "<body>" + block * 500 + "</body>"
    assert _nesting_depth(page) < MAX_TREE_DEPTH
    assert words(html_to_text(page)) == " ".join(["Title Some bold text."] * 500)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    markup=st.lists(
        st.one_of(
            st.sampled_from(["<div>", "</div>", "<p>", "<!--", "-->", "<script>", "&amp", "<"]),
            st.text(max_size=5),
        ),
        max_size=30,
    ).map("".join)
)
def test_any_markup_gives_text_without_raising(markup: str) -> None:
    assert isinstance(html_to_text(markup), str)
    assert isinstance(markdown_to_text(markup), str)


@pytest.mark.parametrize("hostile", ["[" * 20_000, "*a" * 10_000, "> " * 10_000, "- " * 10_000])
def test_hostile_markdown_finishes(hostile: str) -> None:
    assert isinstance(markdown_to_text(hostile), str)
