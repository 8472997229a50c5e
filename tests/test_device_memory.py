"""qualitygate/device_memory.py: the configured budget on the CPU, cut to free memory on
a GPU, and a clear error naming model.max_length when one item cannot fit."""

from __future__ import annotations

import pytest
import torch

from qualitygate.device_memory import HEADROOM, adapt_batch_tokens, fit_batch_tokens
from qualitygate.errors import ModelLoadError


def test_plenty_of_memory_keeps_the_configured_budget() -> None:
    assert fit_batch_tokens(16384, 4096, free_bytes=80 * 2**30, bytes_per_token=200_000) == 16384


def test_short_memory_cuts_the_budget_to_what_fits() -> None:
    budget = fit_batch_tokens(65536, 4096, free_bytes=2**30, bytes_per_token=100_000)
    assert 4096 <= budget < 65536
    assert budget * 100_000 <= 2**30 * HEADROOM
    assert budget % 64 == 0


def test_one_item_that_cannot_fit_is_an_error_naming_the_field() -> None:
    with pytest.raises(ModelLoadError, match=r"model\.max_length: one item of 16384 tokens"):
        fit_batch_tokens(32768, 16384, free_bytes=2**30, bytes_per_token=200_000)


def test_the_cpu_keeps_the_configured_value() -> None:
    model = torch.nn.Linear(2, 2)
    assert adapt_batch_tokens(model, torch.device("cpu"), 12345, 4096, pad_id=0) == 12345
