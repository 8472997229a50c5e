"""``qualitygate config apply | history | rollback | diff``: the live config, for operators.

The bodies of those commands: read a fragment, check it (``qualitygate.live``), store a
version through a ``ConfigStore`` (the client, handed in by ``qualitygate.cli``, which
alone opens Redis), print what happened; ``diff`` replays recent results under the
candidate (``qualitygate.whatif``) and prints, or draws, what would change. Errors raise
QualityGateError with one line naming the field; the caller turns them into exit status 2.
It must not import the client, Redis or Celery.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qualitygate.cli_io import say
from qualitygate.config import Settings
from qualitygate.errors import ConfigError
from qualitygate.labels import LabelRecord, labels_for
from qualitygate.live import (
    ConfigVersion,
    candidate,
    check_fragment,
    live_part,
    new_version,
    overlay_settings,
    resolve_version,
)
from qualitygate.verdicts import DECISIONS
from qualitygate.whatif import LanguageDiff, regrade, summarise


class ConfigStore(Protocol):
    """What these commands need of Redis (``QualityGateClient`` provides it)."""

    def config_version(self, version: str | None = None) -> ConfigVersion | None: ...
    def config_version_ids(self) -> list[str]: ...
    def activate_config(self, record: ConfigVersion, event: Mapping[str, Any]) -> None: ...
    def config_history(self, last: int = 50) -> list[dict[str, Any]]: ...
    def recent_results(self, last: int) -> list[Any]: ...  # ResultEntry: (entry_id, result)
    def labels(self, since: float | None = None) -> list[LabelRecord]: ...


def read_fragment(path: Path) -> dict[str, Any]:
    """A YAML fragment of config sections; ConfigError naming the file when it is not."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"fragment {path}: cannot be read ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"fragment {path}: not valid YAML ({exc})") from None
    return check_fragment(data, f"fragment {path}")


def live_settings(store: ConfigStore, base: Settings) -> tuple[dict[str, Any], Settings]:
    """The active overlay and the settings it makes of ``base`` (the files alone if none)."""
    active = store.config_version()
    overlay = active.overlay if active is not None else {}
    return overlay, overlay_settings(base, overlay)


def _event(record: ConfigVersion, previous: str | None, sections: list[str]) -> dict[str, Any]:
    return {
        "version": record.version,
        "previous": previous,
        "who": record.who,
        "at": record.at,
        "action": record.action,
        "sections": sections,
    }


def apply(store: ConfigStore, base: Settings, fragment_path: Path, who: str) -> ConfigVersion:
    """Validate the fragment over the live config and make it the active version."""
    fragment = read_fragment(fragment_path)
    active = store.config_version()
    overlay, settings = candidate(base, active.overlay if active else {}, fragment)
    if active is None:  # remember the config files' own version, so it can be rolled back to
        files = new_version(base, {}, {}, "config files", "files")
        store.activate_config(files, _event(files, None, []))
    previous = active.version if active else base.version
    fragment = live_part(fragment)
    record = new_version(settings, overlay, fragment, who, "apply")
    store.activate_config(record, _event(record, previous, sorted(fragment)))
    return record


def rollback(store: ConfigStore, base: Settings, wanted: str, who: str) -> ConfigVersion:
    """Make a stored version (named in full or by a unique prefix) the active one."""
    version = resolve_version(wanted, store.config_version_ids())
    stored = store.config_version(version)
    if stored is None:
        raise ConfigError(f"version: {version} vanished from the store; see config history")
    overlay_settings(base, stored.overlay)  # still valid over today's files, or ConfigError
    active = store.config_version()
    record = stored.model_copy(update={"who": who, "at": time.time(), "action": "rollback"})
    store.activate_config(record, _event(record, active.version if active else None, []))
    return stored


