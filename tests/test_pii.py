"""Personal data on real-world shapes: phone and card formats people and Faker write, and
numbers that only look personal (barcodes, millisecond timestamps, long database IDs)."""

from __future__ import annotations

import datetime as dt

import pytest

from qualitygate.pii import (
    PiiHit,
    card_valid,
    find_pii,
    my_number_valid,
    rrn_birth_date,
    rrn_valid,
)

ALL_KINDS = {"email", "phone", "payment_card", "kr_rrn", "cn_resident_id", "jp_my_number"}


def luhn_complete(body: str) -> str:
    """``body`` with the Luhn check digit appended."""
    for check in "0123456789":
        digits = body + check
        total = 0
        for index, char in enumerate(reversed(digits)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def found(text: str) -> list[tuple[str, str]]:
    return [(hit.kind, text[hit.start : hit.end]) for hit in find_pii(text, ALL_KINDS)]


@pytest.mark.parametrize(
    "number",
    [
        "555-123-4567x123",  # extension glued on, as Faker writes it
        "(555)123-4567",  # no separator after the parenthesis
        "(555)123-4567x12345",
        "555.123.4567x1234",
        "+1-555-123-4567x123",
        "001-555-123-4567",
        "001-555-123-4567x1234",
    ],
)
def test_north_american_phone_formats(number: str) -> None:
    assert found(f"Reach me on {number} after six.") == [("phone", number)]


def test_a_bare_north_american_number_is_a_phone_a_seconds_timestamp_is_not() -> None:
    # Area and exchange codes start with 2-9; a 10-digit Unix time in seconds starts with 1.
    assert found("See you at 4686707097 tomorrow.") == [("phone", "4686707097")]
    assert found("call me at 5552345678 tonight") == [("phone", "5552345678")]
    assert found("created_at=1701234567 ok") == []
    assert found("ref 4681707097 ok") == []  # exchange code 170: not a NANP number


@pytest.mark.parametrize("text", ["加我13812345678，晚上聊", "有问题找我 13812345678"])
def test_a_bare_chinese_mobile_is_a_phone(text: str) -> None:
    assert found(text) == [("phone", "13812345678")]


def test_a_chinese_mobile_inside_a_longer_number_is_not() -> None:
    assert found("order A13812345678 shipped") == []
    assert found("订单138123456789已发货") == []


VISA_19 = luhn_complete("4" + "123456789012345678"[:17])
JCB_15 = [luhn_complete("2131" + "1234567890"), luhn_complete("1800" + "9876543210")]
MAESTRO_12 = luhn_complete("5018" + "1234567")
VISA_13 = luhn_complete("4" + "12345678901")


def grouped(digits: str, sizes: list[int], separator: str = " ") -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    return separator.join(parts)


@pytest.mark.parametrize(
    "text",
    [
        f"card {grouped(VISA_19, [4, 4, 4, 4, 3])} exp 12/29",
        f"card {grouped(VISA_19, [4, 4, 4, 4, 3], '-')} exp 12/29",
        f"my visa is {VISA_19}",
        f"card {JCB_15[0]} please",
        f"old JCB {JCB_15[1]}",
        f"Maestro card {MAESTRO_12} on file",
        f"card {grouped(MAESTRO_12, [4, 4, 4])} on file",
        f"credit card {VISA_13}",
    ],
)
def test_every_card_type_faker_makes(text: str) -> None:
    [(kind, number)] = found(text)
    assert kind == "payment_card"
    assert card_valid("".join(char for char in number if char.isdigit()))
    assert number.replace(" ", "").replace("-", "") in text.replace(" ", "").replace("-", "")


def test_a_bare_twelve_digit_maestro_is_a_card() -> None:
    assert found(f"Use {MAESTRO_12} for the order.") == [("payment_card", MAESTRO_12)]
    # A 12-digit run from the wider 50 range is as often a UPC-A barcode: context needed.
    other_50 = luhn_complete("5099" + "1234567")
    assert card_valid(other_50)
    assert found(f"Use {other_50} for the order.") == []
    assert found(f"Maestro card {other_50}") == [("payment_card", other_50)]


def ean13(body: str) -> str:
    total = sum(int(d) * (3 if index % 2 else 1) for index, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def test_barcodes_timestamps_and_long_ids_are_not_personal_data() -> None:
    # Each of these passes the Luhn check and has a card prefix: today they are "cards".
    jan = next(
        code for n in range(1000) if card_valid(code := ean13(f"49{n:010d}")[:13]) and n > 10
    )
    upc = next(code for n in range(1000) if card_valid(code := luhn_complete(f"5{n:010d}")))
    # A millisecond timestamp from 1993 with a valid My Number check digit.
    timestamp = next(
        str(ms) for ms in range(727_384_174_000, 727_384_175_000) if my_number_valid(str(ms))
    )
    long_id = next(
        str(n)
        for n in range(4_123_456_789_012_345_000, 4_123_456_789_012_346_000)
        if card_valid(str(n))
    )
    for number in (jan, upc, timestamp, long_id):
        assert found(f"item {number} shipped") == [], number


def test_a_future_birth_date_is_not_a_resident_number() -> None:
    # 13 digits, date 2049-03-15 (gender digit 3: born in the 2000s), valid check digit.
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    body = "490315312345"
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    product = body + str((11 - total % 11) % 10)
    assert rrn_birth_date(product) is None
    assert rrn_valid(product[:6] + "-" + product[6:]) is None
    assert found(f"주민번호 {product[:6]}-{product[6:]}") == []


def test_a_bare_resident_number_needs_context_a_hyphenated_one_does_not() -> None:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    body = "900101123456"
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    rrn = body + str((11 - total % 11) % 10)
    assert rrn_birth_date(rrn) == dt.date(1990, 1, 1)
    assert found(f"주민등록번호 {rrn}") == [("kr_rrn", rrn)]
    assert found(f"code {rrn[:6]}-{rrn[6:]}") == [("kr_rrn", f"{rrn[:6]}-{rrn[6:]}")]
    assert [hit.kind for hit in find_pii(f"sku {rrn}", ALL_KINDS)] == []


def test_the_longest_valid_reading_wins() -> None:
    text = "tel +1-555-123-4567x123"
    assert find_pii(text, {"phone"}) == [PiiHit("phone", 4, len(text), "phone number")]
