"""Han and kana block-list terms: matching anywhere against matching whole words only.

False positives: the terms of the issue (``操`` for zh, ``ばか`` for ja) against real
Chinese and Japanese text nobody here wrote: every translated message (msgstr) of the
gettext catalogues installed under /usr/share/locale and vim's, and the zh/ja sentences
of bench/data/language/eval.jsonl. None of them is abuse, so any hit is a false positive.
Recall: short abusive sentences written for this benchmark (no real abusive corpus is on
this machine), each using the term as the insult it is. Prints a table and writes
bench/results/blocklist_cjk.json.

    .venv/bin/python -m bench.blocklist_cjk     # about a minute
"""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

from bench.common import machine_info, print_table, write_results
from qualitygate.config import load_settings
from qualitygate.jsonl import load_jsonl
from qualitygate.rules import RuleEngine

TERMS = {"zh": ["操"], "ja": ["ばか"]}
CATALOGUES = {"zh": ["zh_CN", "zh_TW"], "ja": ["ja"]}
EVAL_SET = Path(__file__).resolve().parent / "data" / "language" / "eval.jsonl"
ABUSE = {
    "zh": [
        "操！这什么破软件",
        "操，又崩溃了",
        "我操，太坑了",
        "操你妈的",
        "你个操蛋玩意",
        "操他大爷",
        "这代码写的，操",
        "操操操，又失败了",
    ],
    "ja": [
        "お前はばかだな",
        "ばかじゃないの？",
        "このばか！",
        "ばかやろう",
        "ほんとにばかみたい",
        "ばか言うな",
        "あのばかが悪い",
        "ばか、何してるの",
    ],
}


def real_text(language: str) -> list[str]:
    texts: list[str] = []
    for locale in CATALOGUES[language]:
        paths = [*Path("/usr/share/locale", locale, "LC_MESSAGES").glob("*.mo")]
        paths += Path("/usr/share/vim").glob(f"vim*/lang/{locale}/LC_MESSAGES/*.mo")
        for path in sorted(paths):
            try:
                with path.open("rb") as handle:
                    catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
            except (OSError, UnicodeDecodeError):
                continue
            texts += [v for v in catalog.values() if isinstance(v, str) and len(v) >= 4]
    for row in load_jsonl(EVAL_SET):
        if row["lang"].startswith(language):
            texts.append(row["text"])
    return texts


def _engine(mode: str) -> RuleEngine:
    rules = load_settings().rules.model_dump()
    rules["cjk_match"] = {"zh": mode, "ja": mode}
    rules["blocklists"]["banned"]["terms"] = TERMS
    return RuleEngine(load_settings(rules=rules))


def _flagged(engine: RuleEngine, texts: list[str], language: str) -> int:
    return sum(
        any(f.category == "blocklist" for f in engine.check(text, language)) for text in texts
    )


def main() -> None:
    rows: list[dict[str, Any]] = []
    for language in TERMS:
        texts = real_text(language)
        containing = [t for t in texts if any(term in t for term in TERMS[language])]
        for mode in ("anywhere", "word"):
            engine = _engine(mode)
            rows.append(
                {
                    "language": language,
                    "term": ", ".join(TERMS[language]),
                    "mode": mode,
                    "real_texts": len(texts),
                    "containing_the_characters": len(containing),
                    "false_positives": _flagged(engine, containing, language),
                    "false_positive_share": _flagged(engine, containing, language) / len(texts),
                    "abuse_caught": _flagged(engine, ABUSE[language], language),
                    "abuse_total": len(ABUSE[language]),
                }
            )
    print_table(
        "Han/kana terms: false positives on real text, recall on abuse",
        ["lang", "term", "mode", "real texts", "contain it", "flagged", "share", "abuse caught"],
        [
            [
                r["language"],
                r["term"],
                r["mode"],
                r["real_texts"],
                r["containing_the_characters"],
                r["false_positives"],
                r["false_positive_share"],
                f"{r['abuse_caught']}/{r['abuse_total']}",
            ]
            for r in rows
        ],
    )
    write_results("blocklist_cjk", {"machine": machine_info("bench.blocklist_cjk"), "rows": rows})


if __name__ == "__main__":
    main()
