"""Finds adapter classes by language code through the ``qualitygate.adapters`` entry points.

Built-in adapters are registered the same way as third-party ones (in pyproject.toml), so
adding a language is installing a package that declares an entry point, nothing more.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "qualitygate.adapters"


class UnknownAdapterError(LookupError):
    """No adapter is registered for a language and there is no default to fall back to."""


@cache
def adapter_classes() -> dict[str, type]:
    """Language code -> adapter class, from every installed distribution."""
    found: dict[str, type] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found[entry_point.name] = entry_point.load()
    if "default" not in found:
        raise UnknownAdapterError(
            f"no 'default' adapter in entry-point group {ENTRY_POINT_GROUP}; "
            "reinstall qualitygate (pip install -e .)"
        )
    return found


def adapter_class_for(language: str) -> type:
    """The adapter class for a language code, or the default adapter's."""
    classes = adapter_classes()
    return classes.get(language, classes["default"])
