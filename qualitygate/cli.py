"""The ``qualitygate`` command line: typer commands that call the library and print.

Usage errors (a missing file, an invalid config, a model that will not load, an output
that would be overwritten, a Redis that cannot be reached) exit with status 2 and one clear
line, before any work where they can be foreseen; bad lines never do: each becomes an error
result naming its line. File and message handling lives in ``cli_io``.

This module is the one composition root: the only place that wires the library to the
queue. It may import ``qualitygate.client`` and, lazily inside ``qualitygate worker``,
``workers`` (the one upward arrow, named in pyproject.toml's import-linter contracts); no
other module of ``qualitygate`` may do either.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from enum import Enum
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from qualitygate.cli_io import (
    check_folder,
    check_input,
    check_output,
    fail,
    read_input,
    say,
    stderr,
)
from qualitygate.config import Settings, load_settings
from qualitygate.errors import InvalidItemError, QualityGateError, first_line
from qualitygate.jsonl import LineError
from qualitygate.schemas import GradeResult, validate_item

app = typer.Typer(
    name="qualitygate",
    help="Multilingual content quality gate around a reward model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(
    help="Inspect the effective configuration; apply, compare and roll back live versions.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")

TEST_MODEL_NOTICE = "scores come from a random TEST MODEL: they mean nothing"
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A YAML file layered over the defaults."),
]


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    table = "table"


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except QualityGateError as exc:
        raise fail(exc.message) from None


def model_overrides(model: str | None) -> dict[str, Any]:
    """``--model`` as an override of ``model.name`` alone: the settings merge it over every
    layer, so the file's and the environment's other ``model.*`` fields stay."""
    return {} if model is None else {"model": {"name": model}}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"qualitygate {package_version('qualitygate')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    """Multilingual content quality gate around a reward model."""


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite --output if it exists.")]


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
    force: ForceOption = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="jsonl, or a table for people.")
    ] = OutputFormat.jsonl,
) -> None:
    """Grade a JSONL file in-process (no Redis): one result per line, in order."""
    from qualitygate.pipeline import QualityGate

    settings = settings_or_exit(config, **model_overrides(model))
    check_input(source)
    check_output(output, force)
    _quiet_transformers()
    started = time.perf_counter()
    try:
        gate = QualityGate.from_settings(settings)
    except QualityGateError as exc:
        raise fail(exc.message) from None
    loaded = time.perf_counter()
    if gate.scorer.info.test_model:
        say(TEST_MODEL_NOTICE, style="yellow", label="warning:")

    lines = read_input(source)
    with _progress_bar(len(lines)) as advance:
        results = _grade_lines(gate, lines, advance)
    _write_results(results, output, output_format, gate.scorer.info.test_model)
    finished = time.perf_counter()
    _print_summary(gate, results, finished - started, loaded - started)


def _progress_bar(total: int) -> Any:
    """A context giving ``advance(n)`` for a bar on a terminal, or None elsewhere: then
    the gate scores each window in one call (no slicing for a bar nobody sees)."""
    if not stderr.is_terminal or total < 2:
        return nullcontext(None)
    return _Bar(total)


class _Bar:
    """A transient rich progress bar that moves by item counts."""

    def __init__(self, total: int) -> None:
        self._progress = Progress(console=stderr, transient=True)
        self._task = self._progress.add_task("grading", total=total)

    def __enter__(self) -> Callable[[int], None]:
        self._progress.start()
        return lambda n: self._progress.advance(self._task, n)

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()


def _grade_lines(
    gate: Any, lines: list[tuple[int, Any]], advance: Callable[[int], None] | None = None
) -> list[GradeResult]:
    """One result per line, in order; ``advance`` hears of each item as it is done."""
    chunk = min(gate.settings.limits.max_items_per_request, 256)
    results: list[GradeResult] = []
    for offset in range(0, len(lines), chunk):
        window = lines[offset : offset + chunk]
        parsed = [value for _, value in window if not isinstance(value, LineError)]
        unreadable = len(window) - len(parsed)
        if unreadable and advance is not None:
            advance(unreadable)
        graded = iter(gate.grade(parsed, progress=advance) if parsed else [])
        for number, value in window:
            if isinstance(value, LineError):
                results.append(gate.error_result(None, InvalidItemError(value.message)))
                continue
            result = next(graded)
            if result.error is not None:
                result.error = result.error.model_copy(
                    update={"message": f"line {number}: {result.error.message}"}
                )
            results.append(result)
    return results


def _write_results(
    results: list[GradeResult], output: Path | None, output_format: OutputFormat, test_model: bool
) -> None:
    try:
        with open(output, "w", encoding="utf-8") if output else nullcontext(sys.stdout) as sink:
            if output_format is OutputFormat.jsonl:
                for result in results:
                    sink.write(result.model_dump_json() + "\n")
            else:
                Console(file=sink, width=160).print(_results_table(results, test_model))
    except OSError as exc:
        where = f"--output {output}" if output else "to stdout"
        raise fail(f"cannot write {where} ({exc.strerror or exc})") from None


def _results_table(results: list[GradeResult], test_model: bool) -> Table:
    """Results for people; every cell escaped, since ids and messages are user text."""
    title = "qualitygate results" + (f" ({TEST_MODEL_NOTICE})" if test_model else "")
    table = Table(title=title)
    columns = ("id", "status", "lang", "raw", "score", "level", "decision", "flags / error")
    for column in columns:
        table.add_column(column, overflow="fold")
    for r in results:
        if r.error is not None:
            detail = f"{r.error.code}: {r.error.message}"
        else:
            detail = ", ".join(flag.rule_id for flag in r.flags)
        cells = (
            r.id or "",
            r.status,
            r.language or "",
            "" if r.raw_reward is None else f"{r.raw_reward:.3f}",
            "" if r.score is None else f"{r.score:.3f}",
            r.level or "",
            r.decision or "",
            detail,
        )
        table.add_row(*(escape(cell) for cell in cells))
    return table


def _print_summary(gate: Any, results: list[GradeResult], wall_s: float, startup_s: float) -> None:
    """Counts and time: the total, what loading the model took, and the grading after it."""
    errors = sum(1 for r in results if r.status == "error")
    stats = getattr(gate.scorer, "stats", None)
    split = ""
    if stats is not None:
        split = (
            f" (tokenisation {stats.tokenize_s:.2f}s, forward passes {stats.forward_s:.2f}s "
            f"in {stats.batches} batches)"
        )
    say(
        f"{len(results)} results ({len(results) - errors} graded, {errors} errors) "
        f"in {wall_s:.2f}s: {startup_s:.2f}s loading the model, "
        f"{wall_s - startup_s:.2f}s grading{split}"
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
    guard: Annotated[
        bool, typer.Option("--guard", help="Tiny guards instead: DIR/generative, DIR/classifier.")
    ] = False,
) -> None:
    """Write a tiny random reward model and tokenizer (or guards), for tests and demos only."""
    _quiet_transformers()
    from qualitygate.guard.testmodel import make_guard_test_models
    from qualitygate.testmodel import make_test_model

    path = (make_guard_test_models if guard else make_test_model)(directory, seed=seed)
    typer.echo(f"wrote a random test model to {path} ({TEST_MODEL_NOTICE})")


@app.command()
def submit(
    source: Annotated[str, typer.Argument(help="A JSONL file of ContentItems, or - for stdin.")],
    config: ConfigOption = None,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate/--no-validate",
            help="Check every item first and send nothing if one is bad; without it, bad "
            "items come back as error results.",
        ),
    ] = True,
) -> None:
    """Enqueue items for the workers; prints one JSON line per item with its task id.

    A line that cannot be read (not UTF-8, not JSON) stops everything under --validate;
    under --no-validate it is printed as an error naming its line and the rest are sent.
    """
    from qualitygate.client import QualityGateClient

    settings = settings_or_exit(config)
    check_input(source)
    lines = read_input(source)
    sendable: list[tuple[int, Any]] = []
    for number, value in lines:
        if isinstance(value, LineError):
            if validate:
                raise fail(f"{value.message} (nothing was sent; --no-validate sends the rest)")
            continue
        if validate:
            try:
                validate_item(value, settings.limits)
            except InvalidItemError as exc:
                raise fail(f"line {number}: {exc.message} (nothing was sent)") from None
        sendable.append((number, value))
    with QualityGateClient(settings=settings) as client:
        try:
            client.ping()
            with client.reporting_unreachable():
                task_ids = client.submit([value for _, value in sendable], validate=False)
        except QualityGateError as exc:
            raise fail(exc.message) from None
    sent = dict(zip((number for number, _ in sendable), task_ids, strict=True))
    for number, value in lines:
        typer.echo(json.dumps(_submitted_line(number, value, sent.get(number))))
    unsent = len(lines) - len(sent)
    say(
        f"submitted {len(task_ids)} items to queue {settings.worker.queue}"
        + (f"; {unsent} unreadable lines were not sent" if unsent else "")
    )


def _submitted_line(number: int, value: Any, task_id: str | None) -> dict[str, Any]:
    """What ``submit`` prints for one line: its task id, or why it was not sent."""
    if isinstance(value, LineError):
        error = {"code": InvalidItemError.code, "message": value.message}
        return {"line": number, "id": None, "task_id": None, "error": error}
    item_id = value.get("id") if isinstance(value, dict) else None
    return {"line": number, "id": item_id, "task_id": task_id}


@app.command()
def results(
    group: Annotated[str, typer.Option(help="Consumer group (one per consuming system).")] = "cms",
    consumer: Annotated[str, typer.Option(help="This consumer's name within the group.")] = "cli",
    count: Annotated[int, typer.Option(min=1, help="Most entries per read.")] = 100,
    block_ms: Annotated[int, typer.Option(min=0, help="How long one read waits.")] = 1000,
    follow: Annotated[bool, typer.Option("--follow", help="Keep reading until Ctrl-C.")] = False,
    ack: Annotated[bool, typer.Option("--ack", help="Acknowledge what was printed.")] = False,
    config: ConfigOption = None,
) -> None:
    """Print graded results from the stream as JSON lines, read with a consumer group."""
    from qualitygate.client import QualityGateClient

    settings = settings_or_exit(config)
    with QualityGateClient(settings=settings) as client:
        try:
            client.ping()
            with client.reporting_unreachable():
                while True:
                    entries = client.results(group, consumer, count=count, block_ms=block_ms)
                    for entry in entries:
                        typer.echo(entry.result.model_dump_json())
                    if ack and entries:
                        client.ack([entry.entry_id for entry in entries], group=group)
                    if not follow and len(entries) < count:
                        break
        except KeyboardInterrupt:
            pass
        except QualityGateError as exc:
            raise fail(exc.message) from None


@app.command()
def doctor(
    config: ConfigOption = None,
    stale_after_s: Annotated[
        float, typer.Option(min=1, help="A worker heartbeat older than this is stale.")
    ] = 60,
) -> None:
    """Check a deployment (Redis role, persistence, eviction, streams, consumer groups,
    dead letters, workers and their config) and print each problem with its fix."""
    from qualitygate.cli_doctor import run_doctor
    from qualitygate.client import QualityGateClient

    settings = settings_or_exit(config)
    try:
        with QualityGateClient(settings=settings) as client, client.reporting_unreachable():
            code = run_doctor(client.redis, settings, stale_after_s, Console())
    except QualityGateError as exc:
        raise fail(exc.message) from None
    raise typer.Exit(code)


class Pool(str, Enum):
    prefork = "prefork"
    solo = "solo"
    threads = "threads"


@app.command()
def worker(
    config: ConfigOption = None,
    pool: Annotated[
        Pool, typer.Option(help="prefork (one process per GPU; time limits work) or solo.")
    ] = Pool.prefork,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Pool processes; 1 per GPU, each loads the model.")
    ] = 1,
    loglevel: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
    hostname: Annotated[str | None, typer.Option(help="Worker node name (-n).")] = None,
) -> None:
    """Start a Celery worker on the configured queue with the project's settings."""
    import os

    from qualitygate.config import CONFIG_ENV_VAR

    if config is not None:
        os.environ[CONFIG_ENV_VAR] = str(config)
    settings = settings_or_exit(config)
    _check_model_exists(settings)
    from workers.app import app as celery_app

    argv = [
        "worker",
        f"--pool={pool.value}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        f"--queues={settings.worker.queue}",
        "--task-events",
        "--without-mingle",
        "--without-gossip",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    celery_app.worker_main(argv)


@app.command()
def deliver(config: ConfigOption = None) -> None:
    """POST each result, signed, to its CMS's callback URL, with retries (until SIGTERM)."""
    from qualitygate.cli_deliver import run_deliver

    run_deliver(settings_or_exit(config))


def _check_model_exists(settings: Settings) -> None:
    """Fail at start, in the main process, when the model cannot be found: its pool
    processes would otherwise fail on every batch. Reads the model's config only (no
    weights, no CUDA), so the fork that follows stays clean."""
    _quiet_transformers()
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(settings.model.name, revision=settings.model.revision)
    except Exception as exc:
        raise fail(
            f"model.name {settings.model.name!r} cannot be loaded ({first_line(exc)}). "
            "Set model.name (QG_MODEL__NAME or --config) to a hub name or local directory; "
            "`qualitygate make-test-model DIR` builds a tiny test model."
        ) from None


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    insecure_no_auth: Annotated[
        bool, typer.Option("--insecure-no-auth", help="Serve without keys (loopback only).")
    ] = False,
) -> None:
    """The HTTP API: items in, results out (FastAPI + uvicorn; OpenAPI at /docs)."""
    from qualitygate import cli_serve

    settings = settings_or_exit(config)
    if (why := cli_serve.refusal(settings, host, insecure_no_auth)) is not None:
        raise fail(why)
    cli_serve.serve(settings, host, port, insecure_no_auth)


