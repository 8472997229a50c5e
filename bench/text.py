"""Extraction, preprocessing and rules: time per item on ordinary and hostile input.

Ordinary inputs are a synthetic blog page (20 KB and 200 KB of HTML) and multilingual
prose of 1 KB and 20 KB; hostile ones are 200,000 characters of markup shaped to hit a
parser's worst case (deep nesting, unclosed comments and tags) and of Markdown (bracket
floods, which take the bounded path, and this README repeated to 200 KB, which does not). Rules run
with 5,000 block-list terms. Prints a table of median milliseconds and writes
bench/results/text.json.

    .venv/bin/python bench/text.py             # about a minute on two cores
    .venv/bin/python bench/text.py --repeat 3  # a quicker look
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.registry import adapter_class_for
from qualitygate.calibration import build_calibrator
from qualitygate.config import load_settings
from qualitygate.extract import html_to_text, markdown_to_text
from qualitygate.rules import RuleEngine

RESULTS = Path(__file__).resolve().parent / "results" / "text.json"
HOSTILE_CHARS = 200_000

_POST = (
    '<article class="post"><h2>Notes &amp; tips</h2><p>Some <b>bold</b> text with a '
    '<a href="https://example.com/x">link</a>, a list and more words here.</p>'
    "<ul><li>one</li><li>two</li></ul><script>var x = '<p>';</script><!-- c --></article>\n"
)
_PROSE = {
    "en": "The new update fixes the login bug and makes search faster for everyone. ",
    "ko": "이번 업데이트로 로그인 오류가 고쳐졌고 검색도 빨라졌어요 ㅋㅋ 정말 좋네요. ",
    "ja": "今回のアップデートでログインの不具合が直り、検索も速くなりました。 ",
    "zh": "这次更新修复了登录问题，搜索也变快了，大家都觉得很好。 ",
}


def page(size: int) -> str:
    body = _POST * (size // len(_POST) + 1)
    return f"<html><head><title>t</title></head><body>{body}</body></html>"[:size]


def prose(language: str, size: int) -> str:
    unit = _PROSE[language]
    return (unit * (size // len(unit) + 1))[:size]


HOSTILE_HTML = {
    "nested <div>": "<div>" * 40_000,
    "nested <ul>": "<ul>" * 50_000,
    "nested <div>x": "<div>x" * 33_334,
    "unclosed <!--": "<!--" * 50_000,
    "unclosed <a ": "<a " * 66_667,
}
HOSTILE_MARKDOWN = {
    "markdown ![![ (issue 10)": "![" * 99_000,
    "markdown [[[": "[" * HOSTILE_CHARS,
    "markdown #\\n#\\n": "#\n" * 100_000,
    "markdown *a*a": "*a" * 100_000,
    "markdown long list": "- item\n" * 28_572,
}


def median_ms(work: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(repeat: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def record(step: str, case: str, chars: int, work: Callable[[], Any], times: int) -> None:
        ms = median_ms(work, times)
        rows.append({"step": step, "case": case, "chars": chars, "median_ms": round(ms, 3)})
        print(f"{step:<11} {case:<26} {chars:>8} {ms:>10.2f}", flush=True)

    print(f"{'step':<11} {'case':<26} {'chars':>8} {'median ms':>10}")
    for size in (20_000, 200_000):
        markup = page(size)
        record(
            "extract",
            f"html page {size // 1000} KB",
            len(markup),
            lambda m=markup: html_to_text(m),
            repeat * 5,
        )
    for name, hostile in HOSTILE_HTML.items():
        markup = hostile[:HOSTILE_CHARS]
        record("extract", name, len(markup), lambda m=markup: html_to_text(m), repeat)
    for name, hostile in HOSTILE_MARKDOWN.items():
        source = hostile[:HOSTILE_CHARS]
        record("extract", name, len(source), lambda s=source: markdown_to_text(s), 1)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    document = (readme * (HOSTILE_CHARS // len(readme) + 1))[:HOSTILE_CHARS]
    record(
        "extract", "markdown README 200 KB", len(document), lambda: markdown_to_text(document), 3
    )

    base = load_settings()
    rules = base.rules.model_dump()
    rules["blocklists"]["banned"]["terms"] = {
        "default": [f"blockedterm{index}" for index in range(4000)],
        "ko": [f"금지어{index}" for index in range(1000)],
    }
    settings = load_settings(rules=rules)
    adapters = {}
    for language in _PROSE:
        options = settings.language(language)
        adapter_class = adapter_class_for(language)
        calibrator = build_calibrator(options.calibration)
        adapters[language] = adapter_class(calibrator, options.model_dump(exclude={"calibration"}))
    engine = RuleEngine(
        settings, normalise=lambda lang, text: adapters.get(lang, adapters["en"]).preprocess(text)
    )
    for language, adapter in adapters.items():
        for size in (1_000, 20_000):
            text = prose(language, size) + " mail me at someone@example.com or 010-1234-5678"
            record(
                "preprocess",
                f"{language} {size // 1000} KB",
                len(text),
                lambda a=adapter, t=text: a.preprocess(t),
                repeat * 5,
            )
            normalised = adapter.preprocess(text)
            record(
                "rules",
                f"{language} {size // 1000} KB",
                len(normalised),
                lambda t=normalised, lang=language: engine.check(t, lang),
                repeat * 5,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case")
    args = parser.parse_args()
    rows = run(args.repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "repeat": args.repeat,
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
