"""The primary-subtag rule (qualitygate/langcode.py) that detectors, hints, adapters and
recommendations share."""

from __future__ import annotations

import pytest

from qualitygate.langcode import primary_subtag


@pytest.mark.parametrize(
    ("raw", "folded"), [("zh-cn", "zh"), ("zh-tw", "zh"), ("zh-Hant", "zh"), ("pt_BR", "pt")]
)
def test_fold_code(raw: str, folded: str) -> None:
    assert primary_subtag(raw) == folded


@pytest.mark.parametrize(("raw", "folded"), [(" KO-kr ", "ko"), ("ja", "ja"), ("EN_us", "en")])
def test_case_space_and_separator_do_not_matter(raw: str, folded: str) -> None:
    assert primary_subtag(raw) == folded
