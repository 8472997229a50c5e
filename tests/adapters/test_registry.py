"""Adapter registration (adapters/registry.py): the built-ins and a third party's, through
entry points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from adapters.default import DefaultAdapter
from adapters.ja import JapaneseAdapter
from adapters.ko import KoreanAdapter
from adapters.registry import ENTRY_POINT_GROUP, adapter_class_for, adapter_classes
from adapters.zh import ChineseAdapter
from qualitygate.config import Settings
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import ContentItem, ModelInfo

# --- registration -----------------------------------------------------------------------


def test_builtin_adapters_are_registered_through_entry_points() -> None:
    classes = adapter_classes()
    assert {name: classes[name] for name in ("default", "ko", "ja", "zh")} == {
        "default": DefaultAdapter,
        "ko": KoreanAdapter,
        "ja": JapaneseAdapter,
        "zh": ChineseAdapter,
    }
    assert adapter_class_for("xx") is DefaultAdapter


class _ConstantScorer:
    info = ModelInfo(name="constant", revision="test", test_model=True)

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [0.0 for _ in pairs]


@pytest.fixture
def third_party_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A distribution that declares a ``qualitygate.adapters`` entry point, on sys.path only."""
    module = tmp_path / "qg_klingon.py"
    module.write_text(
        textwrap.dedent(
            """
            from adapters.default import DefaultAdapter

            class KlingonAdapter(DefaultAdapter):
                language = "tlh"

                def preprocess(self, text):
                    return super().preprocess(text).upper()
            """
        )
    )
    dist_info = tmp_path / "qg_klingon-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: qg-klingon\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntlh = qg_klingon:KlingonAdapter\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    adapter_classes.cache_clear()
    yield "tlh"
    monkeypatch.delitem(sys.modules, "qg_klingon", raising=False)
    adapter_classes.cache_clear()


def test_a_third_party_package_adds_a_language(
    third_party_adapter: str, settings: Settings
) -> None:
    assert adapter_class_for(third_party_adapter).__name__ == "KlingonAdapter"
    gate = QualityGate(settings, _ConstantScorer())
    adapter = gate.adapter_for(third_party_adapter)
    assert adapter.preprocess("nuqneH  ｐａｔａｈ") == "NUQNEH PATAH"
    item = ContentItem(id="1", text="Qapla'", language=third_party_adapter)
    prepared = gate.prepare(item)
    assert prepared.text == "QAPLA'"
