"""Language detection accuracy and speed, per language and length, per method.

Reads the evaluation set in bench/data/language/eval.jsonl (real translated text from
Debian's gettext catalogues; see the README there), runs each detector alone, the
script-first identifier with each detector, their combination and the configured
default, then prints accuracy per language x length bucket and the median time per
call, and writes everything to bench/results/language.json.

    .venv/bin/python bench/language.py            # the full run (about two minutes on two cores)
    .venv/bin/python bench/language.py --limit 50 # a quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qualitygate.config import DetectionSettings, load_settings
from qualitygate.detectors import build_detector
from qualitygate.jsonl import load_jsonl
from qualitygate.language import LanguageIdentifier

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "language" / "eval.jsonl"
RESULTS = ROOT / "results" / "language.json"

CJK = {"ko", "ja", "zh"}
# Targets from issue 3: (sentence, short) accuracy.
TARGETS = {"cjk": (0.99, 0.97), "other": (0.95, 0.85)}
ONE_KB_BUDGET_MS = 0.1

Detect = Callable[[str], str]


def load_rows(limit: int | None) -> list[dict[str, str]]:
    rows = load_jsonl(DATA)
    if limit is None:
        return rows
    kept: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for row in rows:
        key = (row["variant"], row["bucket"])
        if kept[key] < limit:
            kept[key] += 1
            out.append(row)
    return out


def raw_detector(name: str) -> Detect:
    """A detector alone: its top answer, no script rules, no thresholds."""
    detector = build_detector(name)

    def detect(text: str) -> str:
        ranked = detector.predict(text, k=1)
        return ranked[0].code if ranked else "und"

    return detect


def identifier(settings: DetectionSettings, **changes: Any) -> Detect:
    configured = settings.model_copy(update=changes)
    DetectionSettings.model_validate(configured.model_dump())  # the variant must be valid config
    ident = LanguageIdentifier.from_settings(configured)
    return lambda text: ident(text).code


def methods(settings: DetectionSettings, languages: list[str]) -> dict[str, Detect]:
    return {
        "fasttext alone": raw_detector("fasttext"),
        "langdetect alone": raw_detector("langdetect"),
        "script+fasttext": identifier(settings, detector="fasttext", second_opinion="none"),
        "script+langdetect": identifier(settings, detector="langdetect", second_opinion="none"),
        "script+fasttext+langdetect": identifier(
            settings, detector="fasttext", second_opinion="langdetect"
        ),
        "script+langdetect+fasttext": identifier(
            settings, detector="langdetect", second_opinion="fasttext"
        ),
        "default": identifier(settings),
        "default+candidates": identifier(settings, candidates=languages),
    }


def run_method(detect: Detect, rows: list[dict[str, str]]) -> tuple[list[str], list[float]]:
    for row in rows[:20]:  # load the model before timing
        detect(row["text"])
    answers, times_us = [], []
    for row in rows:
        started = time.perf_counter_ns()
        answers.append(detect(row["text"]))
        times_us.append((time.perf_counter_ns() - started) / 1000)
    return answers, times_us


def one_kb_texts(rows: list[dict[str, str]]) -> dict[str, str]:
    """About 1 KB (UTF-8) of real sentences per language, joined as one post."""
    texts: dict[str, str] = {}
    for variant in ("en", "de", "ko", "zh-Hans"):
        parts: list[str] = []
        for row in rows:
            if row["variant"] == variant and row["bucket"] == "sentence":
                parts.append(row["text"])
                if len(" ".join(parts).encode("utf-8")) >= 1024:
                    break
        text = " ".join(parts).encode("utf-8")[:1024].decode("utf-8", "ignore")
        texts[variant] = text
    return texts


def time_one_kb(detect: Detect, text: str, budget_s: float = 0.3) -> float:
    """Median of up to 300 calls, fewer for a slow method (about ``budget_s`` each)."""
    started = time.perf_counter()
    detect(text)
    first_s = time.perf_counter() - started
    repeats = max(15, min(300, int(budget_s / max(first_s, 1e-6))))
    samples = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        detect(text)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return statistics.median(samples)


def accuracy_table(
    rows: list[dict[str, str]], answers: dict[str, list[str]]
) -> dict[str, dict[str, dict[str, float]]]:
    """{method: {"variant/bucket": accuracy}}, plus "und" rates under "und:variant/bucket"."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for method, predicted in answers.items():
        hits: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for row, code in zip(rows, predicted, strict=True):
            for key in (f"{row['variant']}/{row['bucket']}", f"ALL/{row['bucket']}"):
                hits[key][0] += code == row["lang"]
                hits[key][1] += 1
                hits[key][2] += code == "und"
        table[method] = {
            key: {"accuracy": ok / n, "und": und / n, "n": n} for key, (ok, n, und) in hits.items()
        }
    return table


