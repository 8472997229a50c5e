"""The ``qualitygate`` command line: typer commands that call the library and print.

Usage errors (a missing file, an invalid config, a model that will not load) exit with
status 2 and one clear line; bad items never do: they become error results.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
import yaml
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from qualitygate.config import Settings, load_settings
from qualitygate.errors import InvalidItemError, QualityGateError
from qualitygate.schemas import GradeResult

app = typer.Typer(
    name="qualitygate",
    help="Multilingual content quality gate around a reward model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

stderr = Console(stderr=True)
TEST_MODEL_NOTICE = "scores come from a random TEST MODEL: they mean nothing"
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A YAML file layered over the defaults."),
]


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    table = "table"


def fail(message: str) -> typer.Exit:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except QualityGateError as exc:
        raise fail(exc.message) from None


def model_overrides(model: str | None) -> dict[str, Any]:
    if model is None:
        return {}
    defaults = load_settings().model.model_dump()
    return {"model": defaults | {"name": model}}


def read_jsonl(stream: TextIO) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or the JSONDecodeError) for each non-blank line."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, exc


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


@app.command()
def grade(
    source: Annotated[str, typer.Argument(help="A JSONL file of ContentItems, or - for stdin.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Hub name or local path of the model.")
    ] = None,
    config: ConfigOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="jsonl, or a table for people.")
    ] = OutputFormat.jsonl,
) -> None:
    """Grade a JSONL file in-process (no Redis): one result per line, in order."""
    from qualitygate.pipeline import QualityGate

    settings = settings_or_exit(config, **model_overrides(model))
    if source != "-" and not Path(source).is_file():
        raise fail(f"input file {source} does not exist")
    _quiet_transformers()
    started = time.perf_counter()
    try:
        gate = QualityGate.from_settings(settings)
    except QualityGateError as exc:
        raise fail(exc.message) from None
    if gate.scorer.info.test_model:
        stderr.print(f"[yellow]warning:[/] {TEST_MODEL_NOTICE}")

    with sys.stdin if source == "-" else open(source, encoding="utf-8") as stream:
        lines = list(read_jsonl(stream))
    results = _grade_lines(gate, lines)
    _write_results(results, output, output_format, gate.scorer.info.test_model)
    _print_summary(gate, results, time.perf_counter() - started)


def _grade_lines(gate: Any, lines: list[tuple[int, Any]]) -> list[GradeResult]:
    chunk = min(gate.settings.limits.max_items_per_request, 256)
    show_progress = stderr.is_terminal and len(lines) > chunk
    results: list[GradeResult] = []
    with Progress(console=stderr, transient=True) if show_progress else nullcontext() as bar:
        task = bar.add_task("grading", total=len(lines)) if bar else None
        for offset in range(0, len(lines), chunk):
            window = lines[offset : offset + chunk]
            parsed = [value for _, value in window if not isinstance(value, Exception)]
            graded = iter(gate.grade(parsed))
            for number, value in window:
                if isinstance(value, Exception):
                    error = InvalidItemError(f"line {number}: not valid JSON ({value.msg})")
                    results.append(gate.error_result(None, error))
                    continue
                result = next(graded)
                if result.error is not None:
                    result.error = result.error.model_copy(
                        update={"message": f"line {number}: {result.error.message}"}
                    )
                results.append(result)
            if bar is not None and task is not None:
                bar.advance(task, len(window))
    return results


def _write_results(
    results: list[GradeResult], output: Path | None, output_format: OutputFormat, test_model: bool
) -> None:
    with open(output, "w", encoding="utf-8") if output else nullcontext(sys.stdout) as sink:
        if output_format is OutputFormat.jsonl:
            for result in results:
                sink.write(result.model_dump_json() + "\n")
            return
        console = Console(file=sink, width=160)
        title = "qualitygate results" + (f" ({TEST_MODEL_NOTICE})" if test_model else "")
        table = Table(title=title)
        for column in ("id", "status", "lang", "raw", "score", "level", "decision", "flags"):
            table.add_column(column)
        for r in results:
            table.add_row(
                r.id,
                r.status if r.error is None else f"error: {r.error.code}",
                r.language or "",
                "" if r.raw_reward is None else f"{r.raw_reward:.3f}",
                "" if r.score is None else f"{r.score:.3f}",
                r.level or "",
                r.decision or "",
                ", ".join(flag.rule_id for flag in r.flags),
            )
        console.print(table)


def _print_summary(gate: Any, results: list[GradeResult], wall_s: float) -> None:
    errors = sum(1 for r in results if r.status == "error")
    stats = getattr(gate.scorer, "stats", None)
    split = ""
    if stats is not None:
        split = (
            f"; model load {stats.load_s:.2f}s, tokenisation {stats.tokenize_s:.2f}s, "
            f"forward passes {stats.forward_s:.2f}s in {stats.batches} batches"
        )
    stderr.print(
        f"{len(results)} results ({len(results) - errors} graded, {errors} errors) "
        f"in {wall_s:.2f}s{split}",
        highlight=False,
    )


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective config (secrets masked) and its version hash."""
    settings = settings_or_exit(config)
    typer.echo(f"# config_version: {settings.version}")
    typer.echo(yaml.safe_dump(settings.public_dump(), sort_keys=False, allow_unicode=True))