api_key_app = typer.Typer(help="API keys for `qualitygate serve`.", no_args_is_help=True)
app.add_typer(api_key_app, name="api-key")


@api_key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Argument(help="The key's name (letters, digits, _.@-).")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: submit,read,label,admin.")],
) -> None:
    """Print a new API key once, and the api.keys entry (its SHA-256 only) to paste."""
    from qualitygate import cli_serve

    try:
        key, entry = cli_serve.new_key(name, [s.strip() for s in scopes.split(",") if s.strip()])
    except ValueError as exc:
        raise fail(str(exc)) from None
    say("the key is shown once; store it in the CMS now:", label="key")
    typer.echo(key)
    say("add this to your config file (it holds only the key's SHA-256):", label="config")
    typer.echo(entry, nl=False)


class FitMethodChoice(str, Enum):
    auto = "auto"
    logistic = "logistic"
    isotonic = "isotonic"
    percentile = "percentile"


CalibrationSource = Annotated[
    Path | None,
    typer.Argument(help="JSONL: a ContentItem per line, plus optional label and raw_reward."),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Hub name or local path of the model.")
]
FragmentOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the YAML fragment here instead of stdout."),
]
FitMethodOption = Annotated[
    FitMethodChoice,
    typer.Option(
        "--method", help="auto: logistic or isotonic with labels, percentile without; or force one."
    ),
]
TargetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        help="Tune level thresholds, e.g. precision>=0.9, reject:precision>=0.95, "
        "recall>=0.8, review_share<=0.1 (repeatable).",
    ),
]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="Draw histograms and reliability diagrams (PNG).")
]
MinItemsOption = Annotated[
    int | None, typer.Option("--min-items", min=2, help="Override calibration_fit.min_items.")
]


