"""What ``qualitygate calibrate`` shows and writes: the fit table, the tuning, the confusion
tables and the YAML fragment.

Turns a run's outcome into rich tables for people and into YAML text that merges into a
config's ``languages`` (and ``levels``) sections. It must not fit, score or decide where
output goes: the caller hands in the console and writes the text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qualitygate.calibrate.confusion import Confusion, pooled
from qualitygate.calibrate.fit import LanguageFit
from qualitygate.calibrate.metrics import Metrics
from qualitygate.calibrate.run import CalibrationOutcome
from qualitygate.calibrate.thresholds import Tuning
from qualitygate.config import LevelThresholds
from qualitygate.verdicts import DECISIONS


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def _change(before: Metrics | None, after: Metrics | None, name: str) -> str:
    old = getattr(before, name) if before else None
    new = getattr(after, name) if after else None
    if old is None and new is None:
        return "-"
    return f"{_num(old)} → {_num(new)}"


def print_report(console: Console, outcome: CalibrationOutcome) -> None:
    """The fit table, the tuning (when targets were given) and the confusion tables."""
    console.print(fit_table(outcome.fits))
    if outcome.tuning is not None:
        for line in tuning_lines(outcome.tuning):
            console.print(escape(line), highlight=False)
    confusions = dict(outcome.confusions)
    if len(confusions) > 1:
        confusions["all"] = pooled(confusions)
    console.print(confusion_table(confusions, outcome.levels))


def fit_table(fits: Mapping[str, LanguageFit], title: str = "calibration by language") -> Table:
    table = Table(
        title=title,
        caption=(
            "AUC, Brier, ECE: current calibration → new fit, the fit measured out-of-fold "
            "(cross-fitted) unless marked in-sample; excellent/good labels count as accept, "
            "fair/poor as reject"
        ),
    )
    for column in ("lang", "items", "accept/reject", "fit", "AUC", "Brier", "ECE", "note"):
        table.add_column(column, overflow="fold")
    for code, fit in sorted(fits.items()):
        after = fit.after.get(fit.method or "")
        method = fit.method or "kept"
        if fit.after_in_sample and after is not None:
            method += " (in-sample)"
        table.add_row(
            escape(code),
            str(fit.count),
            f"{fit.accepts}/{fit.rejects}" if fit.labelled else "unlabelled",
            method,
            _change(fit.before, after, "auc"),
            _change(fit.before, after, "brier"),
            _change(fit.before, after, "ece"),
            escape(fit.note),
        )
    return table


def confusion_table(confusions: Mapping[str, Confusion], levels: LevelThresholds) -> Table:
    """One table for all languages: human label (rows) against the gate's decision."""
    table = Table(
        title=(
            "what these thresholds would have done (excellent "
            f"{levels.excellent:.3f}, good {levels.good:.3f}, fair {levels.fair:.3f})"
        ),
        caption="precision and recall are of 'approve' against the 'accept' label",
    )
    for column in ("lang", "label", *DECISIONS, "precision", "recall", "review share"):
        table.add_column(column, justify="left" if column in ("lang", "label") else "right")
    for code, matrix in confusions.items():
        rows = [(label, row) for label, row in matrix.counts.items() if any(row.values())]
        for index, (label, row) in enumerate(rows):
            first = index == 0
            table.add_row(
                escape(code) if first else "",
                label,
                *(str(row[decision]) for decision in DECISIONS),
                _num(matrix.approve_precision, 2) if first else "",
                _num(matrix.approve_recall, 2) if first else "",
                _num(matrix.review_share, 2) if first else "",
                end_section=index == len(rows) - 1,
            )
    return table


def tuning_lines(tuning: Tuning) -> list[str]:
    levels = tuning.levels
    lines = [
        f"levels: excellent {levels.excellent:.3f}, good {levels.good:.3f}, fair {levels.fair:.3f}"
    ]
    lines += [f"  {target}: achieved {_num(value)}" for target, value in tuning.achieved.items()]
    lines += [f"  note: {note}" for note in tuning.notes]
    return lines


def fragment(fits: Mapping[str, LanguageFit]) -> dict[str, Any]:
    """The ``languages`` section for the fitted languages, ready to merge into a config."""
    languages = {
        code: {"calibration": fit.calibration.model_dump(mode="json")}
        for code, fit in sorted(fits.items())
        if fit.calibration is not None
    }
    for entry in languages.values():
        calibration = entry["calibration"]
        if calibration["method"] == "table":
            calibration["points"] = [list(point) for point in calibration["points"]]
        else:
            # Six significant digits: short in YAML, and a tiny scale never rounds to zero.
            calibration["center"] = float(f"{calibration['center']:.6g}")
            calibration["scale"] = float(f"{calibration['scale']:.6g}")
    return {"languages": languages}


def fragment_yaml(outcome: CalibrationOutcome, source_name: str, test_notice: str) -> str:
    """YAML that ``--config`` loads as is, or whose sections paste into an operator's file.

    Its header comments name the input, the counts and the model; ``test_notice`` is added
    when the random test model scored the content.
    """
    samples = outcome.samples
    header = [
        f"qualitygate calibrate {source_name}: {len(samples.samples)} items, "
        f"{len(samples.skipped)} skipped; model {samples.reward_source}",
        "Load it with --config, or paste its sections into your config file.",
    ]
    if samples.test_model:
        header.append(test_notice)
    data: dict[str, Any] = fragment(outcome.fits)
    if outcome.tuning is not None:
        data = {"levels": outcome.tuning.levels.model_dump(mode="json"), **data}
        data["levels"] = {k: round(v, 6) for k, v in data["levels"].items()}
    comments = "".join(f"# {line}\n" for line in header)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)
    return comments + body
