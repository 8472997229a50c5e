"""Personal-data detectors: candidates found by RE2 patterns, confirmed by check digits.

Every pattern runs on RE2, so its time is linear in the text whatever the input. A
candidate glued to another ASCII letter or digit is not taken (a phone number inside an
order number is not a phone number). The validators are pure functions, so each check
digit is tested on its own.

Each kind has readings: a pattern, a validator and whether the reading needs a context
word just before it. A bare run of digits that is also a common non-personal number (a
12- or 13-digit JAN/UPC/EAN barcode, a 13-digit millisecond timestamp, an 18- or 19-digit
database ID) counts only with a context word such as "card", "주민" or "マイナンバー"
within ``CONTEXT_CHARS`` before it; the grouped forms people type (``4111 1111 ...``,
``900101-1234567``) need none. Where readings of one kind overlap, the longest valid one
wins, so ``+1-555-123-4567x123`` is one phone number with its extension.

Decisions worth knowing:
- Birth dates are real dates, and not in the future: a 13-digit product code is not a
  resident registration number of someone born in 2049.
- Korean resident registration numbers issued since October 2020 have random final
  digits and no check digit. A number counts when its check digit is valid, or when it is
  written with the hyphen and its birth date is on or after 2020-10-01 (births since then
  can only have the new form).
- Payment cards: 12 to 19 digits with a known issuer prefix (Visa, Mastercard, Amex,
  Discover, Diners, JCB including 1800/2131, Maestro including 12-digit ones) and the
  Luhn check. Bare 14 to 16 digits and 12-digit Maestro (``_BARE_MAESTRO``) count alone;
  other 12, 13 and 17 to 19 need context or 4-digit groups (Visa-19 as 4-4-4-4-3, Amex
  4-6-5, Diners 4-6-4): a bare Visa-13 or Visa-19 is as likely an EAN-13 or a long ID.
- Phones: international (``+`` or ``00`` and 8 to 15 digits), North American with or
  without a space after the parenthesis and with an extension (``x123``, ``ext. 12``), and
  the common domestic formats of Korea, Japan and China. Korean and Japanese mobile
  numbers (010..., 090...), Chinese mobiles (1[3-9] and 9 digits) and valid 10-digit North
  American numbers (area and exchange codes from 2-9) may be bare; a 2-4-4 group needs a
  phone word before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import re2

from qualitygate.regex import compile_re2

# How far before a bare number a context word is looked for.
CONTEXT_CHARS = 40


@dataclass(frozen=True)
class PiiHit:
    kind: str
    start: int
    end: int
    detail: str


def digits_of(text: str) -> str:
    return "".join(char for char in text if "0" <= char <= "9")


_GROUP_SEPARATORS = (" ", "-", ".")


def _glued(text: str, start: int, end: int, grouped: bool = False) -> bool:
    """Is the candidate part of something longer? ``grouped``: digit groups continue it too.

    For digit-group numbers (cards, My Number) ``1234 5678 9012`` followed by `` 3456`` is
    the start of a longer number, not a number of its own.
    """
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum()):
        return True
    if not grouped:
        return False
    continues = after in _GROUP_SEPARATORS and text[end + 1 : end + 2].isdigit()
    extends = before in _GROUP_SEPARATORS and text[max(start - 2, 0) : start - 1].isdigit()
    return continues or extends


# --- check digits -----------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# Issuer prefixes (IIN ranges) by the lengths they are issued in.
_CARD_PREFIXES: tuple[tuple[tuple[str, ...], range], ...] = (
    (("4",), range(13, 20)),  # Visa: 13, 16, 19
    (("51", "52", "53", "54", "55"), range(16, 17)),  # Mastercard
    (("34", "37"), range(15, 16)),  # American Express
    (("300", "301", "302", "303", "304", "305", "36", "38"), range(14, 17)),  # Diners
    (("6011", "64", "65"), range(16, 20)),  # Discover
    (("35",), range(16, 20)),  # JCB
    (("1800", "2131"), range(15, 16)),  # JCB, the old 15-digit ranges
    (("50", "56", "57", "58", "6304", "6759", "676", "0604", "6390"), range(12, 20)),  # Maestro
    (("62",), range(16, 20)),  # UnionPay
)


def card_valid(digits: str) -> bool:
    if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    known = any(
        digits.startswith(prefixes) and len(digits) in lengths
        for prefixes, lengths in _CARD_PREFIXES
    )
    mastercard_2 = len(digits) == 16 and 2221 <= int(digits[:4]) <= 2720
    return (known or mastercard_2) and luhn_valid(digits)


# 12-digit Maestro prefixes a bare run may have: the 4-digit ranges and 56-58, not all of
# 50 (a random 12-digit UPC-A barcode or 1973-2001 millisecond timestamp then passes as a
# card 0.3% of the time; with the whole 50 range, 0.4%).
_BARE_MAESTRO = (
    "5018", "5020", "5038", "5893", "56", "57", "58", "6304", "6759", "676", "0604", "6390",
)  # fmt: skip


def bare_card_valid(digits: str) -> bool:
    """A card a bare digit run may be: 14 to 16 digits, or a 12-digit Maestro.

    Not 13 (a Visa-13 is as likely as an EAN-13 barcode starting with 4 to pass: 4.5% of
    them would) nor 17 to 19 (1.1% of random 19-digit IDs are a valid Visa-19).
    """
    short_maestro = len(digits) == 12 and digits.startswith(_BARE_MAESTRO)
    return (14 <= len(digits) <= 16 or short_maestro) and card_valid(digits)


_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_RRN_CENTURY = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "5": 1900, "6": 1900}
_NEW_RRN_SINCE = dt.date(2020, 10, 1)


def _birth_date(year: int, month: int, day: int) -> dt.date | None:
    """The date, if it is a real one and not in the future (nobody is born tomorrow)."""
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return None
    return born if born <= dt.date.today() else None


def rrn_birth_date(digits: str) -> dt.date | None:
    """The birth date a 13-digit RRN encodes (gender digit gives the century), if real."""
    century = _RRN_CENTURY.get(digits[6], 2000)
    return _birth_date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))


def rrn_check_valid(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:12], _RRN_WEIGHTS, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


def rrn_valid(candidate: str) -> str | None:
    """Why a candidate is an RRN (for the flag's detail), or None when it is not one."""
    digits = digits_of(candidate)
    if len(digits) != 13:
        return None
    born = rrn_birth_date(digits)
    if born is None:
        return None
    if rrn_check_valid(digits):
        return "Korean resident registration number (check digit valid)"
    if "-" in candidate and born >= _NEW_RRN_SINCE and digits[6] in "3478":
        return "Korean resident registration number (post-2020 form, no check digit)"
    return None


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def cn_resident_id_valid(candidate: str) -> bool:
    """18 characters, a real past birth date and the ISO 7064 MOD 11-2 check character."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    if _birth_date(int(candidate[6:10]), int(candidate[10:12]), int(candidate[12:14])) is None:
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _CN_WEIGHTS, strict=True))
    return _CN_CHECK[total % 11] == candidate[17].upper()


def my_number_valid(digits: str) -> bool:
    """Japan's individual number: check digit by the formula in the ministry's ordinance."""
    if len(digits) != 12 or len(set(digits)) == 1:
        return False
    body = digits[:11]
    total = 0
    for n, char in enumerate(reversed(body), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(char) * weight
    remainder = total % 11
    check = 0 if remainder <= 1 else 11 - remainder
    return check == int(digits[11])


def _phone_digits_ok(found: str) -> bool:
    count = len(digits_of(found.lower().split("x")[0].split("e")[0]))
    if found.startswith(("+", "00")):
        return 8 <= count <= 17  # up to 15 digits after the 00 or the +, plus the 00
    if found.startswith("0") and not found.startswith(("01", "050", "070", "080", "090")):
        return count in (9, 10, 11)
    return 10 <= count <= 11


# --- readings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    """One way a kind is written: its pattern, its check, and whether it needs context."""

    pattern: re2._Regexp
    why: Callable[[str], str | None]  # the flag's detail, or None when the check fails
    needs_context: bool = False
    grouped: bool = False  # digit groups around it continue the number (see _glued)


def _when(check: Callable[[str], bool], detail: str) -> Callable[[str], str | None]:
    return lambda found: detail if check(found) else None


_CARD_WHY = _when(lambda found: card_valid(digits_of(found)), "payment card (Luhn check valid)")
_BARE_CARD_WHY = _when(
    lambda found: bare_card_valid(digits_of(found)), "payment card (Luhn check valid)"
)
_MY_NUMBER_WHY = _when(
    lambda found: my_number_valid(digits_of(found)), "Japanese My Number (check digit valid)"
)
_PHONE_WHY = _when(_phone_digits_ok, "phone number")
_EXTENSION = r"(?:[ ]?(?:[xX]|[eE][xX][tT]\.?)[ ]?[0-9]{1,5})?"

_READINGS: dict[str, tuple[_Reading, ...]] = {
    "email": (
        _Reading(
            compile_re2(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}"),
            lambda _found: "e-mail address",
        ),
    ),
    "kr_rrn": (
        _Reading(compile_re2(r"[0-9]{6}-[0-9]{7}"), rrn_valid),
        _Reading(compile_re2(r"[0-9]{13}"), rrn_valid, needs_context=True),
    ),
    "cn_resident_id": (
        _Reading(
            compile_re2(
                r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                r"[0-9]{3}[0-9Xx]"
            ),
            _when(cn_resident_id_valid, "Chinese resident identity number (check valid)"),
        ),
    ),
    "payment_card": (
        _Reading(compile_re2(r"[0-9]{14,16}|[0-9]{12}"), _BARE_CARD_WHY),
        _Reading(compile_re2(r"[0-9]{12,19}"), _CARD_WHY, needs_context=True),
        _Reading(
            compile_re2(r"[0-9]{4}(?:[ -][0-9]{4}){2}(?:[ -][0-9]{4})?(?:[ -][0-9]{1,4})?"),
            _CARD_WHY,
            grouped=True,
        ),
        _Reading(compile_re2(r"[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5}"), _CARD_WHY, grouped=True),
    ),
    "jp_my_number": (
        _Reading(compile_re2(r"[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}"), _MY_NUMBER_WHY, grouped=True),
        _Reading(compile_re2(r"[0-9]{12}"), _MY_NUMBER_WHY, needs_context=True),
    ),
    "phone": (
        *(
            _Reading(compile_re2(pattern + _EXTENSION), _PHONE_WHY)
            for pattern in (
                r"\+[1-9][0-9 ().-]{6,22}[0-9]",  # international, digits counted after
                r"00[1-9][0-9]{0,2}[ .-][0-9 ().-]{6,22}[0-9]",  # international, 00 for +
                r"01[016789][ .-]?[0-9]{3,4}[ .-]?[0-9]{4}",  # Korean mobile
                r"0(?:2|[3-6][1-5])[ .)-][0-9]{3,4}[ .-][0-9]{4}",  # Korean landline
                r"0[5789]0[ .-]?[0-9]{4}[ .-]?[0-9]{4}",  # Japanese mobile and IP phone
                r"0[1-9][0-9]{0,3}[ .-][0-9]{1,4}[ .-][0-9]{4}",  # Japanese landline
                r"1[3-9][0-9][ .-][0-9]{4}[ .-]?[0-9]{4}",  # Chinese mobile, grouped
                r"0[1-9][0-9]{1,2}[ .-][0-9]{7,8}",  # Chinese landline
                # North American: (555) 123-4567, (555)123-4567, 555-123-4567, 555.123.4567
                r"(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}",
            )
        ),
        # Bare, alone: a Chinese mobile (11 digits from 13: no barcode, and only millisecond
        # timestamps of 1970-73, have that length) and a North American number whose area
        # and exchange codes start with 2-9 (a 10-digit timestamp in seconds starts with 1).
        _Reading(compile_re2(r"1[3-9][0-9]{9}"), _PHONE_WHY),
        _Reading(compile_re2(r"[2-9][0-9]{2}[2-9][0-9]{6}" + _EXTENSION), _PHONE_WHY),
        # Bare with a phone word before it: a 2-4-4 group.
        _Reading(compile_re2(r"[0-9]{2,4}-[0-9]{2,4}-[0-9]{4}" + _EXTENSION), _PHONE_WHY, True),
    ),
}

# Words that make a bare number personal data, by kind (matched casefolded, anywhere).
_CONTEXT = {
    "payment_card": r"card|credit|debit|visa|master|maestro|amex|american express|discover"
    r"|diners|jcb|unionpay|카드|カード|卡",
    "kr_rrn": r"주민|등록번호|rrn|resident",
    "jp_my_number": r"マイナンバー|個人番号|my ?number|individual number",
    "phone": r"phone|call|tel|mobile|cell|fax|contact|reach|text me|whatsapp|number|전화"
    r"|연락|휴대|핸드폰|번호|電話|携帯|番号|联系|电话|手机|致电|号码",
}
_CONTEXT_PATTERNS = {kind: compile_re2(f"(?i)(?:{words})") for kind, words in _CONTEXT.items()}


def _has_context(kind: str, text: str, start: int) -> bool:
    pattern = _CONTEXT_PATTERNS.get(kind)
    window = text[max(start - CONTEXT_CHARS, 0) : start]
    return pattern is not None and pattern.search(window) is not None


def _candidates(kind: str, text: str) -> Iterator[PiiHit]:
    for reading in _READINGS[kind]:
        for match in reading.pattern.finditer(text):
            start, end = match.span()
            if end <= start or _glued(text, start, end, reading.grouped):
                continue
            why = reading.why(match.group(0))
            if why and (not reading.needs_context or _has_context(kind, text, start)):
                yield PiiHit(kind, start, end, why)


def find_kind(kind: str, text: str) -> list[PiiHit]:
    """Valid hits of one kind; of overlapping readings, the longest wins."""
    hits = sorted(_candidates(kind, text), key=lambda hit: (hit.start - hit.end, hit.start))
    return _without_overlaps(hits, [])


def _without_overlaps(hits: list[PiiHit], taken: list[PiiHit]) -> list[PiiHit]:
    kept: list[PiiHit] = []
    for hit in hits:
        if not any(hit.start < other.end and other.start < hit.end for other in taken + kept):
            kept.append(hit)
    return kept


# Most specific first: a hit overlapping an earlier kind's hit is dropped, so a valid RRN
# is not also reported as a card or a phone number.
KINDS: tuple[str, ...] = (
    "email",
    "kr_rrn",
    "cn_resident_id",
    "payment_card",
    "jp_my_number",
    "phone",
)


def find_pii(text: str, kinds: set[str]) -> list[PiiHit]:
    """Hits of the enabled kinds, most specific kind winning where spans overlap."""
    taken: list[PiiHit] = []
    for kind in KINDS:
        if kind in kinds:
            taken += _without_overlaps(find_kind(kind, text), taken)
    return sorted(taken, key=lambda hit: (hit.start, hit.end))
