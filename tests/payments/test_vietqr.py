"""VietQR payloads (EMVCo TLV, CRC-16/CCITT-FALSE): the published vectors through the strict
decoder, the builder
reproducing them byte for byte, round trips, malformed payloads named by tag, and QR images."""

from __future__ import annotations

import io
import string
import unicodedata
from typing import Any, Literal

import pytest
import segno
from hypothesis import assume, given
from hypothesis import strategies as st
from PIL import Image

from payments.providers.vietqr import (
    VietQRError,
    VietQRPayload,
    build_payload,
    crc16_ccitt_false,
    decode_payload,
    qr_png,
    qr_svg,
)
from tests.data import vectors

VECTORS: list[dict[str, Any]] = vectors("vietqr_vectors.json")["vectors"]
WELL_FORMED = [vector for vector in VECTORS if vector["decoded"] is not None]
MALFORMED = [vector for vector in VECTORS if vector["decoded"] is None]
OPTIONAL_FIELDS = ("amount", "bill_number", "purpose")

# A hospital payload built once and damaged in the tests below.
HOSPITAL = build_payload(
    bank_bin="970436",
    account="1017595600",
    amount=350000,
    memo="Vien phi VP7K2Q9",
    bill_number="HD0001234",
)


def with_crc(body: str) -> str:
    """``body`` (everything before ``6304``) closed with a correct CRC, so that a test damages
    exactly one thing."""
    return body + "6304" + crc16_ccitt_false(body + "6304")


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def body_of(payload: str) -> str:
    assert payload[-8:-4] == "6304"
    return payload[:-8]


def test_published_vectors_are_all_there() -> None:
    assert len(VECTORS) == 6
    assert len(MALFORMED) == 1


def test_crc16_ccitt_false_has_the_standard_check_value() -> None:
    assert crc16_ccitt_false("123456789") == "29B1"
    assert crc16_ccitt_false("") == "FFFF"


@pytest.mark.parametrize("vector", VECTORS, ids=lambda vector: vector["source"])
def test_every_published_vector_carries_a_correct_crc(vector: dict[str, Any]) -> None:
    payload = vector["payload"]
    assert crc16_ccitt_false(payload[:-4]) == payload[-4:]


@pytest.mark.parametrize("vector", WELL_FORMED, ids=lambda vector: vector["source"])
def test_published_vector_decodes_to_exactly_the_given_fields(vector: dict[str, Any]) -> None:
    decoded = decode_payload(vector["payload"])

    expected = {name: None for name in OPTIONAL_FIELDS} | vector["decoded"] | {"extra": {}}
    assert {name: getattr(decoded, name) for name in expected} == expected


def test_napas_example_6_1_1_is_reported_malformed_at_38_01_not_guessed() -> None:
    (vector,) = MALFORMED
    assert "6.1.1" in vector["source"]

    with pytest.raises(VietQRError, match="38/01") as caught:
        decode_payload(vector["payload"])

    assert caught.value.field == "38/01"
    assert "declares length 12 but 13 characters follow" in str(caught.value)


@pytest.mark.parametrize("vector", WELL_FORMED, ids=lambda vector: vector["source"])
def test_builder_reproduces_every_published_payload_byte_for_byte(vector: dict[str, Any]) -> None:
    fields = vector["decoded"]

    payload = build_payload(
        bank_bin=fields["bank_bin"],
        account=fields["account"],
        amount=fields.get("amount"),
        memo=fields.get("purpose"),
        bill_number=fields.get("bill_number"),
        to_card=fields["service"] == "QRIBFTTC",
    )

    assert payload == vector["payload"]


def test_a_payload_with_an_amount_is_for_one_bill_and_one_without_is_reusable() -> None:
    with_amount = build_payload(bank_bin="970415", account="113366668888", amount=1, memo=None)
    without = build_payload(bank_bin="970415", account="113366668888", amount=None, memo=None)

    assert decode_payload(with_amount).point_of_initiation == "12"
    assert decode_payload(with_amount).amount == 1
    assert decode_payload(without).point_of_initiation == "11"
    assert decode_payload(without).amount is None


def test_generated_payload_round_trips_with_the_memo_stripped_of_diacritics() -> None:
    payload = build_payload(
        bank_bin="970436",
        account="1017595600",
        amount=99_999_999_999,
        memo="  Thanh toán viện phí\tĐợt 1 ",
        bill_number="HD-2026/000123",
    )

    assert decode_payload(payload) == VietQRPayload(
        point_of_initiation="12",
        guid="A000000727",
        bank_bin="970436",
        account="1017595600",
        service="QRIBFTTA",
        currency="704",
        country="VN",
        crc=payload[-4:],
        amount=99_999_999_999,
        bill_number="HD-2026/000123",
        purpose="Thanh toan vien phi Dot 1",
    )


