"""How often ordinary documentation trips the repeated-character spam rule.

Real English prose with the layout docs are made of (underlined titles, box-drawing
tables, ``XXXX`` placeholders, ``^^^^`` under code): every README, NEWS, Markdown, reST
and text file under /usr/share/doc on this machine, split into paragraphs of 40+
characters, normalised by the default adapter and checked with the default rules. Prints
the share flagged and what tripped it; writes bench/results/spam.json.

    .venv/bin/python -m bench.spam     # about a minute
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

from adapters.default import DefaultAdapter
from bench.common import machine_info, print_table, write_results
from qualitygate.config import load_settings
from qualitygate.rules import RuleEngine

DOCS = Path("/usr/share/doc")
_DOC_NAME = re.compile(r"(README|NEWS|\.md|\.rst|\.txt)(\.gz)?$")


def paragraphs() -> list[str]:
    found: list[str] = []
    for path in sorted(DOCS.rglob("*")):
        if not path.is_file() or not _DOC_NAME.search(path.name) or "changelog" in path.name:
            continue
        try:
            data = path.read_bytes()
            text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")
        except (OSError, UnicodeDecodeError, gzip.BadGzipFile):
            continue
        found += [part for part in re.split(r"\n\s*\n", text) if len(part.strip()) >= 40]
    return found


def main() -> None:
    settings = load_settings()
    adapter = DefaultAdapter(float, settings.languages["default"].model_dump())
    engine = RuleEngine(settings)
    texts = paragraphs()
    tripped: Counter[str] = Counter()
    flagged = 0
    for text in texts:
        flags = [f for f in engine.check(adapter.preprocess(text), "en")]
        runs = [f for f in flags if f.rule_id == "spam.repeated_char"]
        flagged += bool(runs)
        tripped.update((f.detail or "").split("'")[1] for f in runs)
    share = flagged / max(len(texts), 1)
    print_table(
        "Ordinary doc paragraphs flagged spam.repeated_char",
        ["paragraphs", "flagged", "share", "characters that tripped it"],
        [[len(texts), flagged, share, ", ".join(f"{c!r} {n}" for c, n in tripped.most_common(8))]],
    )
    write_results(
        "spam",
        {
            "machine": machine_info("bench.spam"),
            "paragraphs": len(texts),
            "flagged": flagged,
            "share": share,
            "tripped_by": dict(tripped.most_common()),
        },
    )


if __name__ == "__main__":
    main()
