"""Rebuild ``eval.jsonl``: real translated text from Debian's gettext message catalogues.

The texts are the user-facing messages of free-software programs (coreutils, glib, apt,
systemd, ...) as their volunteer translators wrote them, read from the compiled ``.mo``
catalogues Debian installs under ``/usr/share/locale``; English comes from the catalogues'
source strings (msgids). Nobody on this team wrote any of it. See README.md beside this
file for the licences. The committed ``eval.jsonl`` is what the benchmark reads; this
script documents (and reproduces, on a Debian 12 machine with the same packages) how it
was made. It is not imported by the package.

    python bench/data/language/build_eval_set.py [--per-bucket 300]
"""

from __future__ import annotations

import argparse
import gettext
import json
import random
import re
import subprocess
from collections import defaultdict
from pathlib import Path

LOCALE_DIR = Path("/usr/share/locale")
HERE = Path(__file__).resolve().parent

# Catalogue locale -> (expected code, variant label for the report).
LOCALES: dict[str, tuple[str, str]] = {
    "ko": ("ko", "ko"),
    "ja": ("ja", "ja"),
    "zh_CN": ("zh", "zh-Hans"),
    "zh_TW": ("zh", "zh-Hant"),
    "de": ("de", "de"),
    "fr": ("fr", "fr"),
    "es": ("es", "es"),
    "it": ("it", "it"),
    "pt_BR": ("pt", "pt"),
    "pt": ("pt", "pt"),
    "ru": ("ru", "ru"),
    "uk": ("uk", "uk"),
    "nl": ("nl", "nl"),
    "pl": ("pl", "pl"),
    "sv": ("sv", "sv"),
    "tr": ("tr", "tr"),
    "vi": ("vi", "vi"),
}

# Prose-bearing catalogues only (the iso_* ones hold names, not messages).
DOMAINS = (
    "Linux-PAM",
    "PackageKit",
    "adduser",
    "appstream",
    "apt",
    "at-spi2-core",
    "avahi",
    "bash",
    "coreutils",
    "diffutils",
    "dpkg",
    "dpkg-dev",
    "findutils",
    "gawk",
    "gdk-pixbuf",
    "gettext-runtime",
    "gettext-tools",
    "git",
    "glib20",
    "gnupg2",
    "gnutls30",
    "grep",
    "gsettings-desktop-schemas",
    "gstreamer-1.0",
    "gtk20",
    "gtk20-properties",
    "libapt-pkg6.0",
    "libc",
    "make",
    "man-db",
    "polkit-1",
    "procps-ng",
    "psmisc",
    "python-apt",
    "sed",
    "shadow",
    "shared-mime-info",
    "software-properties",
    "systemd",
    "tar",
    "wget",
    "xdg-user-dirs",
    "xkeyboard-config",
    "xz",
)

SHORT_MIN, SHORT_MAX, SENTENCE_MAX = 10, 30, 300

_PLACEHOLDER = re.compile(
    r"%(\d+\$)?[-+ #0']*(\d+|\*)?(\.(\d+|\*))?(hh|h|ll|l|L|q|j|z|t|I)?[diouxXeEfFgGaAcspnm%]"
    r"|%<\w+>|\$\{[^}]*\}|\{[\w.]*\}|<[^>]+>|&\w+;"
)
_MNEMONIC = re.compile(r"\((_|&)\w\)|(?<!\w)[_&](?=\w)")
_SPACES = re.compile(r"\s+")
# Quotes left empty where a placeholder stood: 'x', "x", `x', “x”, ‘x’, «x», „x“, 「x」.
_EMPTY_QUOTES = re.compile(r"""(['"`‘“«„「『]\s*['"’”»“」』])|\(\s*\)""")


def clean(message: str) -> str:
    """A catalogue message as a reader sees it: no format codes, markup or mnemonics."""
    text = _PLACEHOLDER.sub(" ", message)
    text = _MNEMONIC.sub("", text)
    text = _EMPTY_QUOTES.sub(" ", _SPACES.sub(" ", text))
    return _SPACES.sub(" ", text).strip(" :")


def usable(text: str) -> bool:
    """Mostly letters: usage lines, paths and option tables are not prose."""
    visible = [ch for ch in text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    return letters >= 4 and letters >= 0.7 * len(visible) and "--" not in text


def bucket_of(text: str) -> str | None:
    if SHORT_MIN <= len(text) < SHORT_MAX:
        return "short"
    if SHORT_MAX <= len(text) <= SENTENCE_MAX:
        return "sentence"
    return None


def catalogue(locale: str, domain: str) -> dict[str, str]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.mo"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    pairs: dict[str, str] = {}
    for key, value in translations._catalog.items():  # the parsed .mo table
        msgid = key[0] if isinstance(key, tuple) else key
        if msgid and value and key == msgid:  # singular forms only
            pairs[msgid] = value
    return pairs


def package_of(path: Path) -> str:
    found = subprocess.run(["dpkg", "-S", str(path)], capture_output=True, text=True)
    package = found.stdout.split(":")[0].strip()
    if not package:
        return "?"
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    )
    return f"{package} {version.stdout.strip()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-bucket", type=int, default=300)
    args = parser.parse_args()

    pools: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    english_ids: set[str] = set()
    used_domains: set[str] = set()
    for domain in DOMAINS:
        for locale, (code, variant) in LOCALES.items():
            for msgid, msgstr in catalogue(locale, domain).items():
                english = clean(msgid)
                english_ids.add(english)
                if usable(english) and (bucket := bucket_of(english)):
                    pools[("en", "en", bucket)].setdefault(english, domain)
                text = clean(msgstr)
                if text == english or not usable(text):  # untranslated or not prose
                    continue
                if bucket := bucket_of(text):
                    pools[(code, variant, bucket)].setdefault(text, domain)
                    used_domains.add(domain)

    rng = random.Random(0)
    rows = []
    for (code, variant, bucket), texts in sorted(pools.items()):
        candidates = sorted(t for t in texts if code == "en" or t not in english_ids)
        chosen = rng.sample(candidates, min(args.per_bucket, len(candidates)))
        for text in sorted(chosen):
            rows.append(
                {
                    "text": text,
                    "lang": code,
                    "variant": variant,
                    "bucket": bucket,
                    "source": texts[text],
                }
            )
    out = HERE / "eval.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    with (HERE / "SOURCES.tsv").open("w", encoding="utf-8") as handle:
        handle.write("gettext domain\tDebian package and version\n")
        for domain in sorted(used_domains):
            sample = next(LOCALE_DIR.glob(f"*/LC_MESSAGES/{domain}.mo"))
            handle.write(f"{domain}\t{package_of(sample)}\n")

    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        counts[(row["variant"], row["bucket"])] += 1
    print(f"{len(rows)} rows -> {out}")
    for (variant, bucket), count in sorted(counts.items()):
        print(f"  {variant:8} {bucket:8} {count}")


if __name__ == "__main__":
    main()