# Vietnamese letters with their bank-memo spelling: the oracle for the property test, written
# out by hand rather than computed by the code under test.
VIETNAMESE_LETTERS = {
    "a": "àảãáạăằẳẵắặâầẩẫấậ",
    "d": "đ",
    "e": "èẻẽéẹêềểễếệ",
    "i": "ìỉĩíị",
    "o": "òỏõóọôồổỗốộơờởỡớợ",
    "u": "ùủũúụưừửữứự",
    "y": "ỳỷỹýỵ",
}
MEMO_CHARACTERS = (
    [(letter, base) for base, letters in VIETNAMESE_LETTERS.items() for letter in letters]
    + [
        (letter.upper(), base.upper())
        for base, letters in VIETNAMESE_LETTERS.items()
        for letter in letters
    ]
    + [(char, char) for char in string.ascii_letters + string.digits + " .,-/:_#()+"]
)
PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))


@given(
    memo_characters=st.lists(st.sampled_from(MEMO_CHARACTERS), min_size=1, max_size=25),
    normal_form=st.sampled_from(["NFC", "NFD"]),
    amount=st.none() | st.integers(min_value=1, max_value=10**13 - 1),
    account=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=19),
    bank_bin=st.from_regex(r"[0-9]{6}", fullmatch=True),
    bill_number=st.none() | st.text(alphabet=PRINTABLE_ASCII, min_size=1, max_size=25),
    to_card=st.booleans(),
)
def test_any_valid_input_round_trips_through_the_decoder(
    memo_characters: list[tuple[str, str]],
    normal_form: Literal["NFC", "NFD"],
    amount: int | None,
    account: str,
    bank_bin: str,
    bill_number: str | None,
    to_card: bool,
) -> None:
    memo = unicodedata.normalize(normal_form, "".join(char for char, _ in memo_characters))
    expected_purpose = " ".join("".join(base for _, base in memo_characters).split())
    assume(expected_purpose)
    assume(bill_number is None or bill_number.strip())

    payload = build_payload(
        bank_bin=bank_bin,
        account=account,
        amount=amount,
        memo=memo,
        bill_number=bill_number,
        to_card=to_card,
    )
    decoded = decode_payload(payload)

    assert payload.isascii()
    assert (decoded.bank_bin, decoded.account, decoded.amount) == (bank_bin, account, amount)
    assert decoded.purpose == expected_purpose
    assert decoded.bill_number == (None if bill_number is None else " ".join(bill_number.split()))
    assert decoded.service == ("QRIBFTTC" if to_card else "QRIBFTTA")
    assert decoded.point_of_initiation == ("11" if amount is None else "12")
    assert decoded.extra == {}


