"""Personal-data recall and precision on identifiers made by a real library (Faker).

Recall: every identifier kind Faker makes (en_US ``phone_number()``, every
``credit_card_number()`` card type, ko_KR/ja_JP/zh_CN phones, ko_KR and zh_CN ``ssn()``
after their check digits are validated), each in sentences with a context word ("call me
at", "card", "주민등록번호") and without one. Precision: random JAN/UPC/EAN barcodes with
valid check digits, millisecond timestamps and 18-19-digit numeric IDs in sentences that
name them for what they are; any personal-data hit on them is a false positive. Seeded, so
every run gives the same numbers. Prints tables and writes bench/results/pii.json.

    .venv/bin/python -m bench.pii            # about 20 s
    .venv/bin/python -m bench.pii --n 500    # a quicker look
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from faker import Faker

from adapters.registry import adapter_class_for
from bench.common import machine_info, print_table, write_results
from qualitygate.config import load_settings
from qualitygate.jsonl import load_jsonl
from qualitygate.pii import cn_resident_id_valid, find_pii, rrn_valid
from qualitygate.rules import RuleEngine

SEED = 20261203
EVAL_SET = Path(__file__).resolve().parent / "data" / "language" / "eval.jsonl"
KINDS = {"email", "phone", "payment_card", "kr_rrn", "cn_resident_id", "jp_my_number"}

# (with a context word, without one), by the kind the sentence is expected to yield.
TEMPLATES = {
    "phone": (
        ["Call me at {} after six.", "Phone: {}", "연락처 {} 로 주세요", "電話番号は{}です。"],
        ["See you at {} tomorrow.", "{} is the one to use."],
    ),
    "payment_card": (
        ["Charge my card {} please.", "카드번호 {} 입니다", "カード番号：{}", "信用卡号{}"],
        ["Use {} for the order.", "Here: {}"],
    ),
    "kr_rrn": (["주민등록번호 {} 입니다", "RRN {}"], ["번호는 {} 이에요", "{}"]),
    "cn_resident_id": (["身份证号码{}。", "ID card {}"], ["号码是{}", "{}"]),
}
NEGATIVE_TEMPLATES = [
    "Item {} is back in stock.",
    "created_at={} ok",
    "상품 {} 재입고",
    "商品コード {} を入荷しました",
    "订单{}已发货",
]


def _card_groups(number: str) -> str:
    """The way a card is printed: Amex 4-6-5, Diners 4-6-4, the rest in 4s."""
    sizes = [4, 6, 5] if len(number) == 15 and number[:2] in ("34", "37") else []
    if len(number) == 14:
        sizes = [4, 6, 4]
    sizes = sizes or [4] * (len(number) // 4) + ([len(number) % 4] if len(number) % 4 else [])
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    return " ".join(parts)


def _recall(kind: str, numbers: list[str], context: bool, rnd: random.Random) -> float:
    templates = TEMPLATES[kind][0 if context else 1]
    caught = 0
    for number in numbers:
        text = rnd.choice(templates).format(number)
        start = text.index(number)
        hits = [hit for hit in find_pii(text, KINDS) if hit.kind == kind]
        caught += any(hit.start <= start and hit.end >= start + len(number) for hit in hits)
    return caught / max(len(numbers), 1)


def _phones(locale: str, n: int) -> list[str]:
    fake = Faker(locale)
    fake.seed_instance(SEED)
    return [fake.phone_number() for _ in range(n)]


def _cards(card_type: str, n: int) -> list[str]:
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    return [fake.credit_card_number(card_type=card_type) for _ in range(n)]


def _ids(locale: str, n: int, valid: Callable[[str], Any]) -> tuple[list[str], int]:
    """Faker's ``ssn()`` for a locale, the valid ones only, and how many were made."""
    fake = Faker(locale)
    fake.seed_instance(SEED)
    made = [fake.ssn() for _ in range(n)]
    return [number for number in made if valid(number)], len(made)


