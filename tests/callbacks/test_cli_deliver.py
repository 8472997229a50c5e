"""``qualitygate deliver`` refuses to start with one clear line (exit 2) on bad delivery
config, before touching Redis or the network, and never prints the secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualitygate.cli import app

runner = CliRunner()
SECRET = "cli-test-secret-0123456789"


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def test_a_callback_host_off_the_allow_list_fails_at_start(tmp_path: Path) -> None:
    config = tmp_path / "deliver.yaml"
    config.write_text(
        "delivery:\n  callbacks:\n    cms:\n      url: https://internal.corp/hook\n"
        f"      secret: {SECRET}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["deliver", "--config", str(config)])
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "delivery" in line and "callbacks.cms.url" in line and "allow_hosts" in line
    assert SECRET not in result.output


def test_an_unset_secret_variable_fails_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QG_TEST_UNSET_SECRET", raising=False)
    config = tmp_path / "deliver.yaml"
    config.write_text(
        "delivery:\n  allow_hosts: [cms.example.com]\n  callbacks:\n    cms:\n"
        "      url: https://cms.example.com/hook\n      secret_env: QG_TEST_UNSET_SECRET\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["deliver", "--config", str(config)])
    assert result.exit_code == 2
    assert "delivery.callbacks.cms.secret_env" in one_error_line(result.stderr)
