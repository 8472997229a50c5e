"""What the console shows, gathered through the client: recent results, labels, the live
config and its history, the workers' heartbeats, and the what-if of a fragment.

It must not draw or write HTML; a fragment that cannot apply is an error message, never a
failed page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from qualitygate.client import QualityGateClient, ResultEntry
from qualitygate.config import Settings
from qualitygate.errors import QualityGateError
from qualitygate.labels import labels_for
from qualitygate.live import candidate, check_fragment, overlay_settings
from qualitygate.whatif import LanguageDiff, regrade, summarise


@dataclass
class ConsoleData:
    settings: Settings  # the live settings (the files with the active overlay)
    active: str
    entries: list[ResultEntry]
    labels: dict[str, int]  # id -> 1 accepted / 0 rejected, the latest label of each
    history: list[dict[str, Any]]
    workers: dict[str, dict[str, Any]]
    whatif: dict[str, LanguageDiff] = field(default_factory=dict)
    whatif_version: str | None = None
    whatif_error: str | None = None


def gather(base: Settings, client: QualityGateClient, last: int) -> ConsoleData:
    active = client.config_version()
    overlay = active.overlay if active is not None else {}
    settings = overlay_settings(base, overlay)
    entries = client.recent_results(last)
    return ConsoleData(
        settings=settings,
        active=settings.version,
        entries=entries,
        labels=labels_for(client.labels, entries),
        history=client.config_history(20),
        workers=_workers(client),
    )


def _workers(client: QualityGateClient) -> dict[str, dict[str, Any]]:
    """Heartbeats (``Keys.workers``: node -> JSON), as written by each worker."""
    found: dict[str, dict[str, Any]] = {}
    for node, raw in client.redis.hgetall(client.keys.workers).items():
        try:
            beat = json.loads(raw)
        except ValueError:
            continue
        if isinstance(beat, dict):
            found[str(node)] = beat
    return found


def add_whatif(data: ConsoleData, base: Settings, client: QualityGateClient, text: str) -> None:
    """The pasted fragment replayed on the recent results, or the reason it cannot be."""
    try:
        fragment = check_fragment(yaml.safe_load(text), "fragment")
        active = client.config_version()
        _, proposed = candidate(base, active.overlay if active else {}, fragment)
    except yaml.YAMLError as exc:
        data.whatif_error = f"fragment: not valid YAML ({exc})"
        return
    except QualityGateError as exc:
        data.whatif_error = exc.message
        return
    results = [entry.result for entry in data.entries]
    data.whatif = summarise(regrade(results, data.settings, proposed, data.labels))
    data.whatif_version = proposed.version
