"""Fixtures for the calibrate package's tests: the default fitting options."""

from __future__ import annotations

import pytest

from qualitygate.config import CalibrationFitSettings, load_settings


@pytest.fixture(scope="module")
def options() -> CalibrationFitSettings:
    return load_settings().calibration_fit