FromLabelsOption = Annotated[
    bool, typer.Option("--from-labels", help="Fit from the moderators' labels stream.")
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="With --from-labels: labels this recent (30d, 12h).")
]


@app.command()
def calibrate(
    source: CalibrationSource = None,
    model: ModelOption = None,
    config: ConfigOption = None,
    output: FragmentOption = None,
    force: ForceOption = False,
    method: FitMethodOption = FitMethodChoice.auto,
    target: TargetOption = None,
    plot: PlotOption = None,
    min_items: MinItemsOption = None,
    from_labels: FromLabelsOption = False,
    since: SinceOption = None,
) -> None:
    """Fit per-language calibration from your own content; write a YAML fragment and a plot."""
    from qualitygate.calibrate import extras, report, run, thresholds
    from qualitygate.calibrate import plot as plots

    settings = settings_or_exit(config, **model_overrides(model))
    if (source is None) != from_labels or (since is not None and not from_labels):
        raise fail("give a LABELS.jsonl file or --from-labels (one of them; --since needs it)")
    if source is not None:
        check_input(str(source))
    check_output(output, force)
    check_folder(plot, "--plot")
    name = source.name if source is not None else f"labels stream {settings.streams.labels}"
    try:
        targets = thresholds.parse_targets(target or [])
        extras.require_extras(plot=plot is not None)
        found = _calibration_samples(settings, source, since)
        if found.test_model:
            say(TEST_MODEL_NOTICE, style="yellow", label="warning:")
        for line in found.skipped:
            say(line, style="yellow", label="skipped")
        outcome = run.run_calibration(found, settings, method.value, targets, min_items)
    except QualityGateError as exc:
        raise fail(exc.message) from None
    report.print_report(Console(stderr=True, width=160), outcome)
    text = report.fragment_yaml(outcome, name, TEST_MODEL_NOTICE)
    if output is None:
        sys.stdout.write(text)
    else:
        _write_or_fail("--output", output, lambda: output.write_text(text, encoding="utf-8"))
    if plot is not None:
        _write_or_fail("--plot", plot, lambda: plots.plot_calibration(plot, outcome, name))


