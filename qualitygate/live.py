"""Live config: which sections may change while workers run, and what a version is.

An operator's fragment (``config apply FRAGMENT.yaml``) is merged over the live overlay
already active, and the overlay over each process's own config files gives the settings it
grades with; the version is that merged config's ``Settings.version``, the hash results
carry. Only ``LIVE_SECTIONS`` may change live; every other section (the loaded model,
Celery's settings, the connection, the key names every client shares, the size limits,
and what ``serve`` and ``deliver`` read at start: api, delivery, intake) is refused when
it changes, naming the section and why. Pure: it must not
read or write Redis (the client stores versions, the worker reads them) nor print.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from qualitygate.config import Settings, format_validation_error, merge_layer
from qualitygate.errors import ConfigError

# What a grade means, changed between two batches; the model stays loaded. Only these
# may be applied live: every other section is refused (a whitelist, so a new section is
# refused until someone decides it can change live).
LIVE_SECTIONS = (
    "prompts",
    "levels",
    "decisions",
    "languages",
    "recommendations",
    "rules",
    "detection",
    "calibration_fit",
)
RESTART_SECTIONS = {
    "model": "each worker loads the model once, at start; restart the workers",
    "worker": "Celery reads batch sizes, time limits and ports once, at start; restart the workers",
    "redis": "every process connects once, at start; restart them",
    "streams": "stream and key names are shared with every client and worker; restart them",
    "limits": "the worker's main process and the HTTP API check message sizes from it at start"
    "; restart them",
    "api": "qualitygate serve reads keys, rate limits and bounds once, at start; restart serve",
    "delivery": "qualitygate deliver reads callbacks and their secrets once, at start; "
    "restart deliver",
    "intake": "qualitygate serve reads the webhook sources once, at start; restart serve",
    "guard": "each worker loads the guard model once, at start; restart the workers",
}
_NOT_LIVE = "only the sections " + ", ".join(LIVE_SECTIONS) + " can change live"


class ConfigVersion(BaseModel):
    """One stored version: the overlay over the config files, and how it came about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    overlay: dict[str, Any]
    fragment: dict[str, Any]
    who: str
    at: float
    action: str  # apply, rollback or files (the config files alone, before any apply)


class _MergedSettings(Settings):
    """Settings validated from one merged mapping alone: the files and the environment are
    already in it, and a second pass over them would merge a calibration key by key."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *_: PydanticBaseSettingsSource,
        **__: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def check_fragment(fragment: Any, source: str = "fragment") -> dict[str, Any]:
    """The fragment as a mapping of known live sections; ConfigError names what is not."""
    if fragment is None:
        return {}
    if not isinstance(fragment, Mapping):
        raise ConfigError(f"{source}: expected a mapping of config sections at the top")
    known = set(Settings.model_fields)
    for section in fragment:
        if section not in known:
            raise ConfigError(f"{source}: {section}: unknown section")
    return dict(fragment)


def overlay_settings(base: Settings, overlay: Mapping[str, Any]) -> Settings:
    """``base`` with ``overlay`` merged over it, validated; ConfigError names the field."""
    if not overlay:
        return base
    merged = merge_layer(base.model_dump(mode="json"), dict(overlay))
    try:
        return _MergedSettings(**merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, prefix="config")) from None


def refuse_restart_sections(before: Settings, after: Settings) -> None:
    """ConfigError naming the first section outside ``LIVE_SECTIONS`` that changed."""
    for section in Settings.model_fields:
        if section in LIVE_SECTIONS or getattr(before, section) == getattr(after, section):
            continue
        why = RESTART_SECTIONS.get(section, _NOT_LIVE)
        raise ConfigError(
            f"{section}: cannot change live ({why}); change it in the config file instead"
        )


def candidate(
    base: Settings, active_overlay: Mapping[str, Any], fragment: Mapping[str, Any]
) -> tuple[dict[str, Any], Settings]:
    """The overlay and settings ``fragment`` would make live, or ConfigError.

    The fragment is merged over the active overlay, so successive applies add up (a levels
    change then a calibration change keeps both).
    """
    current = overlay_settings(base, active_overlay)
    refuse_restart_sections(
        current, overlay_settings(base, merge_layer(dict(active_overlay), dict(fragment)))
    )
    overlay = merge_layer(dict(active_overlay), live_part(fragment))
    return overlay, overlay_settings(base, overlay)


def live_part(fragment: Mapping[str, Any]) -> dict[str, Any]:
    """The fragment's live sections alone (the others ``candidate`` has found unchanged):
    nothing else is ever stored, so a pasted full config keeps no Redis URL, API key hash
    or callback secret in Redis."""
    return {section: value for section, value in fragment.items() if section in LIVE_SECTIONS}


def new_version(
    settings: Settings,
    overlay: Mapping[str, Any],
    fragment: Mapping[str, Any],
    who: str,
    action: str,
    now: float | None = None,
) -> ConfigVersion:
    return ConfigVersion(
        version=settings.version,
        overlay=dict(overlay),
        fragment=dict(fragment),
        who=who,
        at=time.time() if now is None else now,
        action=action,
    )


def resolve_version(wanted: str, known: Iterable[str]) -> str:
    """The stored version ``wanted`` names, in full or by a unique prefix; ConfigError."""
    wanted = wanted.strip()
    known = list(known)
    if wanted in known:
        return wanted
    matches = [version for version in known if wanted and version.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"version: {wanted!r} is not a stored version (see config history)")
    raise ConfigError(
        f"version: {wanted!r} is a prefix of {len(matches)} versions ({', '.join(sorted(matches))})"
        "; give more characters"
    )
