"""The console's HTML: one page, no JavaScript, every value from Redis escaped.

It must not read Redis or draw: it lays out what ``data`` gathered and ``charts`` drew.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from html import escape
from typing import Any

from api.console import charts
from api.console.data import ConsoleData
from qualitygate.client import ResultEntry
from qualitygate.verdicts import DECISIONS
from qualitygate.whatif import LanguageDiff

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem}
section.language{display:inline-block;vertical-align:top;margin:0 1rem 1rem 0}
img.chart{display:block;border:1px solid #eee}textarea{width:40rem;height:8rem}
.error{color:#c62828}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _table(headers: list[str], rows: list[list[Any]], table_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{_e(table_id)}"><tr>{head}</tr>{body}</table>'


def agreement(entries: list[ResultEntry], labels: Mapping[str, int]) -> tuple[int, int, int]:
    """(agree, disagree, sent to review) of the gate's decisions with the moderators'."""
    counts: Counter[str] = Counter()
    for entry in entries:
        label, decision = labels.get(entry.result.id), entry.result.decision
        if label is None:
            continue
        if decision == "review":
            counts["review"] += 1
        else:
            counts["agree" if (decision == "approve") == (label == 1) else "disagree"] += 1
    return counts["agree"], counts["disagree"], counts["review"]


def _language(code: str, entries: list[ResultEntry], data: ConsoleData) -> str:
    scores = [e.result.score for e in entries if e.result.score is not None]
    decisions = Counter(e.result.decision for e in entries)
    agree, disagree, review = agreement(entries, data.labels)
    judged = agree + disagree
    rows = [[d, decisions[d], _pct(decisions[d] / len(entries))] for d in DECISIONS]
    rows.append(
        ["label agreement", f"{agree} of {judged}", _pct(agree / judged if judged else None)]
    )
    rows.append(["labelled, sent to review", review, ""])
    histogram = charts.score_histogram(code, scores, data.settings.levels)
    over_time = charts.decisions_over_time(code, entries)
    return (
        f'<section class="language" id="lang-{_e(code)}" data-results="{len(entries)}">'
        f"<h3>{_e(code)}</h3>"
        f'<img class="chart" alt="{_e(code)} score distribution" src="{histogram}">'
        f'<img class="chart" alt="{_e(code)} decisions over time" src="{over_time}">'
        + _table(["decision", "results", "share"], rows, f"numbers-{code}")
        + "</section>"
    )


def _history(data: ConsoleData) -> str:
    rows = [
        [
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(e.get("at", 0)))),
            e.get("version"),
            e.get("action"),
            e.get("who"),
            ", ".join(str(s) for s in e.get("sections") or []),
        ]
        for e in data.history
    ]
    return _table(["when (UTC)", "version", "action", "who", "sections"], rows, "history")


def _workers(data: ConsoleData) -> str:
    if not data.workers:
        return "<p>No worker heartbeats.</p>"
    now = time.time()
    rows = [
        [
            node,
            b.get("config_version"),
            f"{now - float(b.get('seen_at', 0)):.0f} s ago",
            b.get("pid"),
        ]
        for node, b in sorted(data.workers.items())
    ]
    return _table(["worker", "config version", "seen", "pid"], rows, "workers")


def _whatif(data: ConsoleData, text: str) -> str:
    form = (
        '<form method="get" action="console"><p>Paste a config fragment (YAML) to see what it '
        f'would change on these results:</p><textarea name="whatif">{_e(text)}</textarea>'
        '<p><button type="submit">What if?</button></p></form>'
    )
    if data.whatif_error:
        return form + f'<p class="error" id="whatif-error">{_e(data.whatif_error)}</p>'
    if not data.whatif:
        return form
    return form + f"<p>{_e(data.active)} &rarr; {_e(data.whatif_version)}</p>" + _diff(data.whatif)


def _diff(diffs: Mapping[str, LanguageDiff]) -> str:
    rows = []
    for code, d in diffs.items():
        shares = [f"{_pct(d.share('before', x))} → {_pct(d.share('after', x))}" for x in DECISIONS]
        quality = [
            f"{_pct(getattr(d, m)('before'))} → {_pct(getattr(d, m)('after'))}"
            for m in ("precision", "recall")
        ]
        rows.append([code, d.items, *shares, d.changed, len(d.labelled), *quality])
    headers = ["language", "items", *DECISIONS, "changed", "labels", "precision", "recall"]
    return _table(headers, rows, "whatif-table")


def render(data: ConsoleData, whatif_text: str) -> str:
    by_language: dict[str, list[ResultEntry]] = defaultdict(list)
    for entry in data.entries:
        if entry.result.status == "graded" and entry.result.score is not None:
            by_language[entry.result.language or "und"].append(entry)
    languages = "".join(_language(code, by_language[code], data) for code in sorted(by_language))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>qualitygate console</title>"
        f"<style>{STYLE}</style></head><body><h1>qualitygate console</h1>"
        f'<p>Active config version: <code id="active-version">{_e(data.active)}</code>; '
        f"{len(data.entries)} recent results, {len(data.labels)} labels.</p>"
        f"<h2>Workers</h2>{_workers(data)}"
        f"<h2>Recent results per language</h2>{languages or '<p>No graded results yet.</p>'}"
        f"<h2>What if</h2>{_whatif(data, whatif_text)}"
        f"<h2>Config history</h2>{_history(data)}</body></html>"
    )