def target_for(variant: str, bucket: str) -> float:
    group = "cjk" if variant.split("-")[0] in CJK else "other"
    sentence, short = TARGETS[group]
    return sentence if bucket == "sentence" else short


def print_report(
    table: dict[str, dict[str, dict[str, float]]],
    medians: dict[str, float],
    one_kb: dict[str, dict[str, float]],
    default_name: str,
) -> None:
    names = list(table)
    short_names = {
        name: name.replace("script+", "s+").replace("langdetect", "ld") for name in names
    }
    keys = sorted({k for m in table.values() for k in m if not k.startswith("ALL")})
    keys += sorted(k for k in next(iter(table.values())) if k.startswith("ALL"))
    width = {n: max(16, len(short_names[n]) + 2) for n in names}
    header = f"{'language/bucket':20}" + "".join(f"{short_names[n]:>{width[n]}}" for n in names)
    print(header + f"{'target':>8}")
    print("-" * len(header + "        "))
    for key in keys:
        variant, bucket = key.split("/")
        cells = "".join(f"{table[n][key]['accuracy'] * 100:{width[n] - 1}.1f}%" for n in names)
        target = "" if variant == "ALL" else f"{target_for(variant, bucket) * 100:7.0f}%"
        print(f"{key:20}{cells}{target:>8}")
    print(f"{'median us/call':20}" + "".join(f"{medians[n]:{width[n]}.1f}" for n in names))
    for variant, per_method in one_kb.items():
        label = f"1 KB {variant} ms"
        print(f"{label:20}" + "".join(f"{per_method[n]:{width[n]}.3f}" for n in names))
    print(f"\ndefault = {default_name}; und counts as wrong; s+ = script path first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="rows per language and bucket")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    settings = load_settings().detection
    rows = load_rows(args.limit)
    languages = sorted({row["lang"] for row in rows})
    candidates = methods(settings, languages)
    kb_texts = one_kb_texts(load_rows(None))

    answers: dict[str, list[str]] = {}
    medians: dict[str, float] = {}
    one_kb: dict[str, dict[str, float]] = defaultdict(dict)
    for name, detect in candidates.items():
        answers[name], times_us = run_method(detect, rows)
        medians[name] = statistics.median(times_us)
        for variant, text in kb_texts.items():
            one_kb[variant][name] = time_one_kb(detect, text)

    table = accuracy_table(rows, answers)
    default_name = (
        f"script+{settings.detector}"
        + (f"+{settings.second_opinion}" if settings.second_opinion != "none" else "")
        + (f" candidates={settings.candidates}" if settings.candidates else "")
    )
    print_report(table, medians, dict(one_kb), default_name)

    misses: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row, code in zip(rows, answers["default"], strict=True):
        if code != row["lang"] and len(misses[row["variant"]]) < 5:
            misses[row["variant"]].append({"text": row["text"], "got": code})

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "dataset": str(DATA.relative_to(ROOT.parent)),
        "rows": len(rows),
        "default": default_name,
        "detection_settings": settings.model_dump(),
        "targets": {"sentence/short": TARGETS, "one_kb_default_ms": ONE_KB_BUDGET_MS},
        "accuracy": table,
        "median_us_per_call": medians,
        "one_kb_median_ms": dict(one_kb),
        "one_kb_bytes": {v: len(t.encode("utf-8")) for v, t in kb_texts.items()},
        "default_misses_sample": misses,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
