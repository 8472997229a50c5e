"""Turns an item's HTML or Markdown into the plain text that the rules and the model see.

A real parser does the work, never a regex over markup: lexbor (through selectolax) for
HTML, markdown-it for Markdown (CommonMark plus GitHub tables and strikethrough, rendered
to HTML, then the same). What a reader of the page reads is kept, and only that: script,
style, comments, other non-content elements and form controls (what a visitor would type
or pick, not what the author wrote) are dropped; an image's ``alt`` text stays, on its own
line, because it is what a screen reader reads; block elements, table rows, menu links
and adjacent links become separate lines or words, so a menu never reads as one
non-word; entities are decoded. The original markup is never sent to the model.

Extraction also reports the language the document declares (``<html lang>`` or ``<meta
http-equiv="content-language">`` of markup that starts as a page, Markdown front matter
``lang:``): a hint for language detection, which decides how much it counts (see
``qualitygate.language``). Front matter is only read, never removed: CommonMark reads a
leading ``---`` block as a rule and a heading, and a reader of the rendered page sees it,
so its text reaches the rules and the model like any other. It is not parsed as YAML
(deep flow collections cost seconds and the recursion limit): a line scan of at most
``MAX_FRONT_MATTER_CHARS`` characters finds a top-level ``lang:`` line.

The bound on hostile HTML: lexbor builds a full HTML5 tree, and nesting block elements
(``div``, ``ul``, ``section``, ...) costs it time quadratic in the depth (40,000 nested
``<div>`` take seconds), because each opening tag scans the stack of open elements. A
cheap linear pre-scan estimates the nesting depth from tag names (it decides only which
way to parse, it extracts nothing). Markup nested deeper than ``MAX_TREE_DEPTH`` is parsed
in pieces of at most ``CHUNK_TAGS`` tags each, cut at tag starts, so no one tree is deep
and the total stays linear in the input; text across a cut can lose its surroundings
(a script cut in half may leak some code as text), which only such pathological markup
pays for. The standard library's ``html.parser`` is no fallback: on Python < 3.13.4 it is
quadratic on unclosed comments and tags.

The bound on hostile Markdown: markdown-it is linear but, in pure Python, spends 10 to
60 µs on every line and 10 to 20 µs on every character that may open inline syntax
(``![`` 99,000 times takes 4 to 10 s, a list of 28,000 one-word items 1.6 s, against 0.1 s
for 200,000 characters of ordinary prose). A linear pre-scan counts lines and those
characters; a source that costs more than ``MAX_MARKDOWN_COST`` by that count is read as
plain text instead: every character kept, Markdown punctuation and any HTML in it included,
which only such pathological sources pay for (reading it as HTML would hide what a fenced
code block shows, a ``<textarea>`` in one for instance). A source nested past markdown-it's
``maxNesting`` is read the same way. Input size itself is bounded earlier, by
``limits.max_markup_bytes``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from markdown_it import MarkdownIt
from markdown_it.token import Token
from selectolax.lexbor import LexborHTMLParser, LexborNode

from qualitygate.errors import ExtractionError

# 1,000 nested block elements cost lexbor ~3 ms; ordinary pages nest a few dozen deep.
MAX_TREE_DEPTH = 1000
CHUNK_TAGS = 1000
# markdown-it's cost, in units of ~20 µs: a line (a list item costs up to ~60 µs) is 3,
# a character that may open inline syntax is 1. 30,000 units cost about 0.6 s at most
# on an idle core. Real documents have about one unit per ten characters (this README
# 0.08, Rust's release notes 0.11), so ordinary Markdown up to ~300,000 characters (more
# than limits.max_text_chars by default) goes through markdown-it.
MAX_MARKDOWN_COST = 30_000
_LINE_COST = 3
# Inline syntax, and the list markers that open a nested block each (``- - - x`` is a list
# in a list in a list: 99,000 of them took markdown-it 1.5 s at maxNesting 64).
_INLINE_SYNTAX = "[]!*_~`<|#&-+"
# Front matter is read for its ``lang`` only when it closes within this many characters.
MAX_FRONT_MATTER_CHARS = 4096
# A top-level ``lang:`` line of front matter (not indented: a nested key is not the page's).
_FRONT_MATTER_LANG = re.compile(r"lang[ \t]*:[ \t]*(.*)")

_DROPPED_TAGS = [
    *("script", "style", "noscript", "template", "head", "iframe", "object", "svg"),
    # Form controls: their text is what a visitor types or picks, not what the author wrote.
    *("textarea", "select", "option", "optgroup", "datalist", "button", "input"),
]
_BLOCK_TAGS = (
    "address,article,aside,blockquote,br,caption,dd,details,dialog,div,dl,dt,fieldset,"
    "figcaption,figure,footer,h1,h2,h3,h4,h5,h6,header,hgroup,hr,legend,li,main,menu,nav,"
    "ol,p,pre,section,summary,table,tr,ul"
)
# Everything extraction rearranges, found in one CSS query (each costs a walk of the tree
# and the compiling of its selector): blocks, alt text, table cells, links that touch.
_REARRANGED = f"{_BLOCK_TAGS},img[alt],td,th,a + a"
_MENUS = frozenset({"nav", "menu"})
# Elements that never deepen the tree: void ones, and those a sibling of the same kind
# closes implicitly (an unclosed <p> or <li> is not nesting).
_VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr")
_IMPLIED_END = ("p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot")
_NON_NESTING = frozenset([*_VOID, "param", "source", "track", *_IMPLIED_END])
# What may come before a page's first tag: whitespace, a BOM, comments (one pass, in C).
_PREAMBLE = re.compile(r"(?:[\s\ufeff]+|<!--.*?-->)*", re.DOTALL)
_DOCUMENT_START = re.compile(r"<(html|head)[\s>/]|<(html|head)$")
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
# A declared language is a BCP-47 tag (the ContentItem.language pattern), nothing else.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")

# markdown-it stops parsing blocks nested deeper than its maxNesting and drops the rest of
# the document without a word; a document that reaches it is read as plain text instead.
MAX_MARKDOWN_NESTING = 64

# No front-matter plugin: it would take a leading ``---`` block out of what is read.
_markdown = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_MARKDOWN_NESTING}).enable(
    ["table", "strikethrough"]
)


@dataclass(frozen=True)
class Extraction:
    """The text a reader reads, and the language tag the document declares, if any."""

    text: str
    declared_language: str | None = None


def declared_tag(value: object) -> str | None:
    """A declared language tag as written, if it is one (``ko``, ``zh-Hant-TW``)."""
    if not isinstance(value, str):
        return None
    tag = value.split(",")[0].strip()  # content-language may list several
    return tag if len(tag) <= 35 and _LANGUAGE_TAG.fullmatch(tag) else None


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document or fragment, with block elements on their own lines."""
    return extract_html(markup).text


