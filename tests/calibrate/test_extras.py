"""A missing optional dependency says how to install it."""

from __future__ import annotations

import pytest

from qualitygate.calibrate.errors import MissingExtraError
from qualitygate.calibrate.extras import require_extra


def test_a_missing_extra_says_how_to_install_it() -> None:
    with pytest.raises(MissingExtraError, match=r"pip install 'qualitygate\[calibrate\]'"):
        require_extra("qualitygate_no_such_module")
