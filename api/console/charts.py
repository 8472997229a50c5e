"""The console's pictures, drawn server-side with matplotlib (Agg) as PNG data URIs.

Per language: a histogram of recent calibrated scores with the level thresholds across it;
decision shares over time from the stream entries' timestamps. It must not read Redis.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

from qualitygate.calibrate.extras import require_extra
from qualitygate.client import ResultEntry
from qualitygate.config import LevelThresholds
from qualitygate.verdicts import DECISIONS

COLOURS = {"approve": "#2e7d32", "review": "#f9a825", "reject": "#c62828"}
LEVEL_STYLE = {"excellent": "-", "good": "--", "fair": ":"}


def _pyplot() -> Any:
    require_extra("matplotlib").use("Agg", force=True)
    return require_extra("matplotlib.pyplot")


def _data_uri(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    _pyplot().close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(language: str, scores: Sequence[float], levels: LevelThresholds) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 2.6), dpi=90)
    axes.hist(scores, bins=20, range=(0, 1), color="#546e7a")
    for name, style in LEVEL_STYLE.items():
        axes.axvline(getattr(levels, name), color="black", linestyle=style, label=name)
    axes.set_xlim(0, 1)
    axes.set_xlabel("calibrated score")
    axes.set_ylabel("results")
    axes.set_title(f"{language}: {len(scores)} recent results")
    axes.legend(fontsize="x-small", loc="upper left")
    figure.tight_layout()
    return _data_uri(figure)


def decisions_over_time(language: str, entries: Sequence[ResultEntry], bins: int = 12) -> str:
    """Stacked shares of each decision per time bin (entry ids carry unix ms)."""
    plt = _pyplot()
    stamps = [int(entry.entry_id.split("-")[0]) / 1000 for entry in entries]
    start, end = min(stamps), max(stamps)
    width = (end - start) / bins or 1.0
    counts = [Counter() for _ in range(bins)]
    for stamp, entry in zip(stamps, entries, strict=True):
        counts[min(int((stamp - start) / width), bins - 1)][entry.result.decision] += 1
    figure, axes = plt.subplots(figsize=(5, 2.6), dpi=90)
    xs = [start + (i + 0.5) * width - end for i in range(bins)]  # seconds before the newest
    bottoms = [0.0] * bins
    for decision in DECISIONS:
        shares = [c[decision] / (sum(c.values()) or 1) for c in counts]
        axes.bar(xs, shares, width * 0.9, bottoms, color=COLOURS[decision], label=decision)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    axes.set_ylim(0, 1)
    axes.set_xlabel("seconds before the newest result")
    axes.set_ylabel("share")
    axes.set_title(f"{language}: decisions over time")
    axes.legend(fontsize="x-small", loc="lower left")
    figure.tight_layout()
    return _data_uri(figure)