def extract_html(markup: str) -> Extraction:
    """Text and declared language of an HTML document, parsed in bounded pieces if hostile."""
    if markup.count("<") <= MAX_TREE_DEPTH or _nesting_depth(markup) <= MAX_TREE_DEPTH:
        tree = LexborHTMLParser(markup)
        # First: extraction drops the head. Most CMS fragments declare nothing.
        declares = _mentions_lang(markup) and _starts_as_document(markup)
        declared = _html_language(tree) if declares else None
        return Extraction(_text_of(tree), declared)
    chunks = _chunks(markup)
    texts = [_tree_text(chunk) for chunk in chunks]
    declares = _starts_as_document(markup)
    declared = _html_language(LexborHTMLParser(chunks[0])) if declares else None
    return Extraction("\n".join(texts), declared)


def _starts_as_document(markup: str) -> bool:
    """Whether ``markup`` opens as a page (``<!doctype``, ``<html``, ``<head``), after
    whitespace, a BOM and comments: only a page's head declares its language. A fragment's
    stray ``<html lang>`` (lexbor moves its attributes onto the root wherever it stands)
    or ``<meta>`` declares nothing.
    """
    position = _PREAMBLE.match(markup).end()  # type: ignore[union-attr]
    head = markup[position : position + 9].lower()
    return head.startswith("<!doctype") or _DOCUMENT_START.match(head) is not None


def _nesting_depth(markup: str) -> int:
    """An estimate of the deepest element nesting, from start and end tags alone."""
    depth = deepest = 0
    for match in _TAG_START.finditer(markup):
        if match.group(2).lower() in _NON_NESTING:
            continue
        if match.group(1):
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _chunks(markup: str) -> list[str]:
    cuts = [match.start() for match in _TAG_START.finditer(markup)][CHUNK_TAGS::CHUNK_TAGS]
    bounds = [0, *cuts, len(markup)]
    return [markup[start:end] for start, end in pairwise(bounds) if start < end]


def _mentions_lang(markup: str) -> bool:
    """Whether ``lang=`` or ``content-language`` may be there (``in`` is 10x a regex)."""
    return "lang" in markup or "LANG" in markup or "Lang" in markup


def _html_language(tree: LexborHTMLParser) -> str | None:
    """``<html lang>``, else ``<meta http-equiv="content-language">``."""
    root = tree.root
    declared = declared_tag(root.attributes.get("lang")) if root is not None else None
    if declared is not None or tree.head is None:
        return declared
    for meta in tree.head.css("meta[http-equiv]"):
        if str(meta.attributes.get("http-equiv")).strip().lower() == "content-language":
            return declared_tag(meta.attributes.get("content"))
    return None


