"""Session fixtures every test may ask for: the tiny test model (built once per session) and
settings that point at it. Registered as a plugin in ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from qualitygate.config import Settings, load_settings
from qualitygate.testmodel import make_test_model


@pytest.fixture(scope="session")
def test_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_model(tmp_path_factory.mktemp("test-model"))


@pytest.fixture(scope="session")
def settings(test_model_dir: Path) -> Settings:
    """Defaults, with the model pointed at the tiny test model."""
    defaults = load_settings()
    return load_settings(model=defaults.model.model_dump() | {"name": str(test_model_dir)})
