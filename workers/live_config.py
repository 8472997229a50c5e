"""The live config in a pool process: which version to grade the next batch with.

At the start of each batch the process reads the active version's name from Redis (one
GET); only when it changed does it read that version's overlay, merge it over the
process's own config files (``qualitygate.live``), and rebuild the gate's rules, adapters,
calibrators and grading around the model already loaded. It logs the version it switched
to and sets ``qualitygate_worker_config_info{version}``. A version it cannot use (invalid
over this worker's files, or changing a section that needs a restart) is logged and the
worker keeps grading with what it has: a bad apply never stops grading. A Redis error
reading the version's record is no refusal: the next batch reads it again. It must not
load a model, score, publish or acknowledge anything.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import redis

from qualitygate.config import Settings
from qualitygate.errors import QualityGateError
from qualitygate.live import ConfigVersion, overlay_settings, refuse_restart_sections
from qualitygate.protocol import Keys
from workers import metrics

if TYPE_CHECKING:  # the main process must not import torch
    from qualitygate.pipeline import QualityGate

logger = logging.getLogger("qualitygate.worker")


class LiveConfig:
    """Follows the active config version for one process; ``refresh`` before each batch."""

    def __init__(self, base: Settings, client: redis.Redis) -> None:
        self.base = base
        self.redis = client
        self.keys = Keys.from_settings(base)
        self.seen: str | None = None  # the active version name last read from Redis
        metrics.set_config_version(base.version)
        self.version = base.version

    def refresh(self, gate: QualityGate) -> QualityGate:
        """The gate for the next batch: ``gate`` itself while the version is unchanged."""
        try:
            active = self.redis.get(self.keys.config_active)
        except redis.RedisError as exc:
            logger.warning("cannot read the active config (%s); keeping %s", exc, self.version)
            return gate
        active = _text(active)
        if active == self.seen:
            return gate
        try:
            settings = self._settings_for(active)
        except redis.RedisError as exc:  # not seen yet: the next batch reads it again
            logger.warning(
                "cannot read config version %s (%s); keeping %s, reading it again next batch",
                active,
                type(exc).__name__,
                self.version,
            )
            return gate
        except (QualityGateError, ValueError) as exc:
            self.seen = active  # a refusal is logged once, not before every batch
            logger.error(
                "config version %s cannot be used here (%s); keeping %s",
                active,
                getattr(exc, "message", exc),
                self.version,
                extra={"config_version": self.version, "refused_version": active},
            )
            return gate
        self.seen = active
        if settings.version == gate.settings.version:
            return gate  # what grades mean is unchanged (calibration_fit only, or a re-apply)
        return self._switch(gate, settings, active)

    def _settings_for(self, active: str | None) -> Settings:
        return settings_for(self.base, self.redis, self.keys, active)

    def _switch(self, gate: QualityGate, settings: Settings, active: str | None) -> QualityGate:
        new_gate = gate.with_settings(settings)
        previous, self.version = self.version, settings.version
        metrics.set_config_version(settings.version, previous)
        if active is not None and active != settings.version:
            logger.warning(
                "config version %s grades as %s here: this worker's config files differ "
                "from the ones it was applied with",
                active,
                settings.version,
            )
        logger.info(
            "config version %s active (was %s), model kept",
            settings.version,
            previous,
            extra={"config_version": settings.version, "previous_version": previous},
        )
        return new_gate


def settings_for(base: Settings, client: redis.Redis, keys: Keys, active: str | None) -> Settings:
    """The settings version ``active`` means over this worker's own files (``base``);
    raises when it cannot be used here."""
    if active is None:
        return base
    raw = client.hget(keys.config_versions, active)
    if raw is None:
        raise ValueError(f"no record of version {active} in {keys.config_versions}")
    record = ConfigVersion.model_validate_json(raw)
    settings = overlay_settings(base, record.overlay)
    refuse_restart_sections(base, settings)
    return settings


class LiveVersion:
    """The version this worker grades its next batch with, for the main process's
    heartbeat: the pool processes follow the active version on their next batch, and this
    resolves it the same way (over the same files), so the heartbeat shows what the worker
    grades with, a refused version included, without the main process loading a gate."""

    def __init__(self, base: Settings, client: redis.Redis) -> None:
        self.base = base
        self.redis = client
        self.keys = Keys.from_settings(base)
        self.seen: str | None = None
        self.version = base.version

    def current(self) -> str:
        """The version now; a Redis error propagates (the heartbeat skips that beat)."""
        active = _text(self.redis.get(self.keys.config_active))
        if active != self.seen:
            # A version refused here is refused by the pool processes too (they log why):
            # the worker keeps grading with the version it had. A Redis error propagates
            # before ``seen`` is set, so the next beat reads the record again.
            with contextlib.suppress(QualityGateError, ValueError):
                self.version = settings_for(self.base, self.redis, self.keys, active).version
            self.seen = active
        return self.version


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
