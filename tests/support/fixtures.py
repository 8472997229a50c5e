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


@pytest.fixture(scope="session")
def guard_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny guards (``generative``, ``classifier``) and ``forced_violent``: the
    generative one rewired to answer "Safety: Unsafe / Categories: Violent"."""
    from qualitygate.guard.testmodel import force_answer, make_guard_test_models

    root = make_guard_test_models(tmp_path_factory.mktemp("guard-models"))
    force_answer(root / "generative", root / "forced_violent", FORCED_ANSWER)
    return root


FORCED_ANSWER = "Safety: Unsafe\nCategories: Violent"


def guard_settings(settings: Settings, model_dir: Path, **guard: object) -> Settings:
    """``settings`` with the guard on, reading ``model_dir``; ``guard`` overrides fields."""
    section = settings.guard.model_dump()
    section["model"]["name"] = str(model_dir)
    section.update({"enabled": True, **guard})
    return load_settings(model=settings.model.model_dump(), guard=section)