def _calibration_samples(settings: Settings, source: Path | None, since: str | None) -> Any:
    """A JSONL file's lines prepared and scored, or the labels stream's latest labels."""
    from qualitygate.calibrate import labelled, samples

    if source is not None:
        _quiet_transformers()
        return samples.read_samples(read_input(str(source)), samples.gate_for(settings))
    seconds = labelled.parse_since(since) if since else None
    after = time.time() - seconds if seconds else None
    records = _with_store(settings, lambda client: client.labels(since=after))
    share = settings.calibration_fit.max_reviewer_share
    for line in labelled.reviewer_warnings(records, share):
        say(line, style="yellow", label="warning:")
    return labelled.samples_from_labels(records)


def _write_or_fail(option: str, path: Path, write: Callable[[], object]) -> None:
    """Run ``write``; a file that cannot be written exits with one line naming the option."""
    try:
        write()
    except OSError as exc:
        raise fail(f"cannot write {option} {path} ({exc.strerror or exc})") from None
    say(f"wrote {path}")


# -- the tuning loop: live config versions (bodies in cli_config) -----------------------

FragmentArg = Annotated[Path, typer.Argument(help="A YAML fragment of config sections.")]
WhoOption = Annotated[str | None, typer.Option("--who", help="Who did it (default: $USER).")]


