"""HTML and Markdown extraction: what is kept, what is dropped, and hostile markup."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from qualitygate.errors import ExtractionError
from qualitygate.extract import (
    MAX_TREE_DEPTH,
    Extraction,
    _nesting_depth,
    _tree_text,
    extract,
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


# --- a page as a reader reads it ------------------------------------------------------


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def test_form_controls_are_not_content() -> None:
    markup = (
        "<form><label>Your city</label><textarea>draft a visitor typed</textarea>"
        "<select><optgroup label='KR'><option>Seoul</option><option>Busan</option></optgroup>"
        "</select><input value='secret'><button>Submit</button><datalist><option>x1</option>"
        "</datalist></form><p>Body</p>"
    )
    assert lines(html_to_text(markup)) == ["Your city", "Body"]


def test_image_alt_text_is_kept_on_its_own_line() -> None:
    text = html_to_text('<p>See<img src="a.png" alt="a cat on a mat">here<img src="b.png"></p>')
    assert lines(text) == ["See", "a cat on a mat", "here"]


def test_alt_text_is_data_not_markup() -> None:
    text = html_to_text('<p><img alt="<script>alert(1)</script> &amp; <b>bold</b>"></p>')
    assert lines(text) == ["<script>alert(1)</script> & <b>bold</b>"]


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (
            '<nav><a href="/">Home</a><a href="/b">Blog</a><a href="/c">Contact</a></nav>',
            ["Home", "Blog", "Contact"],
        ),
        ("<div class=menu><a>Home</a><a>Blog</a></div>", ["Home Blog"]),
        ("<details><summary>More</summary>Hidden text</details>", ["More", "Hidden text"]),
        (
            "<table><caption>Prices</caption><tr><th>Item</th><th>Cost</th></tr>"
            "<tr><td>Tea</td><td>3</td></tr></table>",
            ["Prices", "Item\tCost", "Tea\t3"],
        ),
        ("<ul><li>one</li><li>two</li></ul>", ["one", "two"]),
        ("<fieldset><legend>Choose</legend>plan</fieldset>", ["Choose", "plan"]),
    ],
    ids=["nav-links", "adjacent-links", "details", "table", "list", "fieldset"],
)
def test_adjacent_block_ish_items_do_not_glue(markup: str, expected: list[str]) -> None:
    assert lines(html_to_text(markup)) == expected


def test_links_inside_a_sentence_keep_the_sentence() -> None:
    text = html_to_text("<p>Read <a>our blog</a>, then <a>write</a> to us.</p>")
    assert lines(text) == ["Read our blog, then write to us."]


@pytest.mark.parametrize(
    ("markup", "declared"),
    [
        ('<html lang="ko"><body><p>x</p></body></html>', "ko"),
        ('<HTML LANG="zh-Hant-TW"><p>x</p>', "zh-Hant-TW"),
        ('<head><meta http-equiv="Content-Language" content="ja, en"></head><p>x</p>', "ja"),
        ('<html lang="not a tag!"><p>x</p>', None),
        ("<p>x</p>", None),
        ('\ufeff \n<!-- built by a CMS -->\n<!DOCTYPE html><html lang="de"><p>x</p>', "de"),
        ('<!-- a --><!-- b --><html lang="de"><p>x</p>', "de"),
        # A fragment's stray <html lang> (lexbor moves it onto the root) declares nothing.
        ('<p>you idiot</p><html lang="de">', None),
        ('<p>x</p><!doctype html><html lang="de">', None),
        ('<!-- unclosed <html lang="de">', None),
        ('<meta http-equiv="content-language" content="de"><p>x</p>', None),
    ],
)
def test_html_declared_language(markup: str, declared: str | None) -> None:
    assert extract(markup, "html").declared_language == declared


def test_markdown_front_matter_is_read_for_its_lang_and_kept_in_the_text() -> None:
    source = "---\ntitle: Guide\nlang: ko-KR\n---\n# 안내\n\n본문입니다.\n"
    extraction = extract(source, "markdown")
    assert extraction.declared_language == "ko-KR"
    assert lines(extraction.text) == ["title: Guide", "lang: ko-KR", "안내", "본문입니다."]


def test_a_leading_dashed_block_is_not_hidden_from_the_gate() -> None:
    # CommonMark reads it as a rule and a heading, and so does a reader of the page: what
    # front matter would hold reaches the rules and the model.
    source = "---\nBUY CHEAP PILLS at http://spam.example idiot\n---\nThanks, great article."
    extraction = extract(source, "markdown")
    assert lines(extraction.text) == [
        "BUY CHEAP PILLS at http://spam.example idiot",
        "Thanks, great article.",
    ]
    assert extraction.declared_language is None
    hostile = source + "\n" + "*a" * 40_000  # the bounded path keeps it too
    assert "BUY CHEAP PILLS" in markdown_to_text(hostile)


@pytest.mark.parametrize(
    ("source", "declared"),
    [
        ("---\nlang: 'fr-CA' # the page's\n---\nbody", "fr-CA"),
        ('---\ntitle: x\nlang: "ja"\n...\nbody', "ja"),
        ("---\nmeta:\n  lang: de\n---\nbody", None),  # nested: not the page's language
        ("---\nlang: de\nbody without a closing line", None),
        ("---\ntitle: " + "x" * 5000 + "\nlang: de\n---\nbody", None),  # past the bound
        ("\n---\nlang: de\n---\nbody", None),  # front matter opens the document
    ],
)
def test_front_matter_lang_is_a_top_level_line(source: str, declared: str | None) -> None:
    extraction = extract(source, "markdown")
    assert extraction.declared_language == declared
    assert "body" in extraction.text


@pytest.mark.parametrize(
    "source",
    ["---\nlang: [unclosed\n---\nbody", "---\n- a list\n---\nbody", "---\nlang: 12\n---\nbody"],
)
def test_unreadable_front_matter_declares_nothing(source: str) -> None:
    extraction = extract(source, "markdown")
    assert extraction.declared_language is None and lines(extraction.text)[-1] == "body"


def test_deep_front_matter_is_neither_slow_nor_an_error() -> None:
    # A YAML parser spent 2.9 s on this, then failed the item on the recursion limit.
    source = "---\nlang: " + "[" * 3000 + "\n---\nhello"
    started = time.perf_counter()
    extraction = extract(source, "markdown")
    assert time.perf_counter() - started < 0.5
    assert extraction.declared_language is None
    assert "hello" in extraction.text and "[" * 3000 in extraction.text


def test_markdown_github_tables_and_strikethrough() -> None:
    source = "| Name | Price |\n|------|------:|\n| Tea | 3 |\n\nNow ~~cheap~~ affordable.\n"
    text = markdown_to_text(source)
    assert "|" not in text and "---" not in text and "~~" not in text
    assert lines(text) == ["Name\tPrice", "Tea\t3", "Now cheap affordable."]


def test_hostile_markdown_is_read_as_plain_text_without_markdown_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # markdown-it spends seconds on a bracket flood; the bounded path never calls it.
    class NoMarkdownIt:
        def parse(self, source: str) -> None:
            raise AssertionError("markdown-it called on hostile Markdown")

    monkeypatch.setattr("qualitygate.extract._markdown", NoMarkdownIt())
    flood = "![" * 99_000
    assert markdown_to_text(flood) == flood
    with_front_matter = "---\nlang: ja\n---\n" + "*a" * 99_000
    assert extract(with_front_matter, "markdown") == Extraction(with_front_matter, "ja")
    assert markdown_to_text("- item\n" * 28_572).count("- item") == 28_572


@pytest.mark.parametrize(
    "source",
    [
        # Padding pushes the cost over the bound; read as HTML, the code block's
        # <textarea> (a form control, dropped) hid its content.
        "```\n<textarea>BUY PILLS now</textarea>\n<script>BUY PILLS</script>\n```" + "\n" * 10_000,
        # Past markdown-it's nesting limit: the same.
        "> " * 70 + "<textarea>BUY PILLS now</textarea><!-- BUY PILLS -->",
    ],
    ids=["padded", "nested"],
)
def test_the_bounded_markdown_path_keeps_every_character(source: str) -> None:
    assert markdown_to_text(source) == source


def test_ordinary_markdown_still_goes_through_markdown_it() -> None:
    source = "# Title\n\n" + "Some **bold** and a [link](https://example.com).\n\n" * 2000
    assert "**" not in markdown_to_text(source) and "](" not in markdown_to_text(source)


@pytest.mark.parametrize(
    "source",
    [
        "> " * 30 + "hidden term",
        "- " * 40 + "hidden term",
        "> " * 10 + "- " * 60 + "hidden term\n\nafter the block",
        "1. " * 70 + "hidden term",
    ],
)
def test_markdown_nested_past_the_parser_limit_keeps_its_text(source: str) -> None:
    # markdown-it drops a block nested past its maxNesting silently: a term hidden 30
    # quotes deep used to reach neither the rules nor the model.
    text = markdown_to_text(source)
    assert "hidden term" in text
    if "after the block" in source:
        assert "after the block" in text


def test_markdown_within_the_nesting_limit_is_still_parsed() -> None:
    text = markdown_to_text("> " * 12 + "*quoted* text")
    assert "quoted text" in text and ">" not in text and "*" not in text
