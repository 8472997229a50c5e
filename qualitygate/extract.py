"""Turns an item's HTML or Markdown into the plain text that the rules and the model see.

A real parser does the work (lexbor through selectolax for HTML, markdown-it for
Markdown), never a regex over markup. Script, style and comments are dropped, block
elements become line breaks and entities are decoded. The original markup is never sent
to the model.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from qualitygate.errors import ExtractionError

_DROPPED_TAGS = ["script", "style", "noscript", "template", "head", "iframe", "object", "svg"]
_BLOCK_SELECTOR = (
    "address,article,aside,blockquote,br,dd,div,dl,dt,figcaption,figure,footer,h1,h2,h3,"
    "h4,h5,h6,header,hr,li,main,nav,ol,p,pre,section,table,td,th,tr,ul"
)
_markdown = MarkdownIt("commonmark", {"html": True})


def html_to_text(markup: str) -> str:
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
