"""Labels on the real Redis, on results a real worker graded: stored with the grade, the
latest per id winning; a fit from the stream equals a fit from the same labels as JSONL;
``calibrate --from-labels`` and ``config diff`` run on them."""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from qualitygate.calibrate import labelled, run, samples
from qualitygate.client import QualityGateClient
from qualitygate.errors import InvalidItemError
from qualitygate.jsonl import read_jsonl
from qualitygate.schemas import GradeResult
from tests.support.workers import (
    QUALITYGATE,
    QueueNamespace,
    WorkerProcess,
    wait_for,
    worker_environment,
)

pytestmark = pytest.mark.integration

TEXTS = {
    "en": "Post {i}: notes from the garden, tomatoes and beans, and what the rain did this week.",
    "ko": "{i}번째 글: 이번 주 텃밭에서 토마토와 콩을 키운 이야기와 비가 온 뒤의 변화입니다.",
}


def grade_items(
    client: QualityGateClient, worker: WorkerProcess, per_language: int
) -> dict[str, tuple[dict, GradeResult]]:
    items = [
        {"id": f"{code}-{i}", "text": text.format(i=i * 7919), "language": code}
        for code, text in TEXTS.items()
        for i in range(per_language)
    ]
    client.submit(items)
    graded: dict[str, tuple[dict, GradeResult]] = {}

    def all_graded() -> bool:
        for item in items:
            if item["id"] not in graded and (result := client.get(item["id"])) is not None:
                graded[item["id"]] = (item, result)
        return len(graded) == len(items)

    try:
        wait_for(all_graded, 120, f"{len(items)} results", every_s=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.log()[-3000:]}") from None
    return graded


def labels_by_reward(graded: dict[str, tuple[dict, GradeResult]]) -> dict[str, str]:
    """Accept above the language's median raw reward, with every fifth one flipped."""
    final: dict[str, str] = {}
    for code in TEXTS:
        mine = sorted((r.raw_reward, i) for i, (_, r) in graded.items() if r.language == code)
        median = statistics.median(raw for raw, _ in mine)
        for n, (raw, item_id) in enumerate(mine):
            accept = (raw > median) != (n % 5 == 0)
            final[item_id] = "accept" if accept else "reject"
    return final


def test_labels_from_the_client_fit_as_the_same_labels_as_jsonl(
    namespace: QueueNamespace, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    worker = start_worker()
    settings = namespace.settings()
    client = QualityGateClient(settings=settings)
    graded = grade_items(client, worker, per_language=20)
    assert {r.language for _, r in graded.values()} == set(TEXTS)
    final = labels_by_reward(graded)
    for item_id, label in final.items():  # a first opinion, replaced by the final one
        client.label(item_id, "reject" if label == "accept" else "accept", reviewer="first")
    for n, (item_id, label) in enumerate(final.items()):
        client.label(item_id, label, reviewer=f"mod-{n % 3}", reason="checked")

    stored = client.labels()
    assert len(stored) == 2 * len(final)
    record = stored[-1]
    _, result = graded[record.id]
    assert (record.raw_reward, record.language, record.config_version) == (
        result.raw_reward,
        result.language,
        result.config_version,
    )
    assert (record.decision, record.level, record.model) == (
        result.decision,
        result.level,
        result.model,
    )

    from_stream = labelled.samples_from_labels(stored)
    lines = [  # in the order of the latest labels: a fit's float sums follow sample order
        json.dumps(graded[i][0] | {"raw_reward": graded[i][1].raw_reward, "label": label})
        for i, label in final.items()
    ]
    source = tmp_path / "labels.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(source, "rb") as stream:
        from_file = samples.read_samples(read_jsonl(stream), samples.gate_for(settings))
    assert from_file.skipped == [] and from_stream.skipped == []

    fit_stream = run.run_calibration(from_stream, settings, "auto")
    fit_file = run.run_calibration(from_file, settings, "auto")
    assert set(fit_stream.fits) == set(fit_file.fits) == set(TEXTS)
    for code in TEXTS:
        mine, theirs = fit_stream.fits[code], fit_file.fits[code]
        assert (mine.count, mine.accepts, mine.rejects) == (theirs.count, theirs.accepts, 10)
        assert (mine.method, mine.calibration, mine.note) == (
            theirs.method,
            theirs.calibration,
            theirs.note,
        )
        assert (mine.before, mine.after) == (theirs.before, theirs.after)

    fitted = run_cli(namespace, "calibrate", "--from-labels", "--since", "1h")
    assert fitted.returncode == 0, fitted.stderr
    assert set(yaml.safe_load(fitted.stdout)["languages"]) <= set(TEXTS)

    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(yaml.safe_dump({"levels": {"excellent": 0.97, "good": 0.95}}))
    diffed = run_cli(namespace, "config", "diff", str(stricter), "--last", "100")
    assert diffed.returncode == 0, diffed.stderr
    for code in (*TEXTS, "all", "20 labels", "40 labels"):
        assert code in diffed.stdout, diffed.stdout


def test_a_label_on_an_unknown_id_or_a_bad_label_is_refused(namespace: QueueNamespace) -> None:
    client = QualityGateClient(settings=namespace.settings())
    with pytest.raises(InvalidItemError, match="no result is stored for 'never-graded'"):
        client.label("never-graded", "accept")
    assert client.labels() == []


def run_cli(space: QueueNamespace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QUALITYGATE, *args],
        env=worker_environment(space.env),
        capture_output=True,
        text=True,
        timeout=180,
    )
