"""A line's label: accept, reject, a level name, or none; anything else names the field."""

from __future__ import annotations

import pytest

from qualitygate.calibrate.samples import parse_label


@pytest.mark.parametrize(
    ("value", "expected"),
    [("accept", 1), ("Reject", 0), ("excellent", 1), ("good", 1), ("fair", 0), ("poor", 0)],
)
def test_labels_and_levels(value: str, expected: int) -> None:
    assert parse_label(value) == expected


def test_unknown_label_names_the_field() -> None:
    assert parse_label(None) is None
    with pytest.raises(ValueError, match="label: 'maybe'"):
        parse_label("maybe")
    with pytest.raises(ValueError, match="label"):
        parse_label(1)
