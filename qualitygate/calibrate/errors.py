"""What goes wrong in a ``calibrate`` run, each error with a stable code and a message that
says why. Raising them is the other modules' business; this one only names them.
"""

from __future__ import annotations

from qualitygate.errors import QualityGateError


class CalibrationInputError(QualityGateError):
    """The content handed to ``calibrate`` cannot be fitted; the message says why."""

    code = "calibration_input_invalid"


class MissingExtraError(QualityGateError):
    """An optional dependency of ``calibrate`` is not installed; the message says how."""

    code = "missing_dependency"


class TargetError(CalibrationInputError):
    """A threshold target that cannot be parsed or met; the message says which and why."""
