"""Turns an item's HTML or Markdown into the plain text that the rules and the model see.

A real parser does the work, never a regex over markup: lexbor (through selectolax) for
HTML, markdown-it for Markdown (rendered to HTML, then the same). Script, style, comments
and other non-content elements are dropped, block elements become line breaks and
entities are decoded. The original markup is never sent to the model.

The bound on hostile markup: lexbor builds a full HTML5 tree, and nesting block elements
(``div``, ``ul``, ``section``, ...) costs it time quadratic in the depth (40,000 nested
``<div>`` take seconds), because each opening tag scans the stack of open elements. A
cheap linear pre-scan estimates the nesting depth from tag names (it decides only which
way to parse, it extracts nothing). Markup nested deeper than ``MAX_TREE_DEPTH`` is parsed
in pieces of at most ``CHUNK_TAGS`` tags each, cut at tag starts, so no one tree is deep
and the total stays linear in the input; text across a cut can lose its surroundings
(a script cut in half may leak some code as text), which only such pathological markup
pays for. The standard library's ``html.parser`` is no fallback: on Python < 3.13.4 it is
quadratic on unclosed comments and tags. Input size itself is bounded earlier, by
``limits.max_text_chars``; markdown-it is linear but slow on hostile input (~1 s for
100,000 characters of ``[``), and caps its own nesting.
"""

from __future__ import annotations

import re
from itertools import pairwise

from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from qualitygate.errors import ExtractionError

# 1,000 nested block elements cost lexbor ~3 ms; ordinary pages nest a few dozen deep.
MAX_TREE_DEPTH = 1000
CHUNK_TAGS = 1000

_DROPPED_TAGS = ["script", "style", "noscript", "template", "head", "iframe", "object", "svg"]
_BLOCK_SELECTOR = (
    "address,article,aside,blockquote,br,dd,div,dl,dt,figcaption,figure,footer,h1,h2,h3,"
    "h4,h5,h6,header,hr,li,main,nav,ol,p,pre,section,table,td,th,tr,ul"
)
# Elements that never deepen the tree: void ones, and those a sibling of the same kind
# closes implicitly (an unclosed <p> or <li> is not nesting).
_VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr")
_IMPLIED_END = ("p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot")
_NON_NESTING = frozenset([*_VOID, "param", "source", "track", *_IMPLIED_END])
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_markdown = MarkdownIt("commonmark", {"html": True})


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document or fragment, with block elements on their own lines."""
    if markup.count("<") <= MAX_TREE_DEPTH or _nesting_depth(markup) <= MAX_TREE_DEPTH:
        return _tree_text(markup)
    return "\n".join(_tree_text(chunk) for chunk in _chunks(markup))


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


def _tree_text(markup: str) -> str:
    tree = LexborHTMLParser(markup)
    tree.strip_tags(_DROPPED_TAGS)
    for node in tree.css(_BLOCK_SELECTOR):
        node.insert_before("\n")
        node.insert_after("\n")
    root = tree.body or tree.root
    return root.text(deep=True, separator="") if root is not None else ""


def markdown_to_text(source: str) -> str:
    return html_to_text(_markdown.render(source))


def extract_text(text: str, content_format: str) -> str:
    """Plain text of an item in ``plain``, ``html`` or ``markdown`` format."""
    if content_format == "plain":
        return text
    try:
        if content_format == "html":
            return html_to_text(text)
        if content_format == "markdown":
            return markdown_to_text(text)
    except (ValueError, RuntimeError) as exc:
        raise ExtractionError(f"format: the {content_format} could not be parsed ({exc})") from exc
    raise ExtractionError(f"format: unknown format '{content_format}'")
