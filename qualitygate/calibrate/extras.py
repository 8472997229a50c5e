"""The ``calibrate`` extra (scikit-learn, matplotlib): imported only where it is needed, so
a worker or a core install never pays for it, and a missing one is named with the command
that installs it. It must not import either library at module level.
"""

from __future__ import annotations

import importlib
from typing import Any

from qualitygate.calibrate.errors import MissingExtraError

INSTALL_HINT = "pip install 'qualitygate[calibrate]'"


def require_extra(module: str) -> Any:
    """Import a ``calibrate``-extra module, or explain how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"`qualitygate calibrate` needs {module.split('.')[0]}, which is not installed: "
            f"{INSTALL_HINT}"
        ) from None


def require_extras(plot: bool) -> None:
    """Check, before any work, that a run (and its plot, when asked) can finish."""
    for module in ("sklearn", *(["matplotlib"] if plot else [])):
        require_extra(module)