def recall_rows(n: int) -> list[dict[str, Any]]:
    rnd = random.Random(SEED)
    sets: list[tuple[str, str, list[str], int]] = []
    for locale in ("en_US", "ko_KR", "ja_JP", "zh_CN"):
        sets.append((f"phone {locale}", "phone", _phones(locale, n), n))
    from faker.providers.credit_card import Provider

    for card_type in Provider.credit_card_types:
        cards = _cards(card_type, n)
        sets.append((f"card {card_type}", "payment_card", cards, n))
        grouped = [_card_groups(card) for card in cards]
        sets.append((f"card {card_type} grouped", "payment_card", grouped, n))
    sets.append(("ko_KR ssn() (RRN)", "kr_rrn", *_ids("ko_KR", n, rrn_valid)))
    sets.append(("zh_CN ssn()", "cn_resident_id", *_ids("zh_CN", n, cn_resident_id_valid)))
    return [
        {
            "set": name,
            "kind": kind,
            "valid_of_made": f"{len(numbers)}/{made}",
            "recall_with_context": _recall(kind, numbers, True, rnd),
            "recall_without_context": _recall(kind, numbers, False, rnd),
        }
        for name, kind, numbers, made in sets
    ]


def _check_digit(body: str, weights: tuple[int, int]) -> str:
    total = sum(int(d) * weights[index % 2] for index, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _negatives(n: int, rnd: random.Random) -> Iterator[tuple[str, list[str]]]:
    ean13 = []
    for _ in range(n):
        prefix = rnd.choice(["45", "49", "40", "50", "69", "88", "30"])
        body = prefix + "".join(rnd.choice("0123456789") for _ in range(12 - len(prefix)))
        ean13.append(_check_digit(body, (3, 1)))
    yield "EAN-13 / JAN barcode", ean13
    upc = [_check_digit(f"{rnd.randrange(10**11):011d}", (3, 1)) for _ in range(n)]
    yield "UPC-A barcode (12 digits)", upc
    ean8 = [_check_digit(f"{rnd.randrange(10**7):07d}", (3, 1)) for _ in range(n)]
    yield "EAN-8 barcode", ean8
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    # A fixed end: Faker's default end is now, which made this set change run to run.
    end = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    stamps = [str(int(fake.unix_time(end_datetime=end) * 1000)) for _ in range(n)]
    yield "ms timestamp, 1970-now", stamps
    yield (
        "ms timestamp, 2020-2030",
        [str(rnd.randrange(1577836800000, 1893456000000)) for _ in range(n)],
    )
    yield "18-digit numeric ID", [str(rnd.randrange(10**17, 10**18)) for _ in range(n)]
    yield "19-digit numeric ID", [str(rnd.randrange(10**18, 10**19)) for _ in range(n)]


def precision_rows(n: int) -> list[dict[str, Any]]:
    rnd = random.Random(SEED + 1)
    rows = []
    for name, numbers in _negatives(n, rnd):
        by_kind: dict[str, int] = {}
        for number in numbers:
            text = rnd.choice(NEGATIVE_TEMPLATES).format(number)
            for kind in {hit.kind for hit in find_pii(text, KINDS)}:
                by_kind[kind] = by_kind.get(kind, 0) + 1
        flagged = sum(by_kind.values())
        rows.append(
            {"set": name, "n": len(numbers), "flagged_share": flagged / len(numbers)}
            | {"as": ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) or "-"}
        )
    return rows


# --- block-list evasions ------------------------------------------------------------------

EVASION_TERMS = {"en": ["idiot", "scammer", "loser", "stupid", "garbage"], "ko": ["바보", "멍청이"]}
EVASION_TEMPLATES = {
    "en": ["you are such a {} lol", "what a {}!", "{} detected"],
    "ko": ["너 {} 야", "진짜 {}"],
}
# Look-alikes an attacker types (test data; the engine folds them with Unicode's table).
_CYRILLIC = str.maketrans("aeopcyxi", "аеорсухі")
# Greek letters Unicode lists as confusable with a Latin one (ε, τ, κ are not: their
# prototypes are ꞓ, ᴛ, ĸ), lower and upper case.
_GREEK = str.maketrans("aiouvpABEHIKMNOPTXYZ", "αιουνρΑΒΕΗΙΚΜΝΟΡΤΧΥΖ")
_LEET_OUT = str.maketrans("aeiost", "431057")


def _accented(term: str, rnd: random.Random) -> str:
    accents = ["\u0300", "\u0301", "\u0302", "\u0308"]
    return unicodedata.normalize(
        "NFC", "".join(c + rnd.choice(accents) if c in "aeiou" else c for c in term)
    )


def _styled(term: str, first: int) -> str:
    return "".join(chr(first + ord(c) - ord("a")) for c in term)


def _doubled(term: str, rnd: random.Random) -> str:
    at = rnd.randrange(len(term))
    return term[:at] + term[at] * rnd.choice([2, 3]) + term[at + 1 :]


