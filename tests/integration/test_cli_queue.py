"""`qualitygate submit` and `qualitygate results` against the real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from qualitygate.cli import app
from qualitygate.schemas import GradeResult
from tests.support.workers import QueueNamespace
from workers.publish import Outgoing, ResultPublisher

pytestmark = pytest.mark.integration


def test_submit_sends_one_message_per_line_or_nothing(
    namespace: QueueNamespace, redis_client: redis.Redis, tmp_path: Path
) -> None:
    queue = namespace.env["QG_WORKER__QUEUE"]
    runner = CliRunner()
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "a", "text": "one"}\n\n{"id": "b", "text": "two"}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "one"}\n{"id": "b"}\n')

    refused = runner.invoke(app, ["submit", str(bad)], env=namespace.env)
    assert refused.exit_code == 2 and "line 2: text" in refused.output
    assert redis_client.llen(queue) == 0

    sent = runner.invoke(app, ["submit", str(good)], env=namespace.env)
    assert sent.exit_code == 0, sent.output
    lines = [json.loads(line) for line in sent.stdout.splitlines() if line.startswith("{")]
    assert [(line["line"], line["id"]) for line in lines] == [(1, "a"), (3, "b")]
    assert redis_client.llen(queue) == 2


def test_results_prints_and_acknowledges(
    namespace: QueueNamespace, redis_client: redis.Redis
) -> None:
    settings = namespace.settings()
    ResultPublisher.from_settings(settings).publish(
        [
            Outgoing(GradeResult(id=f"r{i}", status="graded", config_version="v"), f"t{i}")
            for i in range(3)
        ]
    )
    runner = CliRunner()
    args = ["results", "--group", "cms", "--consumer", "cli", "--block-ms", "100"]
    first = runner.invoke(app, [*args, "--ack"], env=namespace.env)
    assert first.exit_code == 0, first.output
    assert [json.loads(line)["id"] for line in first.stdout.splitlines()] == ["r0", "r1", "r2"]
    assert redis_client.xpending(settings.streams.results, "cms")["pending"] == 0
    again = runner.invoke(app, args, env=namespace.env)
    assert again.exit_code == 0 and again.stdout.strip() == ""


def test_submit_reports_an_undecodable_line_and_loses_nothing(
    namespace: QueueNamespace, redis_client: redis.Redis, tmp_path: Path
) -> None:
    queue = namespace.env["QG_WORKER__QUEUE"]
    runner = CliRunner()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(
        b'\xef\xbb\xbf{"id": "a", "text": "one"}\n'
        b'{"id": "b", "text": "caf\xe9"}\n'
        b'{"id": "c", "text": "three"}\n'
    )

    refused = runner.invoke(app, ["submit", str(mixed)], env=namespace.env)
    assert refused.exit_code == 2 and not isinstance(refused.exception, UnicodeError)
    assert "line 2: not UTF-8 (byte 0xe9" in refused.stderr and "nothing was sent" in refused.stderr
    assert redis_client.llen(queue) == 0

    sent = runner.invoke(app, ["submit", str(mixed), "--no-validate"], env=namespace.env)
    assert sent.exit_code == 0, sent.output
    lines = [json.loads(line) for line in sent.stdout.splitlines()]
    assert [(line["line"], line["id"]) for line in lines] == [(1, "a"), (2, None), (3, "c")]
    assert lines[0]["task_id"] and lines[2]["task_id"] and lines[1]["task_id"] is None
    assert lines[1]["error"]["message"].startswith("line 2: not UTF-8 (byte 0xe9")
    assert redis_client.llen(queue) == 2
    assert "1 unreadable lines were not sent" in " ".join(sent.stderr.split())
