"""``qualitygate calibrate`` end to end on the tiny test model: fragment, tables, plot."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from qualitygate.calibration import build_calibrator
from qualitygate.cli import app
from qualitygate.config import TableCalibration, load_settings
from tests.support.calibration import SHIPPED

# the `calibrate` extra; CI installs it, a bare core install skips these
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

VOCABULARY = {
    "ko": "오늘 날씨 정말 좋은 글 정보 감사합니다 사용 후기 배송 빠르고 품질 만족 추천",
    "ja": "今日 天気 とても 良い 記事 情報 ありがとう 使用 感想 配送 早く 品質 満足",
    "en": "today weather really good post information thanks review shipping fast quality",
}
WORDS = {code: words.split() for code, words in VOCABULARY.items()}
PER_LANGUAGE = 36  # above calibration_fit.min_items (20): too few is tested apart


def labelled_sample(path: Path, seed: int = 0) -> Path:
    """Items of varied length and wording, alternately accepted and rejected."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for code, words in WORDS.items():
            for i in range(PER_LANGUAGE):
                text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 40)))
                line = {"id": f"{code}-{i}", "text": text, "language": code}
                line["label"] = "accept" if i % 2 else rng.choice(["reject", "poor", "fair"])
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def run(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr with rich's line wrapping undone."""
    result = CliRunner().invoke(app, ["calibrate", *args])
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fragment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR", "the first chunk of a PNG is IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_labelled_sample_end_to_end(test_model_dir: Path, tmp_path: Path) -> None:
    sample = labelled_sample(tmp_path / "labelled.jsonl")
    fragment_file, plot_file = tmp_path / "calibration.yaml", tmp_path / "calibration.png"
    code, _, stderr = run(
        str(sample),
        "--model", str(test_model_dir),
        "--output", str(fragment_file),
        "--plot", str(plot_file),
        "--target", "review_share<=0.2",
    )  # fmt: skip
    assert code == 0, stderr
    assert "TEST MODEL" in stderr

    settings = load_settings(fragment_file)  # validates, merged over the defaults
    data = yaml.safe_load(fragment_file.read_text(encoding="utf-8"))
    fitted = set(data["languages"])
    # a language the random model cannot order is kept, and the report says so
    kept = {code for code in WORDS if code not in fitted}
    for language in kept:
        assert f"│ {language} │" in stderr and "kept" in stderr
    assert fitted <= set(WORDS)
    for language in fitted:
        assert settings.languages[language].calibration is not None
    assert settings.levels.model_dump() == pytest.approx(data["levels"])
    assert "what these thresholds would have done" in stderr
    assert "review_share<=0.2: achieved" in stderr

    width, height = png_size(plot_file)
    assert 600 <= width <= 2000
    assert 300 * len(WORDS) <= height <= 600 * len(WORDS)
    assert 20_000 <= plot_file.stat().st_size <= 1_000_000


def test_percentile_fit_on_unlabelled_content(test_model_dir: Path, tmp_path: Path) -> None:
    sample = labelled_sample(tmp_path / "items.jsonl")
    lines = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line.pop("label")
    sample.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    code, stdout, stderr = run(str(sample), "--model", str(test_model_dir))
    assert code == 0, stderr
    data = yaml.safe_load(stdout)
    assert set(data["languages"]) == set(WORDS)
    for entry in data["languages"].values():
        table = TableCalibration.model_validate(entry["calibration"])
        assert table.points[0][1] == 0.0 and table.points[-1][1] == 1.0


def test_raw_rewards_in_the_file_skip_the_model(tmp_path: Path) -> None:
    """A logistic law per language, recovered without loading any model."""
    rng = random.Random(1)
    laws = {"ko": (2.0, 1.0), "ja": (-1.0, 0.5)}
    sample = tmp_path / "scored.jsonl"
    with open(sample, "w", encoding="utf-8") as out:
        for language, (center, scale) in laws.items():
            for i in range(400):
                raw = rng.uniform(center - 4 * scale, center + 4 * scale)
                accept = rng.random() < 1 / (1 + math.exp(-(raw - center) / scale))
                line = {"id": f"{language}{i}", "text": "x", "language": language}
                line |= {"raw_reward": raw, "label": "accept" if accept else "reject"}
                out.write(json.dumps(line) + "\n")
    code, stdout, stderr = run(
        str(sample), "--model", str(tmp_path / "no-model-here"), "--method", "logistic"
    )
    assert code == 0, stderr
    data = yaml.safe_load(stdout)
    for language, (center, scale) in laws.items():
        calibration = data["languages"][language]["calibration"]
        assert calibration["method"] == "logistic"
        assert abs(calibration["scale"] / scale - 1) < 0.25  # 400 items: a loose tolerance
        assert abs(calibration["center"] - center) < 0.3 * scale
        # the fitted calibration reads one half at the law's center, as the gate computes it
        fitted = build_calibrator(
            load_settings(_write(tmp_path, stdout)).languages[language].calibration
        )  # type: ignore[arg-type]
        assert abs(fitted(center) - 0.5) < 0.1


def test_an_existing_output_is_not_overwritten_without_force(tmp_path: Path) -> None:
    sample = tmp_path / "scored.jsonl"
    lines = [
        {"id": str(i), "text": "x", "language": "ko", "raw_reward": i / 7, "label": None}
        for i in range(40)
    ]
    sample.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("# my own config\n", encoding="utf-8")
    code, _, stderr = run(str(sample), "--output", str(mine))
    assert code == 2
    assert "--force" in stderr
    assert mine.read_text(encoding="utf-8") == "# my own config\n"
    code, _, stderr = run(str(sample), "--output", str(mine), "--force")
    assert code == 0, stderr
    assert "ko" in load_settings(mine).languages


def test_too_few_items_keep_the_default_and_say_so(tmp_path: Path) -> None:
    sample = tmp_path / "few.jsonl"
    lines = [{"id": str(i), "text": "x", "language": "ja", "raw_reward": i} for i in range(5)]
    sample.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    code, stdout, stderr = run(str(sample))
    assert code == 0, stderr
    assert yaml.safe_load(stdout)["languages"] == {}
    assert "calibration_fit.min_items" in stderr


def test_nonsense_input_gets_clear_messages(tmp_path: Path) -> None:
    sample = tmp_path / "bad.jsonl"
    sample.write_text(
        '{"id": "1", "text": "x", "raw_reward": NaN}\n'
        '{"id": "2", "text": "x", "raw_reward": 1.0, "label": "maybe"}\n'
        "not json\n"
        '{"id": "3", "text": "x", "raw_reward": "high"}\n'
    )
    code, _, stderr = run(str(sample))
    assert code == 2
    assert "line 1: raw_reward: nan is not a finite number" in stderr
    assert "line 2: label: 'maybe'" in stderr
    assert "line 3: not valid JSON" in stderr
    assert "line 4: raw_reward: expected a number" in stderr
    assert "no usable items" in stderr


def test_bad_target_and_missing_file_fail_before_any_work(tmp_path: Path) -> None:
    code, _, stderr = run(str(tmp_path / "missing.jsonl"))
    assert code == 2 and "does not exist" in stderr
    sample = tmp_path / "s.jsonl"
    sample.write_text('{"id": "1", "text": "x", "raw_reward": 1.0}\n')
    code, _, stderr = run(str(sample), "--target", "precision>2")
    assert code == 2 and "target 'precision>2'" in stderr


def test_calibrate_detects_languages_as_its_config_says(tmp_path: Path) -> None:
    """No language hints: the --config file's detection section decides the languages."""
    text = "This is a perfectly ordinary English sentence about the weather today."
    lines = [{"id": str(i), "text": text, "raw_reward": i / 3} for i in range(40)]
    sample = tmp_path / "unhinted.jsonl"
    sample.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    strict = tmp_path / "strict.yaml"
    strict.write_text("detection:\n  min_letters: 1000\n", encoding="utf-8")

    code, stdout, stderr = run(str(sample))
    assert code == 0, stderr
    assert set(yaml.safe_load(stdout)["languages"]) == {"en"}
    code, stdout, stderr = run(str(sample), "--config", str(strict))
    assert code == 0, stderr
    assert set(yaml.safe_load(stdout)["languages"]) == {"und"}


def test_the_shipped_example_is_not_too_small_for_the_defaults(test_model_dir: Path) -> None:
    """Every language of examples/labelled.jsonl is considered with the default settings:
    the random test model cannot order it, but no language is kept for having too few."""
    code, _, stderr = run(str(SHIPPED), "--model", str(test_model_dir))
    assert code == 0, stderr
    assert "min_items" not in stderr
    assert stderr.count("│ 20 │ 10/10 │") == 4  # ko, ja, zh, en: counted and labelled
