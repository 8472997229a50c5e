"""The command line end to end: grade, config show, make-test-model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualitygate.cli import app
from qualitygate.jsonl import load_jsonl
from qualitygate.schemas import GradeResult

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "content.jsonl"
runner = CliRunner()


def test_grade_examples_one_result_per_line(test_model_dir: Path) -> None:
    result = runner.invoke(app, ["grade", str(EXAMPLES), "--model", str(test_model_dir)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    expected = [row["id"] for row in load_jsonl(EXAMPLES)]
    parsed = [GradeResult.model_validate_json(line) for line in lines]
    assert [r.id for r in parsed] == expected
    assert {r.status for r in parsed} == {"graded", "error"}
    assert "TEST MODEL" in result.stderr


def test_malformed_line_is_an_error_naming_its_line(test_model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "hello"}\n{oops\n\n{"id": "c"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["grade", str(source), "-m", str(test_model_dir), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    parsed = [GradeResult.model_validate_json(line) for line in out.read_text("utf-8").splitlines()]
    assert [r.status for r in parsed] == ["graded", "error", "error"]
    assert parsed[1].error is not None and parsed[1].error.message.startswith(
        "line 2: not valid JSON"
    )
    assert parsed[2].error is not None and parsed[2].error.message == "line 4: text: Field required"


def test_grade_from_stdin_as_table(test_model_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["grade", "-", "-m", str(test_model_dir), "--format", "table"],
        input='{"id": "stdin-1", "text": "hello"}\n',
    )
    assert result.exit_code == 0, result.output
    assert "stdin-1" in result.stdout and "TEST MODEL" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "no-such-file.jsonl", "-m", "x"], "does not exist"),
        (["grade", "-", "-m", "/no/such/model"], "model.name"),
        (["grade", "-", "--config", "/no/such.yaml"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args, input="")
    assert result.exit_code == 2
    assert message in result.stderr


def test_config_show_prints_version_and_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QG_REDIS__URL", "redis://cms:hunter2@redis:6379/0")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# config_version: ")
    assert "hunter2" not in result.stdout and "cms:***@redis" in result.stdout


def test_make_test_model_is_small_and_loadable(tmp_path: Path) -> None:
    result = runner.invoke(app, ["make-test-model", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert model.config.num_labels == 1
    assert tokenizer.pad_token is not None and tokenizer.chat_template


def test_test_model_tokenizer_is_saved_without_padding(test_model_dir: Path) -> None:
    saved = json.loads((test_model_dir / "tokenizer.json").read_text("utf-8"))
    assert saved["padding"] is None and saved["truncation"] is None
