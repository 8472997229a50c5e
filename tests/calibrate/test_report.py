"""The YAML fragment a run writes holds only the languages it fitted."""

from __future__ import annotations

import pytest

from qualitygate.calibrate.fit import fit_language
from qualitygate.calibrate.report import fragment
from qualitygate.config import CalibrationFitSettings
from tests.support.calibration import DEFAULT, logistic_sample

# the `calibrate` extra; CI installs it, a bare core install skips these
pytest.importorskip("sklearn")


def test_fragment_holds_only_fitted_languages(options: CalibrationFitSettings) -> None:
    raw, labels = logistic_sample(0.0, 1.0, 200, 14)
    fits = {
        "ko": fit_language("ko", raw, labels, DEFAULT, options),
        "ja": fit_language("ja", raw[:5], labels[:5], DEFAULT, options),
    }
    data = fragment(fits)
    assert set(data["languages"]) == {"ko"}
    assert data["languages"]["ko"]["calibration"]["method"] in {"logistic", "table"}
