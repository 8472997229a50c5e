"""Which callback a result goes to: the one lookup from an item's origin to a name.

The HTTP API records who submitted an item (``Keys.origin``: ``key:NAME`` or
``source:NAME``). A ``source:NAME`` origin is resolved first through
``intake.sources.NAME.callback`` and a ``key:NAME`` origin through the ``callback`` of the
API key named NAME in ``api.keys``, where those settings exist and name one; then through
``delivery.routes``; then ``delivery.default_callback``. None means the result has no
callback (it is acknowledged and counted as skipped). It must not touch Redis or HTTP.
"""

from __future__ import annotations

from typing import Any

from qualitygate.config import Settings


def callback_for(settings: Settings, origin: str | None) -> str | None:
    """The callback name for a result submitted by ``origin`` (None: no origin record)."""
    if origin:
        kind, _, name = origin.partition(":")
        own = _declared_callback(settings, kind, name)
        if own:
            return own
        routed = settings.delivery.routes.get(origin)
        if routed:
            return routed
    return settings.delivery.default_callback or None


def _declared_callback(settings: Settings, kind: str, name: str) -> str | None:
    """The ``callback`` an intake source or an API key declares itself, when the settings
    have such sections (they come from other parts of the project) and it names one."""
    if kind == "source":
        sources = getattr(getattr(settings, "intake", None), "sources", None) or {}
        return _field(sources.get(name) if isinstance(sources, dict) else None, "callback")
    if kind == "key":
        keys = getattr(getattr(settings, "api", None), "keys", None) or []
        for key in keys:
            if _field(key, "name") == name:
                return _field(key, "callback")
    return None


def _field(section: Any, name: str) -> str | None:
    value = getattr(section, name, None)
    if value is None and isinstance(section, dict):
        value = section.get(name)
    return value if isinstance(value, str) and value else None
