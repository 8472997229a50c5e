"""Usage errors are one clear line and exit 2, before any work; messages print as written.

Also: ``--version``, the table's error detail, the summary's time split, the bar moving per
item, and the ``--config``/``--model``/environment layering of the model section.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import qualitygate.pipeline
from qualitygate.cli import _grade_lines, app
from qualitygate.config import load_settings
from qualitygate.jsonl import iter_jsonl
from qualitygate.pipeline import QualityGate
from qualitygate.schemas import GradeResult, ModelInfo

runner = CliRunner()
ONE_ITEM = '{"id": "a", "text": "A short post about kettles."}\n'


def usage_error(result: Result) -> str:
    """The one line a usage error prints, checked to be the whole of stderr."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def items(tmp_path: Path) -> Path:
    path = tmp_path / "items.jsonl"
    path.write_text(ONE_ITEM, encoding="utf-8")
    return path


def test_version_prints_the_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"qualitygate {version('qualitygate')}"


@pytest.mark.parametrize("command", ["grade", "calibrate"])
def test_output_into_a_missing_folder_fails_before_any_work(
    command: str, items: Path, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "out"
    # a model that does not exist: failing on it would mean the output was checked too late
    args = [command, str(items), "-m", str(tmp_path / "no-model"), "-o", str(target)]
    line = usage_error(runner.invoke(app, args))
    assert "no-such-folder" in line and "does not exist" in line
    assert not target.parent.exists()


@pytest.mark.parametrize("command", ["grade", "calibrate"])
def test_output_that_is_a_directory_fails(command: str, items: Path, tmp_path: Path) -> None:
    args = [command, str(items), "-m", str(tmp_path / "no-model"), "-o", str(tmp_path)]
    assert "is a directory" in usage_error(runner.invoke(app, args))


def test_grade_never_overwrites_without_force(
    test_model_dir: Path, items: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "results.jsonl"
    mine.write_text("my earlier results\n", encoding="utf-8")
    args = ["grade", str(items), "-m", str(test_model_dir), "-o", str(mine)]
    assert "--force" in usage_error(runner.invoke(app, args))
    assert mine.read_text(encoding="utf-8") == "my earlier results\n"
    result = runner.invoke(app, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert GradeResult.model_validate_json(mine.read_text(encoding="utf-8")).id == "a"


@pytest.mark.parametrize("command", ["grade", "submit", "calibrate"])
def test_a_directory_as_input_is_one_clear_line(command: str, tmp_path: Path) -> None:
    line = usage_error(runner.invoke(app, [command, str(tmp_path)]))
    assert "is a directory" in line


@pytest.mark.parametrize("command", [["submit", "ITEMS"], ["results", "--block-ms", "10"]])
def test_an_unreachable_redis_is_one_clear_line(command: list[str], items: Path) -> None:
    args = [str(items) if arg == "ITEMS" else arg for arg in command]
    env = {"QG_REDIS__URL": "redis://cms:hunter2@127.0.0.1:1/0"}
    line = usage_error(runner.invoke(app, args, env=env))
    assert "cannot reach Redis" in line and "127.0.0.1:1" in line
    assert "hunter2" not in line and "cms:***@" in line


def test_messages_are_printed_as_written_not_as_markup(tmp_path: Path) -> None:
    missing = tmp_path / "data[calibrate] [bold]x[/bold].jsonl"
    line = usage_error(runner.invoke(app, ["grade", str(missing)]))
    assert str(missing) in line


def test_the_install_hint_keeps_its_brackets(items: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "sklearn", None)  # as if not installed
    line = usage_error(runner.invoke(app, ["calibrate", str(items)]))
    assert "pip install 'qualitygate[calibrate]'" in line


def test_table_shows_error_messages_and_ids_as_written(test_model_dir: Path) -> None:
    lines = (
        '{"id": "[bold]x[/bold]", "text": "A short post about kettles."}\n'
        "{oops\n"
        '{"id": "[red]no-text"}\n'
    )
    result = runner.invoke(
        app, ["grade", "-", "-m", str(test_model_dir), "-f", "table"], input=lines
    )
    assert result.exit_code == 0, result.output
    table = " ".join(result.stdout.replace("│", " ").split())
    assert "[bold]x[/bold]" in table and "[red]no-text" in table
    assert "line 2: not valid JSON" in table
    assert "invalid_item: line 3: text: Field required" in table


def test_summary_time_includes_loading_the_model(
    test_model_dir: Path, items: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = qualitygate.pipeline.load_scorer

    def slow_load(settings: object) -> object:
        time.sleep(0.5)
        return real_load(settings)  # type: ignore[arg-type]

    monkeypatch.setattr(qualitygate.pipeline, "load_scorer", slow_load)
    result = runner.invoke(app, ["grade", str(items), "-m", str(test_model_dir)])
    assert result.exit_code == 0, result.output
    summary = " ".join(result.stderr.split())
    found = re.search(r"in ([\d.]+)s: ([\d.]+)s loading the model, ([\d.]+)s grading", summary)
    assert found, summary
    total, loading, grading = (float(value) for value in found.groups())
    assert loading >= 0.5
    assert total == pytest.approx(loading + grading, abs=0.011)


def test_model_option_keeps_the_config_files_other_model_fields(
    test_model_dir: Path, tmp_path: Path, items: Path
) -> None:
    ops = tmp_path / "ops.yaml"
    ops.write_text("model:\n  revision: ops-pinned\n  batch_tokens: 4096\n", encoding="utf-8")
    args = ["grade", str(items), "--config", str(ops), "--model", str(test_model_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    graded = GradeResult.model_validate_json(result.stdout)
    assert graded.model is not None
    assert graded.model.name == str(test_model_dir) and graded.model.revision == "ops-pinned"


def test_model_option_keeps_the_environments_model_fields(
    test_model_dir: Path, items: Path
) -> None:
    args = ["grade", str(items), "--model", str(test_model_dir)]
    result = runner.invoke(app, args, env={"QG_MODEL__REVISION": "env-pinned"})
    assert result.exit_code == 0, result.output
    graded = GradeResult.model_validate_json(result.stdout)
    assert graded.model is not None and graded.model.revision == "env-pinned"


class LengthScorer:
    """Reward = content length: a five-line double for the scorer."""

    info = ModelInfo(name="length", revision="0")

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [float(len(content)) for _, content in pairs]


def test_the_cli_advances_its_bar_as_items_finish_not_per_window() -> None:
    defaults = load_settings().model.model_dump()
    budget = {"max_length": 128, "max_prompt_tokens": 32, "batch_tokens": 128}
    gate = QualityGate(load_settings(model=defaults | budget), LengthScorer())
    lines = [f'{{"id": "{i}", "text": "item number {i}"}}' for i in range(40)]
    lines[3] = "{not json"
    data = "\n".join(lines).encode()
    advances: list[int] = []
    results = _grade_lines(gate, list(iter_jsonl(data)), advances.append)
    assert len(results) == 40 and sum(advances) == 40
    assert len(advances) > 5 and max(advances) < 39