def _tree_text(markup: str) -> str:
    return _text_of(LexborHTMLParser(markup))


def _text_of(tree: LexborHTMLParser) -> str:
    tree.strip_tags(_DROPPED_TAGS)  # by tag name, natively: cheaper than one CSS query
    for node in tree.css(_REARRANGED):
        fix = _REARRANGE.get(node.tag)
        if fix is None:  # a block, the common case: inline, a call per node costs 1 µs
            node.insert_before("\n")
            node.insert_after("\n")
        else:
            fix(node)
    root = tree.body or tree.root
    return root.text(deep=True, separator="") if root is not None else ""


def _on_its_own_line(block: LexborNode) -> None:
    block.insert_before("\n")
    block.insert_after("\n")


def _alt_text(image: LexborNode) -> None:
    image.replace_with(f"\n{image.attributes.get('alt') or ''}\n")  # a text node


def _row(row: LexborNode) -> None:
    """A table row is a line; the indentation between its cells goes (they get tabs)."""
    for child in list(row.iter(include_text=True)):
        if child.tag == "-text" and not (child.text_content or "").strip():
            child.decompose()
    _on_its_own_line(row)


def _cell(cell: LexborNode) -> None:
    cell.insert_after("\t")


def _link_after_link(link: LexborNode) -> None:
    """``<a>Home</a><a>Blog</a>``: a line apart in a menu, a space apart elsewhere."""
    if link.prev is not None and link.prev.tag != "-text":  # nothing between the two
        in_menu = link.parent is not None and link.parent.tag in _MENUS
        link.insert_before("\n" if in_menu else " ")


_REARRANGE: dict[str, Callable[[LexborNode], None]] = {
    "img": _alt_text,
    "tr": _row,
    "td": _cell,
    "th": _cell,
    "a": _link_after_link,
}


def markdown_to_text(source: str) -> str:
    return extract_markdown(source).text


def extract_markdown(source: str) -> Extraction:
    """Text and front-matter ``lang`` of a Markdown document; plain text if hostile.

    Front matter stays in the text (it is read for ``lang`` only). A source too costly for
    markdown-it, or nested past its limit, is returned whole, every character kept.
    """
    declared = declared_tag(_front_matter_lang(source))
    if markdown_cost(source) <= MAX_MARKDOWN_COST:
        tokens = _markdown.parse(source)
        if not _reaches_nesting_limit(tokens):
            html = _markdown.renderer.render(tokens, _markdown.options, {})
            return Extraction(html_to_text(html), declared)
    return Extraction(source, declared)


def _reaches_nesting_limit(tokens: list[Token]) -> bool:
    """Whether a block opens where markdown-it stops descending (its content may be cut)."""
    deepest = MAX_MARKDOWN_NESTING - 1
    return any(token.nesting == 1 and token.level >= deepest for token in tokens)


def markdown_cost(source: str) -> int:
    """An upper estimate of markdown-it's time on ``source``, from a linear count."""
    return _LINE_COST * source.count("\n") + sum(map(source.count, _INLINE_SYNTAX))


def _front_matter_lang(source: str) -> str | None:
    """The value of front matter's top-level ``lang:`` line, if the document has one.

    Front matter opens the document with a ``---`` line and closes with another within
    ``MAX_FRONT_MATTER_CHARS``; the first ``lang:`` line between them counts.
    """
    if not source.startswith("---"):
        return None
    lines = source[: MAX_FRONT_MATTER_CHARS + 4].splitlines()
    if not lines or lines[0].rstrip() != "---":
        return None
    value = None
    for line in lines[1:]:
        if line.rstrip() in ("---", "..."):
            return value
        match = _FRONT_MATTER_LANG.fullmatch(line.rstrip())
        if match is not None and value is None:
            value = match.group(1).split(" #")[0].strip().strip("'\"")
    return None  # never closed within the bound: not front matter


def extract(text: str, content_format: str) -> Extraction:
    """Plain text and declared language of an item in ``plain``, ``html`` or ``markdown``."""
    if content_format == "plain":
        return Extraction(text)
    try:
        if content_format == "html":
            return extract_html(text)
        if content_format == "markdown":
            return extract_markdown(text)
    except (ValueError, RuntimeError) as exc:
        raise ExtractionError(f"format: the {content_format} could not be parsed ({exc})") from exc
    raise ExtractionError(f"format: unknown format '{content_format}'")


def extract_text(text: str, content_format: str) -> str:
    """Plain text of an item in ``plain``, ``html`` or ``markdown`` format."""
    return extract(text, content_format).text
