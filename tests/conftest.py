"""Shared fixtures: the tiny test model (built once per session) and settings that use it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.testmodel import make_test_model

# Tests never touch the database a developer's or CMS's Redis uses by default.
TEST_REDIS_DB = int(os.environ.get("QG_TEST_REDIS_DB", "15"))
TEST_REDIS_URL = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"


@pytest.fixture(scope="session")
def test_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_model(tmp_path_factory.mktemp("test-model"))


@pytest.fixture(scope="session")
def settings(test_model_dir: Path) -> Settings:
    """Defaults, with the model pointed at the tiny test model."""
    defaults = load_settings()
    return load_settings(model=defaults.model.model_dump() | {"name": str(test_model_dir)})