FULL_WIDTH_BIN = "".join(chr(0xFF10 + int(digit)) for digit in "970436")
BUILD_DEFAULTS: dict[str, Any] = {
    "bank_bin": "970436",
    "account": "1017595600",
    "amount": 350000,
    "memo": "VP7K2Q9",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bank_bin": "97043"}, "bank_bin"),
        ({"bank_bin": "97043A"}, "bank_bin"),
        ({"bank_bin": FULL_WIDTH_BIN}, "bank_bin"),  # Unicode digits are not digits here
        ({"account": ""}, "account"),
        ({"account": "1" * 20}, "account"),
        ({"account": "1017-595600"}, "account"),
        ({"amount": 0}, "amount"),
        ({"amount": -180000}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 180000.0}, "amount"),
        ({"amount": 10**13}, "amount"),
        ({"memo": "Thanh toán viện phí đợt một"}, "memo"),  # 27 characters once stripped
        ({"memo": "Thanh toán 医院"}, "memo"),
        ({"memo": "VP7K2Q9 \x00"}, "memo"),
        ({"memo": "   "}, "memo"),
        ({"bill_number": "X" * 26}, "bill_number"),
        ({"bill_number": "HĐ01"}, "bill_number"),
    ],
)
def test_builder_refuses_invalid_input_naming_the_argument(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(VietQRError) as caught:
        build_payload(**(BUILD_DEFAULTS | change))

    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param(HOSPITAL[:-1] + ("0" if HOSPITAL[-1] != "0" else "1"), "63", id="bad CRC"),
        pytest.param(HOSPITAL[:-4] + HOSPITAL[-4:].lower(), "63", id="lower-case CRC"),
        pytest.param(HOSPITAL[:-4] + "0E8G", "63", id="CRC not hex"),
        pytest.param(HOSPITAL[:-2], "63", id="truncated inside the CRC"),
        pytest.param(HOSPITAL[:40], "38", id="truncated inside tag 38"),
        pytest.param(body_of(HOSPITAL), "63", id="no tag 63"),
        pytest.param(HOSPITAL + "5902AB", "63", id="tag 63 not last"),
        pytest.param(with_crc(body_of(HOSPITAL) + "000201"), "00", id="tag 00 twice"),
        pytest.param(with_crc(body_of(HOSPITAL)[6:] + "000201"), "00", id="00 not first"),
        pytest.param(with_crc("000202" + body_of(HOSPITAL)[6:]), "00", id="format not 01"),
        pytest.param(
            with_crc(body_of(HOSPITAL).replace("5406350000", "5407350000")), "54", id="54 too long"
        ),
        pytest.param(
            with_crc(body_of(HOSPITAL).replace("0208QRIBFTTA", "0209QRIBFTTA")),
            "38",
            id="38/02 overruns its template",
        ),
        pytest.param(
            with_crc(body_of(HOSPITAL).replace("0816Vien", "0815Vien")),
            "62",
            id="62/08 too short for its template",
        ),
        pytest.param(
            with_crc(body_of(HOSPITAL).replace("5406350000", "54000")), "54", id="length 00"
        ),
        pytest.param(with_crc(body_of(HOSPITAL).replace("A000000727", "A000000728")), "38/00"),
        pytest.param(with_crc(body_of(HOSPITAL).replace("QRIBFTTA", "QRIBFTTX")), "38/02"),
        pytest.param(with_crc(body_of(HOSPITAL).replace("0006970436", "0006970A36")), "38/01/00"),
        pytest.param(with_crc(body_of(HOSPITAL).replace("5303704", "5303840")), "53"),
        pytest.param(with_crc(body_of(HOSPITAL).replace("5802VN", "5802US")), "58"),
        pytest.param(
            with_crc(body_of(HOSPITAL).replace("5406350000", "5409350000.00")), "54", id="decimals"
        ),
        pytest.param(
            with_crc(body_of(HOSPITAL).replace("5406350000", "5406035000")), "54", id="leading 0"
        ),
        pytest.param(with_crc(body_of(HOSPITAL).replace("010212", "010213")), "01"),
        pytest.param(with_crc(body_of(HOSPITAL).replace("5303704", "")), "53", id="no currency"),
        pytest.param(with_crc("0002010102115303704"), "38", id="no merchant account"),
        pytest.param(with_crc("000201010211XX02AB"), "01", id="garbage after tag 01"),
        pytest.param("XX020101", "payload", id="garbage"),
        pytest.param(HOSPITAL.replace("Vien", "Viện"), "payload", id="non-ASCII"),
        pytest.param(HOSPITAL + "\n", "payload", id="trailing newline"),
        pytest.param("", "payload", id="empty"),
    ],
)
def test_decoder_rejects_malformed_payloads_naming_the_tag(payload: str, field: str) -> None:
    with pytest.raises(VietQRError) as caught:
        decode_payload(payload)

    assert caught.value.field == field, str(caught.value)


def test_hospital_payload_used_by_the_malformed_cases_is_itself_valid() -> None:
    decoded = decode_payload(HOSPITAL)

    assert (decoded.amount, decoded.bill_number, decoded.purpose) == (
        350000,
        "HD0001234",
        "Vien phi VP7K2Q9",
    )
    for fragment in ("5406350000", "0208QRIBFTTA", "0816Vien", "0006970436", "010212"):
        assert fragment in HOSPITAL


def test_unknown_tags_are_kept_in_extra_without_failing() -> None:
    additional = tlv("01", "HD0001234") + tlv("07", "KIOSK") + tlv("08", "Vien phi VP7K2Q9")
    body = body_of(HOSPITAL).replace(
        "5802VN" + tlv("62", "0109HD00012340816Vien phi VP7K2Q9"),
        "5802VN" + tlv("59", "BENH VIEN BAC MAI") + tlv("60", "HA NOI") + tlv("62", additional),
    )
    assert body != body_of(HOSPITAL)

    decoded = decode_payload(with_crc(body))

    assert decoded.extra == {"59": "BENH VIEN BAC MAI", "60": "HA NOI", "62/07": "KIOSK"}
    assert decoded.purpose == "Vien phi VP7K2Q9"


def test_png_is_an_image_of_exactly_the_payload_at_error_level_m() -> None:
    png = qr_png(HOSPITAL, scale=4, border=4)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    expected = segno.make_qr(HOSPITAL, error="M", boost_error=False)
    image = Image.open(io.BytesIO(png)).convert("L")
    modules = len(expected.matrix)
    assert image.size == ((modules + 8) * 4, (modules + 8) * 4)
    pixels = [
        [
            image.getpixel(((column + 4) * 4 + 2, (row + 4) * 4 + 2)) == 0
            for column in range(modules)
        ]
        for row in range(modules)
    ]
    assert pixels == [[bool(module) for module in row] for row in expected.matrix]


def test_svg_is_a_scalable_image_of_the_payload() -> None:
    svg = qr_svg(HOSPITAL)

    assert svg.startswith(b"<?xml")
    assert b"<svg" in svg
    assert svg.rstrip().endswith(b"</svg>")


def test_images_are_refused_for_a_payload_the_decoder_rejects() -> None:
    (vector,) = MALFORMED

    with pytest.raises(VietQRError):
        qr_png(vector["payload"])
    with pytest.raises(VietQRError):
        qr_svg(HOSPITAL[:-1] + "0")
