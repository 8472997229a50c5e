"""Language codes: the one rule that reduces a BCP-47 tag to the primary subtag.

Adapters, calibrations, recommendations and detectors are all keyed by primary subtag
(``zh-TW``, ``zh_cn`` and ``zh-Hant`` are ``zh``). This module owns that rule; it must stay
a pure string function (no detection, no config).
"""

from __future__ import annotations


def primary_subtag(code: str) -> str:
    """``zh-TW``/``zh_cn``/`` ZH `` -> ``zh``: the language, without region or script."""
    return code.strip().replace("_", "-").split("-")[0].lower()
