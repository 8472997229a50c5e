"""bench/intake.py still measures what it claims: every example source's variants pass the
check and map to a new item each (no timings asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import intake
from tests.support.webhooks import SAMPLES, SECRETS


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_variant_is_a_new_item_that_passes_the_check(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in SECRETS.items():  # restored afterwards
        monkeypatch.setenv(variable, value)
    settings = intake.namespaced_settings(intake.examples_config(tmp_path), "qgbench-smoke")
    numbers = intake.check_and_map(settings, name, 3)
    assert numbers["per_s"] > 0 and numbers["p99_ms"] >= numbers["p50_ms"] > 0
    assert intake.variant(name, 1) != intake.variant(name, 2)
