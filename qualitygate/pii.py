"""Personal-data detectors: candidates found by RE2 patterns, confirmed by check digits.

Every pattern runs on RE2, so its time is linear in the text whatever the input. A
candidate glued to another ASCII letter or digit is not taken (a phone number inside an
order number is not a phone number). The validators are pure functions, so each check
digit is tested on its own.

Decisions worth knowing:
- Korean resident registration numbers issued since October 2020 have random final
  digits and no check digit. A number counts when its check digit is valid, or when it is
  written with the hyphen and its birth date is on or after 2020-10-01 (births since then
  can only have the new form). A 13-digit number with an older date and a wrong check
  digit is not flagged.
- Payment cards: 13 to 19 digits, plain or in 4-digit groups (Amex 4-6-5), a known
  issuer prefix, and the Luhn check.
- Phones: international (``+`` and 8 to 15 digits) and the common domestic formats of
  Korea, Japan, China and North America. Landline formats need their separators, so a
  bare long number is not a phone number; mobile formats (010..., 090..., 13x...) do not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


def _compile(pattern: str) -> re2._Regexp:
    return re2.compile(pattern, _OPTIONS)


@dataclass(frozen=True)
class PiiHit:
    kind: str
    start: int
    end: int
    detail: str


def digits_of(text: str) -> str:
    return "".join(char for char in text if "0" <= char <= "9")


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


_GROUP_SEPARATORS = (" ", "-", ".")


# --- check digits -----------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


_CARD_PREFIXES = ("4", "34", "37", "30", "36", "38", "35", "6", "51", "52", "53", "54", "55")


def card_valid(digits: str) -> bool:
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    known = digits.startswith(_CARD_PREFIXES) or 2221 <= int(digits[:4]) <= 2720
    return known and luhn_valid(digits)


_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_RRN_CENTURY = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "5": 1900, "6": 1900}
_NEW_RRN_SINCE = dt.date(2020, 10, 1)


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def rrn_birth_date(digits: str) -> dt.date | None:
    """The birth date a 13-digit RRN encodes (gender digit gives the century), if real."""
    century = _RRN_CENTURY.get(digits[6], 2000)
    return _date_or_none(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))


def rrn_check_valid(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:12], _RRN_WEIGHTS, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


def rrn_valid(candidate: str) -> str | None:
    """Why a candidate is an RRN (for the flag's detail), or None when it is not one."""
    digits = digits_of(candidate)
    born = rrn_birth_date(digits)
    if len(digits) != 13 or born is None:
        return None
    if rrn_check_valid(digits):
        return "Korean resident registration number (check digit valid)"
    if "-" in candidate and born >= _NEW_RRN_SINCE and digits[6] in "3478":
        return "Korean resident registration number (post-2020 form, no check digit)"
    return None


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def cn_resident_id_valid(candidate: str) -> bool:
    """18 characters, a real birth date and the ISO 7064 MOD 11-2 check character."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    if _date_or_none(int(candidate[6:10]), int(candidate[10:12]), int(candidate[12:14])) is None:
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


# --- detectors --------------------------------------------------------------------------

_EMAIL = _compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}")
_RRN = _compile(r"[0-9]{6}-?[0-9]{7}")
_CN_ID = _compile(
    r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
)
_MY_NUMBER = _compile(r"[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}")
_CARD = _compile(
    r"[0-9]{13,19}|[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{1,7}|[0-9]{4}[ -][0-9]{6}[ -][0-9]{5}"
)
_PHONE = _compile(
    "|".join(
        [
            r"\+[1-9][0-9 ().-]{6,22}[0-9]",  # international, digits counted below
            r"01[016789][ .-]?[0-9]{3,4}[ .-]?[0-9]{4}",  # Korean mobile
            r"0(?:2|[3-6][1-5])[ .)-][0-9]{3,4}[ .-][0-9]{4}",  # Korean landline
            r"0[5789]0[ .-]?[0-9]{4}[ .-]?[0-9]{4}",  # Japanese mobile and IP phone
            r"0[1-9][0-9]{0,3}[ .-][0-9]{1,4}[ .-][0-9]{4}",  # Japanese landline, 10 digits
            r"1[3-9][0-9][ .-]?[0-9]{4}[ .-]?[0-9]{4}",  # Chinese mobile
            r"0[1-9][0-9]{1,2}[ .-][0-9]{7,8}",  # Chinese landline
            r"\(?[2-9][0-9]{2}\)?[ .-][0-9]{3}[ .-][0-9]{4}",  # North American
        ]
    )
)


def _matches(
    pattern: re2._Regexp, text: str, grouped: bool = False
) -> Iterator[tuple[int, int, str]]:
    for match in pattern.finditer(text):
        start, end = match.span()
        if end > start and not _glued(text, start, end, grouped):
            yield start, end, match.group(0)


def find_emails(text: str) -> list[PiiHit]:
    return [PiiHit("email", s, e, "e-mail address") for s, e, _ in _matches(_EMAIL, text)]


def find_kr_rrns(text: str) -> list[PiiHit]:
    hits = []
    for start, end, found in _matches(_RRN, text):
        why = rrn_valid(found)
        if why:
            hits.append(PiiHit("kr_rrn", start, end, why))
    return hits


def find_cn_resident_ids(text: str) -> list[PiiHit]:
    return [
        PiiHit("cn_resident_id", s, e, "Chinese resident identity number (check valid)")
        for s, e, found in _matches(_CN_ID, text)
        if cn_resident_id_valid(found)
    ]


def find_my_numbers(text: str) -> list[PiiHit]:
    return [
        PiiHit("jp_my_number", s, e, "Japanese My Number (check digit valid)")
        for s, e, found in _matches(_MY_NUMBER, text, grouped=True)
        if my_number_valid(digits_of(found))
    ]


def find_payment_cards(text: str) -> list[PiiHit]:
    return [
        PiiHit("payment_card", s, e, "payment card number (Luhn check valid)")
        for s, e, found in _matches(_CARD, text, grouped=True)
        if card_valid(digits_of(found))
    ]


def _phone_digits_ok(found: str) -> bool:
    count = len(digits_of(found))
    if found.startswith("+"):
        return 8 <= count <= 15
    if found.startswith("0") and not found.startswith(("01", "050", "070", "080", "090")):
        return count in (9, 10, 11)
    return 10 <= count <= 11


def find_phones(text: str) -> list[PiiHit]:
    return [
        PiiHit("phone", s, e, "phone number")
        for s, e, found in _matches(_PHONE, text)
        if _phone_digits_ok(found)
    ]


# Most specific first: a hit overlapping an earlier kind's hit is dropped, so a valid RRN
# is not also reported as a card or a phone number.
DETECTORS: tuple[tuple[str, Callable[[str], list[PiiHit]]], ...] = (
    ("email", find_emails),
    ("kr_rrn", find_kr_rrns),
    ("cn_resident_id", find_cn_resident_ids),
    ("payment_card", find_payment_cards),
    ("jp_my_number", find_my_numbers),
    ("phone", find_phones),
)


def find_pii(text: str, kinds: set[str]) -> list[PiiHit]:
    """Hits of the enabled kinds, most specific kind winning where spans overlap."""
    taken: list[PiiHit] = []
    for kind, detector in DETECTORS:
        if kind not in kinds:
            continue
        for hit in detector(text):
            if not any(hit.start < other.end and other.start < hit.end for other in taken):
                taken.append(hit)
    return sorted(taken, key=lambda hit: (hit.start, hit.end))