def _jamo(term: str, halfwidth: bool) -> str:
    out = []
    for char in unicodedata.normalize("NFD", term):
        name = unicodedata.name(char).split(" ", 2)[-1]
        prefix = "HALFWIDTH HANGUL LETTER " if halfwidth else "HANGUL LETTER "
        out.append(unicodedata.lookup(prefix + name))
    return "".join(out)


EVASIONS: dict[str, tuple[str, Callable[[str, random.Random], str]]] = {
    "plain": ("en", lambda t, _r: t),
    "spaced letters": ("en", lambda t, _r: " ".join(t)),
    "dotted letters": ("en", lambda t, _r: ".".join(t)),
    "Cyrillic look-alikes": ("en", lambda t, _r: t.translate(_CYRILLIC)),
    "Greek look-alikes": ("en", lambda t, _r: t.translate(_GREEK)),
    "accents": ("en", _accented),
    "math bold": ("en", lambda t, _r: _styled(t, 0x1D41A)),
    "circled": ("en", lambda t, _r: _styled(t, 0x24D0)),
    "leetspeak": ("en", lambda t, _r: t.translate(_LEET_OUT)),
    "doubled letters": ("en", _doubled),
    "Korean syllables": ("ko", lambda t, _r: t),
    "Korean separate jamo": ("ko", lambda t, _r: _jamo(t, False)),
    "Korean half-width jamo": ("ko", lambda t, _r: _jamo(t, True)),
    "Korean term in English text": ("ko", lambda t, _r: t),
}


def evasion_rows(n: int) -> list[dict[str, Any]]:
    settings = load_settings()
    rules = settings.rules.model_dump()
    rules["blocklists"]["banned"]["terms"] = EVASION_TERMS | {"default": EVASION_TERMS["en"]}
    settings = load_settings(rules=rules)
    adapters = {
        code: adapter_class_for(code)(float, settings.language(code).model_dump())
        for code in ("en", "ko")
    }

    def normalise(code: str, text: str) -> str:
        return adapters["ko" if code == "ko" else "en"].preprocess(text)

    engine = RuleEngine(settings, normalise=normalise)
    rnd = random.Random(SEED + 2)
    rows = []
    for kind, (language, evade) in EVASIONS.items():
        text_language = "en" if kind.endswith("English text") else language
        caught = 0
        for _ in range(n):
            term = evade(rnd.choice(EVASION_TERMS[language]), rnd)
            template = rnd.choice(EVASION_TEMPLATES[text_language])
            text = adapters[text_language].preprocess(template.format(term))
            caught += any(f.category == "blocklist" for f in engine.check(text, text_language))
        rows.append({"kind": kind, "caught": caught, "total": n})
    rows.append(_false_positives(engine, adapters))
    return rows


def _false_positives(engine: RuleEngine, adapters: dict[str, Any]) -> dict[str, Any]:
    """The same lists on real sentences in 17 languages, which contain none of the terms."""
    sentences = load_jsonl(EVAL_SET)
    flagged = 0
    for row in sentences:
        language = "ko" if row["lang"] == "ko" else "en"
        text = adapters[language].preprocess(row["text"])
        flagged += any(f.category == "blocklist" for f in engine.check(text, row["lang"]))
    return {
        "kind": "real sentences flagged (false positives)",
        "caught": flagged,
        "total": len(sentences),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="identifiers per set")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    recall = recall_rows(args.n)
    print_table(
        "Recall on Faker identifiers (share caught)",
        ["set", "valid/made", "with context word", "without"],
        [
            [r["set"], r["valid_of_made"], r["recall_with_context"], r["recall_without_context"]]
            for r in recall
        ],
    )
    precision = precision_rows(args.n)
    print_table(
        "Numbers that are not personal data (share flagged, target < 0.005)",
        ["set", "n", "flagged", "as"],
        [[r["set"], r["n"], r["flagged_share"], r["as"]] for r in precision],
    )
    evasions = evasion_rows(min(args.n, 500))
    print_table(
        "Block-list evasions caught",
        ["kind", "caught", "total", "share"],
        [[r["kind"], r["caught"], r["total"], r["caught"] / r["total"]] for r in evasions],
    )
    if not args.no_write:
        payload = {"machine": machine_info("bench.pii"), "seed": SEED, "n": args.n}
        payload |= {"recall": recall, "precision": precision, "evasions": evasions}
        path = write_results("pii", payload)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
