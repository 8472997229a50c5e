"""qualitygate/client.py before anything reaches Redis: items that cannot be sent are
refused with an error that names the item, never a bare RecursionError."""

from __future__ import annotations

from typing import Any

import pytest

from qualitygate.client import QualityGateClient
from qualitygate.config import Settings
from qualitygate.errors import InvalidItemError
from tests.support.workers import TEST_REDIS_URL


def nested(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture
def client(settings: Settings) -> Any:
    with QualityGateClient(TEST_REDIS_URL, settings=settings) as client:
        yield client


@pytest.mark.parametrize("depth", [900, 5000])
def test_deep_metadata_is_a_validation_error(client: QualityGateClient, depth: int) -> None:
    item = {"id": "deep", "text": "hi", "metadata": nested(depth)}
    with pytest.raises(InvalidItemError, match=r"^items\[1\]: metadata: nested deeper than 32"):
        client.submit([{"id": "ok", "text": "hi"}, item])


def test_unvalidated_items_that_json_cannot_carry_are_refused_too(
    client: QualityGateClient,
) -> None:
    item = {"id": "deep", "text": "hi", "metadata": nested(5000)}
    with pytest.raises(InvalidItemError, match=r"^items\[0\]: cannot be sent as JSON"):
        client.submit([item], validate=False)
