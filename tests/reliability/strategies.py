"""Hypothesis strategies for hostile content: what an attacker or a broken CMS sends."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: Planted in every field but the id: no error message may ever contain it.
SENTINEL = "SNTNL7q"

NASTY = [
    "\x00",
    "a\x00b\x00",
    "\ud800",  # lone surrogates, high and low
    "x\udfffy",
    "\u202eevil\u202c right-to-left override",
    "\u200b\u200c\u200d\ufeff",
    "e" + "\u0301" * 5000,  # a combining-mark flood
    "\U0001f600" * 1000,
    "<script>alert(1)</script>",
    "<" * 3000,
    "<div>" * 2000,
    "\r\n" * 500,
    "％ｓ%s{0}{text}",
]

hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(categories=["Cs", "Cc", "Cf", "Mn", "Zs"]), max_size=200),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY), max_size=4).map("".join),
).map(lambda text: f"{text}{SENTINEL}{text}")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

FIELDS = ["text", "title", "prompt", "format", "language", "content_type", "metadata"]


def _field_value(name: str) -> st.SearchStrategy[Any]:
    if name == "format":
        return st.sampled_from(["plain", "html", "markdown"]) | json_values
    if name == "language":
        return st.sampled_from(["en", "ko", "ja", "zh", None]) | json_values
    return hostile_text | json_values


items = st.one_of(
    st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=40).filter(lambda s: SENTINEL not in s)},
        optional={name: _field_value(name) for name in FIELDS},
    ),
    st.fixed_dictionaries({}, optional={name: _field_value(name) for name in ["id", *FIELDS]}),
    json_values,
)
