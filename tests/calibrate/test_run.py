"""A whole run on the shipped example, scored by a model that agrees with its labels."""

from __future__ import annotations

import random

import pytest

from qualitygate.calibrate.run import run_calibration
from qualitygate.calibrate.samples import read_samples
from qualitygate.config import load_settings
from qualitygate.jsonl import iter_jsonl
from qualitygate.pipeline import QualityGate
from tests.support.calibration import SHIPPED

# the `calibrate` extra; CI installs it, a bare core install skips these
pytest.importorskip("sklearn")


class LabelAwareScorer:
    """A model that agrees with the shipped labels, noisily: what a fit reward model does."""

    def __init__(self, accepted: set[str]) -> None:
        from qualitygate.schemas import ModelInfo

        self.info = ModelInfo(name="label-aware", revision="0")
        self.accepted = accepted
        self.rng = random.Random(5)

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [
            (1.5 if content in self.accepted else -1.5) + self.rng.gauss(0, 1.0)
            for _, content in pairs
        ]


def test_the_shipped_example_fits_every_language_with_the_defaults() -> None:
    settings = load_settings()
    lines = list(iter_jsonl(SHIPPED.read_bytes()))
    gate = QualityGate.from_settings(settings, LabelAwareScorer(set()))
    accepted = {
        gate.prepare({k: v for k, v in line.items() if k != "label"}).text
        for _, line in lines
        if line["label"] == "accept"
    }
    gate = QualityGate.from_settings(settings, LabelAwareScorer(accepted))
    outcome = run_calibration(read_samples(lines, gate), settings, "auto")
    assert set(outcome.fits) == {"en", "ja", "ko", "zh"}
    for code, fit in outcome.fits.items():
        assert fit.method is not None, f"{code}: {fit.note}"