def print_history(store: ConfigStore, console: Console, last: int) -> None:
    active = store.config_version()
    table = Table(title="config history (newest first)")
    for column in ("when (UTC)", "version", "action", "who", "sections", "previous"):
        table.add_column(column, overflow="fold")
    for event in store.config_history(last):
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(event.get("at", 0))))
        version = str(event.get("version", ""))
        marker = " (active)" if active is not None and version == active.version else ""
        cells = (
            at,
            version + marker,
            str(event.get("action", "")),
            str(event.get("who", "")),
            ", ".join(str(s) for s in event.get("sections") or []),
            str(event.get("previous") or ""),
        )
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)


def diff(
    store: ConfigStore, base: Settings, fragment_path: Path, last: int
) -> tuple[Settings, Settings, dict[str, LanguageDiff]]:
    """The live settings, the candidate, and per language what the candidate changes on
    the last ``last`` results (labels joined by id, the latest label of each winning)."""
    fragment = read_fragment(fragment_path)
    overlay, current = live_settings(store, base)
    _, proposed = candidate(base, overlay, fragment)
    entries = store.recent_results(last)
    labels = labels_for(store.labels, entries)
    regraded = regrade([entry.result for entry in entries], current, proposed, labels)
    return current, proposed, summarise(regraded)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def diff_table(diffs: Mapping[str, LanguageDiff], current: Settings, proposed: Settings) -> Table:
    table = Table(title=f"config diff: {current.version} -> {proposed.version}")
    for column in ("language", "items", *DECISIONS, "changed", "precision", "recall"):
        table.add_column(column)
    for code, item in diffs.items():
        shares = [
            f"{_pct(item.share('before', d))} -> {_pct(item.share('after', d))}" for d in DECISIONS
        ]
        quality = [
            f"{_pct(getattr(item, m)('before'))} -> {_pct(getattr(item, m)('after'))}"
            + (f" ({len(item.labelled)} labels)" if m == "recall" and item.labelled else "")
            for m in ("precision", "recall")
        ]
        table.add_row(escape(code), str(item.items), *shares, str(item.changed), *quality)
    return table


def plot_diff(path: Path, diffs: Mapping[str, LanguageDiff]) -> None:
    """Decision shares before and after, per language, as stacked bars (PNG)."""
    from qualitygate.calibrate.extras import require_extra

    require_extra("matplotlib").use("Agg", force=True)
    plt = require_extra("matplotlib.pyplot")
    colours = {"approve": "#2e7d32", "review": "#f9a825", "reject": "#c62828"}
    names = [f"{code}\n{side}" for code in diffs for side in ("before", "after")]
    figure, axes = plt.subplots(figsize=(max(4, 1.2 * len(names)), 4), dpi=100)
    bottoms = [0.0] * len(names)
    for decision in DECISIONS:
        heights = [d.share(side, decision) for d in diffs.values() for side in ("before", "after")]
        axes.bar(names, heights, bottom=bottoms, color=colours[decision], label=decision)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axes.set_ylabel("share of results")
    axes.set_ylim(0, 1)
    axes.legend(loc="upper right", fontsize="small")
    axes.set_title("decisions before and after, per language")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def run_apply(store: ConfigStore, base: Settings, fragment: Path, who: str) -> None:
    record = apply(store, base, fragment, who)
    say(
        f"config version {record.version} is active ({', '.join(sorted(record.fragment))} "
        f"applied by {who}); every worker grades its next batch with it"
    )
    typer.echo(record.version)


def run_rollback(store: ConfigStore, base: Settings, wanted: str, who: str) -> None:
    record = rollback(store, base, wanted, who)
    say(f"config version {record.version} is active again (rolled back by {who})")
    typer.echo(record.version)


def run_diff(
    store: ConfigStore, base: Settings, fragment: Path, last: int, plot: Path | None
) -> None:
    current, proposed, diffs = diff(store, base, fragment, last)
    if not diffs:
        say(f"no graded results on {base.streams.results} to compare", "yellow", "note:")
        return
    Console(width=160).print(diff_table(diffs, current, proposed))
    say(
        "replayed: calibration, levels, decisions and rule actions; rule changes that need "
        "the text (new terms or patterns), prompts and detection show only once graded"
    )
    if plot is not None:
        plot_diff(plot, diffs)
        say(f"wrote {plot}")