def _with_store(settings: Settings, body: Callable[[Any], Any]) -> Any:
    """Run ``body`` with a client on the configured Redis; errors exit with one line."""
    from qualitygate.client import QualityGateClient

    with QualityGateClient(settings=settings) as client:
        try:
            client.ping()
            with client.reporting_unreachable():
                return body(client)
        except QualityGateError as exc:
            raise fail(exc.message) from None


def _who(who: str | None) -> str:
    import getpass

    return who or getpass.getuser()


@config_app.command("apply")
def config_apply(fragment: FragmentArg, who: WhoOption = None, config: ConfigOption = None) -> None:
    """Validate FRAGMENT over the live config and make it the version workers grade with."""
    from qualitygate import cli_config

    settings = settings_or_exit(config)
    _with_store(settings, lambda c: cli_config.run_apply(c, settings, fragment, _who(who)))


@config_app.command("rollback")
def config_rollback(
    version: Annotated[str, typer.Argument(help="A config_version hash, or a unique prefix.")],
    who: WhoOption = None,
    config: ConfigOption = None,
) -> None:
    """Make a stored config version the active one again."""
    from qualitygate import cli_config

    settings = settings_or_exit(config)
    _with_store(settings, lambda c: cli_config.run_rollback(c, settings, version, _who(who)))


@config_app.command("history")
def config_history(
    last: Annotated[int, typer.Option(min=1, help="How many events.")] = 50,
    config: ConfigOption = None,
) -> None:
    """The applies and rollbacks of the live config, newest first."""
    from qualitygate import cli_config

    settings = settings_or_exit(config)
    _with_store(settings, lambda c: cli_config.print_history(c, Console(width=160), last))


@config_app.command("diff")
def config_diff(
    fragment: FragmentArg,
    last: Annotated[int, typer.Option(min=1, help="Replay this many recent results.")] = 1000,
    plot: PlotOption = None,
    config: ConfigOption = None,
) -> None:
    """What FRAGMENT would change on recent results: decisions and label agreement."""
    from qualitygate import cli_config

    settings = settings_or_exit(config)
    check_folder(plot, "--plot")
    _with_store(settings, lambda c: cli_config.run_diff(c, settings, fragment, last, plot))