@app.command("make-test-model")
def make_test_model_command(
    directory: Annotated[Path, typer.Argument(help="Where to write the model and tokenizer.")],
    seed: Annotated[int, typer.Option(help="Seed for the random weights.")] = 0,
) -> None:
    """Write a tiny random reward model and tokenizer, for tests and demos only."""
    _quiet_transformers()
    from qualitygate.testmodel import make_test_model

    path = make_test_model(directory, seed=seed)
    typer.echo(f"wrote a random test model to {path} ({TEST_MODEL_NOTICE})")


class FitMethodChoice(str, Enum):
    auto = "auto"
    logistic = "logistic"
    isotonic = "isotonic"
    percentile = "percentile"


@app.command()
def calibrate(
    source: Annotated[
        Path,
        typer.Argument(help="JSONL: a ContentItem per line, plus optional label and raw_reward."),
    ],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Hub name or local path of the model.")
    ] = None,
    config: ConfigOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the YAML fragment here instead of stdout."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite --output if it exists.")
    ] = False,
    method: Annotated[
        FitMethodChoice,
        typer.Option(
            "--method",
            help="auto: logistic or isotonic with labels, percentile without; or force one.",
        ),
    ] = FitMethodChoice.auto,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="Tune level thresholds, e.g. precision>=0.9, reject:precision>=0.95, "
            "recall>=0.8, review_share<=0.1 (repeatable).",
        ),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw histograms and reliability diagrams (PNG).")
    ] = None,
    min_items: Annotated[
        int | None,
        typer.Option("--min-items", min=2, help="Override calibration_fit.min_items."),
    ] = None,
) -> None:
    """Fit per-language calibration from your own content; write a YAML fragment and a plot."""
    from qualitygate.calibration_fit import require_extra
    from qualitygate.calibration_report import (
        confusion_table,
        fit_table,
        fragment_yaml,
        tuning_lines,
    )
    from qualitygate.calibration_run import (
        LazyScorer,
        read_jsonl_file,
        read_samples,
        run_calibration,
    )
    from qualitygate.pipeline import QualityGate
    from qualitygate.scoring import load_scorer
    from qualitygate.thresholds import TargetError, parse_target, pooled

    settings = settings_or_exit(config, **model_overrides(model))
    if not source.is_file():
        raise fail(f"input file {source} does not exist")
    if output is not None and output.exists() and not force:
        raise fail(f"{output} exists; pass --force to overwrite it, or choose another --output")
    try:
        targets = [parse_target(text) for text in target or []]
        for module in ("sklearn", *(["matplotlib"] if plot else [])):
            require_extra(module)
    except TargetError as exc:
        raise fail(str(exc)) from None
    except QualityGateError as exc:
        raise fail(exc.message) from None

    _quiet_transformers()
    scorer = LazyScorer(lambda: load_scorer(settings.model))
    gate = QualityGate(settings, scorer)
    try:
        samples = read_samples(read_jsonl_file(source), gate)
    except QualityGateError as exc:
        raise fail(exc.message) from None
    test_model = samples.model is not None and samples.model.test_model
    if test_model:
        stderr.print(f"[yellow]warning:[/] {TEST_MODEL_NOTICE}")
    for line in samples.skipped:
        stderr.print(f"[yellow]skipped[/] {line}", highlight=False)
    try:
        outcome = run_calibration(samples, settings, method.value, targets, min_items)
    except QualityGateError as exc:
        raise fail(exc.message) from None

    report = Console(stderr=True, width=160)
    report.print(fit_table(outcome.fits))
    if outcome.tuning is not None:
        for line in tuning_lines(outcome.tuning):
            report.print(line, highlight=False)
    levels = outcome.tuning.levels if outcome.tuning else settings.levels
    confusions = dict(outcome.confusions)
    if len(confusions) > 1:
        confusions["all"] = pooled(confusions)
    report.print(confusion_table(confusions, levels))

    model_name = samples.model.name if samples.model else "raw_reward from the input file"
    header = [
        f"qualitygate calibrate {source.name}: {len(samples.samples)} items, "
        f"{len(samples.skipped)} skipped; model {model_name}",
        "Load it with --config, or paste its sections into your config file.",
    ]
    if test_model:
        header.append(TEST_MODEL_NOTICE)
    text = fragment_yaml(outcome.fits, outcome.tuning, header)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        stderr.print(f"wrote {output}", highlight=False)
    if plot is not None:
        from qualitygate.calibration_plot import plot_calibration

        title = f"{source.name}: {model_name}" + (" (TEST MODEL)" if test_model else "")
        plot_calibration(
            plot,
            outcome.fits,
            samples.by_language(),
            levels,
            settings.calibration_fit.ece_bins,
            title,
        )
        stderr.print(f"wrote {plot}", highlight=False)
